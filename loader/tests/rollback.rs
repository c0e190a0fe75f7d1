//! Rollback attacks: a repository (or a man in the middle) serving older, validly signed metadata than the
//! client has already trusted must be refused with `metadata.rollback`, including when the client's persisted
//! timestamp has expired in the meantime.
use x0x_dist_test_support::loader as common;

use common::{any, chain, client, host, in_days, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

fn release(repo: &mut TestRepo, v: &str, seed: u8) {
    repo.publish(v, &[(Platform::Wasm32Wasip1, payload(seed, 1000), None)]);
}

#[tokio::test]
async fn older_timestamp_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    release(&mut repo, "1.0.0", 1);
    let old_timestamp = repo.timestamp_bytes();
    release(&mut repo, "1.1.0", 2);
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let (_, res, _) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(res.version, "1.1.0");

    // The attacker replays timestamp v1 (pointing at snapshot v1, which still exists): refused.
    repo.set_timestamp_bytes(&old_timestamp);
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "metadata.rollback", "{err:#}");

    // A fresh client (no persisted state) would have accepted it: the protection is the persisted state.
    let fresh = client(
        &server.url(),
        &tmp.path().join("cache-fresh"),
        &repo.root_bytes,
    );
    let (_, res, _) = fresh.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(res.version, "1.0.0");
}

#[tokio::test]
async fn expired_persisted_timestamp_still_guards_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    // Timestamp v1 is valid for 10 days; v2 (what the client trusts) only for 1 day.
    repo.timestamp_expires = in_days(10);
    release(&mut repo, "1.0.0", 1);
    let old_timestamp = repo.timestamp_bytes();
    repo.timestamp_expires = in_days(1);
    release(&mut repo, "1.1.0", 2);
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    client(&server.url(), &cache, &repo.root_bytes)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap();

    // Two days later the persisted v2 has expired; the attacker replays v1, which has not.
    repo.set_timestamp_bytes(&old_timestamp);
    let mut later = client(&server.url(), &cache, &repo.root_bytes);
    later = later.with_now(in_days(2));
    let err = later
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "metadata.rollback", "{err:#}");
}

#[tokio::test]
async fn role_version_going_down_in_snapshot_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    release(&mut repo, "1.0.0", 1);
    release(&mut repo, "1.1.0", 2);
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    c.best("x0x", &any(), &h, &NoProgress).await.unwrap();

    // A compromised snapshot key signs a newer snapshot pinning the older x0x role (v1, without 1.1.0).
    repo.x0x.version = 1;
    repo.write_snapshot();
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "metadata.rollback", "{err:#}");
    assert!(chain(&err).contains("x0x"), "{}", chain(&err));
}
