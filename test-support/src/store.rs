//! One delegating [`Store`] wrapper for the server tests that watch what a store is asked (server/tests/
//! replicas.rs, coordinator.rs): it reports its tags as expensive (the S3 case over a local directory, so servers
//! poll), counts object reads and tag reads of `timestamp.json`, records every write of a versioned (immutable) name by content
//! (none may be written with two different contents), and runs a fault once before the next `N.snapshot.json`
//! is written; and it can leave objects out of its listings.
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use x0x_dist_server::storage::{
    Area, ByteStream, Digest, ETag, Listed, Object, ObjectKey, ObjectPath, PutLimits, PutOutcome,
    StorageError, Store,
};

/// A fault to inject once.
pub type Hook = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// Versioned name -> the distinct SHA-256s written under it (shared by the stores of several replicas).
pub type Writes = Arc<Mutex<HashMap<String, BTreeSet<String>>>>;

/// The versioned names written with more than one content (`name xN`).
pub fn rewritten(writes: &Writes) -> Vec<String> {
    writes
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.len() > 1)
        .map(|(k, n)| format!("{k} x{}", n.len()))
        .collect()
}

/// See the module docs.
pub struct Watched {
    inner: Arc<dyn Store>,
    etag_reads: AtomicUsize,
    gets: AtomicUsize,
    writes: Writes,
    before_snapshot: Hook,
    hidden: Mutex<BTreeSet<(String, String)>>,
}

impl Watched {
    /// Watches `inner`, recording versioned writes into `writes`; `before_snapshot` runs once, before the next
    /// `N.snapshot.json` is written.
    pub fn new(inner: Arc<dyn Store>, writes: Writes, before_snapshot: Hook) -> Arc<Self> {
        Arc::new(Self {
            inner,
            etag_reads: AtomicUsize::new(0),
            gets: AtomicUsize::new(0),
            writes,
            before_snapshot,
            hidden: Mutex::new(BTreeSet::new()),
        })
    }

    /// Leaves `name` of `area` out of every listing from now on (an engine whose listing misses an object that
    /// a read by name still finds); reads by name are unchanged.
    pub fn hide_from_listing(&self, area: Area, name: &str) {
        self.hidden
            .lock()
            .unwrap()
            .insert((format!("{area:?}"), name.to_owned()));
    }

    fn listed(&self, area: Area, name: &str) -> bool {
        !self
            .hidden
            .lock()
            .unwrap()
            .contains(&(format!("{area:?}"), name.to_owned()))
    }

    /// Tag reads of `timestamp.json` so far.
    pub fn reads(&self) -> usize {
        self.etag_reads.load(Ordering::SeqCst)
    }

    /// Object reads so far.
    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }
}

impl Store for Watched {
    fn describe(&self) -> String {
        self.inner.describe()
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
        if key.is_immutable() {
            if key.as_key().ends_with(".snapshot.json") {
                if let Some(hook) = self.before_snapshot.lock().unwrap().take() {
                    hook();
                }
            }
            self.writes
                .lock()
                .unwrap()
                .entry(key.as_key())
                .or_default()
                .insert(Digest::digest(&bytes).to_hex());
        }
        self.inner.put_object(key, bytes)
    }
    fn list(&self, area: Area) -> BoxFuture<'_, Result<Vec<String>, StorageError>> {
        Box::pin(async move {
            let mut all = self.inner.list(area).await?;
            all.retain(|n| self.listed(area, n));
            Ok(all)
        })
    }
    fn list_detailed(&self, area: Area) -> BoxFuture<'_, Result<Vec<Listed>, StorageError>> {
        Box::pin(async move {
            let mut all = self.inner.list_detailed(area).await?;
            all.retain(|l| self.listed(area, &l.name));
            Ok(all)
        })
    }
    fn remove<'a>(&'a self, area: Area, name: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.remove(area, name)
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
