//! The coordinator without a database: one writer.
//!
//! - A directory store: the cross-process writer lock ([`x0x_dist_repository::lock`]) is taken from reading the
//!   state to the commit, as offline `x0x-dist package` commands take it; nothing else changes (the embedded
//!   default: nothing to install).
//! - An object store: the writer proves it is alone. At startup it claims the store with `writer.json` (its id,
//!   a heartbeat renewed every third of `[writer] claim_ttl_secs`) and refuses to start while a live claim of
//!   another writer exists (`repo.concurrent_writer`, naming it and how to take over). Before every commit it
//!   checks that `timestamp.json` is still the one it wrote last (or found at startup): anything else means
//!   another writer is at work, and it stops with `repo.concurrent_writer` instead of overwriting it. A claim
//!   it finds replaced by another writer's (two started at once) stops its commits the same way. A writer
//!   restarted with the same `--replica-id` takes its own claim back at once (give the writer a stable id);
//!   another id waits for the claim to expire or needs `--take-over`.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use serde::{Deserialize, Serialize};

use super::{Commit, Coordinator, Head, Outcome, WriterGuard};
use crate::config::WriterConfig;
use crate::error::ApiError;
use crate::storage::{ObjectKey, Store};

/// The claim object (`writer.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claim {
    /// The writer's id (`[replica] id`).
    pub id: String,
    /// A random token distinguishing two processes with one id.
    pub nonce: String,
    /// Unix seconds of the last renewal.
    pub heartbeat: i64,
    /// How long the claim lives unrenewed, seconds.
    pub ttl_secs: u64,
}

/// See the module docs.
pub struct SingleWriter {
    local_dir: Option<PathBuf>,
    me: Me,
    cfg: WriterConfig,
    /// SHA-256 of the `timestamp.json` this writer wrote last (or found when it claimed the store).
    last: Mutex<Option<String>>,
}

/// This writer's identity and whether it lost its claim (shared with the heartbeat task).
#[derive(Clone, Debug)]
struct Me {
    id: String,
    nonce: String,
    ttl_secs: u64,
    /// Set when another writer replaced our claim: every commit then fails.
    lost: Arc<AtomicBool>,
}

impl std::fmt::Debug for SingleWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleWriter")
            .field("local_dir", &self.local_dir)
            .field("id", &self.me.id)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl SingleWriter {
    /// The single writer of the store; `local_dir`: the repository directory of a directory store.
    pub fn new(local_dir: Option<PathBuf>, id: String, cfg: WriterConfig) -> Self {
        use rand::Rng as _;
        let nonce = format!("{:016x}", rand::thread_rng().gen::<u64>());
        let me = Me {
            id,
            nonce,
            ttl_secs: cfg.claim_ttl_secs.max(3),
            lost: Arc::new(AtomicBool::new(false)),
        };
        Self {
            local_dir,
            me,
            cfg,
            last: Mutex::new(None),
        }
    }
}

impl Me {
    fn claim(&self) -> Claim {
        Claim {
            id: self.id.clone(),
            nonce: self.nonce.clone(),
            heartbeat: now_secs(),
            ttl_secs: self.ttl_secs,
        }
    }

    fn is_mine(&self, c: &Claim) -> bool {
        c.id == self.id && c.nonce == self.nonce
    }

    fn other_writer(c: &Claim, what: &str) -> ApiError {
        let age = now_secs() - c.heartbeat;
        ApiError::ConcurrentWriter(format!(
            "{what}: writer {:?} claims this object store (writer.json, renewed {age} s ago, expires {} s after \
             its last renewal). Run one writer per bucket, or give every replica the same --database; if that \
             writer is gone, wait {} s for its claim to expire, or start this one with --take-over \
             ([writer] take_over = true)",
            c.id,
            c.ttl_secs,
            (i64::try_from(c.ttl_secs).unwrap_or(0) - age).max(0)
        ))
    }

    async fn read_claim(store: &dyn Store) -> Result<Option<Claim>, ApiError> {
        let Some(obj) = store.get_object(&ObjectKey::WriterClaim).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(&obj.bytes).ok())
    }

    async fn write_claim(&self, store: &dyn Store) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec_pretty(&self.claim())
            .map_err(|e| ApiError::Internal(format!("claim: {e}")))?;
        store
            .put_object(&ObjectKey::WriterClaim, bytes.into())
            .await?;
        Ok(())
    }

    /// One heartbeat: renews our claim, or notices another writer replaced it (then stops committing).
    async fn renew(&self, store: &dyn Store) -> Result<(), ApiError> {
        match Self::read_claim(store).await? {
            Some(c) if !self.is_mine(&c) => {
                self.lost.store(true, Ordering::SeqCst);
                Err(Self::other_writer(
                    &c,
                    "this server stopped committing: another writer took over the store",
                ))
            }
            _ => self.write_claim(store).await,
        }
    }
}

impl Coordinator for SingleWriter {
    fn describe(&self) -> String {
        if self.local_dir.is_some() {
            "directory writer lock".into()
        } else {
            format!("single writer {:?} (writer.json claim)", self.me.id)
        }
    }

    fn authoritative(&self) -> bool {
        false
    }

    fn start<'a>(&'a self, store: &'a Arc<dyn Store>) -> BoxFuture<'a, Result<(), ApiError>> {
        async move {
            if self.local_dir.is_some() {
                return Ok(());
            }
            let me = &self.me;
            if let Some(c) = Me::read_claim(&**store).await? {
                let live = now_secs() - c.heartbeat < i64::try_from(c.ttl_secs).unwrap_or(i64::MAX);
                // The same id is the same writer restarted (a stable `--replica-id`): it takes its claim back.
                if live && c.id != me.id && !self.cfg.take_over {
                    return Err(Me::other_writer(&c, "refusing to start"));
                }
                if !me.is_mine(&c) {
                    tracing::warn!(previous = %c.id, "taking over the object store from another writer's claim");
                }
            }
            me.write_claim(&**store).await?;
            // Two writers starting at once both find no claim: the one whose claim is not there a moment later
            // lost.
            tokio::time::sleep(Duration::from_millis(200)).await;
            match Me::read_claim(&**store).await? {
                Some(c) if !me.is_mine(&c) => return Err(Me::other_writer(&c, "refusing to start")),
                _ => {}
            }
            let head = Head::read(&**store).await?;
            *self
                .last
                .lock()
                .map_err(|_| ApiError::Internal("poisoned".into()))? = Some(head.sha256);
            let every = Duration::from_secs((me.ttl_secs / 3).max(1));
            let weak = Arc::downgrade(store);
            let me = me.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    // The server is gone: stop renewing (the claim then expires).
                    let Some(store) = weak.upgrade() else { return };
                    if let Err(e) = me.renew(&*store).await {
                        use x0x_dist_manifests::codes::Coded as _;
                        tracing::error!(code = e.code().as_str(), error = %e, "writer claim");
                    }
                }
            });
            Ok(())
        }
        .boxed()
    }

    fn release<'a>(&'a self, store: &'a dyn Store) -> BoxFuture<'a, Result<(), ApiError>> {
        async move {
            if self.local_dir.is_some() {
                return Ok(());
            }
            // Still ours: leave it expired (heartbeat 0), so the next writer starts at once.
            if let Some(c) = Me::read_claim(store).await? {
                if self.me.is_mine(&c) {
                    let done = Claim { heartbeat: 0, ..c };
                    let bytes = serde_json::to_vec_pretty(&done)
                        .map_err(|e| ApiError::Internal(format!("claim: {e}")))?;
                    store
                        .put_object(&ObjectKey::WriterClaim, bytes.into())
                        .await?;
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn lock(&self) -> BoxFuture<'_, Result<WriterGuard, ApiError>> {
        async move {
            let g = writer_lock(self.local_dir.as_deref()).await?;
            Ok(Box::new(g) as WriterGuard)
        }
        .boxed()
    }

    fn head<'a>(&'a self, store: &'a dyn Store) -> BoxFuture<'a, Result<Head, ApiError>> {
        Head::read(store).boxed()
    }

    fn reserve_role<'a>(
        &'a self,
        _role: &'a str,
        _version: u64,
        _sha256: &'a str,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        // One writer, under its locks: the numbers it writes are its own.
        futures_util::future::ready(Ok(())).boxed()
    }

    fn reserve_snapshot(&self, above: u64) -> BoxFuture<'_, Result<u64, ApiError>> {
        futures_util::future::ready(Ok(above + 1)).boxed()
    }

    fn commit<'a>(
        &'a self,
        store: &'a dyn Store,
        c: Commit<'a>,
    ) -> BoxFuture<'a, Result<Outcome, ApiError>> {
        async move {
            if self.local_dir.is_none() {
                if self.me.lost.load(Ordering::SeqCst) {
                    return Err(ApiError::ConcurrentWriter(
                        "this server stopped committing: another writer replaced its claim on the object \
                         store (writer.json); restart it once the other writer is gone, or give every replica \
                         the same --database"
                            .into(),
                    ));
                }
                let found = Head::read(store).await?;
                let last = self
                    .last
                    .lock()
                    .map_err(|_| ApiError::Internal("poisoned".into()))?
                    .clone();
                if last.as_deref() != Some(found.sha256.as_str()) {
                    return Err(ApiError::ConcurrentWriter(format!(
                        "timestamp.json changed under this writer (now version {}, sha256 {}; this server wrote \
                         {}): another writer is at work on this object store. Nothing was overwritten. Stop the \
                         other writer (or give every replica the same --database), then restart this one",
                        found.version,
                        found.sha256,
                        last.as_deref().unwrap_or("nothing yet")
                    )));
                }
                if found.sha256 != c.expected.sha256 {
                    return Ok(Outcome::Lost);
                }
            }
            store
                .put_object(&ObjectKey::timestamp(), c.new.bytes.clone())
                .await?;
            *self
                .last
                .lock()
                .map_err(|_| ApiError::Internal("poisoned".into()))? = Some(c.new.sha256.clone());
            Ok(Outcome::Won)
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        futures_util::future::ready(Ok(())).boxed()
    }
}

/// Takes the cross-process writer lock ([`x0x_dist_repository::lock`]) of `local_dir`, the repository directory when the store
/// is a local directory (`None`: a remote store, nothing to take); waits (off the async workers) while an
/// offline `x0x-dist package add|release` holds it, and says so in the log.
pub async fn writer_lock(
    local_dir: Option<&std::path::Path>,
) -> Result<Option<x0x_dist_repository::lock::WriterLock>, ApiError> {
    let Some(repo) = local_dir.map(std::path::Path::to_path_buf) else {
        return Ok(None);
    };
    crate::published::blocking(move || {
        x0x_dist_repository::lock::lock(&repo, || {
            tracing::info!(repo = %repo.display(), "waiting for the repository writer lock (held by an offline `x0x-dist package` command)");
        })
        .map(Some)
        .map_err(|e| ApiError::io(format!("locking {}", x0x_dist_repository::lock::lock_path(&repo).display()), e))
    })
    .await
}
