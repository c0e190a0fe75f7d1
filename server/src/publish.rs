//! Server-side repository writes (the published state is read by [`crate::published`]): checking a package's
//! submitted role, and writing the next snapshot and timestamp with the online keys; re-signing the timestamp before it expires.
//!
//! A submission of package `P` (its delegated targets role, signed by the publisher) is accepted only if:
//! 1. it parses as strict TUF targets metadata within the size limit and has no further delegations;
//! 2. it is signed by a threshold of distinct keys of `P`'s delegation in the top-level `targets` role;
//! 3. it is not expired, and its version is exactly the current version + 1 (`metadata.rollback` for a replay
//!    or a lost race, `metadata.version_mismatch` for a skip);
//! 4. every earlier target is present and byte-for-byte unchanged (`target.changed`), and a version that already
//!    had targets gets no new ones (`version.exists`);
//! 5. every new target's path is `P/<version>/<napi file name>` matched by the delegation, its `custom` fields
//!    agree with the path and the platform table, it carries exactly a `sha256` hash, and the uploaded blob of
//!    that hash exists with exactly that length;
//! 6. every new target's bytes are a build for the platform its file name claims
//!    ([`x0x_dist_loader::artifact::check`]: ELF class, machine, OS ABI and libc; Mach-O CPU; PE machine; WASM
//!    imports), else `target.platform_mismatch` (the client checks too; this refuses one that does not).
//!
//! Then, under the repository lock (in-process; plus the cross-process writer lock [`x0x_dist_repository::lock`] when the
//! store is a local directory, against offline `x0x-dist package` commands): new targets are linked into
//! `targets/` (hash-prefixed names), the role is written as `N.P.json`, then `S+1.snapshot.json`, then
//! `timestamp.json`. Every object is read and written through the [`Store`] only ([`Store::put_object`]: atomic
//! and durable; local: temporary file, fsync, rename, fsync of the directory), in that order, each write
//! finished before the next starts; writing the timestamp is the commit point. A crash before it leaves only
//! unreferenced new objects (overwritten by the next publish); the repository as clients see it is always the
//! previous or the next complete state. The online keys are read from the keys directory, never from the store.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::{
    PackageName, Platform, Root, Signed, SigningKey, Snapshot, Targets, Timestamp,
};

use crate::config::TimestampConfig;
use crate::coordinator::{Audit, Commit, Coordinator, Head, Outcome};
use crate::error::ApiError;
pub use crate::published::{blocking, fmt_time, timestamp_expiry, Published, RoleWithBytes};
use crate::state::AppState;
use crate::storage::{Digest, ObjectKey, ObjectPath, Store};
use crate::wire::PublishReport;

/// How far before the server's clock a publisher-signed `custom.published` may be (a long upload).
const PUBLISHED_PAST: time::Duration = time::Duration::hours(1);
/// How far after it (clock skew).
const PUBLISHED_FUTURE: time::Duration = time::Duration::minutes(5);

/// Path of an online key in the keys directory (`[storage] keys`, default `DIR/online`): `<keys>/<role>.key`.
pub fn online_key_path(keys_dir: &Path, role: &str) -> PathBuf {
    keys_dir.join(format!("{role}.key"))
}

/// The snapshot and timestamp keys the server holds.
#[derive(Debug)]
pub struct OnlineKeys {
    /// Signs `N.snapshot.json`.
    pub snapshot: SigningKey,
    /// Signs `timestamp.json`.
    pub timestamp: SigningKey,
}

impl OnlineKeys {
    /// Loads `{snapshot,timestamp}.key` from the keys directory (`[storage] keys`, default `DIR/online`) and
    /// checks root authorizes them.
    pub fn load(keys_dir: &Path, root: &Root) -> Result<Self, ApiError> {
        let load = |role: &str| -> Result<SigningKey, ApiError> {
            let p = online_key_path(keys_dir, role);
            let bytes = std::fs::read(&p).map_err(|e| {
                ApiError::io(
                    format!(
                        "reading online key {} (the keys directory is `[storage] keys` / `--keys`, default REPO/online)",
                        p.display()
                    ),
                    e,
                )
            })?;
            let key = SigningKey::from_secret_file(&bytes)?;
            let authorized = root
                .roles
                .get(role)
                .is_some_and(|r| r.keyids.contains(key.key_id()));
            if !authorized {
                return Err(ApiError::Internal(format!(
                    "online {role} key {} is not authorized by root",
                    key.key_id()
                )));
            }
            Ok(key)
        };
        Ok(Self {
            snapshot: load("snapshot")?,
            timestamp: load("timestamp")?,
        })
    }
}

/// Writes `metadata/<name>` through the store: atomically and durably ([`Store::put_object`]).
async fn write_meta(store: &dyn Store, name: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
    store
        .put_object(&ObjectKey::metadata(name)?, bytes.into())
        .await?;
    Ok(())
}

/// Writes the next snapshot (with `changes` applied to its meta, or unchanged), then the next timestamp (the
/// commit point). Returns (snapshot version, timestamp version).
pub async fn commit(
    store: &dyn Store,
    cur: &Published,
    changes: &[(String, u64)],
    keys: &OnlineKeys,
    cfg: &TimestampConfig,
    now: OffsetDateTime,
) -> Result<(u64, u64), ApiError> {
    let sv = cur.snapshot.signed().version + 1;
    let mut snap = Snapshot::empty(
        sv,
        now + time::Duration::seconds(secs(cfg.snapshot_expiry_secs)),
    );
    snap.meta = cur.snapshot.signed().meta.clone();
    let changes: Vec<(&str, u64)> = changes.iter().map(|(r, v)| (r.as_str(), *v)).collect();
    let c = x0x_dist_manifests::metadata::sign_snapshot_and_timestamp(
        snap,
        &changes,
        cur.timestamp.signed().version + 1,
        now + time::Duration::seconds(secs(cfg.expiry_secs)),
        &keys.snapshot,
        &keys.timestamp,
    )?;
    write_meta(store, &format!("{sv}.snapshot.json"), c.snapshot).await?;
    write_meta(store, "timestamp.json", c.timestamp).await?;
    let tv = c.timestamp_version;
    Ok((sv, tv))
}

fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX / 4)
}

pub use crate::coordinator::single::writer_lock;

/// Loads the online keys off the async workers (see [`OnlineKeys::load`]).
pub async fn load_online_keys(keys_dir: &Path, root: &Root) -> Result<OnlineKeys, ApiError> {
    let (dir, root) = (keys_dir.to_path_buf(), root.clone());
    blocking(move || OnlineKeys::load(&dir, &root)).await
}

/// Re-signs the timestamp (and the snapshot, if it would expire first) when less than `refresh_before` remains,
/// through the coordinator's commit protocol ([`commit_changes`]): any replica may do it; when several do at once
/// one wins and the others find it no longer due. The caller holds the in-process repository lock. Returns the
/// new timestamp expiry if it re-signed.
pub async fn refresh_if_due(
    store: &dyn Store,
    coord: &dyn Coordinator,
    keys_dir: &Path,
    cfg: &TimestampConfig,
    now: OffsetDateTime,
    metrics: &crate::metrics::Metrics,
) -> Result<Option<OffsetDateTime>, ApiError> {
    let _writer = coord.lock().await?;
    let head = coord.head(store).await?;
    let cur = Published::load_at(store, &head.bytes).await?;
    let refresh_before = time::Duration::seconds(secs(cfg.refresh_before_secs));
    let ts_due = cur.timestamp.signed().expires - now < refresh_before;
    let snap_due = cur.snapshot.signed().expires - now
        < refresh_before + time::Duration::seconds(secs(cfg.expiry_secs));
    if !ts_due && !snap_due {
        return Ok(None);
    }
    let keys = load_online_keys(keys_dir, cur.root.signed()).await?;
    let audit = Audit {
        actor: "replica".into(),
        action: "resign".into(),
        detail: serde_json::json!({}),
    };
    let done = commit_changes(
        store,
        coord,
        Committing {
            cur,
            head,
            changes: Vec::new(),
            resign_only: !snap_due,
            above: 0,
            first_snapshot: None,
        },
        &keys,
        cfg,
        now,
        &audit,
        8,
        metrics,
    )
    .await?;
    Ok(done.map(|_| now + time::Duration::seconds(secs(cfg.expiry_secs))))
}

/// What [`commit_changes`] builds on.
#[derive(Debug)]
pub struct Committing {
    /// The state the changes were checked against.
    pub cur: Published,
    /// Its timestamp as the coordinator has it.
    pub head: Head,
    /// Role versions to list in the new snapshot (their `N.role.json` written already).
    pub changes: Vec<(String, u64)>,
    /// A re-sign of the timestamp alone (same snapshot): gives up, `Ok(None)`, once another commit came first
    /// (that one is a fresher timestamp).
    pub resign_only: bool,
    /// The new snapshot and timestamp versions are above this (`package resign --past`: above every version
    /// clients may already trust); 0: simply the next ones.
    pub above: u64,
    /// A snapshot number already reserved for the first attempt (reserved alongside other work), if any.
    pub first_snapshot: Option<u64>,
}

/// What a won commit made current.
#[derive(Debug)]
pub struct Committed {
    /// The snapshot version.
    pub snapshot_version: u64,
    /// The new timestamp.
    pub head: Head,
}

/// The commit protocol (see [`crate::coordinator`]): reserve the next snapshot number, write `S.snapshot.json`
/// (the current meta with `changes`), sign timestamp T+1 and compare-and-swap it against the timestamp the
/// state was read at. A loser re-reads the winner's state, checks its changes still apply (its role's version is
/// still the next one: else `metadata.rollback`) and retries on top of it, at most `max_retries` times
/// (`publish.conflict` after that). `Ok(None)`: a re-sign another commit made unnecessary.
#[allow(clippy::too_many_arguments)]
pub async fn commit_changes(
    store: &dyn Store,
    coord: &dyn Coordinator,
    start: Committing,
    keys: &OnlineKeys,
    cfg: &TimestampConfig,
    now: OffsetDateTime,
    audit: &Audit,
    max_retries: u32,
    metrics: &crate::metrics::Metrics,
) -> Result<Option<Committed>, ApiError> {
    let Committing {
        mut cur,
        mut head,
        changes,
        resign_only,
        above,
        mut first_snapshot,
    } = start;
    let changes_ref: Vec<(&str, u64)> = changes.iter().map(|(r, v)| (r.as_str(), *v)).collect();
    let ts_expires = now + time::Duration::seconds(secs(cfg.expiry_secs));
    let mut attempt = 0u32;
    loop {
        let (new_ts, sv) = if resign_only {
            let mut ts = Timestamp::empty(head.version.max(above) + 1, ts_expires);
            ts.meta = cur.timestamp.signed().meta.clone();
            let ts = Signed::new(ts, &[&keys.timestamp])?;
            (ts.to_bytes(), head.snapshot_version)
        } else {
            let sv = match first_snapshot.take() {
                Some(sv) => sv,
                None => {
                    coord
                        .reserve_snapshot(head.snapshot_version.max(above))
                        .await?
                }
            };
            let mut snap = Snapshot::empty(
                sv,
                now + time::Duration::seconds(secs(cfg.snapshot_expiry_secs)),
            );
            snap.meta = cur.snapshot.signed().meta.clone();
            let c = x0x_dist_manifests::metadata::sign_snapshot_and_timestamp(
                snap,
                &changes_ref,
                head.version.max(above) + 1,
                ts_expires,
                &keys.snapshot,
                &keys.timestamp,
            )?;
            write_meta(store, &format!("{sv}.snapshot.json"), c.snapshot).await?;
            crate::crash_point::here("snapshot_written");
            (c.timestamp, sv)
        };
        let new = Head::parse(new_ts.into())?;
        debug_assert_eq!(new.snapshot_version, sv);
        let outcome = coord
            .commit(
                store,
                Commit {
                    expected: &head,
                    new: &new,
                    roles: &changes,
                    audit,
                },
            )
            .await?;
        if outcome == Outcome::Won {
            if !resign_only {
                crate::crash_point::here("committed");
            }
            return Ok(Some(Committed {
                snapshot_version: sv,
                head: new,
            }));
        }
        metrics.commit_conflict();
        if resign_only {
            return Ok(None);
        }
        attempt += 1;
        if attempt > max_retries {
            return Err(ApiError::Conflict(format!(
                "{} (lost the commit race {attempt} times; retry)",
                changes
                    .first()
                    .map_or("the repository", |(r, _)| r.as_str())
            )));
        }
        metrics.commit_retry();
        head = coord.head(store).await?;
        cur = Published::load_at(store, &head.bytes).await?;
        for (role, v) in &changes {
            let now_at = cur.role_version(role);
            if now_at + 1 != *v {
                return Err(ApiError::VersionReplay {
                    current: now_at,
                    got: *v,
                });
            }
        }
    }
}

/// A new target to link.
pub(crate) struct NewTarget {
    path: String,
    platform: Platform,
    object: ObjectPath,
    digest: Digest,
    length: u64,
}

/// Checks the submission against the current state (steps 1-5 of the module docs, blobs excepted).
/// `online`: the server built and signed the role itself, so its new targets may carry the `provenance` it wrote
/// (a role a client signed may not: provenance in this repository is always the server's).
fn check_submission(
    cur: &Published,
    old_role: Option<&[u8]>,
    pkg: &PackageName,
    bytes: &[u8],
    now: OffsetDateTime,
    online: bool,
) -> Result<(Signed<Targets>, Vec<NewTarget>), ApiError> {
    let package = pkg.as_str();
    let (delegation, keys) = cur.delegation(package)?;
    let new = Signed::<Targets>::from_slice(bytes)?;
    new.verify(package, keys, &delegation.keys)?;
    new.check_not_expired(package, now)?;
    let current = cur.role_version(package);
    let got = new.signed().version;
    if got <= current {
        return Err(ApiError::VersionReplay { current, got });
    }
    if got != current + 1 {
        return Err(ApiError::VersionSkip {
            expected: current + 1,
            got,
        });
    }
    if new.signed().delegations.is_some() {
        return Err(x0x_dist_manifests::Error::DelegationInvalid(format!(
            "package role {package} must not delegate"
        ))
        .into());
    }
    let old_targets = match old_role {
        Some(b) => Signed::<Targets>::from_slice(b)?.signed().targets.clone(),
        None => BTreeMap::new(),
    };
    let added = check_new_targets(
        delegation,
        &old_targets,
        &new.signed().targets,
        pkg,
        online,
        now,
    )?;
    Ok((new, added))
}

/// Step 4 and 5 of the module docs over the targets of a role (`new`) and those of the current one (`old`);
/// returns the targets to add. Also what a staged release is checked with ([`crate::staging`]).
pub(crate) fn check_new_targets(
    delegation: &x0x_dist_manifests::metadata::DelegatedRole,
    old_targets: &BTreeMap<x0x_dist_manifests::TargetName, x0x_dist_manifests::TargetFile>,
    new_targets: &BTreeMap<x0x_dist_manifests::TargetName, x0x_dist_manifests::TargetFile>,
    pkg: &PackageName,
    online: bool,
    now: OffsetDateTime,
) -> Result<Vec<NewTarget>, ApiError> {
    for (path, t) in old_targets {
        match new_targets.get(path) {
            Some(n) if n == t => {}
            _ => return Err(ApiError::TargetChanged(path.to_string())),
        }
    }
    // Our repositories list package artifacts only (a path of another shape is refused below before it is
    // published): a stored role listing one is refused too.
    let old_versions: std::collections::BTreeSet<String> = old_targets
        .keys()
        .map(|p| p.package_target().map(|p| p.version().to_string()))
        .collect::<Result<_, _>>()?;
    let mut added = Vec::new();
    for (path, t) in new_targets {
        if old_targets.contains_key(path) {
            continue;
        }
        let p = path.as_str();
        // Any safe path is valid TUF (the role parsed); a published target must be a package artifact
        // `<package>/<version>/<file>` (`target.path_invalid`).
        let path = path.package_target()?;
        let invalid = |reason: String| ApiError::TargetInvalid {
            path: p.to_owned(),
            reason,
        };
        if path.package() != pkg || !delegation.matches(p) {
            return Err(x0x_dist_manifests::Error::TargetPathInvalid {
                path: p.to_owned(),
                reason: "not covered by the package's delegation",
            }
            .into());
        }
        if old_versions.contains(&path.version().to_string()) {
            return Err(ApiError::VersionExists(path.version().to_string()));
        }
        if t.hashes.len() != 1 {
            return Err(invalid("exactly one hash (sha256) is accepted".into()));
        }
        let digest = t.sha256()?;
        let (file_pkg, platform) = Platform::parse_file_name(path.file_name())?;
        if file_pkg != *pkg {
            return Err(invalid(format!("file name is for package {file_pkg}")));
        }
        let custom = t
            .x0x_custom()
            .ok_or_else(|| invalid("missing or malformed custom fields".into()))?;
        let expected = x0x_dist_manifests::TargetCustom::new(
            pkg,
            path.version(),
            platform,
            custom.glibc_floor.clone(),
        );
        let same = custom.package == expected.package
            && custom.version == expected.version
            && custom.target == expected.target
            && custom.platform == expected.platform
            && custom.os == expected.os
            && custom.arch == expected.arch
            && custom.libc == expected.libc
            && custom.kind == expected.kind
            && custom.glibc_floor == expected.glibc_floor;
        if !same {
            return Err(invalid(format!(
                "custom fields disagree with the path and the platform table (expected {})",
                serde_json::to_string(&expected).unwrap_or_default()
            )));
        }
        if let Some(floor) = &custom.glibc_floor {
            let ok = floor.split('.').count() >= 2
                && floor
                    .split('.')
                    .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(invalid(format!(
                    "glibc_floor {floor:?} is not a version like 2.17"
                )));
            }
        }
        let object = ObjectPath::parse(&format!(
            "{}/{}/{digest}.{}",
            path.package(),
            path.version(),
            path.file_name()
        ))?;
        if let Some(p) = custom.extra.get(x0x_dist_manifests::PUBLISHED) {
            // The publisher's clock, signed by the publisher: bounded by the server's, so a release cannot
            // be backdated past a loader's minimum release age (nor dated in the future).
            let at = t
                .published()
                .filter(|_| p.is_string())
                .ok_or_else(|| invalid("custom.published is not an RFC 3339 time".into()))?;
            if at < now - PUBLISHED_PAST || at > now + PUBLISHED_FUTURE {
                return Err(invalid(format!(
                    "custom.published {} is more than {} before or {} after the server's clock ({})",
                    crate::published::fmt_time(at),
                    PUBLISHED_PAST,
                    PUBLISHED_FUTURE,
                    crate::published::fmt_time(now)
                )));
            }
        }
        if !online && custom.extra.contains_key("provenance") {
            return Err(invalid(
                "custom.provenance is written by the server only (trusted publishing with sign_online)".into(),
            ));
        }
        added.push(NewTarget {
            path: p.to_owned(),
            platform,
            object,
            digest,
            length: t.length,
        });
    }
    Ok(added)
}

/// Step 6 of the module docs: reads the blob of `t` and checks its bytes against its platform (off the async
/// workers).
async fn check_content(store: &dyn Store, t: &NewTarget) -> Result<(), ApiError> {
    use futures_util::TryStreamExt as _;
    let bytes: Vec<u8> = store
        .read_blob(&t.digest)
        .await?
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .map_err(|e| ApiError::io(format!("reading blob {}", t.digest), e))?;
    let (platform, path) = (t.platform, t.path.clone());
    blocking(move || {
        x0x_dist_loader::artifact::check(platform, &bytes).map_err(|e| ApiError::PlatformMismatch {
            path,
            reason: e.to_string(),
        })
    })
    .await
}

/// Blobs checked at once by a publish (each is read whole: memory is about this many blobs).
const BLOBS_IN_FLIGHT: usize = 4;

/// Every new target's blob is present with its declared length, and its bytes are a build for its platform
/// (steps 5 and 6 of the module docs). Each blob's length and bytes are asked for at once, and a few blobs at a
/// time (one store round trip per few blobs, not two per blob); the errors are those of checking every length
/// first, then every content.
pub(crate) async fn check_blobs(st: &AppState, added: &[NewTarget]) -> Result<(), ApiError> {
    let store = &*st.store;
    let mut results = Vec::with_capacity(added.len());
    for chunk in added.chunks(BLOBS_IN_FLIGHT) {
        let checks = chunk.iter().map(|t| async move {
            // Length and bytes at once; the bytes count only when the length is right.
            let (len, content) =
                futures_util::join!(store.blob_len(&t.digest), check_content(store, t));
            (t, len, content)
        });
        results.extend(futures_util::future::join_all(checks).await);
    }
    let mut contents = Vec::with_capacity(results.len());
    for (t, len, content) in results {
        match len? {
            None => {
                return Err(ApiError::BlobMissing(format!(
                    "{} (sha256 {})",
                    t.path, t.digest
                )))
            }
            Some(len) if len != t.length => {
                return Err(x0x_dist_manifests::Error::LengthMismatch {
                    path: t.path.clone(),
                    expected: t.length,
                    found: len,
                }
                .into());
            }
            Some(_) => contents.push(content),
        }
    }
    contents.into_iter().collect()
}

/// Publishes a submitted role of `package` (see the module docs); `actor` is who, for the audit log.
pub async fn publish(
    st: &AppState,
    pkg: &PackageName,
    bytes: Vec<u8>,
    actor: &str,
) -> Result<PublishReport, ApiError> {
    publish_role(st, pkg, bytes, actor, false).await
}

/// [`publish`], also for a role the server signed with its online packages key (`online`: its new targets may
/// carry the server's `provenance`).
pub(crate) async fn publish_role(
    st: &AppState,
    pkg: &PackageName,
    bytes: Vec<u8>,
    actor: &str,
    online: bool,
) -> Result<PublishReport, ApiError> {
    let package = pkg.as_str();
    let _slot = st.claim(package)?;
    let _lock = st.repo_lock.lock().await;
    // Held from reading the current state to the commit (a directory store: against offline writers in other
    // processes; with a database nothing: the compare-and-swap decides).
    let coord = &*st.coordinator;
    let _writer = coord.lock().await?;
    let now = OffsetDateTime::now_utc();
    let head = coord.head(&*st.store).await?;
    let cur = Published::load_at(&*st.store, &head.bytes).await?;
    // The package must be delegated before its role is read.
    cur.delegation(package)?;
    let old_role = cur.load_role_bytes(&*st.store, package).await?;
    let pkg = pkg.clone();
    let (cur, new, added, bytes) = blocking(move || {
        let (new, added) = check_submission(&cur, old_role.as_deref(), &pkg, &bytes, now, online)?;
        Ok((cur, new, added, bytes))
    })
    .await?;
    check_blobs(st, &added).await?;
    let version = new.signed().version;
    let store = &*st.store;
    // Independent round trips at once: linking the targets, loading the online keys, and (the number is ours
    // before the versioned name is written: no `N.<package>.json` is ever written twice) reserving the role's
    // version then writing it, while the first snapshot number is reserved. The commit waits for all of them.
    let link = futures_util::future::try_join_all(
        added
            .iter()
            .map(|t| async move { store.link_target(&t.object, &t.digest).await }),
    );
    let role = async {
        coord
            .reserve_role(package, version, &crate::coordinator::sha256_hex(&bytes))
            .await?;
        crate::crash_point::here("reserved");
        let name = format!("{version}.{package}.json");
        let (written, sv) = futures_util::join!(
            write_meta(store, &name, bytes),
            coord.reserve_snapshot(head.snapshot_version)
        );
        written?;
        crate::crash_point::here("role_written");
        sv
    };
    let (_, keys, first_snapshot) = futures_util::try_join!(
        async { link.await.map_err(ApiError::from) },
        load_online_keys(&st.keys_dir, cur.root.signed()),
        role
    )?;
    let audit = Audit {
        actor: actor.to_owned(),
        action: "publish".into(),
        detail: serde_json::json!({"package": package, "version": version, "added": added.iter().map(|t| t.path.as_str()).collect::<Vec<_>>()}),
    };
    let committed = commit_changes(
        &*st.store,
        coord,
        Committing {
            cur,
            head,
            changes: vec![(package.to_owned(), version)],
            resign_only: false,
            above: 0,
            first_snapshot: Some(first_snapshot),
        },
        &keys,
        &st.config.timestamp,
        now,
        &audit,
        st.config.database.max_commit_retries.unwrap_or(8),
        &st.metrics,
    )
    .await;
    // Whatever happened to the commit, what this replica serves follows the authority.
    let committed = match committed {
        Ok(Some(c)) => {
            st.committed(&c.head).await;
            c
        }
        Ok(None) => return Err(ApiError::Internal("a publish commit was skipped".into())),
        Err(e) => {
            st.timestamp_written().await;
            return Err(e);
        }
    };
    Ok(PublishReport {
        package: package.to_owned(),
        version,
        snapshot_version: committed.snapshot_version,
        timestamp_version: committed.head.version,
        added: added.into_iter().map(|t| t.path).collect(),
    })
}

/// Reads a submitted role of at most `[limits] max_metadata_bytes`; beyond it `metadata.too_large` naming the
/// limit, the size (from `Content-Length` when the client sent one) and the setting that raises it.
pub async fn read_role(
    st: &AppState,
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, ApiError> {
    let max = st.config.limits.max_metadata_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = |size: Option<u64>| {
        ApiError::Metadata {
        code: x0x_dist_manifests::codes::Code::MetadataTooLarge,
        detail: format!(
            "the submitted role is {} bytes, over this server's limit of {max} bytes for a package role; \
             the server's operator raises it with `[limits] max_metadata_bytes` in its config file \
             (docs/server.md, \"Configuration\")",
            size.map_or_else(|| format!("more than {max}"), |n| n.to_string())
        ),
    }
    };
    if let Some(n) = declared.filter(|&n| n > max as u64) {
        return Err(too_large(Some(n)));
    }
    match crate::error::collect_body(body, max).await {
        Err(ApiError::TooLarge { .. }) => Err(too_large(declared)),
        other => other,
    }
}
