//! Freeze attacks: expired metadata is refused (`metadata.expired`), whichever role expired, and the error
//! names the role.
use x0x_dist_test_support::loader as common;

use common::{any, chain, client, host, in_days, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

#[tokio::test]
async fn expired_timestamp_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.timestamp_expires = in_days(-1);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let err = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "metadata.expired", "{err:#}");
    assert!(chain(&err).contains("timestamp"), "{}", chain(&err));
}

#[tokio::test]
async fn expired_package_role_is_refused_and_fresh_one_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    // 40 days on, the timestamp would still need refreshing; re-sign a fresh timestamp but keep the 30-day
    // snapshot and x0x role: they expired.
    repo.timestamp_expires = in_days(60);
    let snap = std::fs::read(repo.dir.join("tuf/metadata/1.snapshot.json")).unwrap();
    repo.write_timestamp(&snap);
    let c = client(&server.url(), &cache, &repo.root_bytes).with_now(in_days(40));
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "metadata.expired", "{err:#}");
    assert!(chain(&err).contains("snapshot"), "{}", chain(&err));

    // Today everything is fresh.
    let c = client(&server.url(), &cache, &repo.root_bytes);
    c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
}

#[tokio::test]
async fn expired_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.timestamp_expires = in_days(1000);
    repo.expires = in_days(1000);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let server = StaticServer::start(&repo.dir);
    // Root expires after 365 days.
    let c =
        client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes).with_now(in_days(400));
    let err = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "metadata.expired", "{err:#}");
    assert!(chain(&err).contains("root"), "{}", chain(&err));
}
