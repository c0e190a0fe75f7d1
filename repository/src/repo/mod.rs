//! The on-disk repository: layout, `init`, loading and verifying the trusted chain, delegating a package,
//! and releasing into a local directory. Documented for operators in `docs/repository-layout.md`.
//!
//! Layout of `DIR`:
//! - `keys/` (0700): the **offline** keys, `root.key` and `targets.key` (secret, 0600) with `.pub` siblings.
//!   Only `init` and `package add` need them; in production move them off the server host.
//! - `online/` (0700): the keys the server holds, `snapshot.key` and `timestamp.key` (0600) with `.pub`s.
//! - `metadata/`: `N.root.json` for every root version plus `root.json` (a copy of the latest),
//!   `N.targets.json`, `N.<package>.json`, `N.snapshot.json` and `timestamp.json` (consistent snapshots:
//!   every file but `timestamp.json` is immutable once written).
//! - `targets/<package>/<version>/<sha256>.<file>`: published targets in consistent-snapshot layout, directly
//!   servable by any static file server. The server stores uploads in `blobs/sha256/<hex>` and publishes by
//!   hard-linking (see `http/src/storage/local.rs`); [`release`] writes the files directly.
//! - `blobs/`, `tmp/`, and the server's token store belong to the server.
//!
//! Invariants: every file is written atomically (temporary file in the same directory, fsync, rename, fsync
//! directory). A change writes the role files first, then `N.snapshot.json`, then `timestamp.json` last: the
//! timestamp rename is the commit point, so readers see the previous or the next complete state. Secret key
//! files are created with mode 0600 (never readable by others, even briefly).
//!
//! Errors: [`RepoError`], whose [`RepoError::code`] is a stable code from `x0x_dist_manifests::codes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};
use x0x_dist_manifests::codes;
use x0x_dist_manifests::keys::{parse_public_key_file, public_key_file};
use x0x_dist_manifests::metadata::{DelegatedRole, Delegations, MetaFile, NewRole};
use x0x_dist_manifests::verify::{Lookup, TrustedSet};
use x0x_dist_manifests::{
    PackageName, Platform, PublicKey, Root, Sha256, Signed, SigningKey, Snapshot, TargetCustom,
    TargetFile, TargetPath, Targets, Timestamp, Version,
};

/// Default lifetimes of newly signed metadata.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    /// Root.
    pub root: Duration,
    /// Top-level targets.
    pub targets: Duration,
    /// Delegated package roles written by [`release`].
    pub delegated: Duration,
    /// Snapshot.
    pub snapshot: Duration,
    /// Timestamp (the server re-signs it before it expires).
    pub timestamp: Duration,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            root: Duration::days(365),
            targets: Duration::days(365),
            delegated: Duration::days(365),
            snapshot: Duration::days(30),
            timestamp: Duration::days(1),
        }
    }
}

/// Failures of the offline repository operations.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// Metadata or key model failure (carries its own code).
    #[error(transparent)]
    Model(#[from] x0x_dist_manifests::Error),
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// `init` into a directory that already has a repository.
    #[error("{} already holds a repository", .0.display())]
    Exists(PathBuf),
    /// No repository at the path.
    #[error("no repository at {} (run `x0x-dist init --repo {}`)", .0.display(), .0.display())]
    NotFound(PathBuf),
    /// The package is already delegated.
    #[error("package {0} is already delegated")]
    PackageExists(String),
    /// The package is not delegated.
    #[error("package {0} is not delegated in this repository")]
    PackageNotFound(String),
    /// The version is already released.
    #[error("{0} is already published; versions are immutable")]
    VersionExists(String),
    /// A key is not authorized for the role it is used for.
    #[error("key {keyid} is not authorized for role {role}")]
    KeyNotAuthorized {
        /// The key id.
        keyid: String,
        /// The role.
        role: String,
    },
    /// The repository on disk is inconsistent.
    #[error("repository is inconsistent: {0}")]
    Corrupt(String),
    /// Invalid arguments (e.g. threshold larger than the number of keys).
    #[error("{0}")]
    Usage(String),
}

impl RepoError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            RepoError::Model(e) => e.code(),
            RepoError::Io { .. } => codes::IO_ERROR,
            RepoError::Exists(_) => codes::REPO_EXISTS,
            RepoError::NotFound(_) => codes::REPO_NOT_FOUND,
            RepoError::PackageExists(_) => codes::PACKAGE_EXISTS,
            RepoError::PackageNotFound(_) => codes::PACKAGE_NOT_FOUND,
            RepoError::VersionExists(_) => codes::VERSION_EXISTS,
            RepoError::KeyNotAuthorized { .. } => codes::KEY_NOT_AUTHORIZED,
            RepoError::Corrupt(_) => codes::REPO_CORRUPT,
            RepoError::Usage(_) => codes::USAGE_INVALID,
        }
    }
}

impl codes::Coded for RepoError {
    fn code(&self) -> &'static str {
        RepoError::code(self)
    }
}

/// This module's result type.
pub type Result<T, E = RepoError> = std::result::Result<T, E>;

/// A local file operation that failed (`{what} {path}`, the I/O error as its source): the `Io` variant of
/// [`RepoError`] and of [`crate::mirror::MirrorError`].
#[derive(Debug, thiserror::Error)]
#[error("{what} {}", path.display())]
pub struct FileError {
    /// What was being done.
    pub what: &'static str,
    /// The path.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// `map_err` adapter: an I/O error while doing `what` to `path` (`?` turns it into [`RepoError::Io`]).
pub(crate) fn io<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Paths inside a repository directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of `dir` (nothing is checked).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Layout { root: dir.into() }
    }
    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }
    /// `DIR/keys`: offline keys.
    pub fn offline_keys(&self) -> PathBuf {
        self.root.join("keys")
    }
    /// `DIR/online`: the server's keys.
    pub fn online_keys(&self) -> PathBuf {
        self.root.join("online")
    }
    /// The secret key file of a top-level role (`keys/` for root and targets, `online/` otherwise).
    pub fn key_file(&self, role: &str) -> PathBuf {
        let dir = if matches!(role, "root" | "targets") {
            self.offline_keys()
        } else {
            self.online_keys()
        };
        dir.join(format!("{role}.key"))
    }
    /// `DIR/metadata`.
    pub fn metadata(&self) -> PathBuf {
        self.root.join("metadata")
    }
    /// `DIR/metadata/<name>`.
    pub fn metadata_file(&self, name: &str) -> PathBuf {
        self.metadata().join(name)
    }
    /// `DIR/targets`.
    pub fn targets(&self) -> PathBuf {
        self.root.join("targets")
    }
    /// Where a published target's bytes live: `DIR/targets/<package>/<version>/<sha256>.<file>`.
    pub fn target_file(&self, path: &TargetPath, sha256: &Sha256) -> PathBuf {
        self.targets()
            .join(path.package().as_str())
            .join(path.version().to_string())
            .join(format!("{}.{}", sha256.to_hex(), path.file_name()))
    }
}

/// Writes `bytes` to `path` atomically and durably ([`x0x_dist_durable::write_atomic`]); `secret` files get
/// mode 0600 from creation.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let mode = if secret {
        x0x_dist_durable::Mode::Private
    } else {
        x0x_dist_durable::Mode::Public
    };
    Ok(x0x_dist_durable::write_atomic(path, bytes, mode).map_err(io("writing", path))?)
}

/// `Path::parent` of a bare relative name (`repo`) is the empty path, which names no directory: use `.`.
fn non_empty(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Syncs a directory (its entries: names created or renamed into it) to stable storage.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let dir = non_empty(dir);
    Ok(x0x_dist_durable::sync_dir(dir).map_err(io("syncing directory", dir))?)
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io("creating directory", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("setting permissions of", dir))?;
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    Ok(std::fs::read(path).map_err(io("reading", path))?)
}

/// Reads a metadata file, refusing (before reading it all) anything over the largest role size limit.
fn read_metadata(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read as _;
    const LIMIT: usize = <Targets as x0x_dist_manifests::Role>::MAX_SIZE;
    let f = std::fs::File::open(path).map_err(io("reading", path))?;
    let mut buf = Vec::new();
    f.take(LIMIT as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io("reading", path))?;
    if buf.len() > LIMIT {
        return Err(x0x_dist_manifests::Error::TooLarge {
            what: path.display().to_string(),
            len: buf.len(),
            limit: LIMIT,
        }
        .into());
    }
    Ok(buf)
}

/// A fresh ed25519 key from the operating system's randomness.
pub fn generate_key() -> SigningKey {
    use rand::RngCore as _;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SigningKey::from_seed(&seed)
}

/// Writes a key pair: `path` (secret, 0600) and `path.pub` (public, 0644). Refuses to overwrite.
pub fn write_key_pair(path: &Path, key: &SigningKey) -> Result<PathBuf> {
    let public = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, &public] {
        if p.exists() {
            return Err(RepoError::Usage(format!(
                "{} exists; refusing to overwrite a key",
                p.display()
            )));
        }
    }
    write_atomic(path, &key.to_secret_file(), true)?;
    write_atomic(&public, &public_key_file(key.public())?, false)?;
    Ok(public)
}

/// Reads a secret key file.
pub fn read_secret_key(path: &Path) -> Result<SigningKey> {
    Ok(SigningKey::from_secret_file(&read(path)?)?)
}

/// Reads a public key file.
pub fn read_public_key(path: &Path) -> Result<PublicKey> {
    Ok(parse_public_key_file(&read(path)?)?)
}

/// What `init` created.
#[derive(Debug)]
pub struct InitReport {
    /// Key ids by role.
    pub keys: BTreeMap<&'static str, String>,
}

/// Creates a repository in `dir`: four keys, then root v1, empty targets v1, snapshot v1, timestamp v1.
pub fn init(dir: &Path, now: OffsetDateTime, expiry: &Expiry) -> Result<InitReport> {
    let l = Layout::new(dir);
    if l.metadata_file("root.json").exists()
        || l.metadata_file("1.root.json").exists()
        || l.key_file("root").exists()
    {
        return Err(RepoError::Exists(dir.to_owned()));
    }
    create_private_dir(&l.offline_keys())?;
    create_private_dir(&l.online_keys())?;
    std::fs::create_dir_all(l.targets()).map_err(io("creating directory", &l.targets()))?;
    let mut keys = BTreeMap::new();
    let mut root = Root::empty(1, now + expiry.root);
    let mut signing = BTreeMap::new();
    for role in ["root", "targets", "snapshot", "timestamp"] {
        let k = generate_key();
        write_key_pair(&l.key_file(role), &k)?;
        root.add_key(role, k.public())?;
        keys.insert(role, k.key_id().to_string());
        signing.insert(role, k);
    }
    let root = Signed::new(root, &[&signing["root"]])?;
    let mut targets = Targets::empty(1, now + expiry.targets);
    targets.delegations = Some(Delegations {
        keys: BTreeMap::new(),
        roles: Vec::new(),
        extra: BTreeMap::new(),
    });
    let targets = Signed::new(targets, &[&signing["targets"]])?;
    write_atomic(&l.metadata_file("1.root.json"), &root.to_bytes(), false)?;
    write_atomic(&l.metadata_file("root.json"), &root.to_bytes(), false)?;
    write_atomic(
        &l.metadata_file("1.targets.json"),
        &targets.to_bytes(),
        false,
    )?;
    let snapshot = Snapshot::empty(1, now + expiry.snapshot);
    commit_snapshot(
        &l,
        snapshot,
        &[("targets", 1)],
        None,
        &signing["snapshot"],
        &signing["timestamp"],
        now,
        expiry,
    )?;
    Ok(InitReport { keys })
}

/// Writes `snapshot` (with `changes` applied) and the next timestamp. `prev_timestamp` is the current one.
#[allow(clippy::too_many_arguments)]
fn commit_snapshot(
    l: &Layout,
    mut snapshot: Snapshot,
    changes: &[(&str, u64)],
    prev_timestamp: Option<&Timestamp>,
    snapshot_key: &SigningKey,
    timestamp_key: &SigningKey,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<()> {
    for (role, v) in changes {
        snapshot
            .meta
            .insert(format!("{role}.json"), MetaFile::version(*v));
    }
    let sv = snapshot.version;
    let snap = Signed::new(snapshot, &[snapshot_key])?.to_bytes();
    write_atomic(
        &l.metadata_file(&format!("{sv}.snapshot.json")),
        &snap,
        false,
    )?;
    let tv = prev_timestamp.map_or(1, |t| t.version.saturating_add(1));
    let mut ts = Timestamp::empty(tv, now + expiry.timestamp);
    let mut m = MetaFile::version(sv);
    m.length = Some(snap.len() as u64);
    m.hashes = Some(BTreeMap::from([(
        "sha256".to_owned(),
        Sha256::digest(&snap).to_hex(),
    )]));
    ts.meta.insert("snapshot.json".to_owned(), m);
    write_atomic(
        &l.metadata_file("timestamp.json"),
        &Signed::new(ts, &[timestamp_key])?.to_bytes(),
        false,
    )
}

/// Where [`load_trusted_with`] reads metadata: a repository directory ([`Layout`]) or the server's store.
pub trait MetadataSource {
    /// The bytes of `metadata/<name>` (a missing file is an error).
    fn read(&mut self, name: &str) -> Result<Vec<u8>>;
    /// Whether `metadata/<name>` exists.
    fn exists(&mut self, name: &str) -> bool;
}

impl MetadataSource for Layout {
    fn read(&mut self, name: &str) -> Result<Vec<u8>> {
        read_metadata(&self.metadata_file(name))
    }

    fn exists(&mut self, name: &str) -> bool {
        self.metadata_file(name).exists()
    }
}

/// The latest root version (highest `N.root.json` in an unbroken run from 1).
fn latest_root_version(src: &mut dyn MetadataSource) -> u64 {
    let mut v = 1;
    while src.exists(&format!("{}.root.json", v + 1)) {
        v += 1;
    }
    v
}

/// Loads and verifies the whole chain at `now`, starting from `1.root.json` (or from `trusted_root` if
/// given) and rotating through every `N.root.json`: timestamp, snapshot, top-level targets and every
/// delegated role the snapshot lists.
pub fn load_trusted(
    dir: &Path,
    trusted_root: Option<&Path>,
    now: OffsetDateTime,
) -> Result<TrustedSet> {
    let first = Layout::new(dir).metadata_file("1.root.json");
    if trusted_root.is_none() && !first.exists() {
        return Err(RepoError::NotFound(dir.to_owned()));
    }
    load_trusted_from(dir, &read_metadata(trusted_root.unwrap_or(&first))?, now)
}

/// [`load_trusted`] starting from the trusted root's bytes (a bundle's or a mirror's pinned root), so no
/// temporary copy of it is ever written (a killed process would leave that behind).
pub fn load_trusted_from(
    dir: &Path,
    trusted_root: &[u8],
    now: OffsetDateTime,
) -> Result<TrustedSet> {
    load_trusted_with(&mut Layout::new(dir), trusted_root, now)
}

/// [`load_trusted_from`] over any [`MetadataSource`] (the web UI reads the server's store).
pub fn load_trusted_with(
    l: &mut dyn MetadataSource,
    trusted_root: &[u8],
    now: OffsetDateTime,
) -> Result<TrustedSet> {
    let mut set = TrustedSet::new(trusted_root, now)?;
    let start = set.root().signed().version;
    for v in (start + 1)..=latest_root_version(l).max(start) {
        set.update_root(&l.read(&format!("{v}.root.json"))?)?;
    }
    set.update_timestamp(&l.read("timestamp.json")?)?;
    let sv = set
        .timestamp()
        .map(|t| t.signed().snapshot_meta().version)
        .unwrap_or_default();
    set.update_snapshot(&l.read(&format!("{sv}.snapshot.json"))?)?;
    let snap = set
        .snapshot()
        .map(|s| s.signed().meta.clone())
        .unwrap_or_default();
    let tv = snap
        .get("targets.json")
        .ok_or_else(|| RepoError::Corrupt("snapshot does not list targets.json".to_owned()))?
        .version;
    set.update_targets(&l.read(&format!("{tv}.targets.json"))?)?;
    // Delegated roles, breadth-first from `targets`, each verified with its delegator's keys.
    let mut queue = vec!["targets".to_owned()];
    while let Some(delegator) = queue.pop() {
        for (role, version) in unloaded_delegations(&set, &delegator, &snap) {
            set.update_delegated(
                &l.read(&set.metadata_file_name(version, &role))?,
                &role,
                &delegator,
            )?;
            queue.push(role);
        }
    }
    Ok(set)
}

/// The roles `delegator` delegates to that `snapshot` lists (a delegated role never published is not) and
/// `set` has not loaded yet, each with the version the snapshot pins: one step of the breadth-first walk from
/// `targets` that loads every published delegated role.
pub(crate) fn unloaded_delegations(
    set: &TrustedSet,
    delegator: &str,
    snapshot: &BTreeMap<String, MetaFile>,
) -> Vec<(String, u64)> {
    let Some(delegations) = set
        .targets(delegator)
        .and_then(|t| t.signed().delegations.as_ref())
    else {
        return Vec::new();
    };
    delegations
        .roles
        .iter()
        .filter(|r| set.targets(&r.name).is_none())
        .filter_map(|r| {
            let m = snapshot.get(&format!("{}.json", r.name))?;
            Some((r.name.clone(), m.version))
        })
        .collect()
}

/// What `verify` checked.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Root version after rotation.
    pub root_version: u64,
    /// Metadata files verified.
    pub metadata_files: usize,
    /// Targets verified (bytes, length and SHA-256).
    pub targets: usize,
    /// Bytes of targets hashed.
    pub target_bytes: u64,
}

/// Verifies every metadata file and every target of the repository in `dir` at `now`.
pub fn verify(
    dir: &Path,
    trusted_root: Option<&Path>,
    now: OffsetDateTime,
) -> Result<VerifyReport> {
    let l = Layout::new(dir);
    let set = load_trusted(dir, trusted_root, now)?;
    let mut report = VerifyReport {
        root_version: set.root().signed().version,
        metadata_files: usize::try_from(set.root().signed().version).unwrap_or(usize::MAX)
            + 2
            + set.all_targets().len(),
        ..VerifyReport::default()
    };
    // `root.json` must be the latest root.
    let latest = read_metadata(&l.metadata_file(&format!("{}.root.json", report.root_version)))?;
    if let Ok(copy) = std::fs::read(l.metadata_file("root.json")) {
        if copy != latest {
            return Err(RepoError::Corrupt(format!(
                "root.json is not {}.root.json",
                report.root_version
            )));
        }
    }
    for (role, t) in set.all_targets() {
        for (path, info) in &t.signed().targets {
            // Only targets the delegation search attributes to this role are trusted.
            match set.resolve_target(path.as_str())? {
                Lookup::Found { role: r, .. } if &r == role => {}
                _ => {
                    return Err(RepoError::Corrupt(format!(
                        "role {role} lists {path}, which it is not trusted for"
                    )))
                }
            }
            // Our layout stores package artifacts only: another path (valid TUF) is `target.path_invalid`.
            let file = l.target_file(&path.package_target()?, &info.sha256()?);
            let data = read(&file)?;
            info.verify(path.as_str(), &data)?;
            report.targets += 1;
            report.target_bytes += info.length;
        }
    }
    Ok(report)
}

struct Current {
    l: Layout,
    set: TrustedSet,
}

impl Current {
    fn load(dir: &Path, now: OffsetDateTime) -> Result<Self> {
        Ok(Current {
            l: Layout::new(dir),
            set: load_trusted(dir, None, now)?,
        })
    }
    fn top_targets(&self) -> &Targets {
        self.set
            .targets("targets")
            .expect("load_trusted loads targets")
            .signed()
    }
    fn snapshot(&self) -> &Snapshot {
        self.set
            .snapshot()
            .expect("load_trusted loads snapshot")
            .signed()
    }
    fn timestamp(&self) -> &Timestamp {
        self.set
            .timestamp()
            .expect("load_trusted loads timestamp")
            .signed()
    }
    fn key(&self, role: &str) -> Result<SigningKey> {
        let k = read_secret_key(&self.l.key_file(role))?;
        let root = self.set.root().signed();
        if !root
            .roles
            .get(role)
            .is_some_and(|r| r.keyids.contains(k.key_id()))
        {
            return Err(RepoError::KeyNotAuthorized {
                keyid: k.key_id().to_string(),
                role: role.to_owned(),
            });
        }
        Ok(k)
    }
    fn next_snapshot(&self, now: OffsetDateTime, expiry: &Expiry) -> Snapshot {
        let mut s = Snapshot::empty(
            self.snapshot().version.saturating_add(1),
            now + expiry.snapshot,
        );
        s.meta = self.snapshot().meta.clone();
        s
    }
    fn commit(&self, changes: &[(&str, u64)], now: OffsetDateTime, expiry: &Expiry) -> Result<()> {
        let (sk, tk) = (self.key("snapshot")?, self.key("timestamp")?);
        commit_snapshot(
            &self.l,
            self.next_snapshot(now, expiry),
            changes,
            Some(self.timestamp()),
            &sk,
            &tk,
            now,
            expiry,
        )
    }
}

/// Delegates `package` to `publisher_keys` with `threshold`: re-signs the top-level targets (offline
/// targets key), then writes the next snapshot and timestamp (online keys). The role covers `<package>/*/*`.
pub fn add_package(
    dir: &Path,
    package: &PackageName,
    publisher_keys: &[PublicKey],
    threshold: u64,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<u64> {
    if threshold == 0 || threshold > publisher_keys.len() as u64 {
        return Err(RepoError::Usage(format!(
            "threshold {threshold} must be between 1 and the number of publisher keys ({})",
            publisher_keys.len()
        )));
    }
    let cur = Current::load(dir, now)?;
    let targets_key = cur.key("targets")?;
    let mut targets = cur.top_targets().clone();
    let d = targets.delegations.get_or_insert_with(|| Delegations {
        keys: BTreeMap::new(),
        roles: Vec::new(),
        extra: BTreeMap::new(),
    });
    if d.roles.iter().any(|r| r.name == package.as_str()) {
        return Err(RepoError::PackageExists(package.to_string()));
    }
    for k in publisher_keys {
        k.ed25519()?;
        d.keys.insert(k.key_id()?, k.clone());
    }
    let refs: Vec<&PublicKey> = publisher_keys.iter().collect();
    d.roles
        .push(DelegatedRole::for_package(package, &refs, threshold)?);
    targets.version = targets.version.saturating_add(1);
    targets.expires = (now + expiry.targets)
        .replace_nanosecond(0)
        .unwrap_or(now + expiry.targets);
    let v = targets.version;
    let signed = Signed::new(targets, &[&targets_key])?;
    write_atomic(
        &cur.l.metadata_file(&format!("{v}.targets.json")),
        &signed.to_bytes(),
        false,
    )?;
    cur.commit(&[("targets", v)], now, expiry)?;
    Ok(v)
}

/// One artifact of a release: its napi file name and bytes.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// File name (`x0x.linux-x64-gnu.node`, `x0x.wasm32-wasip1.wasm`).
    pub file_name: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// For glibc builds: the glibc floor to record.
    pub glibc_floor: Option<String>,
}

/// Releases `version` of `package` into the local repository in `dir`, without a server: adds the artifacts
/// to the package's role (version + 1, signed by `publisher`), writes the target files, then the next snapshot
/// and timestamp with the online keys in `DIR/online/`. Target metadata is inferred from the file names.
pub fn release(
    dir: &Path,
    package: &PackageName,
    version: &Version,
    artifacts: &[Artifact],
    publisher: &SigningKey,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<u64> {
    let cur = Current::load(dir, now)?;
    let deleg = cur
        .top_targets()
        .delegations
        .as_ref()
        .and_then(|d| d.roles.iter().find(|r| r.name == package.as_str()))
        .ok_or_else(|| RepoError::PackageNotFound(package.to_string()))?;
    if !deleg.keys.keyids.contains(publisher.key_id()) {
        return Err(RepoError::KeyNotAuthorized {
            keyid: publisher.key_id().to_string(),
            role: package.to_string(),
        });
    }
    if deleg.keys.threshold > 1 {
        return Err(RepoError::Usage(format!(
            "role {package} needs {} signatures; local release signs with one key",
            deleg.keys.threshold
        )));
    }
    let mut role = match cur.set.targets(package.as_str()) {
        Some(t) => t.signed().clone(),
        None => Targets::empty(0, now),
    };
    if role
        .targets
        .keys()
        .any(|p| p.package_target().is_ok_and(|p| p.version() == version))
    {
        return Err(RepoError::VersionExists(format!("{package}@{version}")));
    }
    if artifacts.is_empty() {
        return Err(RepoError::Usage(
            "a release needs at least one file".to_owned(),
        ));
    }
    for a in artifacts {
        let (pkg, platform) = Platform::parse_file_name(&a.file_name)?;
        if &pkg != package {
            return Err(RepoError::Usage(format!(
                "{} is not a file of package {package}",
                a.file_name
            )));
        }
        let path = TargetPath::new(package, version, &a.file_name)?;
        let custom = TargetCustom::new(package, version, platform, a.glibc_floor.clone());
        let info = TargetFile::for_bytes(&a.data, Some(&custom));
        write_atomic(&cur.l.target_file(&path, &info.sha256()?), &a.data, false)?;
        role.targets.insert(path.name(), info);
    }
    role.version = role.version.saturating_add(1);
    role.expires = (now + expiry.delegated)
        .replace_nanosecond(0)
        .unwrap_or(now + expiry.delegated);
    let v = role.version;
    let signed = Signed::new(role, &[publisher])?;
    write_atomic(
        &cur.l.metadata_file(&format!("{v}.{package}.json")),
        &signed.to_bytes(),
        false,
    )?;
    cur.commit(&[(package.as_str(), v)], now, expiry)?;
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests write fixtures directly
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn oversized_metadata_is_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), now(), &Expiry::default()).unwrap();
        let huge = vec![b' '; 17 * 1024 * 1024];
        std::fs::write(dir.path().join("metadata/timestamp.json"), huge).unwrap();
        assert_eq!(
            verify(dir.path(), None, now()).unwrap_err().code(),
            "metadata.too_large"
        );
    }

    #[test]
    fn init_add_release_verify_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let rd = dir.path();
        let ex = Expiry::default();
        init(rd, now(), &ex).unwrap();
        assert_eq!(init(rd, now(), &ex).unwrap_err().code(), "repo.exists");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(rd.join("keys/root.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(rd.join("keys/root.key.pub"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        verify(rd, None, now()).unwrap();

        let publisher = generate_key();
        let x0x: PackageName = "x0x".parse().unwrap();
        assert_eq!(
            add_package(rd, &x0x, &[publisher.public().clone()], 1, now(), &ex).unwrap(),
            2
        );
        assert_eq!(
            add_package(rd, &x0x, &[publisher.public().clone()], 1, now(), &ex)
                .unwrap_err()
                .code(),
            "package.exists"
        );
        let v: Version = "0.3.1".parse().unwrap();
        let arts = vec![
            Artifact {
                file_name: "x0x.linux-x64-gnu.node".into(),
                data: b"native".to_vec(),
                glibc_floor: Some("2.17".into()),
            },
            Artifact {
                file_name: "x0x.wasm32-wasip1.wasm".into(),
                data: b"wasm".to_vec(),
                glibc_floor: None,
            },
        ];
        assert_eq!(
            release(rd, &x0x, &v, &arts, &publisher, now(), &ex).unwrap(),
            1
        );
        assert_eq!(
            release(rd, &x0x, &v, &arts, &publisher, now(), &ex)
                .unwrap_err()
                .code(),
            "version.exists"
        );
        let other = generate_key();
        let v2: Version = "0.3.2".parse().unwrap();
        assert_eq!(
            release(rd, &x0x, &v2, &arts, &other, now(), &ex)
                .unwrap_err()
                .code(),
            "key.not_authorized"
        );
        let rep = verify(rd, None, now()).unwrap();
        assert_eq!((rep.targets, rep.target_bytes), (2, 10));

        // Tampering with a published target is caught.
        let l = Layout::new(rd);
        let path: TargetPath = "x0x/0.3.1/x0x.wasm32-wasip1.wasm".parse().unwrap();
        let file = l.target_file(&path, &Sha256::digest(b"wasm"));
        std::fs::write(&file, b"WASM").unwrap();
        assert_eq!(
            verify(rd, None, now()).unwrap_err().code(),
            "target.digest_mismatch"
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(verify(rd, None, now()).unwrap_err().code(), "io.error");
        std::fs::write(&file, b"wasm").unwrap();
        verify(rd, None, now()).unwrap();
        // Expired at a later verification time.
        assert_eq!(
            verify(rd, None, now() + Duration::days(2))
                .unwrap_err()
                .code(),
            "metadata.expired"
        );
    }
}
