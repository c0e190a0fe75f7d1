//! Administrative commands on a live repository (`x0x-dist package add|resign`, `verify` with `--storage` or
//! `--database`): the same store, coordinator and commit protocol as a publish through `serve`
//! ([`crate::publish::commit_changes`]; docs/coordinator.md).
//!
//! - With a database: the new `N.targets.json` is written only after `("targets", N)` is reserved, and the commit is
//!   the compare-and-swap on the database's timestamp; a commit that loses to a replica's publish is rebuilt on the
//!   winner's state and retried, so neither side's commit is lost.
//! - Without a database: a directory store takes the writer lock (as `serve` does); an object store claims the
//!   store (`writer.json`) and refuses while a live writer (a running server) claims it (`repo.concurrent_writer`),
//!   then gives its claim up when done ([`Admin::close`]).
//!
//! [`StoreSource`] is the store's metadata as the loader's chain walk reads it (the web UI and `verify` walk it).
use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;
use x0x_dist_loader::tuf::{self, source::Read, MetadataSource, NoPersistence, Scope, WalkOptions};
use x0x_dist_manifests::verify::{Lookup, TrustedSet};
use x0x_dist_manifests::{Role as _, Root, Signed, SigningKey, Targets};
use x0x_dist_repository::repo::VerifyReport;
use x0x_dist_repository::Error as RepoError;

use crate::config::{Config, TimestampConfig};
use crate::coordinator::{Audit, Coordinator, Head};
use crate::error::ApiError;
use crate::publish::{
    commit_changes, load_online_keys, Committed, Committing, OnlineKeys, Published,
};
use crate::storage::local::LocalStore;
use crate::storage::s3::S3Store;
use crate::storage::{ObjectKey, ObjectPath, Store};

/// The store's metadata as a [`MetadataSource`] of the loader's one chain walk; `timestamp.json` is `timestamp`
/// when given (with a database the current timestamp is the database's, the store's is a copy).
pub struct StoreSource {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The current timestamp when it is not the store's.
    pub timestamp: Option<bytes::Bytes>,
}

impl StoreSource {
    fn failed(&self, name: &str, source: std::io::Error) -> x0x_dist_loader::Error {
        x0x_dist_loader::Error::Io {
            op: "read",
            path: format!("metadata/{name} in {}", self.store.describe()).into(),
            source,
        }
    }

    /// Verifies the store's metadata chain from `first` (a trusted root's bytes) or the store's `1.root.json`;
    /// `at`: where the repository is, for a `repo.not_found`.
    pub async fn load_trusted(
        &self,
        first: Option<Vec<u8>>,
        at: PathBuf,
        now: OffsetDateTime,
    ) -> x0x_dist_repository::Result<TrustedSet> {
        let first = match first {
            Some(f) => f,
            None => self
                .read("1.root.json", Root::MAX_SIZE as u64)
                .await
                .map_err(RepoError::Loader)?
                .ok_or(RepoError::NotFound(at))?,
        };
        let mut keep = NoPersistence;
        let walk = tuf::refresh(self, &mut keep, &first, Scope::All, WalkOptions::at(now))
            .await
            .map_err(x0x_dist_repository::repo::walk_error)?;
        Ok(walk.into_trusted())
    }
}

impl MetadataSource for StoreSource {
    fn read<'a>(&'a self, name: &'a str, limit: u64) -> Read<'a> {
        Box::pin(async move {
            if let (Some(ts), "timestamp.json") = (&self.timestamp, name) {
                return Ok(Some(ts.to_vec()));
            }
            let key = ObjectKey::metadata(name)
                .map_err(|e| self.failed(name, std::io::Error::other(e.to_string())))?;
            match self.store.get_object(&key).await {
                Ok(Some(o)) if o.bytes.len() as u64 > limit => {
                    Err(x0x_dist_loader::Error::MetadataTooLarge {
                        file: name.to_owned(),
                        limit,
                    })
                }
                Ok(Some(o)) => Ok(Some(o.bytes.to_vec())),
                Ok(None) => Ok(None),
                Err(e) => Err(self.failed(name, std::io::Error::other(e.to_string()))),
            }
        })
    }

    fn describe(&self) -> String {
        self.store.describe()
    }

    fn missing(&self, name: &str) -> x0x_dist_loader::Error {
        self.failed(name, std::io::ErrorKind::NotFound.into())
    }
}

/// A repository opened for an administrative command (see the module docs).
pub struct Admin {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Who commits.
    pub coord: Arc<dyn Coordinator>,
    local_dir: Option<PathBuf>,
    keys_dir: PathBuf,
    timestamp: TimestampConfig,
    max_retries: u32,
    metrics: crate::metrics::Metrics,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("store", &self.store.describe())
            .field("coordinator", &self.coord.describe())
            .finish_non_exhaustive()
    }
}

/// What [`Admin::change_targets`] committed.
#[derive(Debug)]
pub struct TargetsChange {
    /// The new version of the top-level targets.
    pub targets_version: u64,
    /// The commit.
    pub committed: Committed,
}

impl Admin {
    /// Opens the store and the coordinator `config` names, as `serve` does, and starts the coordinator (a
    /// database: migrations and seeding; an object store without one: the writer claim, refused while another
    /// live writer holds it; not for a reader, `write` false). A directory must hold a repository already
    /// (`repo.not_found`).
    pub async fn open(config: &Config, write: bool) -> anyhow::Result<Self> {
        let (store, local_dir): (Arc<dyn Store>, _) = if config.storage.url.is_some() {
            (Arc::new(S3Store::open(&config.storage)?), None)
        } else {
            let dir = config.storage.repo.clone();
            if !x0x_dist_repository::repo::Layout::new(&dir)
                .metadata()
                .is_dir()
            {
                return Err(RepoError::NotFound(dir).into());
            }
            (Arc::new(LocalStore::open(&dir)?), Some(dir))
        };
        let coord = crate::coordinator::build(config, local_dir.clone())?;
        if write || coord.authoritative() {
            coord.start(&store).await?;
        }
        Ok(Self {
            store,
            coord,
            local_dir,
            keys_dir: config.storage.keys_dir(),
            timestamp: config.timestamp.clone(),
            max_retries: config.database.max_commit_retries.unwrap_or(8),
            metrics: crate::metrics::Metrics::default(),
        })
    }

    /// Gives up the writer claim (see [`Coordinator::release`]); call once done.
    pub async fn close(&self) -> Result<(), ApiError> {
        self.coord.release(&*self.store).await
    }

    /// After a won commit with a database: the store's convenience copy of `timestamp.json` (as a replica writes
    /// it; a failure is only a warning, every replica's poll repairs it).
    /// Commits `start` through the coordinator with this process's settings (retries, metrics).
    async fn commit(
        &self,
        start: Committing,
        keys: &OnlineKeys,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<Option<Committed>, ApiError> {
        commit_changes(
            &*self.store,
            &*self.coord,
            start,
            keys,
            &self.timestamp,
            now,
            audit,
            self.max_retries,
            &self.metrics,
        )
        .await
    }

    async fn committed(&self) {
        if self.coord.authoritative() {
            if let Err(e) =
                crate::coordinator::write_timestamp_copy(&*self.coord, &*self.store, |_| {}).await
            {
                eprintln!("warning: writing the store's copy of timestamp.json: {e}");
            }
        }
    }

    /// The current timestamp and the state it pins.
    pub async fn current(&self) -> Result<(Head, Published), ApiError> {
        let head = self.coord.head(&*self.store).await?;
        let cur = Published::load_at(&*self.store, &head.bytes).await?;
        Ok((head, cur))
    }

    /// Where the repository is, for messages.
    pub fn describe(&self) -> String {
        self.local_dir
            .as_ref()
            .map_or_else(|| self.store.describe(), |d| d.display().to_string())
    }

    /// Changes the top-level targets: `change` edits a copy of the current one (called again on the newer state
    /// after a lost race), which is signed with `targets_key` as the next version, reserved, written, and committed
    /// with a new snapshot and timestamp through the coordinator.
    pub async fn change_targets(
        &self,
        targets_key: &SigningKey,
        audit: &Audit,
        now: OffsetDateTime,
        expires: OffsetDateTime,
        change: impl Fn(&mut Targets) -> anyhow::Result<()>,
    ) -> anyhow::Result<TargetsChange> {
        let _writer = self.coord.lock().await?;
        let mut attempt = 0;
        loop {
            let (head, cur) = self.current().await?;
            let root = cur.root.signed();
            if !root
                .roles
                .get("targets")
                .is_some_and(|r| r.keyids.contains(targets_key.key_id()))
            {
                return Err(RepoError::KeyNotAuthorized {
                    keyid: targets_key.key_id().to_string(),
                    role: "targets".into(),
                }
                .into());
            }
            let keys = load_online_keys(&self.keys_dir, root).await?;
            let mut targets = cur.targets.signed().clone();
            change(&mut targets)?;
            targets.version = cur.role_version("targets").max(targets.version) + 1;
            targets.expires = expires;
            let v = targets.version;
            let bytes = Signed::new(targets, &[targets_key])?.to_bytes();
            self.coord
                .reserve_role("targets", v, &crate::coordinator::sha256_hex(&bytes))
                .await?;
            self.store
                .put_object(
                    &ObjectKey::metadata(&format!("{v}.targets.json"))?,
                    bytes.into(),
                )
                .await?;
            let r = self
                .commit(
                    Committing {
                        cur,
                        head,
                        changes: vec![("targets".into(), v)],
                        resign_only: false,
                        above: 0,
                        first_snapshot: None,
                    },
                    &keys,
                    now,
                    audit,
                )
                .await;
            match r {
                Ok(Some(committed)) => {
                    self.committed().await;
                    return Ok(TargetsChange {
                        targets_version: v,
                        committed,
                    });
                }
                // Someone changed the targets role meanwhile: rebuild on theirs.
                Err(ApiError::VersionReplay { .. }) if attempt < self.max_retries => attempt += 1,
                Ok(None) => {
                    return Err(ApiError::Internal("a targets change was dropped".into()).into())
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Re-signs the snapshot and timestamp with versions above `past` and the current ones (restore from backup).
    pub async fn resign_past(&self, past: u64, now: OffsetDateTime) -> Result<Committed, ApiError> {
        let _writer = self.coord.lock().await?;
        let (head, cur) = self.current().await?;
        let keys = load_online_keys(&self.keys_dir, cur.root.signed()).await?;
        let audit = Audit {
            actor: cli_actor(),
            action: "resign".into(),
            detail: serde_json::json!({ "past": past }),
        };
        let c = self
            .commit(
                Committing {
                    cur,
                    head,
                    changes: Vec::new(),
                    resign_only: false,
                    above: past,
                    first_snapshot: None,
                },
                &keys,
                now,
                &audit,
            )
            .await?
            .ok_or_else(|| ApiError::Internal("a re-sign was dropped".into()))?;
        self.committed().await;
        Ok(c)
    }

    /// Root rotation on a live store: the next root (built and checked by
    /// [`x0x_dist_repository::repo::next_root`]) is reserved as `("root", N+1)`, written as `N+1.root.json` (where
    /// clients find it: that write is what makes it visible, as in any TUF repository) and `root.json`, then a
    /// re-signed timestamp is committed through the coordinator (the audit row; replicas learn of it).
    pub async fn rotate_root(
        &self,
        r: &x0x_dist_repository::repo::RootRotation<'_>,
        now: OffsetDateTime,
    ) -> anyhow::Result<x0x_dist_repository::repo::RotationReport> {
        let _writer = self.coord.lock().await?;
        let (head, cur) = self.current().await?;
        let (bytes, report) = x0x_dist_repository::repo::next_root(&cur.root, now, r)?;
        let v = report.version;
        self.coord
            .reserve_role("root", v, &crate::coordinator::sha256_hex(&bytes))
            .await?;
        self.store
            .put_object(
                &ObjectKey::metadata(&format!("{v}.root.json"))?,
                bytes.clone().into(),
            )
            .await?;
        self.store
            .put_object(&ObjectKey::metadata("root.json")?, bytes.into())
            .await?;
        let keys = load_online_keys(&self.keys_dir, cur.root.signed()).await?;
        let audit = Audit {
            actor: cli_actor(),
            action: "root.rotate".into(),
            detail: serde_json::json!({ "root_version": v }),
        };
        // A re-sign of the timestamp alone; the reservation of the root is marked committed with it. A re-sign
        // gives up when another commit came first: re-read and sign on top of that one.
        let (mut head, mut cur) = (head, cur);
        for _ in 0..=self.max_retries {
            let done = self
                .commit(
                    Committing {
                        cur,
                        head,
                        changes: vec![("root".into(), v)],
                        resign_only: true,
                        above: 0,
                        first_snapshot: None,
                    },
                    &keys,
                    now,
                    &audit,
                )
                .await?;
            if done.is_some() {
                self.committed().await;
                return Ok(report);
            }
            (head, cur) = self.current().await?;
        }
        Err(ApiError::Conflict("root rotation: lost the commit race; retry".into()).into())
    }

    /// The upload tokens of `tokens.json` in the store (without a database; with one they live in the database:
    /// [`crate::coordinator::postgres::Postgres`]).
    pub async fn tokens(&self) -> anyhow::Result<x0x_dist_repository::tokens::TokenFile> {
        Ok(match self.store.get_object(&ObjectKey::Tokens).await? {
            Some(o) => serde_json::from_slice(&o.bytes).map_err(|e| {
                ApiError::Internal(format!("tokens.json in {}: {e}", self.describe()))
            })?,
            None => x0x_dist_repository::tokens::TokenFile::default(),
        })
    }

    /// Read-modify-write of `tokens.json` in the store, as this store's writer (see [`Admin::open`]).
    pub async fn update_tokens<T>(
        &self,
        f: impl FnOnce(&mut x0x_dist_repository::tokens::TokenFile) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let _writer = self.coord.lock().await?;
        let mut file = self.tokens().await?;
        let out = f(&mut file)?;
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| ApiError::Internal(format!("encoding tokens.json: {e}")))?;
        self.store
            .put_object(&ObjectKey::Tokens, bytes.into())
            .await?;
        Ok(out)
    }

    /// Verifies the current state as a client would (from `root`, else the store's `1.root.json`) and every
    /// target's bytes (length and SHA-256) in the store; returns what it checked and the trusted state.
    pub async fn verify(
        &self,
        root: Option<Vec<u8>>,
        now: OffsetDateTime,
    ) -> anyhow::Result<(VerifyReport, TrustedSet)> {
        let head = self.coord.head(&*self.store).await?;
        let src = StoreSource {
            store: self.store.clone(),
            timestamp: Some(head.bytes),
        };
        let set = src.load_trusted(root, self.describe().into(), now).await?;
        let rv = set.root().signed().version;
        let mut report = VerifyReport {
            root_version: rv,
            metadata_files: usize::try_from(rv).unwrap_or(usize::MAX) + 2 + set.all_targets().len(),
            ..VerifyReport::default()
        };
        let latest = self
            .store
            .get_object(&ObjectKey::metadata(&format!("{rv}.root.json"))?)
            .await?;
        let copy = self
            .store
            .get_object(&ObjectKey::metadata("root.json")?)
            .await?;
        if let (Some(l), Some(c)) = (latest, copy) {
            if l.bytes != c.bytes {
                return Err(RepoError::Corrupt(format!("root.json is not {rv}.root.json")).into());
            }
        }
        for (role, t) in set.all_targets() {
            for (path, info) in &t.signed().targets {
                match set.resolve_target(path.as_str())? {
                    Lookup::Found { role: r, .. } if &r == role => {}
                    _ => {
                        return Err(RepoError::Corrupt(format!(
                            "role {role} lists {path}, which it is not trusted for"
                        ))
                        .into())
                    }
                }
                let p = path.package_target()?;
                let object = ObjectPath::parse(&format!(
                    "{}/{}/{}.{}",
                    p.package(),
                    p.version(),
                    info.sha256()?,
                    p.file_name()
                ))?;
                let data = self.store.read_target_all(&object).await?;
                info.verify(path.as_str(), &data)?;
                report.targets += 1;
                report.target_bytes += info.length;
            }
        }
        Ok((report, set))
    }
}

/// The audit log's actor for a command run by hand: `cli:USER`.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into())
    )
}
