//! The operator's explicit expiry policy for air-gapped installs (`X0X_DIST_ALLOW_EXPIRED_AFTER`): expiry is
//! checked at the given time instead of now, so metadata valid then is accepted; metadata that had already
//! expired at that time is still refused; a malformed value is a configuration error, never ignored. One test
//! in this file: it changes the process environment.
use x0x_dist_test_support::loader as common;

use common::{any, client, host, in_days, payload, StaticServer, TestRepo};
use time::format_description::well_known::Rfc3339;
use x0x_dist_loader::env::ALLOW_EXPIRED_AFTER;
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

#[tokio::test]
async fn allow_expired_after_is_explicit_and_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.timestamp_expires = in_days(-1);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, payload(1, 100), None)]);
    let server = StaticServer::start(&repo.dir);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let at = |d: i64| in_days(d).format(&Rfc3339).unwrap();

    std::env::remove_var(ALLOW_EXPIRED_AFTER);
    let err = client(&server.url(), &tmp.path().join("c0"), &repo.root_bytes)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "metadata.expired");

    // Two days ago the timestamp (expired yesterday) was valid: accepted.
    std::env::set_var(ALLOW_EXPIRED_AFTER, at(-2));
    let c = client(&server.url(), &tmp.path().join("c1"), &repo.root_bytes);
    let (view, _, _) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert!(view.statuses().iter().any(|s| s.role == "timestamp"));

    // Twelve hours ago it had already expired: still refused.
    std::env::set_var(
        ALLOW_EXPIRED_AFTER,
        in_days(0)
            .checked_sub(time::Duration::hours(12))
            .unwrap()
            .format(&Rfc3339)
            .unwrap(),
    );
    let err = client(&server.url(), &tmp.path().join("c2"), &repo.root_bytes)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "metadata.expired");

    std::env::set_var(ALLOW_EXPIRED_AFTER, "last tuesday");
    let err = client(&server.url(), &tmp.path().join("c3"), &repo.root_bytes)
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    std::env::remove_var(ALLOW_EXPIRED_AFTER);
}
