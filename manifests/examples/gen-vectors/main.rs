//! Regenerates the shared test vectors (`manifests/vectors/`), `manifests/vectors/platforms.json` and
//! `docs/error-codes.md`. Deterministic: fixed keys from seeds, fixed dates.
//!
//! Run: `cargo run -p x0x-dist-manifests --example gen-vectors` (CI reruns it and fails on `git diff`).

mod generate;

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let vectors = root.join("manifests/vectors");
    // Remove stale generated files so renamed cases do not linger.
    for dir in ["cases", "repo"] {
        let d = vectors.join(dir);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
    }
    let files = generate::generate();
    for (rel, bytes) in &files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("files live in directories"))?;
        #[allow(clippy::disallowed_methods)]
        // checked-in sources, rewritten whole; git is their history
        std::fs::write(&path, bytes)?;
    }
    println!("wrote {} files", files.len());
    Ok(())
}
