//! SHA-256 throughput of the loader's hashing path (`sha2`, SHA-NI via `cpufeatures` when the CPU has it).
//!
//! Prints one JSON line: `{"whole_buffer_gbps":..,"streamed_1mib_gbps":..,"file_gbps":..}`; median of RUNS
//! (default 5) runs over a MIB (default 256) MiB buffer. `sha256-throughput [MIB [RUNS]]`, a program of
//! x0x-dist-benches; `benches/run.sh loader-rust-sha256` runs it beside `openssl speed -evp sha256`.
use std::time::Instant;

use sha2::{Digest, Sha256};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn gbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

fn main() -> Result<(), x0x_dist_loader::Error> {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("MIB and RUNS are numbers"));
    let mib = args.next().unwrap_or(256);
    let runs = args.next().unwrap_or(5).max(1);
    let size = mib << 20;
    let data: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(31)).collect();
    let mut whole = Vec::new();
    let mut streamed = Vec::new();
    let mut file = Vec::new();
    let mut ring_streamed = Vec::new();
    let dir = std::env::temp_dir().join(format!("x0x-sha-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("blob");
    #[allow(clippy::disallowed_methods)] // a benchmark's scratch file
    std::fs::write(&path, &data).expect("write blob");
    let mut sink = 0u8;
    for _ in 0..runs {
        let t = Instant::now();
        sink ^= Sha256::digest(&data)[0];
        whole.push(gbps(size, t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let mut h = Sha256::new();
        for chunk in data.chunks(1 << 20) {
            h.update(chunk);
        }
        sink ^= h.finalize()[0];
        streamed.push(gbps(size, t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for chunk in data.chunks(1 << 20) {
            ctx.update(chunk);
        }
        sink ^= ctx.finish().as_ref()[0];
        ring_streamed.push(gbps(size, t.elapsed().as_secs_f64()));
        // The loader's real path: read a (page-cached) file in 1 MiB chunks and hash it.
        let t = Instant::now();
        let (d, _) = x0x_dist_loader::fetch::sha256_file(&path)?;
        sink ^= d.as_bytes()[0];
        file.push(gbps(size, t.elapsed().as_secs_f64()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{{\"whole_buffer_gbps\":{:.3},\"streamed_1mib_gbps\":{:.3},\"file_gbps\":{:.3},\"ring_streamed_1mib_gbps\":{:.3},\"sink\":{sink}}}",
        median(whole),
        median(streamed),
        median(file),
        median(ring_streamed)
    );
    Ok(())
}
