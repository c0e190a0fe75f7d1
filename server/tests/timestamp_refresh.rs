//! The server re-signs the timestamp (and the snapshot when it would expire first) before expiry, and a client
//! verifying the repository accepts the result.
use x0x_dist_test_support::fixture as common;

use common::*;
use x0x_dist_manifests::{Signed, Snapshot, Timestamp};
use x0x_dist_server::config::TimestampConfig;

fn ts(fx: &Fixture) -> Signed<Timestamp> {
    Signed::from_slice(&std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap()).unwrap()
}

/// `publish::refresh_if_due` on the fixture's directory, as the server calls it for a local store.
async fn refresh_if_due(
    fx: &Fixture,
    cfg: &TimestampConfig,
    now: time::OffsetDateTime,
) -> Result<Option<time::OffsetDateTime>, x0x_dist_server::error::ApiError> {
    let store = x0x_dist_server::storage::local::LocalStore::open(fx.path()).unwrap();
    let dir = fx.path();
    let coord = x0x_dist_server::coordinator::single::SingleWriter::new(
        Some(dir.clone()),
        "test".into(),
        x0x_dist_server::config::WriterConfig::default(),
    );
    x0x_dist_server::publish::refresh_if_due(
        &store,
        &coord,
        &dir.join("online"),
        cfg,
        now,
        &x0x_dist_server::metrics::Metrics::default(),
    )
    .await
}

#[tokio::test]
async fn refresh_policy() {
    let fx = repo(1);
    let cfg = TimestampConfig {
        expiry_secs: 3600,
        refresh_before_secs: 600,
        check_interval_secs: 1,
        snapshot_expiry_secs: 86_400,
    };
    let now = time::OffsetDateTime::now_utc();
    // The fixture's timestamp and snapshot expire in a year: nothing to do.
    assert!(refresh_if_due(&fx, &cfg, now).await.unwrap().is_none());
    assert_eq!(ts(&fx).signed().version, 1);
    // Two years later both are due: a new snapshot (version 2) and timestamp (version 2).
    let later = now + time::Duration::days(730);
    let exp = refresh_if_due(&fx, &cfg, later)
        .await
        .unwrap()
        .expect("refreshed");
    assert_eq!(exp, later + time::Duration::seconds(3600));
    let t = ts(&fx);
    assert_eq!(
        (t.signed().version, t.signed().snapshot_meta().version),
        (2, 2)
    );
    let s: Signed<Snapshot> =
        Signed::from_slice(&std::fs::read(fx.path().join("metadata/2.snapshot.json")).unwrap())
            .unwrap();
    assert_eq!(
        s.signed().expires.unix_timestamp(),
        (later + time::Duration::seconds(86_400)).unix_timestamp()
    );
    // 55 minutes on, only the timestamp is due (the snapshot has a day left): same snapshot, timestamp 3.
    assert!(
        refresh_if_due(&fx, &cfg, later + time::Duration::seconds(2000))
            .await
            .unwrap()
            .is_none()
    );
    let exp2 = refresh_if_due(&fx, &cfg, later + time::Duration::seconds(3300))
        .await
        .unwrap()
        .expect("refreshed again");
    assert!(exp2 > exp);
    let t = ts(&fx);
    assert_eq!(
        (t.signed().version, t.signed().snapshot_meta().version),
        (3, 2)
    );
    assert!(!fx.path().join("metadata/3.snapshot.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_server_resigns_in_background() {
    let fx = repo(1);
    // Server policy: 1 h timestamps, re-signed when less than 2 s remain, checked every second.
    let mut config = fx.config();
    config.timestamp = TimestampConfig {
        expiry_secs: 3600,
        refresh_before_secs: 2,
        check_interval_secs: 1,
        snapshot_expiry_secs: 86_400,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (_running, task) = x0x_dist_server::server::serve_on(listener, config, async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    // Once the server runs (so its startup check cannot be what re-signs it), an offline writer commits a
    // timestamp that expires in 3 s.
    let short = TimestampConfig {
        expiry_secs: 3,
        refresh_before_secs: 0,
        check_interval_secs: 1,
        snapshot_expiry_secs: 86_400,
    };
    let now = time::OffsetDateTime::now_utc();
    {
        let _writer = x0x_dist_repository::lock::lock(&fx.path(), || {}).unwrap();
        let store = x0x_dist_server::storage::local::LocalStore::open(fx.path()).unwrap();
        let cur = x0x_dist_server::publish::Published::load(&store)
            .await
            .unwrap();
        let keys = x0x_dist_server::publish::OnlineKeys::load(
            &fx.path().join("online"),
            cur.root.signed(),
        )
        .unwrap();
        x0x_dist_server::publish::commit(&store, &cur, &[], &keys, &short, now)
            .await
            .unwrap();
    }
    let v0 = ts(&fx).signed().version;
    // The background refresher re-signs it (polled; generous for a loaded machine, still far below the
    // 1 h a missing refresher would leave it expired for).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline && ts(&fx).signed().version == v0 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
    let t = ts(&fx);
    assert!(t.signed().version > v0, "timestamp was not re-signed");
    assert!(t.signed().expires > now + time::Duration::seconds(3000));
    // Wait past the old expiry: a client still accepts the repository.
    tokio::time::sleep(std::time::Duration::from_millis(3500u64.saturating_sub(
        u64::try_from((time::OffsetDateTime::now_utc() - now).whole_milliseconds()).unwrap_or(0),
    )))
    .await;
    assert_eq!(verify_repo(&fx.path()), 0);
}
