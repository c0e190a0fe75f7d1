//! Target paths and hashes at the point of use: a package role may list any safe TUF path (it parses), but
//! the loader enumerates package artifacts only and refuses a role listing another shape
//! (`target.path_invalid`); a download is checked against every hash its metadata lists (a wrong sha512 beside
//! a right sha256 is `target.digest_mismatch`), and a target listing an algorithm we cannot compute is refused
//! before any request.
use x0x_dist_test_support::loader as common;

use common::{any, chain, client, host, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::{Platform, TargetFile};

fn blobs(cache: &std::path::Path) -> usize {
    std::fs::read_dir(cache.join("blobs")).map_or(0, Iterator::count)
}

#[tokio::test]
async fn a_package_role_listing_a_non_package_path_is_refused_at_use() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(2, 1000), None)]);
    repo.x0x.targets.insert(
        "x0x/docs/README.md".parse().unwrap(),
        TargetFile::for_bytes(b"readme", None),
    );
    repo.write_x0x_and_snapshot();
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let err = c
        .resolve(
            "x0x",
            &any(),
            &host("x86_64-unknown-linux-gnu", Some("2.36")),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "target.path_invalid", "{}", chain(&err));
}

/// Publishes one wasm artifact whose metadata lists `extra` beside its sha256; returns the download's result.
async fn download_with_extra_hash(extra: (&str, String)) -> (x0x_dist_loader::Error, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish(
        "1.0.0",
        &[(Platform::Wasm32Wasip1, payload(2, 20_000), None)],
    );
    for t in repo.x0x.targets.values_mut() {
        t.hashes.insert(extra.0.to_owned(), extra.1.clone());
    }
    repo.write_x0x_and_snapshot();
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let c = client(&server.url(), &cache, &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let (r, res) = c.resolve("x0x", &any(), &h, None).await.unwrap();
    let wasm = common::candidate(&res, "wasm32-wasip1").clone();
    let err = c.download(&r, &wasm, &NoProgress).await.unwrap_err();
    (err, blobs(&cache))
}

#[tokio::test]
async fn a_wrong_sha512_beside_a_right_sha256_is_refused() {
    let (err, blobs) = download_with_extra_hash(("sha512", "ab".repeat(64))).await;
    assert_eq!(err.code(), "target.digest_mismatch", "{}", chain(&err));
    assert!(chain(&err).contains("sha512"), "{}", chain(&err));
    assert_eq!(blobs, 0);
}

#[tokio::test]
async fn an_unsupported_hash_algorithm_is_refused() {
    let (err, blobs) = download_with_extra_hash(("md5", "0".repeat(32))).await;
    assert_eq!(err.code(), "target.digest_mismatch", "{}", chain(&err));
    assert!(chain(&err).contains("md5"), "{}", chain(&err));
    assert_eq!(blobs, 0);
}
