//! Where the chain walk ([`super::walk`]) keeps trusted metadata between runs, if anywhere: the persistence
//! policy. It is asked for earlier trusted files (root rotations to replay, the timestamp and snapshot that
//! are the rollback references, role files to reuse at the pinned version) and told of every file it accepts.
//!
//! Nothing a policy returns is trusted as it is: the walk verifies every persisted file again through
//! `TrustedSet` (a root against the chain from the given root, a timestamp against the trusted root, a role at
//! the version the snapshot pins) and ignores one that does not verify.
//!
//! - [`NoPersistence`]: nothing kept (a repository verified in place, the publishing client, bundle export).
//! - [`CacheDir`]: the loader's trusted-metadata directory (and the conformance client's METADATA_DIR):
//!   `N.root.json` for each accepted rotation plus `root.json` (or only `root.json`, [`RootFiles::Latest`]),
//!   `timestamp.json`, `snapshot.json`, `<encoded role>.json`, each replaced atomically and durably when
//!   accepted (TUF §5.3.8, §5.4.5, §5.5.7, §5.6.7).
//! - A mirror directory (`x0x-dist-repository`'s `mirror`) implements its own: its served files are the
//!   references and accepted files are collected to be committed only once the whole chain verified.
use std::path::{Path, PathBuf};

use x0x_dist_manifests::verify::encode_role_name;

use crate::cache::{lock_file, LockGuard};
use crate::error::Error;

/// A file the walk accepted (verified and now trusted).
#[derive(Debug, Clone, Copy)]
pub enum Accepted<'a> {
    /// `N.root.json`, after a rotation.
    Root {
        /// Its version.
        version: u64,
        /// Its bytes.
        bytes: &'a [u8],
    },
    /// `timestamp.json`, when its version changed.
    Timestamp(&'a [u8]),
    /// The snapshot the timestamp pins.
    Snapshot {
        /// Its version.
        version: u64,
        /// The name it was read under (`3.snapshot.json`, or `snapshot.json` without consistent snapshots).
        name: &'a str,
        /// Its bytes.
        bytes: &'a [u8],
    },
    /// A targets role (`targets` or delegated), or the `revocations` role, at the version the snapshot pins.
    Role {
        /// The role name.
        role: &'a str,
        /// Its version.
        version: u64,
        /// The name it was read under.
        name: &'a str,
        /// Its bytes.
        bytes: &'a [u8],
    },
}

/// Where trusted metadata is kept between runs.
pub trait Persistence: Send + Sync {
    /// A root rotation accepted earlier: `N.root.json`.
    fn root(&self, _version: u64) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }
    /// The trusted timestamp: the rollback reference of the next one.
    fn timestamp(&self) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }
    /// The trusted snapshot (`pinned`: the version the trusted timestamp names).
    fn snapshot(&self, _pinned: u64) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }
    /// A copy of targets role `role` to reuse when it verifies at the pinned version (`name` is the file name
    /// the walk would read it under).
    fn role(&self, _role: &str, _name: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }
    /// Called for each accepted file, in workflow order.
    fn accept(&mut self, _file: Accepted<'_>) -> Result<(), Error> {
        Ok(())
    }
}

/// Keeps nothing: every run starts from the given root alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPersistence;

impl Persistence for NoPersistence {}

/// How a [`CacheDir`] keeps accepted roots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootFiles {
    /// `N.root.json` for every rotation (replayed from the given root next time) and a copy of the newest as
    /// `root.json` for operators, never read as a trust anchor (the loader).
    Chain,
    /// Only `root.json`, replaced by each accepted root: it is the trust anchor of the next run (the TUF
    /// reference client's layout, which tuf-conformance checks).
    Latest,
}

/// A trusted-metadata directory, locked against other processes while the value lives.
#[derive(Debug)]
pub struct CacheDir {
    dir: PathBuf,
    roots: RootFiles,
    _lock: Option<LockGuard>,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    // Trusted metadata (the rollback reference among it) is replaced atomically and durably: a crash never
    // leaves a torn file nor loses a version already acted upon.
    x0x_dist_durable::write_atomic(path, bytes, x0x_dist_durable::Mode::Public)
        .map_err(Error::io("write", path))
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path)(e)),
    }
}

impl CacheDir {
    /// Opens (creates) `dir`, taking its `.lock` (waiting for another process's refresh to finish).
    pub async fn open(dir: &Path, roots: RootFiles) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        let lock_path = dir.join(".lock");
        let guard = tokio::task::spawn_blocking(move || lock_file(&lock_path))
            .await
            .map_err(|e| Error::io("lock", "tuf")(std::io::Error::other(e)))??;
        Ok(Self {
            dir: dir.to_owned(),
            roots,
            _lock: Some(guard),
        })
    }

    /// `dir` without a lock (one process owns it, as the conformance client's METADATA_DIR).
    pub fn unlocked(dir: &Path, roots: RootFiles) -> Self {
        Self {
            dir: dir.to_owned(),
            roots,
            _lock: None,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `root.json` if there is none yet (the given root, for operators).
    pub fn keep_root_copy(&self, root: &[u8]) -> Result<(), Error> {
        let p = self.dir.join("root.json");
        if read_opt(&p)?.is_none() {
            write_atomic(&p, root)?;
        }
        Ok(())
    }
}

impl Persistence for CacheDir {
    fn root(&self, version: u64) -> Result<Option<Vec<u8>>, Error> {
        match self.roots {
            RootFiles::Chain => read_opt(&self.dir.join(format!("{version}.root.json"))),
            RootFiles::Latest => Ok(None),
        }
    }
    fn timestamp(&self) -> Result<Option<Vec<u8>>, Error> {
        read_opt(&self.dir.join("timestamp.json"))
    }
    fn snapshot(&self, _pinned: u64) -> Result<Option<Vec<u8>>, Error> {
        read_opt(&self.dir.join("snapshot.json"))
    }
    fn role(&self, role: &str, _name: &str) -> Result<Option<Vec<u8>>, Error> {
        read_opt(&self.dir.join(format!("{}.json", encode_role_name(role))))
    }
    fn accept(&mut self, file: Accepted<'_>) -> Result<(), Error> {
        match file {
            Accepted::Root { version, bytes } => {
                if self.roots == RootFiles::Chain {
                    write_atomic(&self.dir.join(format!("{version}.root.json")), bytes)?;
                }
                write_atomic(&self.dir.join("root.json"), bytes)
            }
            Accepted::Timestamp(bytes) => write_atomic(&self.dir.join("timestamp.json"), bytes),
            Accepted::Snapshot { bytes, .. } => {
                write_atomic(&self.dir.join("snapshot.json"), bytes)
            }
            Accepted::Role { role, bytes, .. } => write_atomic(
                &self.dir.join(format!("{}.json", encode_role_name(role))),
                bytes,
            ),
        }
    }
}
