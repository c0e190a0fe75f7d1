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
//!
//! The walk itself is [`walk::refresh`], the one walk of the chain in the workspace, over a
//! [`source::MetadataSource`] with a [`persist::Persistence`] policy; this module is the loader's use of it
//! (its cache directory as the policy, one package's role as the scope).
use time::OffsetDateTime;
use x0x_dist_manifests::verify::{Lookup, TrustedSet};
use x0x_dist_manifests::{TargetFile, TargetPath};

use crate::cache::Cache;
use crate::error::Error;
use crate::fetch::Fetcher;

pub mod persist;
pub mod source;
pub mod walk;

pub use persist::{Accepted, CacheDir, NoPersistence, Persistence, RootFiles};
pub use source::MetadataSource;
pub use walk::{
    refresh, refresh_blocking, RoleStatus, Scope, Walk, WalkOptions, MAX_ROOT_ROTATIONS,
};

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

/// Client options.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Never touch the network: only persisted metadata is used (and must still be valid).
    pub offline: bool,
    /// Verification time (default: now).
    pub now: Option<OffsetDateTime>,
    /// The minimum release age (`X0X_DIST_MIN_RELEASE_AGE`) resolution applies.
    pub min_release_age: Option<crate::resolve::MinReleaseAge>,
    /// The provenance every target of a release must carry (`X0X_DIST_REQUIRE_PROVENANCE`).
    pub require_provenance: Option<crate::provenance::RequireProvenance>,
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
        let mut kept =
            CacheDir::open(&cache.tuf_dir(&repo_id(root_bytes)), RootFiles::Chain).await?;
        let real_now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
        let (now, cutoff) = freshness_clock(real_now)?;
        let walk_options = WalkOptions {
            now,
            offline: options.offline,
            policy: cutoff.map(|c| (real_now, c)),
        };
        // Checked before anything is written: a root that does not verify leaves no trace.
        TrustedSet::new(root_bytes, now).map_err(meta_err("the trusted root.json"))?;
        kept.keep_root_copy(root_bytes)?;
        let walk = refresh(
            fetcher,
            &mut kept,
            root_bytes,
            Scope::Package(package),
            walk_options,
        )
        .await?;
        let (trusted, statuses) = walk.finish();
        Ok(Self {
            consistent: trusted.root().signed().consistent_snapshot,
            trusted,
            package: package.to_owned(),
            statuses,
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
