//! Tampered targets and metadata: bytes that do not match verified metadata never reach the cache or the
//! caller (`target.digest_mismatch`, `target.length_mismatch`), a corrupted cache entry is detected and
//! replaced, and metadata changed after signing is refused.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::loader as common;

use common::{any, chain, client, host, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

fn blobs(cache: &std::path::Path) -> usize {
    std::fs::read_dir(cache.join("blobs")).map_or(0, Iterator::count)
}

#[tokio::test]
async fn same_length_different_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let native = payload(1, 50_000);
    let wasm = payload(2, 20_000);
    repo.publish(
        "1.0.0",
        &[
            (Platform::LinuxX64Gnu, native.clone(), Some("2.17")),
            (Platform::Wasm32Wasip1, wasm.clone(), None),
        ],
    );
    let mut evil = native.clone();
    evil[100] ^= 0xff;
    std::fs::write(repo.blob("1.0.0", Platform::LinuxX64Gnu, &native), &evil).unwrap();
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let c = client(&server.url(), &cache, &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));

    let (r, res) = c.resolve("x0x", &any(), &h, None).await.unwrap();
    let err = c
        .download(&r, &res.candidates[0], &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "target.digest_mismatch", "{}", chain(&err));
    assert_eq!(blobs(&cache), 0, "tampered bytes must not enter the cache");
    assert_eq!(
        std::fs::read_dir(cache.join("tmp")).unwrap().count(),
        0,
        "partial file removed"
    );

    // The whole pipeline falls through to WASM and says why.
    let (_, res, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(sel.candidate.platform_name(), "wasm32-wasip1");
    assert_eq!(std::fs::read(&sel.path).unwrap(), wasm);
    let native_reason = &common::candidate(&res, "linux-x64-gnu").reason;
    assert!(
        native_reason.contains("target.digest_mismatch"),
        "{native_reason}"
    );
}

#[tokio::test]
async fn longer_body_is_cut_off_and_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let wasm = payload(2, 20_000);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, wasm.clone(), None)]);
    let mut evil = wasm.clone();
    evil.extend_from_slice(&payload(3, 10_000_000));
    std::fs::write(repo.blob("1.0.0", Platform::Wasm32Wasip1, &wasm), &evil).unwrap();
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let c = client(&server.url(), &cache, &repo.root_bytes);
    let err = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "loader.no_candidate");
    assert!(
        chain(&err).contains("target.length_mismatch"),
        "{}",
        chain(&err)
    );
    assert_eq!(blobs(&cache), 0);
}

#[tokio::test]
async fn corrupted_cache_entry_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let wasm = payload(2, 20_000);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, wasm.clone(), None)]);
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let (_, _, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    let mut bytes = std::fs::read(&sel.path).unwrap();
    let mut perms = std::fs::metadata(&sel.path).unwrap().permissions();
    assert!(perms.readonly(), "blobs are written read-only");
    bytes[0] ^= 1;
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&sel.path, perms).unwrap();
    std::fs::write(&sel.path, &bytes).unwrap();
    let before = server.requests_for("/tuf/targets/").len();
    let (_, _, again) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(std::fs::read(&again.path).unwrap(), wasm);
    assert_eq!(
        server.requests_for("/tuf/targets/").len(),
        before + 1,
        "re-downloaded once"
    );
}

#[tokio::test]
async fn metadata_changed_after_signing_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(2, 100), None)]);
    // Point the package role at different bytes without re-signing: edit the length in place.
    let role = repo.dir.join("tuf/metadata/1.x0x.json");
    let text = std::fs::read_to_string(&role).unwrap();
    let tampered = text
        .replace("\"length\": 100", "\"length\": 101")
        .replace("\"length\":100", "\"length\":101");
    assert_ne!(tampered, text);
    std::fs::write(&role, tampered).unwrap();
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let err = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.code().as_str(),
            "metadata.signature_invalid" | "metadata.threshold_not_met"
        ),
        "{}: {}",
        err.code(),
        chain(&err)
    );
}
