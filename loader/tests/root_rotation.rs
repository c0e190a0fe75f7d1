//! Root rotation: a client shipped with root v1 follows a properly cross-signed rotation to v2 (and persists
//! it), and refuses a "rotation" not signed by the old root keys.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::loader as common;

use common::{any, client, host, key, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

#[tokio::test]
async fn follows_cross_signed_rotation_and_refuses_unsigned_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let shipped_root = repo.root_bytes.clone();
    let (k1, k2, k3) = (key("root-1"), key("root-2"), key("root-3"));
    repo.write_root(&k2, &[&k1, &k2]);
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let c = client(&server.url(), &cache, &shipped_root);
    let (repo_view, _, _) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(repo_view.trusted().root().signed().version, 2);
    let id = x0x_dist_loader::tuf::repo_id(&shipped_root);
    let persisted = std::fs::read(cache.join("tuf").join(&id).join("root.json")).unwrap();
    assert_eq!(
        persisted,
        std::fs::read(repo.dir.join("tuf/metadata/2.root.json")).unwrap()
    );

    // v3 signed only by its own new key: not a threshold of v2's root keys.
    repo.write_root(&k3, &[&k3]);
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert!(
        matches!(
            err.code().as_str(),
            "metadata.threshold_not_met" | "metadata.signature_invalid"
        ),
        "{}",
        err.code()
    );
    // Trust did not move.
    let persisted = std::fs::read(cache.join("tuf").join(&id).join("root.json")).unwrap();
    assert_eq!(
        persisted,
        std::fs::read(repo.dir.join("tuf/metadata/2.root.json")).unwrap()
    );
}

/// TUF §5.3.11 fast-forward recovery: a compromised timestamp key pushed the client to timestamp v100; the
/// repository rotates the timestamp key in root v2 and starts again from a low version. The persisted v100 no
/// longer verifies under the new root, so it is dropped (not kept as a version floor, which would lock the
/// client out for good) and the new timestamp is accepted.
#[tokio::test]
async fn timestamp_key_rotation_recovers_from_a_fast_forward() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let c = client(&server.url(), &cache, &repo.root_bytes);
    c.best("x0x", &any(), &h, &NoProgress).await.unwrap();

    // The attacker signs timestamp v100 with the stolen key; the client trusts and persists it.
    let snapshot = std::fs::read(repo.dir.join("tuf/metadata/1.snapshot.json")).unwrap();
    repo.timestamp_version = 99;
    repo.write_timestamp(&snapshot);
    c.best("x0x", &any(), &h, &NoProgress).await.unwrap();

    // Recovery: root v2 with a new timestamp key, timestamp versions start again.
    repo.timestamp_key = key("timestamp-2");
    let root_key = repo.root_key.clone();
    repo.write_root(&root_key, &[&root_key]);
    repo.timestamp_version = 0;
    repo.publish("1.1.0", &[(Platform::Wasm32Wasip1, payload(2, 100), None)]);
    let (_, res, _) = client(&server.url(), &cache, &repo.root_bytes)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap();
    assert_eq!(res.version, "1.1.0");
}

/// The trust anchor is the root the caller gives (shipped or `--root`), never a root found only in the cache:
/// a `root.json` of someone else's repository written into the cache directory does not make the client
/// accept that repository's metadata. Rotations still replay from the cache, verified link by link.
#[tokio::test]
async fn a_root_planted_in_the_cache_is_not_a_trust_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let shipped_root = repo.root_bytes.clone();
    // Another repository with its own root, snapshot and timestamp keys (root v2 signed only by itself).
    let mut evil = TestRepo::new(&tmp.path().join("evil"));
    evil.timestamp_key = key("evil-timestamp");
    evil.snapshot_key = key("evil-snapshot");
    let evil_root = key("evil-root");
    evil.write_root(&evil_root, &[&evil_root]);
    let evil_root_bytes = std::fs::read(evil.dir.join("tuf/metadata/2.root.json")).unwrap();
    evil.publish("6.6.6", &[(Platform::Wasm32Wasip1, payload(6, 100), None)]);
    let cache = tmp.path().join("cache");
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let server = StaticServer::start(&repo.dir);
    client(&server.url(), &cache, &shipped_root)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap();

    // The attacker can write to the cache and serve its own repository.
    let dir = cache
        .join("tuf")
        .join(x0x_dist_loader::tuf::repo_id(&shipped_root));
    std::fs::write(dir.join("root.json"), &evil_root_bytes).unwrap();
    std::fs::write(dir.join("2.root.json"), &evil_root_bytes).unwrap();
    let evil_server = StaticServer::start(&evil.dir);
    let err = client(&evil_server.url(), &cache, &shipped_root)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap_err();
    assert!(err.code().as_str().starts_with("metadata."), "{err:#}");

    // A real rotation persisted earlier is replayed from the cache (the server no longer has 2.root.json).
    let (k1, k2) = (key("root-1"), key("root-2"));
    let tmp2 = tempfile::tempdir().unwrap();
    let mut rotated = TestRepo::new(&tmp2.path().join("repo"));
    rotated.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let shipped = rotated.root_bytes.clone();
    rotated.write_root(&k2, &[&k1, &k2]);
    let s2 = StaticServer::start(&rotated.dir);
    let cache2 = tmp2.path().join("cache");
    client(&s2.url(), &cache2, &shipped)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap();
    let id = x0x_dist_loader::tuf::repo_id(&shipped);
    assert!(cache2.join("tuf").join(&id).join("2.root.json").is_file());
    std::fs::remove_file(rotated.dir.join("tuf/metadata/2.root.json")).unwrap();
    let (view, _, _) = client(&s2.url(), &cache2, &shipped)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap();
    assert_eq!(view.trusted().root().signed().version, 2);
}
