//! Replicas on one store whose tags are not cheap to read (the S3 case, simulated over a local directory by a
//! store that says so): requests never check the store per request; a poller does, every `[storage] poll_secs`,
//! so a publish made through one replica is served by another within that bound, and at once by the replica
//! that made it. Tokens are still checked per authorization (a revocation is refused from the next request on).
use x0x_dist_test_support::fixture as common;

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bytes::Bytes;
use common::*;
use futures_util::future::BoxFuture;
use x0x_dist_server::state::AppState;
use x0x_dist_server::storage::local::LocalStore;
use x0x_dist_server::storage::StorageError;
use x0x_dist_server::storage::{
    Area, ByteStream, Digest, ETag, Object, ObjectKey, ObjectPath, PutLimits, PutOutcome, Store,
};

/// A local store that reports its tags as expensive (so the server polls), counting tag reads (of
/// `timestamp.json`) and object reads.
struct Polled {
    inner: LocalStore,
    etag_reads: AtomicUsize,
    gets: AtomicUsize,
}

impl Polled {
    fn open(dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            inner: LocalStore::open(dir).unwrap(),
            etag_reads: AtomicUsize::new(0),
            gets: AtomicUsize::new(0),
        })
    }

    fn reads(&self) -> usize {
        self.etag_reads.load(Ordering::SeqCst)
    }
}

impl Store for Polled {
    fn describe(&self) -> String {
        format!("polled {}", self.inner.describe())
    }
    fn etag_is_cheap(&self) -> bool {
        false
    }
    fn get_object<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<Object>, StorageError>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get_object(key)
    }
    fn object_etag<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<ETag>, StorageError>> {
        if *key == ObjectKey::timestamp() {
            self.etag_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.object_etag(key)
    }
    fn put_object<'a>(
        &'a self,
        key: &'a ObjectKey,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<ETag, StorageError>> {
        self.inner.put_object(key, bytes)
    }
    fn list(&self, area: Area) -> BoxFuture<'_, Result<Vec<String>, StorageError>> {
        self.inner.list(area)
    }
    fn read_blob<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        self.inner.read_blob(digest)
    }
    fn blob_len<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        self.inner.blob_len(digest)
    }
    fn put_blob<'a>(
        &'a self,
        digest: &'a Digest,
        body: ByteStream,
        limits: PutLimits,
    ) -> BoxFuture<'a, Result<PutOutcome, StorageError>> {
        self.inner.put_blob(digest, body, limits)
    }
    fn link_target<'a>(
        &'a self,
        path: &'a ObjectPath,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.link_target(path, digest)
    }
    fn target_len<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        self.inner.target_len(path)
    }
    fn read_target<'a>(
        &'a self,
        path: &'a ObjectPath,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        self.inner.read_target(path, range)
    }
    fn read_target_all<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> BoxFuture<'a, Result<Bytes, StorageError>> {
        self.inner.read_target_all(path)
    }
}

/// A replica over the fixture's directory, polling every second, with its poller running.
async fn replica(fx: &Fixture) -> (Arc<AppState>, Arc<Polled>) {
    let mut config = fx.config();
    config.storage.poll_secs = 1;
    let store = Polled::open(&fx.path());
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
    let on_disk = || Bytes::from(std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap());

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
    let gets = b_store.gets.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(
            get(&b, "/tuf/metadata/2.root.json").await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(b_store.gets.load(Ordering::SeqCst), gets);

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
