//! Self-hosted mirrors: a repository directory that holds an upstream repository's signed bytes, unchanged.
//!
//! A mirror directory has the layout of any repository (`metadata/`, `targets/<package>/<version>/<sha256>.<file>`,
//! see `repo`) plus `mirror/`: `mirror/root.json` (the upstream root the operator trusts, given once at
//! `mirror init` or `bundle import`), `mirror/upstream.json` (`{"upstream": URL}`, absent for an air-gapped
//! mirror filled from bundles) and `mirror/partial/` (interrupted downloads, resumed with `Range`). It holds no
//! keys: a mirror never signs anything, so clients verify exactly what the publisher signed.
//!
//! Invariants:
//! - Nothing is stored or served before it is verified. Metadata is fetched into a staging directory and the
//!   whole chain is verified by the loader's one walk ([`x0x_dist_loader::tuf::refresh`] from the trusted
//!   root: root rotation, timestamp, snapshot, top-level targets, every delegated role in pre-order, signatures,
//!   thresholds, pinned versions, lengths and hashes, expiry), with the mirror's served timestamp and snapshot
//!   as its rollback references (a version going down is `metadata.rollback`) and its immutable files reused
//!   once they verify. Accepted files are only collected; when the whole chain verified they are copied in
//!   under the writer lock (after checking the served timestamp again), role files first and
//!   `timestamp.json` last, each atomically.
//! - A target is downloaded only if the verified metadata lists it, streamed into `mirror/partial/` while its
//!   length and SHA-256 are checked (the loader's [`Fetcher::target`]), and renamed into `targets/` only when
//!   both match. A tampering upstream leaves nothing behind.
//! - Upstream unreachable: the mirror keeps serving what it has. It never re-signs: once the upstream's
//!   timestamp expires, clients see `metadata.expired` exactly as they would from the upstream (see
//!   `docs/mirror.md`, "Freshness").
//!
//! Serving a mirror (pull-through on request) is the server's: `x0x_dist_server::mirror::pull`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::VersionReq;
use time::OffsetDateTime;
use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location, NoProgress, Progress};
use x0x_dist_loader::tuf::{self, Accepted, Persistence, Scope, WalkOptions};
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::metadata::{Root, Signed, Timestamp};
use x0x_dist_manifests::verify::{encode_role_name, Lookup, TrustedSet};
use x0x_dist_manifests::{Role as _, TargetFile, TargetPath};

use crate::error::{Error, Result};
use crate::repo::{self, Layout};

/// `DIR/mirror/`.
pub fn state_dir(dir: &Path) -> PathBuf {
    dir.join("mirror")
}

/// The operator's trusted upstream root of a mirror (`DIR/mirror/root.json`).
pub fn trusted_root_file(dir: &Path) -> PathBuf {
    state_dir(dir).join("root.json")
}

/// Whether `dir` is a mirror (pull-through or filled from bundles).
pub fn is_mirror(dir: &Path) -> bool {
    trusted_root_file(dir).is_file()
}

/// A mirror's recorded settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The upstream repository URL (`None`: air-gapped, filled from bundles only).
    pub upstream: Option<String>,
    /// The trusted upstream root (bytes of a `root.json`).
    pub root: Vec<u8>,
}

impl Settings {
    /// Reads `DIR/mirror/`.
    pub fn load(dir: &Path) -> Result<Self> {
        let rf = trusted_root_file(dir);
        let root = match std::fs::read(&rf) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotMirror(dir.to_owned()))
            }
            Err(e) => return Err(Error::io("reading", &rf)(e)),
        };
        let uf = state_dir(dir).join("upstream.json");
        let upstream = match std::fs::read(&uf) {
            Ok(b) => serde_json::from_slice::<serde_json::Value>(&b)
                .ok()
                .and_then(|v| v.get("upstream")?.as_str().map(str::to_owned)),
            Err(_) => None,
        };
        Ok(Self { upstream, root })
    }

    /// Writes `DIR/mirror/` (root first; the upstream file only if there is an upstream).
    pub fn save(&self, dir: &Path) -> Result<()> {
        // A root that does not even verify itself is refused here, not at first use.
        TrustedSet::new(&self.root, OffsetDateTime::now_utc())?;
        repo::write_atomic(&trusted_root_file(dir), &self.root, false)?;
        if let Some(u) = &self.upstream {
            let body = serde_json::to_vec_pretty(&serde_json::json!({ "upstream": u }))
                .unwrap_or_default();
            repo::write_atomic(&state_dir(dir).join("upstream.json"), &body, false)?;
        }
        Ok(())
    }
}

/// A fetcher for an upstream URL (or directory), with the loader's retries, proxies and CA settings.
pub fn upstream_fetcher(upstream: &str) -> Result<Fetcher> {
    Ok(Fetcher::new(
        Location::parse(upstream)?,
        FetchOptions::from_env(),
    )?)
}

/// What one metadata pull did.
#[derive(Debug, Clone, Default)]
pub struct PullReport {
    /// Metadata files newly written.
    pub written: usize,
    /// The timestamp version now served.
    pub timestamp_version: u64,
    /// The snapshot version now served.
    pub snapshot_version: u64,
}

async fn get(fetcher: &Fetcher, name: &str, limit: usize) -> Result<Option<Vec<u8>>> {
    Ok(fetcher.metadata(name, limit as u64).await?)
}

/// Reads `DIR/metadata/name` if the mirror already has it.
fn local(dir: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(Layout::new(dir).metadata_file(name)).ok()
}

/// Rollback at commit time: `new` (a verified timestamp) must not name a lower timestamp or snapshot version
/// than the one `dir` serves now (even an expired one, even one signed by keys rotated out since). The walk
/// already checked the served timestamp it could verify; this holds under the writer lock, after any other
/// writer, for mirrors and bundle imports alike.
pub(crate) fn check_not_older(dir: &Path, new: &Timestamp) -> Result<()> {
    let Some(cur) = local(dir, "timestamp.json") else {
        return Ok(());
    };
    let Ok(old) = Signed::<Timestamp>::from_slice(&cur) else {
        return Ok(());
    };
    let o = old.signed();
    for (role, trusted, newv) in [
        ("timestamp", o.version, new.version),
        (
            "snapshot",
            o.snapshot_meta().version,
            new.snapshot_meta().version,
        ),
    ] {
        if newv < trusted {
            return Err(x0x_dist_manifests::Error::Rollback {
                role: role.into(),
                trusted,
                new: newv,
            }
            .into());
        }
    }
    Ok(())
}

/// The mirror's served files as the walk's persistence policy: its timestamp and the snapshot it names are the
/// rollback references, its versioned (immutable) files are reused when they verify, and each accepted file
/// is collected in `files` to be committed once the whole chain verified (nothing is written before).
pub(crate) struct Served<'a> {
    dir: &'a Path,
    files: BTreeMap<String, Vec<u8>>,
    timestamp: Option<Vec<u8>>,
}

impl<'a> Served<'a> {
    /// The files `dir` serves now, as the references; nothing collected yet.
    pub(crate) fn new(dir: &'a Path) -> Self {
        Self {
            dir,
            files: BTreeMap::new(),
            timestamp: None,
        }
    }
}

impl Persistence for Served<'_> {
    fn root(&self, version: u64) -> std::result::Result<Option<Vec<u8>>, x0x_dist_loader::Error> {
        Ok(local(self.dir, &format!("{version}.root.json")))
    }
    fn timestamp(&self) -> std::result::Result<Option<Vec<u8>>, x0x_dist_loader::Error> {
        Ok(local(self.dir, "timestamp.json"))
    }
    fn snapshot(
        &self,
        pinned: u64,
    ) -> std::result::Result<Option<Vec<u8>>, x0x_dist_loader::Error> {
        Ok(local(self.dir, &format!("{pinned}.snapshot.json")))
    }
    fn role(
        &self,
        role: &str,
        name: &str,
    ) -> std::result::Result<Option<Vec<u8>>, x0x_dist_loader::Error> {
        // Without consistent snapshots a role's file is replaced in place: never reused.
        let mutable = name == format!("{}.json", encode_role_name(role));
        Ok(local(self.dir, name).filter(|_| !mutable))
    }
    fn accept(&mut self, file: Accepted<'_>) -> std::result::Result<(), x0x_dist_loader::Error> {
        let (name, bytes) = match file {
            Accepted::Root { version, bytes } => (format!("{version}.root.json"), bytes),
            Accepted::Timestamp(bytes) => {
                self.timestamp = Some(bytes.to_vec());
                return Ok(());
            }
            Accepted::Snapshot { name, bytes, .. } | Accepted::Role { name, bytes, .. } => {
                (name.to_owned(), bytes)
            }
        };
        self.files.insert(name, bytes.to_vec());
        Ok(())
    }
}

/// Fetches the upstream's current metadata chain, verifies it completely at `now` from the trusted `root`,
/// checks it against what the mirror has (rollback), and stores it in `dir` (timestamp last). Immutable files
/// the mirror already has are not downloaded again. Returns the verified set.
pub async fn pull_metadata(
    dir: &Path,
    fetcher: &Fetcher,
    root: &[u8],
    now: OffsetDateTime,
) -> Result<(TrustedSet, PullReport)> {
    let mut served = Served::new(dir);
    let first = TrustedSet::new(root, now)?.root().signed().version;
    // Older roots, so clients shipping an older root can rotate through this mirror too. They are kept only
    // if they chain to the trusted root.
    if first > 1 {
        let mut older = Vec::new();
        for v in 1..first {
            let name = format!("{v}.root.json");
            match local(dir, &name) {
                Some(b) => older.push((name, b)),
                None => match get(fetcher, &name, Root::MAX_SIZE).await? {
                    Some(b) => older.push((name, b)),
                    None => break,
                },
            }
        }
        if older.len() as u64 == first - 1 {
            if let Ok(mut chain) = TrustedSet::new(&older[0].1, now) {
                let ok = older[1..].iter().all(|(_, b)| chain.update_root(b).is_ok())
                    && chain.update_root(root).is_ok();
                if ok {
                    served.files.extend(older);
                }
            }
        }
    }
    served
        .files
        .insert(format!("{first}.root.json"), root.to_vec());
    let set = tuf::refresh(fetcher, &mut served, root, Scope::All, WalkOptions::at(now))
        .await
        .map_err(|e| match e {
            // The upstream lacks a file its own chain names.
            x0x_dist_loader::Error::NotFound { what, location } => Error::UpstreamMissing {
                upstream: location,
                name: what.trim_start_matches("metadata ").to_owned(),
            },
            e => repo::walk_error(e),
        })?
        .into_trusted();
    let Served {
        mut files,
        timestamp,
        ..
    } = served;
    let latest = format!("{}.root.json", set.root().signed().version);
    let latest_root = files
        .get(&latest)
        .cloned()
        .or_else(|| local(dir, &latest))
        .unwrap_or_default();
    files.insert("root.json".into(), latest_root);
    let ts = set.timestamp().cloned().expect("timestamp loaded");
    // Every target as a client finds it: TUF's search re-verifies a role reached through a delegator other
    // than the one it was loaded by (a diamond). A chain a client would refuse is never served.
    select(&set, &Selection::default())?;
    // Everything verified: store, timestamp last (the commit point for readers).
    let mut report = PullReport {
        timestamp_version: ts.signed().version,
        snapshot_version: ts.signed().snapshot_meta().version,
        ..PullReport::default()
    };
    // One writer at a time (bundle imports, other pulls): see `crate::lock`. Under the lock, the state may
    // have moved on since the walk.
    let lock = {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || {
            crate::lock::lock(&dir, || {
                tracing::warn!("waiting for another writer of {} to finish", dir.display());
            })
            .map_err(Error::io("locking", &crate::lock::lock_path(&dir)))
        })
        .await
        .map_err(|e| Error::Usage(format!("lock task: {e}")))??
    };
    check_not_older(dir, ts.signed())?;
    let l = Layout::new(dir);
    for (name, bytes) in &files {
        if local(dir, name).as_deref() != Some(bytes.as_slice()) {
            repo::write_atomic(&l.metadata_file(name), bytes, false)?;
            report.written += 1;
        }
    }
    if let Some(ts_bytes) = timestamp {
        if local(dir, "timestamp.json").as_deref() != Some(ts_bytes.as_slice()) {
            repo::write_atomic(&l.metadata_file("timestamp.json"), &ts_bytes, false)?;
            report.written += 1;
        }
    }
    drop(lock);
    Ok((set, report))
}

/// Which targets to mirror or bundle.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these packages (default: every delegated package).
    pub packages: Vec<String>,
    /// Only versions matching this range (default: all).
    pub versions: Option<VersionReq>,
    /// Only these targets: napi platform names, Rust triples or file names (default: all platforms).
    pub targets: Vec<String>,
    /// Only targets published (signed `custom.published`) at or before this time: the mirror's minimum
    /// release age (`--min-release-age`). Targets without a publish time count as old.
    pub published_before: Option<OffsetDateTime>,
}

impl Selection {
    fn wants(&self, path: &TargetPath, file: &TargetFile) -> bool {
        if !self.packages.is_empty() && !self.packages.iter().any(|p| p == path.package().as_str())
        {
            return false;
        }
        if let Some(r) = &self.versions {
            if !r.matches(path.version().semver()) {
                return false;
            }
        }
        if let (Some(cutoff), Some(at)) = (self.published_before, file.published()) {
            if at > cutoff {
                return false;
            }
        }
        if self.targets.is_empty() {
            return true;
        }
        let custom = file.x0x_custom();
        self.targets.iter().any(|t| {
            t == path.file_name()
                || custom
                    .as_ref()
                    .is_some_and(|c| &c.platform == t || &c.target == t)
        })
    }
}

/// One target to copy: its path, verified metadata, and where it is stored under `targets/`.
#[derive(Debug, Clone)]
pub struct Job {
    /// The target path (`x0x/0.3.1/x0x.linux-x64-gnu.node`).
    pub path: TargetPath,
    /// Its verified length and hashes.
    pub file: TargetFile,
    /// The stored path under `targets/` (`x0x/0.3.1/<sha256>.x0x.linux-x64-gnu.node` with consistent snapshots).
    pub stored: String,
}

/// Every target the verified `set` lists that `sel` selects, each attributed to its role by TUF's delegation
/// search (a role listing a path it is not trusted for contributes nothing). Every listed path must be a
/// package artifact `<package>/<version>/<file>` (else `target.path_invalid`).
pub fn select(set: &TrustedSet, sel: &Selection) -> Result<Vec<Job>> {
    let consistent = set.root().signed().consistent_snapshot;
    let mut out = Vec::new();
    for (role, t) in set.all_targets() {
        for (name, file) in &t.signed().targets {
            // A mirror copies package artifacts: a listed path of another shape (valid TUF, never written
            // by our server) is refused with `target.path_invalid`, as it is where the loader would use it.
            let path = &name.package_target()?;
            if !sel.wants(path, file) {
                continue;
            }
            match set.resolve_target(path.as_str())? {
                Lookup::Found { role: r, .. } if &r == role => {}
                _ => continue,
            }
            let sha = file.sha256()?.to_hex();
            let stored = if consistent {
                format!(
                    "{}/{}/{sha}.{}",
                    path.package(),
                    path.version(),
                    path.file_name()
                )
            } else {
                path.as_str().to_owned()
            };
            out.push(Job {
                path: path.clone(),
                file: file.clone(),
                stored,
            });
        }
    }
    if !sel.packages.is_empty() {
        for p in &sel.packages {
            if !set
                .targets("targets")
                .and_then(|t| t.signed().delegations.as_ref())
                .is_some_and(|d| d.roles.iter().any(|r| &r.name == p))
            {
                return Err(Error::Loader(x0x_dist_loader::Error::PackageNotFound {
                    package: p.clone(),
                }));
            }
        }
    }
    Ok(out)
}

/// Downloads one selected target into the mirror (resuming a partial download), verified against its metadata
/// before it becomes visible. Returns whether bytes were downloaded (false: already present).
pub async fn fetch_target(
    dir: &Path,
    fetcher: &Fetcher,
    job: &Job,
    progress: &dyn Progress,
) -> Result<bool> {
    let dest = crate::repo::Layout::new(dir).target_stored(&job.stored);
    if std::fs::metadata(&dest).is_ok_and(|m| m.is_file() && m.len() == job.file.length) {
        return Ok(false);
    }
    let sha = job.file.sha256()?.to_hex();
    let partial_dir = state_dir(dir).join("partial");
    std::fs::create_dir_all(&partial_dir).map_err(Error::io("creating", &partial_dir))?;
    let part = partial_dir.join(format!("{sha}.part"));
    fetcher
        .target_file(&job.stored, job.path.as_str(), &job.file, &part, progress)
        .await?;
    let parent = dest.parent().expect("targets path has a parent");
    std::fs::create_dir_all(parent).map_err(Error::io("creating", parent))?;
    // Synced before the metadata that names it is written.
    x0x_dist_durable::persist(&part, &dest).map_err(Error::io("storing", &dest))?;
    Ok(true)
}

/// What a sync did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    /// Targets selected.
    pub selected: usize,
    /// Targets downloaded now.
    pub downloaded: usize,
    /// Targets already present.
    pub present: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Metadata files written.
    pub metadata_written: usize,
}

/// Fills the mirror in `dir` from `fetcher`: pulls and verifies the metadata, then downloads every selected
/// target (`parallel` at a time), each verified before it is visible. Idempotent; an interrupted run resumes.
pub async fn sync(
    dir: &Path,
    fetcher: &Fetcher,
    root: &[u8],
    sel: &Selection,
    parallel: usize,
    progress: Arc<dyn Progress>,
    now: OffsetDateTime,
) -> Result<SyncReport> {
    let (set, pulled) = pull_metadata(dir, fetcher, root, now).await?;
    let jobs = select(&set, sel)?;
    let mut report = SyncReport {
        selected: jobs.len(),
        metadata_written: pulled.written,
        ..SyncReport::default()
    };
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        let (dir, fetcher, sem, progress) = (
            dir.to_owned(),
            fetcher.clone(),
            sem.clone(),
            progress.clone(),
        );
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = fetch_target(&dir, &fetcher, &job, progress.as_ref()).await;
            (job, r)
        });
    }
    let mut first_err = None;
    while let Some(joined) = tasks.join_next().await {
        let (job, r) = joined.map_err(|e| Error::Usage(format!("download task failed: {e}")))?;
        match r {
            Ok(true) => {
                report.downloaded += 1;
                report.bytes += job.file.length;
            }
            Ok(false) => report.present += 1,
            Err(e) => {
                tracing::warn!(target = job.path.as_str(), code = e.code().as_str(), error = %e, "target not mirrored");
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// No progress output.
pub fn no_progress() -> Arc<dyn Progress> {
    Arc::new(NoProgress)
}
