//! Replicas on one store whose tags are not cheap to read (the S3 case, simulated over a local directory by a
//! store that says so): requests never check the store per request; a poller does, every `[storage] poll_secs`,
//! so a publish made through one replica is served by another within that bound, and at once by the replica
//! that made it. Tokens are still checked per authorization (a revocation is refused from the next request on).
use x0x_dist_test_support::fixture as common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;
use x0x_dist_server::state::AppState;
use x0x_dist_server::storage::local::LocalStore;
use x0x_dist_test_support::store::{Hook, Watched, Writes};

/// A replica over the fixture's directory, polling every second, with its poller running.
async fn replica(fx: &Fixture) -> (Arc<AppState>, Arc<Watched>) {
    let mut config = fx.config();
    config.storage.poll_secs = 1;
    let store = Watched::new(
        Arc::new(LocalStore::open(fx.path()).unwrap()),
        Writes::default(),
        Hook::default(),
    );
    let st = Arc::new(AppState::with_store(config, store.clone(), Some(fx.path())));
    x0x_dist_server::server::startup_check(&st).await.unwrap();
    let poller = x0x_dist_server::server::spawn_store_poller(&st);
    assert!(poller.is_some(), "a store with expensive tags is polled");
    (st, store)
}

fn versions(r: &Resp) -> Vec<String> {
    r.json()["versions"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_through_one_replica_is_served_by_the_other_within_poll_secs() {
    let fx = repo(1);
    let (a, _) = replica(&fx).await;
    let (b, b_store) = replica(&fx).await;
    let on_disk =
        || bytes::Bytes::from(std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap());

    // Both serve the initial state; b's requests do not read the store's tag each time.
    let before = b_store.reads();
    for _ in 0..10 {
        let t = get(&b, "/tuf/metadata/timestamp.json").await;
        assert_eq!(t.status, StatusCode::OK);
        assert_eq!(t.body, on_disk());
        let p = get(&b, "/api/v1/packages/x0x").await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(versions(&p).is_empty());
    }
    assert!(
        b_store.reads() - before <= 3,
        "20 requests read the tag {} times: checked per request",
        b_store.reads() - before
    );
    // Clients probe for the next root on every refresh: once found missing, it is not asked for again until
    // the timestamp changes.
    assert_eq!(
        get(&b, "/tuf/metadata/2.root.json").await.status,
        StatusCode::NOT_FOUND
    );
    let gets = b_store.gets();
    for _ in 0..5 {
        assert_eq!(
            get(&b, "/tuf/metadata/2.root.json").await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(b_store.gets(), gets);

    // Publish through a: a serves it from its next request on.
    release(&fx, &a, None, "0.3.1").await;
    let published = Instant::now();
    assert_eq!(
        get(&a, "/tuf/metadata/timestamp.json").await.body,
        on_disk()
    );
    assert_eq!(versions(&get(&a, "/api/v1/packages/x0x").await), ["0.3.1"]);

    // b serves it within poll_secs (1 s; generous slack for a loaded machine).
    loop {
        let t = get(&b, "/tuf/metadata/timestamp.json").await;
        let p = get(&b, "/api/v1/packages/x0x").await;
        if t.body == on_disk() && versions(&p) == ["0.3.1"] {
            break;
        }
        assert!(
            published.elapsed() < Duration::from_secs(20),
            "replica b still serves the old state"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resolved = get(&b, "/api/v1/packages/x0x/resolve?range=^0.3").await;
    assert_eq!(resolved.json()["version"], "0.3.1");

    // Tokens are checked per authorization even here: a revoked token is refused by b at once.
    let id = x0x_dist_repository::tokens::list(&fx.path())
        .unwrap()
        .into_iter()
        .find(|t| t.packages == [PKG])
        .unwrap()
        .id;
    x0x_dist_repository::tokens::revoke(&fx.path(), &id).unwrap();
    let r = put_blob(&b, Some(&fx.bearer()), b"after revocation").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.code());
    assert_eq!(r.code(), "auth.invalid");
}

/// The online keys are never read from the store: they come from `[storage] keys` (default `REPO/online`), and a
/// server that cannot find them says where it looked and which setting moves them.
#[tokio::test]
async fn online_keys_come_from_the_keys_directory() {
    let fx = repo(1);
    let keys = tempfile::tempdir().unwrap();
    for k in ["snapshot.key", "timestamp.key"] {
        let from = fx.path().join("online").join(k);
        std::fs::copy(&from, keys.path().join(k)).unwrap();
        std::fs::remove_file(from).unwrap();
    }
    let st = Arc::new(AppState::new(fx.config()).unwrap());
    let err = format!(
        "{:#}",
        x0x_dist_server::server::startup_check(&st)
            .await
            .unwrap_err()
    );
    assert!(err.contains("online/snapshot.key"), "{err}");
    assert!(err.contains("[storage] keys"), "{err}");

    let mut config = fx.config();
    config.storage.keys = Some(keys.path().to_owned());
    let st = state_for(config).await;
    release(&fx, &st, None, "0.3.1").await;
    assert_eq!(versions(&get(&st, "/api/v1/packages/x0x").await), ["0.3.1"]);
}
