//! Shared server state.
//!
//! Every byte the server reads or writes goes through [`AppState::store`]: blobs and targets, the TUF metadata
//! and the token file. Only the online keys stay outside it, in [`AppState::keys_dir`] (key custody: with object
//! storage the keys never go into the bucket).
//!
//! Freshness of what the server caches from mutable objects (`timestamp.json`, `root.json`, the package views):
//! - when the store's tags are cheap ([`Store::etag_is_cheap`], local directory: one `stat`), every request
//!   revalidates against the object's current [`ETag`], so a change made by any process is visible at once;
//! - otherwise (S3: a tag is a network round trip) requests never check: a poller
//!   ([`crate::server::store_poller`]) reads the tag of `timestamp.json` every `[storage] poll_secs` and records
//!   it here ([`AppState::published_timestamp`]); cached mutable objects are stamped with the tag current when
//!   they were read, and a new tag makes them stale. This process's own commits record the new tag at once. So
//!   a publish made through another replica is visible here within `poll_secs` (plus the one request that
//!   reloads); one made through this replica, from its next request on.
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use crate::config::Config;
use crate::error::ApiError;
use crate::files::MemCache;
use crate::metrics::Metrics;
use crate::storage::local::LocalStore;
use crate::storage::s3::S3Store;
use crate::storage::{ETag, ObjectKey, Store};
use crate::tokens::Tokens;
use x0x_dist_manifests::codes::Coded as _;

/// Everything handlers share.
pub struct AppState {
    /// The configuration.
    pub config: Config,
    /// The configured repository directory (`[storage] repo`): for logs and the mirror mode (a mirror is always
    /// a directory). The server reads and writes the repository through [`AppState::store`] only.
    pub repo_dir: PathBuf,
    /// Where the repository lives: blobs, targets, metadata and tokens.
    pub store: Arc<dyn Store>,
    /// The repository directory when the store is a local directory: offline `x0x-dist package` commands may
    /// write it too, so the server's writers also take its cross-process writer lock ([`x0x_dist_repository::lock`]).
    /// `None` for a remote store (one process, the publish leader, writes it).
    pub local_dir: Option<PathBuf>,
    /// The directory of the online keys (`[storage] keys`, default `REPO/online`); never in the store.
    pub keys_dir: PathBuf,
    /// The tag of `timestamp.json` as the store poller last saw it (only used when the store's tags are not
    /// cheap; see the module docs). `None`: not known yet.
    published: RwLock<Option<ETag>>,
    /// Poller mode: metadata names found missing while `timestamp.json` had the given tag (TUF clients probe
    /// `N+1.root.json` on every refresh; this answers those probes without a store round trip each).
    absent: Mutex<(Option<ETag>, HashSet<String>)>,
    /// In-memory cache of immutable files and the current timestamp.
    pub cache: MemCache,
    /// Upload tokens.
    pub tokens: Tokens,
    /// Trusted publishing: issuers' keys and the ID tokens already exchanged.
    pub oidc: crate::oidc::Oidc,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Packages with a publish in progress (a second concurrent publish gets 409).
    pub publishing: Mutex<HashSet<String>>,
    /// Serialises writers of snapshot/timestamp (publishes of different packages, the timestamp refresher).
    pub repo_lock: tokio::sync::Mutex<()>,
    /// Set once the repository loaded and verified at startup.
    pub ready: AtomicBool,
    /// Convenience JSON views of the published packages.
    pub views: crate::views::ViewCache,
    /// Who may commit and how (`crate::coordinator`): the database, or the single writer.
    pub coordinator: Arc<dyn crate::coordinator::Coordinator>,
    /// With a database: the newest timestamp this replica has seen (served as `timestamp.json`; never replaced by
    /// an older one, so a client moving between replicas never sees it go backwards).
    served: RwLock<Option<crate::coordinator::Head>>,
    /// When the last check of the database's timestamp started (one at a time; see [`AppState::served_timestamp`]).
    ts_check: tokio::sync::Mutex<Option<std::time::Instant>>,
    /// The npm registry view under `/npm/`.
    pub npm: crate::npm::Registry,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.describe())
            .field("keys_dir", &self.keys_dir)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for the repository in `config.storage.repo` with the local-directory store, or, when
    /// `config.storage.url` is set, in that object store (checked reachable here).
    pub fn new(config: Config) -> Result<Self, ApiError> {
        let repo_dir = config.storage.repo.clone();
        let (store, local_dir): (Arc<dyn Store>, _) = if config.storage.url.is_some() {
            (Arc::new(S3Store::open(&config.storage)?), None)
        } else {
            (Arc::new(LocalStore::open(&repo_dir)?), Some(repo_dir))
        };
        let coordinator = crate::coordinator::build(&config, local_dir.clone())?;
        Ok(Self::with_parts(config, store, local_dir, coordinator))
    }

    /// State over any store; `local_dir` is the repository directory when `store` is a local directory (its
    /// writer lock is then taken by every writer), `None` for a remote store. No database: the single writer
    /// (see [`AppState::with_parts`] for another coordinator).
    pub fn with_store(config: Config, store: Arc<dyn Store>, local_dir: Option<PathBuf>) -> Self {
        let coordinator = Arc::new(crate::coordinator::single::SingleWriter::new(
            local_dir.clone(),
            config.replica.id(),
            config.writer.clone(),
        ));
        Self::with_parts(config, store, local_dir, coordinator)
    }

    /// State over any store with the given coordinator ([`crate::coordinator::build`]).
    pub fn with_parts(
        config: Config,
        store: Arc<dyn Store>,
        local_dir: Option<PathBuf>,
        coordinator: Arc<dyn crate::coordinator::Coordinator>,
    ) -> Self {
        Self {
            served: RwLock::new(None),
            ts_check: tokio::sync::Mutex::new(None),
            cache: MemCache::new(config.cache.memory_bytes, config.cache.max_file_bytes),
            tokens: Tokens::with_coordinator(store.clone(), coordinator.clone()),
            oidc: crate::oidc::Oidc::new(&config.oidc),
            metrics: Metrics::default(),
            publishing: Mutex::new(HashSet::new()),
            repo_lock: tokio::sync::Mutex::new(()),
            ready: AtomicBool::new(false),
            views: crate::views::ViewCache::default(),
            npm: crate::npm::Registry::default(),
            published: RwLock::new(None),
            absent: Mutex::new((None, HashSet::new())),
            keys_dir: config.storage.keys_dir(),
            coordinator,
            repo_dir: config.storage.repo.clone(),
            local_dir,
            store,
            config,
        }
    }

    /// The tag to validate a cached copy of the mutable object `key` against (see the module docs): the
    /// object's own tag when tags are cheap (`None`: it does not exist), else the tag of `timestamp.json` the
    /// poller last saw.
    pub async fn mutable_stamp(&self, key: &ObjectKey) -> Result<Option<ETag>, ApiError> {
        if self.store.etag_is_cheap() {
            Ok(self.store.object_etag(key).await?)
        } else {
            self.published_timestamp().await
        }
    }

    /// The tag of `timestamp.json`: the store's current one when tags are cheap, else the one the poller last
    /// recorded (read once from the store if none is recorded yet).
    pub async fn published_timestamp(&self) -> Result<Option<ETag>, ApiError> {
        if self.coordinator.authoritative() {
            let h = self.seen_timestamp().await?;
            return Ok(Some(ETag(format!("db:{}:{}", h.version, h.sha256))));
        }
        if !self.store.etag_is_cheap() {
            if let Some(e) = self.published.read().ok().and_then(|g| g.clone()) {
                return Ok(Some(e));
            }
        }
        let e = self.store.object_etag(&ObjectKey::timestamp()).await?;
        if !self.store.etag_is_cheap() {
            self.record_timestamp(e.clone());
        }
        Ok(e)
    }

    /// Records the tag of `timestamp.json` (poller mode); returns whether it differs from the recorded one.
    pub fn record_timestamp(&self, etag: Option<ETag>) -> bool {
        match self.published.write() {
            Ok(mut g) => {
                let changed = *g != etag;
                *g = etag;
                changed
            }
            Err(_) => false,
        }
    }

    /// Poller mode: whether `name` was found missing under the timestamp tag `stamp` (still current).
    pub fn known_absent(&self, name: &str, stamp: &Option<ETag>) -> bool {
        stamp.is_some()
            && self
                .absent
                .lock()
                .is_ok_and(|g| g.0 == *stamp && g.1.contains(name))
    }

    /// Poller mode: records that `name` is missing under the timestamp tag `stamp` (forgotten on the next tag).
    pub fn note_absent(&self, name: &str, stamp: &Option<ETag>) {
        /// Bound on the names remembered (requests for random names must not grow memory).
        const MAX: usize = 1024;
        if stamp.is_none() {
            return;
        }
        if let Ok(mut g) = self.absent.lock() {
            if g.0 != *stamp || g.1.len() >= MAX {
                *g = (stamp.clone(), HashSet::new());
            }
            g.1.insert(name.to_owned());
        }
    }

    /// With a database: the timestamp to serve. Checked against the database for each request, so that a
    /// client moving between replicas never sees it go backwards (a commit another replica served before this
    /// request began is in the database before this check); checks are coalesced: one at a time per replica,
    /// and a request is answered by any check that started after it arrived. When the database does not answer,
    /// the newest timestamp seen is served (reads go on).
    pub async fn served_timestamp(&self) -> Result<crate::coordinator::Head, ApiError> {
        let arrived = std::time::Instant::now();
        let mut last = self.ts_check.lock().await;
        let current = self.served.read().ok().and_then(|g| g.clone());
        if let (Some(h), Some(started)) = (&current, *last) {
            if started >= arrived {
                return Ok(h.clone());
            }
        }
        *last = Some(std::time::Instant::now());
        let newer = self
            .coordinator
            .head_newer_than(&*self.store, current.as_ref().map_or(0, |h| h.version))
            .await;
        match newer {
            Ok(Some(h)) => {
                self.observe(&h);
            }
            Ok(None) => return current.ok_or_else(|| ApiError::Internal("no timestamp".into())),
            Err(e) => match current {
                Some(h) => {
                    tracing::debug!(error = %e, "serving the last timestamp seen: the database did not answer");
                    return Ok(h);
                }
                None => return Err(e),
            },
        }
        drop(last);
        self.served
            .read()
            .ok()
            .and_then(|g| g.clone())
            .ok_or_else(|| ApiError::Internal("no timestamp".into()))
    }

    /// With a database: the newest timestamp seen (the database is asked only if none was yet).
    pub async fn seen_timestamp(&self) -> Result<crate::coordinator::Head, ApiError> {
        match self.served.read().ok().and_then(|g| g.clone()) {
            Some(h) => Ok(h),
            None => self.served_timestamp().await,
        }
    }

    /// With a database: the version of the timestamp served, if one was read yet.
    pub fn served_timestamp_version(&self) -> Option<u64> {
        self.served
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|h| h.version))
    }

    /// With a database: a timestamp seen (a commit of ours, a notice, a poll). Kept only if newer than the one
    /// served; then the cached mutable files and the views follow it. Returns whether it was newer.
    pub fn observe(&self, head: &crate::coordinator::Head) -> bool {
        let newer = {
            let Ok(mut g) = self.served.write() else {
                return false;
            };
            if g.as_ref().is_some_and(|h| h.version >= head.version) {
                false
            } else {
                *g = Some(head.clone());
                true
            }
        };
        if newer {
            self.record_timestamp(Some(ETag(format!("db:{}:{}", head.version, head.sha256))));
            self.metrics
                .set_timestamp_expires(u64::try_from(head.expires).unwrap_or(0));
            self.metrics.timestamp_seen();
        }
        newer
    }

    /// After a commit this process won: serve it at once; with a database also write the store's convenience
    /// copy of `timestamp.json` (for static readers; the database stays the authority). A copy written late by a
    /// slower replica is repaired: after writing, the newest head is written again if it differs.
    pub async fn committed(&self, head: &crate::coordinator::Head) {
        use x0x_dist_manifests::codes::Coded as _;
        if !self.coordinator.authoritative() {
            self.metrics.timestamp_seen();
            self.timestamp_written().await;
            return;
        }
        self.observe(head);
        if let Err(e) = self.write_timestamp_copy().await {
            tracing::warn!(code = e.code().as_str(), error = %e, "writing the store's copy of timestamp.json");
        }
    }

    /// With a database: makes the store's `timestamp.json` the database's current one (if it differs).
    pub async fn write_timestamp_copy(&self) -> Result<(), ApiError> {
        crate::coordinator::write_timestamp_copy(&*self.coordinator, &*self.store, |h| {
            self.observe(h);
        })
        .await
    }

    /// After this process changed `timestamp.json` (a publish, a re-sign): records its new tag at once, so this
    /// replica serves the new state from its next request on, without waiting for the poller.
    pub async fn timestamp_written(&self) {
        if self.coordinator.authoritative() {
            if let Ok(h) = self.coordinator.head(&*self.store).await {
                self.observe(&h);
            }
            return;
        }
        if self.store.etag_is_cheap() {
            return;
        }
        match self.store.object_etag(&ObjectKey::timestamp()).await {
            Ok(e) => {
                self.record_timestamp(e);
            }
            // Unknown: the next reader asks the store.
            Err(_) => {
                self.record_timestamp(None);
            }
        }
    }
}

/// Holds a package's publish slot; released on drop.
#[derive(Debug)]
pub struct PublishSlot<'a> {
    state: &'a AppState,
    package: String,
}

impl AppState {
    /// Claims the publish slot of `package`, or fails with `publish.conflict`.
    pub fn claim(&self, package: &str) -> Result<PublishSlot<'_>, ApiError> {
        let mut set = self
            .publishing
            .lock()
            .map_err(|_| ApiError::Internal("publish set poisoned".into()))?;
        if !set.insert(package.to_owned()) {
            return Err(ApiError::Conflict(package.to_owned()));
        }
        Ok(PublishSlot {
            state: self,
            package: package.to_owned(),
        })
    }
}

impl Drop for PublishSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.state.publishing.lock() {
            set.remove(&self.package);
        }
    }
}

impl crate::views::ViewSource for AppState {
    fn store(&self) -> &dyn Store {
        &*self.store
    }

    async fn timestamp_tag(&self) -> Option<ETag> {
        self.published_timestamp().await.ok().flatten()
    }

    async fn published(&self) -> Result<crate::published::Published, ApiError> {
        self.current_published().await
    }
}

impl crate::npm::registry::Source for AppState {
    fn store(&self) -> &dyn Store {
        &*self.store
    }

    fn local_dir(&self) -> Option<&std::path::Path> {
        self.local_dir.as_deref()
    }

    async fn view(&self) -> Result<Arc<crate::views::RepoView>, ApiError> {
        self.views.get(self).await
    }
}

impl AppState {
    /// Right after a publish: makes the npm view's release records of the versions it added (`added`: target
    /// paths), on a background task, so that they freeze the chain of the release itself (and a bundle
    /// exported later carries them) rather than whatever chain is current when an npm client first asks.
    pub fn npm_records_in_background(st: &Arc<Self>, package: &str, added: &[String]) {
        let versions: std::collections::BTreeSet<String> = added
            .iter()
            .filter_map(|p| p.split('/').nth(1).map(str::to_owned))
            .collect();
        let (st, package) = (st.clone(), package.to_owned());
        tokio::spawn(async move {
            for v in versions {
                if let Err(e) = st.npm.record(&*st, &package, &v).await {
                    tracing::warn!(package, version = v, code = e.code().as_str(), error = %e, "npm: release record not made");
                }
            }
        });
    }

    /// The published state this replica serves: with a database, the one its served timestamp pins (the store's
    /// copy of `timestamp.json` lags when a committer died between its commit and writing the copy); else the
    /// store's `timestamp.json`.
    pub async fn current_published(&self) -> Result<crate::published::Published, ApiError> {
        if self.coordinator.authoritative() {
            let head = self.seen_timestamp().await?;
            return crate::published::Published::load_at(&*self.store, &head.bytes).await;
        }
        crate::published::Published::load(&*self.store).await
    }

    /// Rebuilds the package views now if the repository changed, on a background task (startup, after a publish
    /// or a timestamp re-sign), so that the next reader finds them ready.
    pub fn refresh_views_in_background(st: &Arc<Self>) {
        let st = st.clone();
        tokio::spawn(async move {
            if let Err(e) = st.views.get(&*st).await {
                tracing::debug!(code = e.code().as_str(), error = %e, "package view not rebuilt");
            }
        });
    }
}
