//! Root rotation: a client shipped with root v1 follows a properly cross-signed rotation to v2 (and persists
//! it), and refuses a "rotation" not signed by the old root keys.
mod common;

use common::{any, client, host, key, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
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
            err.code(),
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
