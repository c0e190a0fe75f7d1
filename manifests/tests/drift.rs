//! The checked-in vectors, `platforms.json` and `docs/error-codes.md` must equal what the generator writes.
//! Fix a failure with `cargo run -p x0x-dist-manifests --example gen-vectors`.

#[path = "../examples/gen-vectors/generate.rs"]
mod generate;

#[test]
fn generated_files_are_checked_in_unchanged() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut drifted = Vec::new();
    for (rel, bytes) in generate::generate() {
        match std::fs::read(root.join(&rel)) {
            Ok(on_disk) if on_disk == bytes => {}
            _ => drifted.push(rel),
        }
    }
    assert!(
        drifted.is_empty(),
        "out of date (run `cargo run -p x0x-dist-manifests --example gen-vectors`): {drifted:?}"
    );
}
