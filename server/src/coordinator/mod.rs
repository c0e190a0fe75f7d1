//! Who may commit, and how a commit is made safe: the [`Coordinator`] trait and its two implementations.
//!
//! Every change of the published state (a publish, a timestamp re-sign) is the same protocol
//! ([`crate::publish::commit_changes`]; `docs/server.md`, "Commit protocol"):
//! 1. read the current timestamp from the authority ([`Coordinator::head`]);
//! 2. reserve the numbers of the versioned names about to be written ([`Coordinator::reserve_role`],
//!    [`Coordinator::reserve_snapshot`]), so that no versioned object is ever written twice;
//! 3. write `N.<role>.json` and `S.snapshot.json` (plain PUTs: nobody else holds those names);
//! 4. sign the next timestamp and [`Coordinator::commit`] it: a compare-and-swap on the current one. A loser
//!    re-reads, rebuilds its snapshot on the winner's and retries (bounded).
//!
//! - [`postgres::Postgres`] (`--database URL`): the database holds the current timestamp, the reservations, the
//!   tokens and an audit log; every replica may commit; replicas learn of commits through `LISTEN/NOTIFY`.
//! - [`single::SingleWriter`] (no database): a directory store takes its cross-process file lock (as offline
//!   `x0x-dist package` commands do); an object store has exactly one writer, which claims the store
//!   (`writer.json`: id and heartbeat), refuses to start while another live claim exists, and checks before every
//!   commit that `timestamp.json` is the one it wrote last (`repo.concurrent_writer`).
pub mod postgres;
pub mod single;
pub mod timeline;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use x0x_dist_manifests::{Signed, Timestamp};

use crate::error::ApiError;
use crate::storage::{ObjectKey, Store};

/// The current timestamp: its bytes, version, SHA-256 and the snapshot version it pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// `timestamp.json` as signed.
    pub bytes: Bytes,
    /// Its version.
    pub version: u64,
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The snapshot version it pins.
    pub snapshot_version: u64,
    /// When it expires (unix seconds).
    pub expires: i64,
}

impl Head {
    /// Parses a signed timestamp.
    pub fn parse(bytes: Bytes) -> Result<Self, ApiError> {
        let ts = Signed::<Timestamp>::from_slice(&bytes)?;
        Ok(Self {
            version: ts.signed().version,
            snapshot_version: ts.signed().snapshot_meta().version,
            expires: ts.signed().expires.unix_timestamp(),
            sha256: sha256_hex(&bytes),
            bytes,
        })
    }

    /// Reads `timestamp.json` from the store.
    pub async fn read(store: &dyn Store) -> Result<Self, ApiError> {
        let obj = store
            .get_object(&ObjectKey::timestamp())
            .await?
            .ok_or_else(|| {
                ApiError::Internal(format!(
                    "repository is missing metadata/timestamp.json ({})",
                    store.describe()
                ))
            })?;
        Self::parse(obj.bytes)
    }
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// What a commit records in the audit log: who, what.
#[derive(Clone, Debug)]
pub struct Audit {
    /// Who: a token id, `replica` for a re-sign, `cli` for an offline command.
    pub actor: String,
    /// What: `publish`, `resign`, `token.create`, `token.revoke`.
    pub action: String,
    /// Details (package, version …).
    pub detail: serde_json::Value,
}

/// A compare-and-swap of the current timestamp.
#[derive(Clone, Debug)]
pub struct Commit<'a> {
    /// The timestamp the new one was built on.
    pub expected: &'a Head,
    /// The new timestamp.
    pub new: &'a Head,
    /// Role versions this commit publishes (their reservations become committed).
    pub roles: &'a [(String, u64)],
    /// For the audit log.
    pub audit: &'a Audit,
}

/// How a compare-and-swap ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The new timestamp is current.
    Won,
    /// Another commit came first; nothing changed.
    Lost,
}

/// Held while a writer reads, writes and commits (a directory store: its cross-process writer lock).
pub type WriterGuard = Box<dyn std::any::Any + Send>;

/// The commit authority of a repository (see the module docs).
pub trait Coordinator: Send + Sync + 'static {
    /// For logs: `postgres 127.0.0.1:5432/x0x`, `single writer (object store)`, `directory lock`.
    fn describe(&self) -> String;

    /// Whether the current timestamp lives here rather than in the store (the database): replicas then serve
    /// `timestamp.json` from [`Coordinator::head`], and the store's copy is a convenience for static readers.
    fn authoritative(&self) -> bool;

    /// Prepares the coordinator once at startup: migrations and seeding (database), the writer claim (object
    /// store without database).
    fn start<'a>(&'a self, store: &'a Arc<dyn Store>) -> BoxFuture<'a, Result<(), ApiError>>;

    /// Taken by every writer of this process from reading the state to the commit.
    fn lock(&self) -> BoxFuture<'_, Result<WriterGuard, ApiError>>;

    /// The current timestamp.
    fn head<'a>(&'a self, store: &'a dyn Store) -> BoxFuture<'a, Result<Head, ApiError>>;

    /// The current timestamp if its version is above `version` (with a database: no bytes cross the network
    /// when it is not).
    fn head_newer_than<'a>(
        &'a self,
        store: &'a dyn Store,
        version: u64,
    ) -> BoxFuture<'a, Result<Option<Head>, ApiError>> {
        use futures_util::FutureExt as _;
        async move {
            let h = self.head(store).await?;
            Ok((h.version > version).then_some(h))
        }
        .boxed()
    }

    /// Reserves version `version` of the package role `role` for the role whose bytes hash to `sha256`: a number
    /// held by another submission is `publish.conflict`; the same bytes again (a retry) may go on.
    fn reserve_role<'a>(
        &'a self,
        role: &'a str,
        version: u64,
        sha256: &'a str,
    ) -> BoxFuture<'a, Result<(), ApiError>>;

    /// Reserves a new snapshot version above `above` and above every number reserved before.
    fn reserve_snapshot(&self, above: u64) -> BoxFuture<'_, Result<u64, ApiError>>;

    /// The compare-and-swap: makes `c.new` current if `c.expected` still is.
    fn commit<'a>(
        &'a self,
        store: &'a dyn Store,
        c: Commit<'a>,
    ) -> BoxFuture<'a, Result<Outcome, ApiError>>;

    /// Gives up what [`Coordinator::start`] took for a process that is done (an administrative command, not a
    /// server): the writer claim of an object store without a database, so a server can start at once. Default:
    /// nothing to give up.
    fn release<'a>(&'a self, store: &'a dyn Store) -> BoxFuture<'a, Result<(), ApiError>> {
        use futures_util::FutureExt as _;
        let _ = store;
        futures_util::future::ready(Ok(())).boxed()
    }

    /// Checks the coordinator answers (`/readyz`); `Ok` without a database.
    fn ping(&self) -> BoxFuture<'_, Result<(), ApiError>>;

    /// The database, if this coordinator has one (tokens and the audit log live there).
    fn database(&self) -> Option<&postgres::Postgres> {
        None
    }
}

/// With a database: makes the store's `timestamp.json` the database's current one (if it differs; `seen` is told
/// each head read). A copy written late by a slower writer is repaired: after writing, the newest head is written
/// again if it differs.
pub async fn write_timestamp_copy(
    coord: &dyn Coordinator,
    store: &dyn Store,
    mut seen: impl FnMut(&Head),
) -> Result<(), ApiError> {
    for _ in 0..3 {
        let head = coord.head(store).await?;
        seen(&head);
        let copy = store.get_object(&ObjectKey::timestamp()).await?;
        if copy.is_some_and(|o| o.bytes == head.bytes) {
            return Ok(());
        }
        store
            .put_object(&ObjectKey::timestamp(), head.bytes.clone())
            .await?;
    }
    Ok(())
}

/// The coordinator `config` asks for: PostgreSQL with `[database] url`, else the single writer of `store`
/// (`local_dir`: the repository directory when the store is a local directory).
pub fn build(
    config: &crate::config::Config,
    local_dir: Option<std::path::PathBuf>,
) -> Result<Arc<dyn Coordinator>, ApiError> {
    let id = config.replica.id();
    if let Some(url) = &config.database.url {
        return Ok(Arc::new(postgres::Postgres::new(
            url,
            &config.database,
            id,
        )?));
    }
    Ok(Arc::new(single::SingleWriter::new(
        local_dir,
        id,
        config.writer.clone(),
    )))
}
