//! Loading and verifying the trusted chain from a repository directory or any metadata source.

use super::{
    read_metadata, BTreeMap, Error, Layout, MetaFile, OffsetDateTime, Path, Result, TrustedSet,
};

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
        return Err(Error::NotFound(dir.to_owned()));
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
        .ok_or_else(|| Error::Corrupt("snapshot does not list targets.json".to_owned()))?
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
