//! The one walk of the TUF chain (spec §5.3–5.6) in this workspace: [`refresh`] over a [`MetadataSource`]
//! with a [`Persistence`] policy, then [`Walk::load_role`] / [`Walk::resolve`] for roles loaded on demand.
//! The loader, the conformance client, repository load and verify, the mirror's pull, bundle export and
//! import and the publishing client all call it; none walks the chain itself. Every trust decision is
//! [`TrustedSet`]'s; this module only decides what to read, in which order, and what to keep.
//!
//! Order:
//! 1. The given root; then the rotations the policy kept (each verified again from it; one that does not
//!    verify is ignored with a warning and the rest of the kept chain with it).
//! 2. Root rotation from the source: `N+1.root.json` until the source has none (at most
//!    [`MAX_ROOT_ROTATIONS`]); each accepted root is handed to the policy at once.
//! 3. The kept timestamp and snapshot, loaded as rollback references: a lower timestamp version, a lower
//!    snapshot version or a role version going down is `metadata.rollback`. A kept timestamp that expired
//!    since still is the reference (`TrustedSet::update_timestamp` keeps it); one that no longer verifies
//!    under the (rotated) root is dropped (§5.3.11).
//! 4. `timestamp.json` → the snapshot it pins (hash and length when pinned) → `targets` → per [`Scope`]:
//!    nothing more, one package's delegated role (`package.not_found` when `targets` does not delegate it), or
//!    every delegated role the snapshot lists, in TUF's pre-order depth-first order. A role the policy kept is
//!    reused when it verifies at the pinned version. Each read is limited to the role's `MAX_SIZE`
//!    (`metadata.too_large`).
//! 5. The `revocations` role (yanks and revocations, signed by root's `snapshot` keys) at the version the
//!    snapshot pins, in every scope, when the snapshot lists it: a kept copy is reused when it verifies,
//!    else it is read and verified like a targets role and handed to the policy as [`Accepted::Role`].
//! 6. Every role must be unexpired at the verification clock; with the operator's expiry cutoff
//!    ([`WalkOptions::policy`]) every role accepted although expired is named in a warning.
//!
//! Failures carry the verification error's stable code (`x0x_dist_manifests::Error` inside
//! [`Error::Metadata`]); a file the chain needs and the source does not have is [`MetadataSource::missing`].
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use time::OffsetDateTime;
use x0x_dist_manifests::metadata::{Root, Signed, Snapshot, Targets, Timestamp};
use x0x_dist_manifests::verify::{Lookup, TrustedSet};
use x0x_dist_manifests::{Role, RoleType, TargetFile};

use super::persist::{Accepted, Persistence};
use super::source::MetadataSource;
use crate::error::Error;

/// How many root rotations one refresh follows at most (python-tuf's default).
pub const MAX_ROOT_ROTATIONS: u64 = 256;

/// Which targets roles [`refresh`] loads after `targets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Only `targets`; delegated roles are loaded on demand ([`Walk::resolve`], [`Walk::load_role`]).
    TopLevel,
    /// `targets` and the delegated role of this package (which `targets` must delegate).
    Package(&'a str),
    /// Every delegated role the snapshot lists that the delegation graph reaches from `targets`.
    All,
}

/// Options of one walk.
#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    /// The verification clock.
    pub now: OffsetDateTime,
    /// Never read the source: only the policy's files are used (and the kept timestamp must be valid).
    pub offline: bool,
    /// `(real now, cutoff)` when the operator's expiry cutoff moved the clock back: each role accepted
    /// although expired at the real time is named in a warning.
    pub policy: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl WalkOptions {
    /// Online, verified at `now`, no expiry cutoff.
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            now,
            offline: false,
            policy: None,
        }
    }
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
    /// Whether it came from the source in this refresh (else from the persisted copy).
    pub downloaded: bool,
}

/// A verified chain and the means to load more of it.
pub struct Walk<'a> {
    source: &'a dyn MetadataSource,
    persist: &'a mut dyn Persistence,
    trusted: TrustedSet,
    options: WalkOptions,
    statuses: Vec<RoleStatus>,
}

impl std::fmt::Debug for Walk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("source", &self.source.describe())
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

fn meta_err(context: impl Into<String>) -> impl FnOnce(x0x_dist_manifests::Error) -> Error {
    let context = context.into();
    move |source| Error::Metadata { context, source }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Walks the chain from `root` (a trusted `root.json`) over `source`, keeping what `persist` keeps, and loads
/// the targets roles `scope` names.
pub async fn refresh<'a>(
    source: &'a dyn MetadataSource,
    persist: &'a mut dyn Persistence,
    root: &[u8],
    scope: Scope<'_>,
    options: WalkOptions,
) -> Result<Walk<'a>, Error> {
    // 1. The given root, then the rotations kept earlier, each verified again.
    let mut trusted =
        TrustedSet::new(root, options.now).map_err(meta_err("the trusted root.json"))?;
    for _ in 0..MAX_ROOT_ROTATIONS {
        let next = trusted.root().signed().version + 1;
        let Some(b) = persist.root(next)? else {
            break;
        };
        if let Err(e) = trusted.update_root(&b) {
            tracing::warn!(version = next, error = %e, "ignoring a persisted root that the trusted chain does not sign");
            break;
        }
    }
    let mut w = Walk {
        source,
        persist,
        trusted,
        options,
        statuses: Vec::new(),
    };
    // 2. Root rotation.
    if !options.offline {
        w.rotate_root().await?;
    }
    let root = w.trusted.root().clone();
    // The root's expiry is checked by update_timestamp; report it too.
    w.status(RoleType::Root.as_str(), &root, false);
    // 3. + 4.
    w.timestamp_and_snapshot().await?;
    w.load_role(RoleType::Targets.as_str(), RoleType::Root.as_str())
        .await?;
    match scope {
        Scope::TopLevel => {}
        Scope::Package(package) => {
            let delegated = w
                .trusted
                .targets(RoleType::Targets.as_str())
                .and_then(|t| t.signed().delegations.as_ref())
                .is_some_and(|d| d.roles.iter().any(|r| r.name == package));
            if !delegated {
                return Err(Error::PackageNotFound {
                    package: package.to_owned(),
                });
            }
            w.load_role(package, RoleType::Targets.as_str()).await?;
        }
        Scope::All => w.load_all().await?,
    }
    // 5. The revocations role, when the snapshot lists it (every scope: loaders, mirrors, bundles).
    w.load_revocations().await?;
    Ok(w)
}

/// [`refresh`] for a source and a policy that never wait (a directory, a bundle being imported, the
/// server's store read on a blocking thread), from synchronous code.
pub fn refresh_blocking(
    source: &dyn MetadataSource,
    persist: &mut dyn Persistence,
    root: &[u8],
    scope: Scope<'_>,
    options: WalkOptions,
) -> Result<TrustedSet, Error> {
    block_on(async {
        refresh(source, persist, root, scope, options)
            .await
            .map(Walk::into_trusted)
    })
}

/// Runs a future to completion on this thread (parking it while the future waits). For futures that need
/// no runtime of their own: the walk over a synchronous source.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

impl Walk<'_> {
    /// The verified set.
    pub fn trusted(&self) -> &TrustedSet {
        &self.trusted
    }

    /// The verified set, ending the walk.
    pub fn into_trusted(self) -> TrustedSet {
        self.trusted
    }

    /// Freshness of every verified role, in workflow order.
    pub fn statuses(&self) -> &[RoleStatus] {
        &self.statuses
    }

    /// The verified set and the statuses, ending the walk.
    pub fn finish(self) -> (TrustedSet, Vec<RoleStatus>) {
        (self.trusted, self.statuses)
    }

    async fn read(&self, name: &str, limit: usize) -> Result<Option<Vec<u8>>, Error> {
        if self.options.offline {
            return Err(Error::Offline {
                what: format!("metadata {name}"),
            });
        }
        self.source.read(name, limit as u64).await
    }

    async fn need(&self, name: &str, limit: usize) -> Result<Vec<u8>, Error> {
        self.read(name, limit)
            .await?
            .ok_or_else(|| self.source.missing(name))
    }

    fn refused(&self, name: &str) -> impl FnOnce(x0x_dist_manifests::Error) -> Error {
        meta_err(format!("{name} from {}", self.source.describe()))
    }

    fn status<T: Role>(&mut self, role: &str, signed: &Signed<T>, downloaded: bool) {
        let expires = signed.signed().expires();
        if let Some((real_now, cutoff)) = self.options.policy {
            if expires <= real_now {
                // Never silent: the operator chose this, and every use says so (the CLI shows warnings on
                // stderr as `warning[metadata.expired]: ...`, the server logs them).
                tracing::warn!(
                    code = "metadata.expired",
                    "accepting {role} metadata that expired at {} because {}={}",
                    rfc3339(expires),
                    crate::env::ALLOW_EXPIRED_AFTER,
                    rfc3339(cutoff)
                );
            }
        }
        self.statuses.push(RoleStatus {
            role: role.to_owned(),
            version: signed.signed().version(),
            expires: rfc3339(expires),
            expires_in_secs: (expires - self.trusted.now()).whole_seconds(),
            signatures: signed.signatures().len(),
            downloaded,
        });
    }

    async fn rotate_root(&mut self) -> Result<(), Error> {
        for _ in 0..MAX_ROOT_ROTATIONS {
            let version = self.trusted.root().signed().version + 1;
            let name = format!("{version}.root.json");
            let Some(bytes) = self.read(&name, Root::MAX_SIZE).await? else {
                break;
            };
            self.trusted
                .update_root(&bytes)
                .map_err(self.refused(&name))?;
            self.persist.accept(Accepted::Root {
                version,
                bytes: &bytes,
            })?;
            tracing::debug!(version, "rotated to a new trusted root");
        }
        Ok(())
    }

    async fn timestamp_and_snapshot(&mut self) -> Result<(), Error> {
        // The kept timestamp and snapshot: rollback references, and reused when still current.
        let mut kept_err = None;
        if let Some(b) = self.persist.timestamp()? {
            match self.trusted.update_timestamp(&b) {
                Ok(()) => {
                    let pinned = self
                        .trusted
                        .timestamp()
                        .map_or(0, |t| t.signed().snapshot_meta().version);
                    if let Some(snap) = self.persist.snapshot(pinned)? {
                        let _ = self.trusted.update_snapshot(&snap);
                    }
                }
                Err(e) => kept_err = Some(e),
            }
        }
        let downloaded = if self.options.offline {
            if self.trusted.timestamp().is_none() {
                return Err(Error::Offline {
                    what: "timestamp.json".into(),
                });
            }
            // Offline, the kept timestamp is the final one: if it did not pass (expired), say why.
            if let Some(e) = kept_err {
                return Err(meta_err("the persisted timestamp.json")(e));
            }
            false
        } else {
            let name = "timestamp.json";
            let bytes = self.need(name, Timestamp::MAX_SIZE).await?;
            let before = self.trusted.timestamp().map(|t| t.signed().version);
            self.trusted
                .update_timestamp(&bytes)
                .map_err(self.refused(name))?;
            let changed = before != self.trusted.timestamp().map(|t| t.signed().version);
            if changed {
                self.persist.accept(Accepted::Timestamp(&bytes))?;
            }
            changed
        };
        let ts = self.trusted.timestamp().cloned().expect("timestamp loaded");
        self.status(RoleType::Timestamp.as_str(), &ts, downloaded);

        let pinned = ts.signed().snapshot_meta().version;
        if self.trusted.snapshot().map(|s| s.signed().version) == Some(pinned) {
            let snap = self.trusted.snapshot().cloned().expect("snapshot loaded");
            self.status(RoleType::Snapshot.as_str(), &snap, false);
            return Ok(());
        }
        let name = self
            .trusted
            .metadata_file_name(pinned, RoleType::Snapshot.as_str());
        let bytes = self.need(&name, Snapshot::MAX_SIZE).await?;
        self.trusted
            .update_snapshot(&bytes)
            .map_err(self.refused(&name))?;
        self.persist.accept(Accepted::Snapshot {
            version: pinned,
            name: &name,
            bytes: &bytes,
        })?;
        let snap = self.trusted.snapshot().cloned().expect("snapshot loaded");
        self.status(RoleType::Snapshot.as_str(), &snap, true);
        Ok(())
    }

    /// Loads targets role `role` as delegated by `delegator` (`root` for `targets`) at the version the
    /// snapshot pins, reusing the kept copy when it verifies.
    pub async fn load_role(&mut self, role: &str, delegator: &str) -> Result<(), Error> {
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
        let name = self.trusted.metadata_file_name(pinned, role);
        if let Some(kept) = self.persist.role(role, &name)? {
            if self
                .trusted
                .update_delegated(&kept, role, delegator)
                .is_ok()
            {
                let s = self.trusted.targets(role).cloned().expect("just loaded");
                self.status(role, &s, false);
                return Ok(());
            }
        }
        let bytes = self.need(&name, Targets::MAX_SIZE).await?;
        self.trusted
            .update_delegated(&bytes, role, delegator)
            .map_err(self.refused(&name))?;
        self.persist.accept(Accepted::Role {
            role,
            version: pinned,
            name: &name,
            bytes: &bytes,
        })?;
        let s = self.trusted.targets(role).cloned().expect("just loaded");
        self.status(role, &s, true);
        Ok(())
    }

    /// The `revocations` role at the version the snapshot pins, when it lists one (reusing the kept copy when
    /// it verifies; persisted as [`Accepted::Role`] named `revocations`).
    async fn load_revocations(&mut self) -> Result<(), Error> {
        use x0x_dist_manifests::metadata::{Revocations, REVOCATIONS_ROLE};
        let Some(pinned) = self.trusted.revocations_pinned() else {
            return Ok(());
        };
        let name = self.trusted.metadata_file_name(pinned, REVOCATIONS_ROLE);
        if let Some(kept) = self.persist.role(REVOCATIONS_ROLE, &name)? {
            if self.trusted.update_revocations(&kept).is_ok() {
                let r = self.trusted.revocations().cloned().expect("just loaded");
                self.status(REVOCATIONS_ROLE, &r, false);
                return Ok(());
            }
        }
        let bytes = self.need(&name, Revocations::MAX_SIZE).await?;
        self.trusted
            .update_revocations(&bytes)
            .map_err(self.refused(&name))?;
        self.persist.accept(Accepted::Role {
            role: REVOCATIONS_ROLE,
            version: pinned,
            name: &name,
            bytes: &bytes,
        })?;
        let r = self.trusted.revocations().cloned().expect("just loaded");
        self.status(REVOCATIONS_ROLE, &r, true);
        Ok(())
    }

    /// Every delegated role the snapshot lists, in pre-order depth-first order from `targets` (a role reached
    /// again through another delegator is not read twice: `TrustedSet::resolve_target` verifies it against
    /// each delegator it is reached through).
    async fn load_all(&mut self) -> Result<(), Error> {
        let mut stack = self.children(RoleType::Targets.as_str());
        while let Some((role, delegator)) = stack.pop() {
            if self.trusted.targets(&role).is_some() {
                continue;
            }
            let listed = self
                .trusted
                .snapshot()
                .is_some_and(|s| s.signed().meta.contains_key(&format!("{role}.json")));
            if !listed {
                // Delegated but never published.
                continue;
            }
            self.load_role(&role, &delegator).await?;
            stack.extend(self.children(&role));
        }
        Ok(())
    }

    /// The roles `delegator` delegates to, reversed (so a stack pops them in order), each with `delegator`.
    fn children(&self, delegator: &str) -> Vec<(String, String)> {
        let Some(d) = self
            .trusted
            .targets(delegator)
            .and_then(|t| t.signed().delegations.as_ref())
        else {
            return Vec::new();
        };
        d.roles
            .iter()
            .rev()
            .map(|r| (r.name.clone(), delegator.to_owned()))
            .collect()
    }

    /// TUF's target search (`TrustedSet::resolve_target`), loading each delegated role it asks for.
    pub async fn resolve(&mut self, path: &str) -> Result<TargetFile, Error> {
        loop {
            match self
                .trusted
                .resolve_target(path)
                .map_err(meta_err(format!("target {path}")))?
            {
                Lookup::Found { target, .. } => return Ok(target),
                Lookup::NeedRole { role, delegator } => self.load_role(&role, &delegator).await?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers run the walk inside spawned tasks and axum handlers: its future must be `Send`.
    #[test]
    fn the_walk_is_send() {
        fn is_send<T: Send>(_: &T) {}
        let src = crate::fetch::Fetcher::new(
            crate::fetch::Location::Dir(std::env::temp_dir()),
            crate::fetch::FetchOptions::default(),
        )
        .unwrap();
        let mut keep = super::super::NoPersistence;
        let fut = refresh(
            &src,
            &mut keep,
            b"",
            Scope::All,
            WalkOptions::at(OffsetDateTime::now_utc()),
        );
        is_send(&fut);
    }
}
