//! `x0x-dist gc`: what no current role references, older than a grace period.
//!
//! Referenced: every `N.root.json`, `root.json`, `timestamp.json`, the snapshot the current timestamp pins (with a
//! database: the database's timestamp), the `targets.json` and package role versions that snapshot lists, every
//! target those roles list (`targets/<package>/<version>/<sha256>.<file>`) and the blob of each. Everything else
//! in `blobs/`, `targets/` and versioned `metadata/` — orphans of failed or lost commits, old versions of roles,
//! uploads never published — is removed once older than the grace period (an upload or a commit in progress is
//! younger). Objects whose age the store does not report are kept. Nothing referenced is ever removed, so a
//! client refreshing at any time sees a complete repository.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use crate::coordinator::{Coordinator, Head};
use crate::error::ApiError;
use crate::published::Published;
use crate::storage::{Area, Digest, Listed, Store};

/// One object `gc` would remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Garbage {
    /// Where.
    pub area: Area,
    /// Its name in the area.
    pub name: String,
    /// Its size.
    pub size: u64,
}

impl Garbage {
    /// Its key in the store (`blobs/sha256/<hex>`, `targets/...`, `metadata/...`).
    pub fn key(&self) -> String {
        crate::storage::area_key(self.area, &self.name).unwrap_or_else(|_| self.name.clone())
    }
}

/// What `gc` found.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// To remove.
    pub garbage: Vec<Garbage>,
    /// Unreferenced but younger than the grace period (or of unknown age): kept this time.
    pub young: usize,
    /// Referenced objects.
    pub referenced: usize,
}

impl Plan {
    /// Bytes the removal frees.
    pub fn bytes(&self) -> u64 {
        self.garbage.iter().map(|g| g.size).sum()
    }
}

/// Whether `name` is a versioned metadata file (`N.role.json`) other than a root.
fn versioned_non_root(name: &str) -> bool {
    name.split_once('.').is_some_and(|(n, rest)| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && rest != "root.json"
    })
}

/// What the signed state a timestamp names references, by name in each area.
#[derive(Clone, Debug, Default)]
pub struct Referenced {
    /// Versioned metadata files: the snapshot and the role versions it lists (`N.role.json`).
    pub metadata: BTreeSet<String>,
    /// Targets (`<package>/<version>/<sha256>.<file>`), each with the digest of its blob.
    pub targets: BTreeMap<String, Digest>,
    /// Blobs (hex digests).
    pub blobs: BTreeSet<String>,
}

/// What the repository state pinned by the timestamp `timestamp` (its bytes) references in `store`: the
/// snapshot, every role version it lists, every target those roles list and their blobs. Read through the
/// signed metadata, never through a listing (an engine's listing may lag or miss an object; `migrate` copies
/// this set whatever the listing says).
pub async fn referenced(store: &dyn Store, timestamp: &[u8]) -> Result<Referenced, ApiError> {
    let cur = Published::load_at(store, timestamp).await?;
    let snap = cur.snapshot.signed();
    let mut out = Referenced::default();
    out.metadata
        .insert(format!("{}.snapshot.json", snap.version));
    for (file, meta) in &snap.meta {
        let role = file.trim_end_matches(".json");
        out.metadata.insert(format!("{}.{file}", meta.version));
        if role == "targets" {
            continue;
        }
        let Some((signed, _)) = cur.load_role(store, role).await? else {
            continue;
        };
        for (path, t) in &signed.signed().targets {
            let digest = t.sha256()?;
            let Ok(p) = path.package_target() else {
                continue;
            };
            out.targets.insert(
                format!("{}/{}/{digest}.{}", p.package(), p.version(), p.file_name()),
                digest,
            );
            out.blobs.insert(digest.to_hex());
        }
    }
    Ok(out)
}

/// Finds the garbage of `store` (the current timestamp from `coordinator` when it is the authority).
pub async fn plan(
    store: &dyn Store,
    coordinator: Option<&dyn Coordinator>,
    grace: Duration,
    now: SystemTime,
) -> Result<Plan, ApiError> {
    let head = match coordinator {
        Some(c) => c.head(store).await?,
        None => Head::read(store).await?,
    };
    let Referenced {
        metadata: keep_meta,
        targets: keep_targets,
        blobs: keep_blobs,
    } = referenced(store, &head.bytes).await?;
    let mut out = Plan::default();
    let old = |l: &Listed| {
        l.modified
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= grace)
    };
    for area in [Area::Metadata, Area::Targets, Area::Blobs] {
        for l in store.list_detailed(area).await? {
            let referenced = match area {
                Area::Metadata => !versioned_non_root(&l.name) || keep_meta.contains(&l.name),
                Area::Targets => keep_targets.contains_key(&l.name),
                Area::Blobs => keep_blobs.contains(&l.name),
            };
            if referenced {
                out.referenced += 1;
            } else if old(&l) {
                out.garbage.push(Garbage {
                    area,
                    name: l.name,
                    size: l.size,
                });
            } else {
                out.young += 1;
            }
        }
    }
    out.garbage.sort_by_key(Garbage::key);
    Ok(out)
}

/// Removes what `plan` found; returns the bytes freed.
pub async fn apply(store: &dyn Store, plan: &Plan) -> Result<u64, ApiError> {
    let mut freed = 0;
    for g in &plan.garbage {
        store.remove(g.area, &g.name).await?;
        freed += g.size;
    }
    Ok(freed)
}
