//! Times the full TUF verification chain on the shared vector repository (root rotation, timestamp, snapshot,
//! targets, delegated `x0x`, two targets): parse + canonicalize + ed25519-verify every role.
//!
//! Run: `benches/run.sh manifests-verify [ITERATIONS]` (the `bench-verify` program of x0x-dist-benches).
//! Peer: `benches/run.sh manifests-verify-python [ITERATIONS]` (benches/manifests/python-tuf-verify.py) runs
//! python-tuf's `TrustedMetadataSet` on the same files.

use std::path::Path;
use std::time::Instant;

use x0x_dist_manifests::verify::TrustedSet;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/vectors/repo");
    let read = |f: &str| std::fs::read(dir.join(f)).expect("vector file");
    let files: Vec<Vec<u8>> = [
        "metadata/1.root.json",
        "metadata/2.root.json",
        "metadata/timestamp.json",
        "metadata/1.snapshot.json",
        "metadata/1.targets.json",
        "metadata/1.x0x.json",
    ]
    .iter()
    .map(|f| read(f))
    .collect();
    let now = x0x_dist_manifests::cjson::datetime::parse("2030-01-01T00:00:00Z").unwrap();
    let run = || {
        let mut set = TrustedSet::new(&files[0], now).unwrap();
        set.update_root(&files[1]).unwrap();
        set.update_timestamp(&files[2]).unwrap();
        set.update_snapshot(&files[3]).unwrap();
        set.update_targets(&files[4]).unwrap();
        set.update_delegated(&files[5], "x0x", "targets").unwrap();
        set
    };
    for _ in 0..50 {
        run();
    }
    let t0 = Instant::now();
    for _ in 0..n {
        std::hint::black_box(run());
    }
    let per = t0.elapsed() / n;
    println!("x0x-dist-manifests: full chain (6 metadata files, 7 signatures) {:.1} us/iteration over {n}", per.as_secs_f64() * 1e6);
}
