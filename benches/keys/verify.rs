//! Signature verifications per second of every key type, through the code the TUF walk runs
//! (`x0x_dist_manifests::PublicKey::verify`: parse the key dict, decode the hex signature, verify), and with a
//! key parsed once (`VerifyingKey::verify`, the cost of the signature check alone). Keys: the securesystemslib
//! fixtures of manifests/tests/data/keys; the message: 1 KiB (a timestamp's canonical bytes are ~0.5 KiB).
//! Output: one TSV line per key type: `name  verify_per_s  parsed_verify_per_s  sign_per_s`.
//!
//! Run: `benches/run.sh keys` (BENCHMARKS.md, "Signature verification by key type").

use std::time::{Duration, Instant};

use x0x_dist_manifests::SigningKey;

fn rate(min: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < min {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map_or(2.0, |s| s.parse().expect("SECONDS"));
    let min = Duration::from_secs_f64(secs);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/tests/data/keys");
    let msg = vec![0x5a_u8; 1024];
    for name in ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072"] {
        let key =
            SigningKey::from_secret_file(&std::fs::read(dir.join(format!("{name}.pem"))).unwrap())
                .unwrap();
        let public = key.public().clone();
        let sig = key.sign(&msg).unwrap().sig;
        let raw = hex::decode(&sig).unwrap();
        let vk = public.verifying_key().unwrap();
        assert!(public.verify(&msg, &sig) && vk.verify(&msg, &raw));
        let walk = rate(min, || assert!(public.verify(&msg, &sig)));
        let parsed = rate(min, || assert!(vk.verify(&msg, &raw)));
        let sign = rate(min, || {
            key.sign(&msg).unwrap();
        });
        println!("{name}\t{walk:.0}\t{parsed:.0}\t{sign:.0}");
    }
}
