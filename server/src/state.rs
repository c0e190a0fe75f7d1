//! Shared server state.
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::error::ApiError;
use crate::files::MemCache;
use crate::metrics::Metrics;
use crate::storage::local::LocalStore;
use crate::storage::s3::S3Store;
use crate::storage::Store;
use crate::tokens::Tokens;

/// Everything handlers share.
pub struct AppState {
    /// The configuration.
    pub config: Config,
    /// The repository directory (metadata, online keys, tokens).
    pub repo_dir: PathBuf,
    /// Blob and target storage.
    pub store: Arc<dyn Store>,
    /// In-memory cache of immutable files and the current timestamp.
    pub cache: MemCache,
    /// Upload tokens.
    pub tokens: Tokens,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Packages with a publish in progress (a second concurrent publish gets 409).
    pub publishing: Mutex<HashSet<String>>,
    /// Serialises writers of snapshot/timestamp (publishes of different packages, the timestamp refresher).
    pub repo_lock: tokio::sync::Mutex<()>,
    /// Set once the repository loaded and verified at startup.
    pub ready: AtomicBool,
    /// Convenience JSON views of the published packages.
    pub views: crate::routes::packages::ViewCache,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("repo_dir", &self.repo_dir)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for the repository in `config.storage.repo` with the local-directory store, or, when
    /// `config.storage.url` is set, in that object store (checked reachable here).
    pub fn new(config: Config) -> Result<Self, ApiError> {
        let repo_dir = config.storage.repo.clone();
        let store: Arc<dyn Store> = if config.storage.url.is_some() {
            Arc::new(S3Store::open(&config.storage)?)
        } else {
            Arc::new(LocalStore::open(&repo_dir)?)
        };
        Ok(Self {
            cache: MemCache::new(config.cache.memory_bytes, config.cache.max_file_bytes),
            tokens: Tokens::new(&repo_dir),
            metrics: Metrics::default(),
            publishing: Mutex::new(HashSet::new()),
            repo_lock: tokio::sync::Mutex::new(()),
            ready: AtomicBool::new(false),
            views: crate::routes::packages::ViewCache::default(),
            store,
            repo_dir,
            config,
        })
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
