//! The TUF 1.0 client workflow (spec §5.3–5.6) over a [`Fetcher`], with trusted metadata persisted in the
//! [`Cache`] for rollback protection. Every trust decision is delegated to
//! [`x0x_dist_manifests::verify::TrustedSet`]; this module does the I/O around it, in this order:
//!
//! 1. Trusted root: always the root given by the caller (shipped with the package or `--root`), never a root
//!    found only in the cache. Rotations accepted earlier are persisted as `N.root.json` and replayed from it
//!    through [`TrustedSet::update_root`], each verified again (a file dropped into the cache that the chain
//!    from the given root does not sign is ignored, with a warning). The repository id is the SHA-256 prefix of
//!    the *given* root, so the persisted chain is found again next time. `root.json` holds a copy of the
//!    newest trusted root for operators; it is never read as a trust anchor.
//! 2. Root rotation: fetch `N+1.root.json` until the repository has none; each must be signed by a threshold of
//!    the old and the new root and be version N+1. Each accepted root is persisted at once.
//! 3. The persisted timestamp and snapshot (if still valid) are loaded first, so the remote ones are checked
//!    against them: a lower timestamp version, a lower snapshot version, or a role version going down in the
//!    snapshot is `metadata.rollback`. A persisted timestamp that has since *expired* still provides its
//!    versions for this check (python-tuf does the same): `TrustedSet::update_timestamp` keeps it as the
//!    rollback reference while it reports it expired. One whose signature no longer verifies under the
//!    (rotated) root is dropped, as TUF §5.3.11 asks after a rotation of the timestamp keys.
//! 4. `timestamp.json` (never cached by CDNs) → `V.snapshot.json` (V pinned by timestamp; its hash and length
//!    checked when pinned) → `V.targets.json` → `V.<package>.json` (V pinned by snapshot). With
//!    `consistent_snapshot` false the unversioned names are used. Metadata already persisted at the pinned
//!    version is reused without a download. Persisted file names of delegated roles are the role names
//!    encoded by `encode_role_name` (`../x` is stored as `..%2Fx.json`, inside the directory).
//! 5. Every role must be unexpired at `now`. The one exception is explicit and chosen by the operator:
//!    [`ALLOW_EXPIRED_AFTER`] (`X0X_DIST_ALLOW_EXPIRED_AFTER=<RFC 3339 time>`) moves the clock that expiry is
//!    checked against back to that time, so metadata that was still valid then is accepted, with a warning
//!    naming each expired role; metadata that expired before it is still `metadata.expired`. The JavaScript
//!    loader reads the same variable with the same meaning (`loader/js/lib/bundle.js`). See
//!    `docs/air-gapped.md` for the threat this accepts.
//!
//! A lock file in the repository's trusted-metadata directory serialises refreshes across processes.
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x0x_dist_manifests::metadata::{Root, Signed, Snapshot, Targets, Timestamp};
use x0x_dist_manifests::verify::{encode_role_name, Lookup, TrustedSet};
use x0x_dist_manifests::{Role, RoleType, TargetFile, TargetPath};

use crate::cache::{lock_file, Cache};
use crate::error::Error;
use crate::fetch::Fetcher;

/// How many root rotations one refresh follows at most (python-tuf's default).
pub const MAX_ROOT_ROTATIONS: u64 = 256;

pub use crate::env::ALLOW_EXPIRED_AFTER;

/// The time expiry is checked against: `now`, or the operator's cutoff from [`ALLOW_EXPIRED_AFTER`] when it is
/// set and earlier than `now`. Returns the clock and the cutoff in force (if any). An unparsable value is
/// `config.invalid`, never ignored.
pub fn freshness_clock(
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, Option<OffsetDateTime>), Error> {
    let Some(v) = std::env::var(ALLOW_EXPIRED_AFTER)
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return Ok((now, None));
    };
    let cutoff = OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Error::Config {
            what: "X0X_DIST_ALLOW_EXPIRED_AFTER (an RFC 3339 time such as 2030-01-01T00:00:00Z)",
            value: v.clone(),
        })?;
    Ok((now.min(cutoff), Some(cutoff)))
}

/// Freshness of one verified role, for `doctor`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleStatus {
    /// Role name.
    pub role: String,
    /// Verified version.
    pub version: u64,
    /// Expiry (RFC 3339).
    pub expires: String,
    /// Seconds until expiry at verification time (negative never happens: expired roles are rejected).
    pub expires_in_secs: i64,
    /// Signatures on the envelope (a threshold of them verified by authorized keys, or it was rejected).
    pub signatures: usize,
    /// Whether it came from the network in this refresh (else from the persisted copy).
    pub downloaded: bool,
}

/// A verified view of one repository for one package.
#[derive(Debug)]
pub struct Repository {
    trusted: TrustedSet,
    package: String,
    consistent: bool,
    statuses: Vec<RoleStatus>,
}

/// Computes the repository id for a given trusted root: the first 16 hex digits of its SHA-256.
pub fn repo_id(root_bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(root_bytes))[..16].to_owned()
}

fn meta_err(context: impl Into<String>) -> impl FnOnce(x0x_dist_manifests::Error) -> Error {
    let context = context.into();
    move |source| Error::Metadata { context, source }
}

/// Trusted metadata (the rollback reference among it) is replaced atomically and durably: a crash never
/// leaves a torn file nor loses a version already acted upon.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
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

struct Session<'a> {
    fetcher: &'a Fetcher,
    dir: PathBuf,
    trusted: TrustedSet,
    statuses: Vec<RoleStatus>,
    offline: bool,
    /// The real time, when the operator's expiry policy moved the verification clock back.
    policy: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl Session<'_> {
    async fn fetch_meta(&self, name: &str, limit: usize) -> Result<Option<Vec<u8>>, Error> {
        if self.offline {
            return Err(Error::Offline {
                what: format!("metadata {name}"),
            });
        }
        self.fetcher.metadata(name, limit as u64).await
    }

    fn status<T: Role>(&mut self, role: &str, signed: &Signed<T>, downloaded: bool) {
        let expires = signed.signed().expires();
        if let Some((real_now, cutoff)) = self.policy {
            if expires <= real_now {
                let fmt = |t: OffsetDateTime| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                };
                // Never silent: the operator chose this, and every use says so (the CLI shows warnings on
                // stderr as `warning[metadata.expired]: ...`, the server logs them).
                tracing::warn!(
                    code = "metadata.expired",
                    "accepting {role} metadata that expired at {} because {ALLOW_EXPIRED_AFTER}={}",
                    fmt(expires),
                    fmt(cutoff)
                );
            }
        }
        self.statuses.push(RoleStatus {
            role: role.to_owned(),
            version: signed.signed().version(),
            expires: expires
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            expires_in_secs: (expires - self.trusted.now()).whole_seconds(),
            signatures: signed.signatures().len(),
            downloaded,
        });
    }

    async fn rotate_root(&mut self) -> Result<(), Error> {
        for _ in 0..MAX_ROOT_ROTATIONS {
            let next = self.trusted.root().signed().version + 1;
            let name = format!("{next}.root.json");
            let Some(bytes) = self.fetch_meta(&name, Root::MAX_SIZE).await? else {
                break;
            };
            self.trusted
                .update_root(&bytes)
                .map_err(meta_err(format!("{name} from {}", self.fetcher.location())))?;
            write_atomic(&self.dir.join(&name), &bytes)?;
            write_atomic(&self.dir.join("root.json"), &bytes)?;
            tracing::info!(version = next, "rotated to a new trusted root");
        }
        Ok(())
    }

    /// Loads a role that snapshot pins, reusing the persisted copy when it is at the pinned version.
    async fn load_targets_role(&mut self, role: &str, delegator: &str) -> Result<(), Error> {
        let snapshot = self.trusted.snapshot().ok_or_else(|| Error::Metadata {
            context: "snapshot not loaded".into(),
            source: x0x_dist_manifests::Error::MissingRole(RoleType::Snapshot.to_string()),
        })?;
        let pinned = snapshot
            .signed()
            .meta
            .get(&format!("{role}.json"))
            .map(|m| m.version)
            .ok_or_else(|| Error::Metadata {
                context: format!("role {role} in snapshot"),
                source: x0x_dist_manifests::Error::MissingRole(role.to_owned()),
            })?;
        let local_path = self.dir.join(format!("{}.json", encode_role_name(role)));
        if let Some(local) = read_opt(&local_path)? {
            if self
                .trusted
                .update_delegated(&local, role, delegator)
                .is_ok()
            {
                let s = self.trusted.targets(role).cloned();
                if let Some(s) = s {
                    self.status(role, &s, false);
                }
                return Ok(());
            }
        }
        let name = self.trusted.metadata_file_name(pinned, role);
        let bytes = self
            .fetch_meta(&name, Targets::MAX_SIZE)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("metadata {name}"),
                location: self.fetcher.location().to_string(),
            })?;
        self.trusted
            .update_delegated(&bytes, role, delegator)
            .map_err(meta_err(format!("{name} from {}", self.fetcher.location())))?;
        write_atomic(&local_path, &bytes)?;
        let s = self.trusted.targets(role).cloned();
        if let Some(s) = s {
            self.status(role, &s, true);
        }
        Ok(())
    }
}

/// Client options.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Never touch the network: only persisted metadata is used (and must still be valid).
    pub offline: bool,
    /// Verification time (default: now).
    pub now: Option<OffsetDateTime>,
}

impl Repository {
    /// Runs the client workflow for `package` against `fetcher`, starting from `root_bytes`, persisting trusted
    /// metadata under `cache`.
    pub async fn refresh(
        fetcher: &Fetcher,
        cache: &Cache,
        root_bytes: &[u8],
        package: &str,
        options: &ClientOptions,
    ) -> Result<Self, Error> {
        let dir = cache.tuf_dir(&repo_id(root_bytes));
        std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        let lock_path = dir.join(".lock");
        let _guard = tokio::task::spawn_blocking(move || lock_file(&lock_path))
            .await
            .map_err(|e| Error::io("lock", "tuf")(std::io::Error::other(e)))??;
        let real_now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
        let (now, cutoff) = freshness_clock(real_now)?;

        // 1. The trusted root: the given one, then the rotations persisted earlier, each verified again.
        let mut trusted =
            TrustedSet::new(root_bytes, now).map_err(meta_err("the trusted root.json"))?;
        for _ in 0..MAX_ROOT_ROTATIONS {
            let name = format!("{}.root.json", trusted.root().signed().version + 1);
            let Some(b) = read_opt(&dir.join(&name))? else {
                break;
            };
            if let Err(e) = trusted.update_root(&b) {
                tracing::warn!(file = %dir.join(&name).display(), error = %e, "ignoring a persisted root that the trusted chain does not sign");
                break;
            }
        }
        if read_opt(&dir.join("root.json"))?.is_none() {
            write_atomic(&dir.join("root.json"), root_bytes)?;
        }
        let mut s = Session {
            fetcher,
            dir,
            trusted,
            statuses: Vec::new(),
            offline: options.offline,
            policy: cutoff.map(|c| (real_now, c)),
        };

        // 2. Root rotation.
        if !options.offline {
            s.rotate_root().await?;
        }
        let root = s.trusted.root().clone();
        let consistent = root.signed().consistent_snapshot;
        // The root's expiry is checked by update_timestamp; report it too.
        s.status(RoleType::Root.as_str(), &root, false);

        // 3. Persisted timestamp and snapshot, for rollback checks and reuse. An expired timestamp stays in
        //    the trusted set as the rollback reference (update_timestamp keeps it and reports it expired).
        let local_ts = read_opt(&s.dir.join("timestamp.json"))?;
        let mut local_ts_err = None;
        if let Some(b) = &local_ts {
            match s.trusted.update_timestamp(b) {
                Ok(()) => {
                    if let Some(snap) = read_opt(&s.dir.join("snapshot.json"))? {
                        let _ = s.trusted.update_snapshot(&snap);
                    }
                }
                Err(e) => local_ts_err = Some(e),
            }
        }

        // 4. timestamp → snapshot.
        let ts_downloaded = if options.offline {
            if s.trusted.timestamp().is_none() {
                return Err(Error::Offline {
                    what: "timestamp.json".into(),
                });
            }
            // Offline, the persisted timestamp is the final one: if it did not pass (expired), say why.
            if let Some(e) = local_ts_err {
                return Err(meta_err("the persisted timestamp.json")(e));
            }
            false
        } else {
            let bytes = s
                .fetch_meta("timestamp.json", Timestamp::MAX_SIZE)
                .await?
                .ok_or_else(|| Error::NotFound {
                    what: "metadata timestamp.json".into(),
                    location: fetcher.location().to_string(),
                })?;
            let context = format!("timestamp.json from {}", fetcher.location());
            let before = s.trusted.timestamp().map(|t| t.signed().version);
            s.trusted
                .update_timestamp(&bytes)
                .map_err(meta_err(context))?;
            let changed = before != s.trusted.timestamp().map(|t| t.signed().version);
            if changed {
                write_atomic(&s.dir.join("timestamp.json"), &bytes)?;
            }
            changed
        };
        let ts = s.trusted.timestamp().cloned().expect("timestamp loaded");
        s.status(RoleType::Timestamp.as_str(), &ts, ts_downloaded);

        let pinned = ts.signed().snapshot_meta().version;
        let have_snapshot = s.trusted.snapshot().map(|x| x.signed().version);
        if have_snapshot == Some(pinned) {
            let snap = s.trusted.snapshot().cloned().expect("snapshot loaded");
            s.status(RoleType::Snapshot.as_str(), &snap, false);
        } else {
            let name = s
                .trusted
                .metadata_file_name(pinned, RoleType::Snapshot.as_str());
            let bytes = s
                .fetch_meta(&name, Snapshot::MAX_SIZE)
                .await?
                .ok_or_else(|| Error::NotFound {
                    what: format!("metadata {name}"),
                    location: fetcher.location().to_string(),
                })?;
            s.trusted
                .update_snapshot(&bytes)
                .map_err(meta_err(format!("{name} from {}", fetcher.location())))?;
            write_atomic(&s.dir.join("snapshot.json"), &bytes)?;
            let snap = s.trusted.snapshot().cloned().expect("snapshot loaded");
            s.status(RoleType::Snapshot.as_str(), &snap, true);
        }

        // 5. targets → the package's delegated role.
        s.load_targets_role(RoleType::Targets.as_str(), RoleType::Root.as_str())
            .await?;
        let delegated = s
            .trusted
            .targets(RoleType::Targets.as_str())
            .and_then(|t| t.signed().delegations.as_ref())
            .is_some_and(|d| d.roles.iter().any(|r| r.name == package));
        if !delegated {
            return Err(Error::PackageNotFound {
                package: package.to_owned(),
            });
        }
        s.load_targets_role(package, RoleType::Targets.as_str())
            .await?;
        Ok(Self {
            trusted: s.trusted,
            package: package.to_owned(),
            consistent,
            statuses: s.statuses,
        })
    }

    /// The package this view was refreshed for.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// Freshness of every verified role, in workflow order.
    pub fn statuses(&self) -> &[RoleStatus] {
        &self.statuses
    }

    /// The verified trusted set.
    pub fn trusted(&self) -> &TrustedSet {
        &self.trusted
    }

    /// Every artifact the package's role lists: `(path, file)`. Each listed path must be a package artifact
    /// `<package>/<version>/<file>` ([`x0x_dist_manifests::TargetPath`]): a role listing any other path is
    /// refused here with `target.path_invalid` (TUF allows it, our repositories never write one); paths of
    /// another package are left out.
    pub fn package_targets(&self) -> Result<Vec<(TargetPath, TargetFile)>, Error> {
        let Some(t) = self.trusted.targets(&self.package) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, f) in &t.signed().targets {
            let path = name
                .package_target()
                .map_err(meta_err(format!("role {}", self.package)))?;
            if path.package().as_str() == self.package {
                out.push((path, f.clone()));
            }
        }
        Ok(out)
    }

    /// Resolves `path` by TUF's delegation search (which must land in an already loaded role) and returns its
    /// verified metadata.
    pub fn target(&self, path: &str) -> Result<TargetFile, Error> {
        match self
            .trusted
            .resolve_target(path)
            .map_err(meta_err(format!("target {path}")))?
        {
            Lookup::Found { target, .. } => Ok(target),
            Lookup::NeedRole { role, .. } => Err(Error::Metadata {
                context: format!("target {path}"),
                source: x0x_dist_manifests::Error::MissingRole(role),
            }),
        }
    }

    /// The repository-relative stored path of a target: `<dir>/<sha256>.<file>` with consistent snapshots.
    pub fn stored_path(&self, path: &str, sha256: &str) -> String {
        if !self.consistent {
            return path.to_owned();
        }
        match path.rsplit_once('/') {
            Some((dir, file)) => format!("{dir}/{sha256}.{file}"),
            None => format!("{sha256}.{path}"),
        }
    }
}
