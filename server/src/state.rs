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
    /// With a database: the timestamp served as `timestamp.json` and the newer ones known
    /// ([`crate::coordinator::timeline`]: never replaced by an older one, and what another replica may serve is
    /// served here too, so a client moving between replicas never sees it go backwards).
    timeline: Mutex<crate::coordinator::timeline::Timeline>,
    /// The version last served (its tag recorded for the mutable files).
    served_version: std::sync::atomic::AtomicU64,
    /// Held by the one check of the database's timestamps running (requests and the poller share it).
    ts_check: tokio::sync::Mutex<()>,
    /// When `timestamp.json` was last asked for (the background check runs while it is).
    ts_asked: Mutex<Option<std::time::Instant>>,
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
            timeline: Mutex::new(crate::coordinator::timeline::Timeline::default()),
            served_version: std::sync::atomic::AtomicU64::new(0),
            ts_check: tokio::sync::Mutex::new(()),
            ts_asked: Mutex::new(None),
            cache: MemCache::new(config.cache.memory_bytes, config.cache.max_file_bytes),
            tokens: Tokens::with_coordinator(store.clone(), coordinator.clone()),
            oidc: crate::oidc::Oidc::new(&config.oidc),
            metrics: Metrics::default(),
            publishing: Mutex::new(HashSet::new()),
            repo_lock: tokio::sync::Mutex::new(()),
            ready: AtomicBool::new(false),
            views: crate::views::ViewCache::default(),
            npm: crate::npm::Registry::with_record_bytes(
                usize::try_from(config.cache.memory_bytes / 8).unwrap_or(usize::MAX),
            ),
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

    /// With a database: the timestamp to serve ([`crate::coordinator::timeline`]): the newest one surely ripe,
    /// answered from a check of the database that started at most `FRESH` before the request arrived (the
    /// background poll keeps one fresh while requests come; otherwise the request starts one, coalesced: one at a
    /// time per replica); a timestamp that may be ripe is waited for. When the database does not answer, the
    /// newest timestamp surely ripe is served (reads go on).
    pub async fn served_timestamp(&self) -> Result<crate::coordinator::Head, ApiError> {
        use crate::coordinator::timeline::Decision;
        let arrived = std::time::Instant::now();
        if let Ok(mut g) = self.ts_asked.lock() {
            *g = Some(arrived);
        }
        loop {
            match self.decide(arrived) {
                Decision::Serve(h) => return Ok(h),
                Decision::Wait(until) => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                }
                Decision::Check => {
                    let _one = self.ts_check.lock().await;
                    // A check that answered while this request waited for its turn may do.
                    if !matches!(self.decide(arrived), Decision::Check) {
                        continue;
                    }
                    if let Err(e) = self.check_timeline_locked().await {
                        let served = self.served_now();
                        return match served {
                            Some(h) => {
                                tracing::debug!(error = %e, "serving the last timestamp surely ripe: the database did not answer");
                                Ok(h)
                            }
                            None => Err(e),
                        };
                    }
                }
            }
        }
    }

    fn decide(&self, arrived: std::time::Instant) -> crate::coordinator::timeline::Decision {
        let d = match self.timeline.lock() {
            Ok(mut tl) => tl.decide(arrived, std::time::Instant::now()),
            Err(_) => crate::coordinator::timeline::Decision::Check,
        };
        self.served_now();
        d
    }

    /// With a database: checks the database's recent timestamps now (coalesced with the requests' checks).
    pub async fn check_timeline(&self) -> Result<(), ApiError> {
        let _one = self.ts_check.lock().await;
        self.check_timeline_locked().await
    }

    async fn check_timeline_locked(&self) -> Result<(), ApiError> {
        let Some(db) = self.coordinator.database() else {
            return Ok(());
        };
        let known = self.served_now().map_or(0, |h| h.version);
        let start = std::time::Instant::now();
        let rows = db
            .timeline(known, crate::coordinator::timeline::RIPE)
            .await?;
        let end = std::time::Instant::now();
        if let Ok(mut tl) = self.timeline.lock() {
            tl.checked(&rows, start, end);
        }
        self.served_now();
        Ok(())
    }

    /// Whether `timestamp.json` was asked for within `within` (the background check runs only then).
    pub fn timestamp_asked_within(&self, within: std::time::Duration) -> bool {
        self.ts_asked
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|t| t.elapsed() <= within)
    }

    /// The timestamp served now (promoting what became surely ripe); records a newly served one's tag.
    fn served_now(&self) -> Option<crate::coordinator::Head> {
        let h = self
            .timeline
            .lock()
            .ok()?
            .served(std::time::Instant::now())
            .cloned()?;
        let before = self
            .served_version
            .swap(h.version, std::sync::atomic::Ordering::SeqCst);
        if before != h.version {
            self.record_timestamp(Some(ETag(format!("db:{}:{}", h.version, h.sha256))));
            self.metrics
                .set_timestamp_expires(u64::try_from(h.expires).unwrap_or(0));
            self.metrics.timestamp_seen();
        }
        Some(h)
    }

    /// With a database: the newest timestamp known (committed; served once surely ripe). The database is asked
    /// only if none is known yet.
    pub async fn seen_timestamp(&self) -> Result<crate::coordinator::Head, ApiError> {
        let newest = self
            .timeline
            .lock()
            .ok()
            .and_then(|tl| tl.newest().cloned());
        match newest {
            Some(h) => Ok(h),
            None => self.served_timestamp().await,
        }
    }

    /// With a database: the version of the newest timestamp known, if one was read yet.
    pub fn served_timestamp_version(&self) -> Option<u64> {
        self.timeline.lock().ok()?.newest_version()
    }

    /// With a database: a timestamp seen (a commit of ours, a notice, a poll), served once surely ripe. Returns
    /// whether it is newer than every one known.
    pub fn observe(&self, head: &crate::coordinator::Head) -> bool {
        let newer = match self.timeline.lock() {
            Ok(mut tl) => tl.learn(head, std::time::Instant::now()),
            Err(_) => false,
        };
        self.served_now();
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
        let learnt = std::time::Instant::now();
        self.observe(head);
        // The commit's own timestamp goes up at once (one PUT); only if the database moved on meanwhile (another
        // replica committed: its copy may have landed before ours) is the newest one read and written again.
        // Meanwhile the commit ripens: the publisher's answer waits until this replica serves it.
        let ripe = tokio::time::sleep_until(tokio::time::Instant::from_std(
            learnt + crate::coordinator::timeline::RIPE,
        ));
        let done = async {
            self.store
                .put_object(&ObjectKey::timestamp(), head.bytes.clone())
                .await?;
            if self.coordinator.head(&*self.store).await?.version != head.version {
                self.write_timestamp_copy().await?;
            }
            Ok::<_, ApiError>(())
        };
        let (done, ()) = futures_util::join!(done, ripe);
        if let Err(e) = done {
            tracing::warn!(code = e.code().as_str(), error = %e, "writing the store's copy of timestamp.json");
        }
        self.served_now();
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
