//! The trust decisions of the TUF 1.0 client workflow (spec §5), without I/O: feed metadata bytes in the
//! order the workflow fetches them and [`TrustedSet`] keeps only what verified.
//!
//! Order: [`TrustedSet::new`] (trusted root) → [`TrustedSet::update_root`] for `N+1.root.json` until none →
//! [`TrustedSet::update_timestamp`] → [`TrustedSet::update_snapshot`] → [`TrustedSet::update_targets`] →
//! [`TrustedSet::resolve_target`], which names the delegated role to load next ([`Lookup::NeedRole`], then
//! [`TrustedSet::update_delegated`]) until the target is found. Finally [`TrustedSet::verify_target`] checks
//! the downloaded bytes.
//!
//! Rules (as python-tuf's `TrustedMetadataSet`): a new root must be signed by a threshold of the old and the
//! new root and have version old+1; the trusted root must not be expired once rotation ends; timestamp and
//! snapshot versions never go down (`metadata.rollback`); snapshot's version is the one timestamp pins and
//! every targets role's version is the one snapshot pins (`metadata.version_mismatch`); no role listed in the
//! trusted snapshot may disappear or go down in a newer one; every role must be unexpired at `now`.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::metadata::{
    DelegatedRole, RoleKeys, Root, Signed, Snapshot, TargetFile, Targets, Timestamp,
};

/// The most delegated roles a target search visits (python-tuf's default).
pub const MAX_DELEGATIONS: usize = 32;

/// Verified metadata, built up step by step.
#[derive(Debug, Clone)]
pub struct TrustedSet {
    now: OffsetDateTime,
    root: Signed<Root>,
    timestamp: Option<Signed<Timestamp>>,
    snapshot: Option<Signed<Snapshot>>,
    targets: BTreeMap<String, Signed<Targets>>,
}

/// The result of a target search.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Found in the named role.
    Found {
        /// The role listing it.
        role: String,
        /// Its length, hashes and custom.
        target: TargetFile,
    },
    /// The search must look into this role first: load it with [`TrustedSet::update_delegated`].
    NeedRole {
        /// The delegated role.
        role: String,
        /// The role that delegates to it.
        delegator: String,
    },
}

fn role_keys<'a>(root: &'a Root, name: &str) -> Result<&'a RoleKeys> {
    root.roles
        .get(name)
        .ok_or_else(|| Error::MissingRole(name.to_owned()))
}

impl TrustedSet {
    /// Starts from a trusted root (shipped with the client): it must be signed by a threshold of its own
    /// root keys. Its expiry is checked when the timestamp is loaded (a newer root may replace it first).
    pub fn new(root_bytes: &[u8], now: OffsetDateTime) -> Result<Self> {
        let root = Signed::<Root>::from_slice(root_bytes)?;
        root.verify(
            "root",
            &root.signed().keys,
            role_keys(root.signed(), "root")?,
        )?;
        Ok(TrustedSet {
            now,
            root,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    /// The verification time.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }
    /// The trusted root.
    pub fn root(&self) -> &Signed<Root> {
        &self.root
    }
    /// The file name under which `role`'s metadata at `version` is fetched (TUF §5.5.1/§5.6.1):
    /// `VERSION.ROLE.json` with consistent snapshots (the trusted root says), `ROLE.json` without.
    pub fn metadata_file_name(&self, version: u64, role: &str) -> String {
        if self.root.signed().consistent_snapshot {
            format!("{version}.{role}.json")
        } else {
            format!("{role}.json")
        }
    }
    /// The trusted timestamp, if loaded.
    pub fn timestamp(&self) -> Option<&Signed<Timestamp>> {
        self.timestamp.as_ref()
    }
    /// The trusted snapshot, if loaded.
    pub fn snapshot(&self) -> Option<&Signed<Snapshot>> {
        self.snapshot.as_ref()
    }
    /// A trusted targets role (`targets` or a delegated one), if loaded.
    pub fn targets(&self, role: &str) -> Option<&Signed<Targets>> {
        self.targets.get(role)
    }
    /// Every loaded targets role by name.
    pub fn all_targets(&self) -> &BTreeMap<String, Signed<Targets>> {
        &self.targets
    }

    /// Rotates to the next root (`N+1.root.json`).
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<()> {
        if self.timestamp.is_some() {
            return Err(Error::malformed(
                "root metadata",
                "root rotation after timestamp was loaded",
            ));
        }
        let new = Signed::<Root>::from_slice(bytes)?;
        new.verify(
            "root",
            &self.root.signed().keys,
            role_keys(self.root.signed(), "root")?,
        )?;
        new.verify("root", &new.signed().keys, role_keys(new.signed(), "root")?)?;
        let (old_v, new_v) = (self.root.signed().version, new.signed().version);
        if new_v <= old_v {
            return Err(Error::Rollback {
                role: "root".to_owned(),
                trusted: old_v,
                new: new_v,
            });
        }
        if new_v != old_v + 1 {
            return Err(Error::VersionMismatch {
                role: "root".to_owned(),
                expected: old_v + 1,
                found: new_v,
            });
        }
        self.root = new;
        Ok(())
    }

    /// Loads `timestamp.json`. An equal version keeps the trusted one.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<()> {
        self.root.check_not_expired("root", self.now)?;
        let new = Signed::<Timestamp>::from_slice(bytes)?;
        new.verify(
            "timestamp",
            &self.root.signed().keys,
            role_keys(self.root.signed(), "timestamp")?,
        )?;
        if let Some(old) = &self.timestamp {
            let (o, n) = (old.signed().version, new.signed().version);
            if n < o {
                return Err(Error::Rollback {
                    role: "timestamp".to_owned(),
                    trusted: o,
                    new: n,
                });
            }
            let (os, ns) = (
                old.signed().snapshot_meta().version,
                new.signed().snapshot_meta().version,
            );
            if ns < os {
                return Err(Error::Rollback {
                    role: "snapshot".to_owned(),
                    trusted: os,
                    new: ns,
                });
            }
            if n == o {
                return Ok(());
            }
        }
        new.check_not_expired("timestamp", self.now)?;
        // The trusted snapshot stays: the next snapshot is checked against it for rollback.
        self.timestamp = Some(new);
        Ok(())
    }

    /// Loads `N.snapshot.json` (N as pinned by the timestamp).
    pub fn update_snapshot(&mut self, bytes: &[u8]) -> Result<()> {
        let ts = self
            .timestamp
            .as_ref()
            .ok_or_else(|| Error::MissingRole("timestamp".to_owned()))?;
        ts.check_not_expired("timestamp", self.now)?;
        let pinned = ts.signed().snapshot_meta();
        pinned.verify_bytes("snapshot", bytes)?;
        let new = Signed::<Snapshot>::from_slice(bytes)?;
        new.verify(
            "snapshot",
            &self.root.signed().keys,
            role_keys(self.root.signed(), "snapshot")?,
        )?;
        if let Some(old) = &self.snapshot {
            for (name, m) in &old.signed().meta {
                let n =
                    new.signed().meta.get(name).ok_or_else(|| {
                        Error::MissingRole(name.trim_end_matches(".json").to_owned())
                    })?;
                if n.version < m.version {
                    return Err(Error::Rollback {
                        role: name.trim_end_matches(".json").to_owned(),
                        trusted: m.version,
                        new: n.version,
                    });
                }
            }
        }
        if new.signed().version != pinned.version {
            return Err(Error::VersionMismatch {
                role: "snapshot".to_owned(),
                expected: pinned.version,
                found: new.signed().version,
            });
        }
        new.check_not_expired("snapshot", self.now)?;
        self.snapshot = Some(new);
        self.targets.clear();
        Ok(())
    }

    /// Loads the top-level `N.targets.json`.
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<()> {
        self.update_delegated(bytes, "targets", "root")
    }

    /// Loads a targets role `role` delegated by `delegator` (`root` for the top-level `targets`).
    pub fn update_delegated(&mut self, bytes: &[u8], role: &str, delegator: &str) -> Result<()> {
        let snap = self
            .snapshot
            .as_ref()
            .ok_or_else(|| Error::MissingRole("snapshot".to_owned()))?;
        snap.check_not_expired("snapshot", self.now)?;
        let meta = snap
            .signed()
            .meta
            .get(&format!("{role}.json"))
            .ok_or_else(|| Error::MissingRole(role.to_owned()))?;
        meta.verify_bytes(role, bytes)?;
        let new = Signed::<Targets>::from_slice(bytes)?;
        if delegator == "root" {
            if role != "targets" {
                return Err(Error::DelegationInvalid(format!(
                    "root delegates only `targets`, not {role:?}"
                )));
            }
            new.verify(
                role,
                &self.root.signed().keys,
                role_keys(self.root.signed(), "targets")?,
            )?;
        } else {
            let parent = self
                .targets
                .get(delegator)
                .ok_or_else(|| Error::MissingRole(delegator.to_owned()))?;
            let d = parent.signed().delegations.as_ref().ok_or_else(|| {
                Error::DelegationInvalid(format!("{delegator:?} delegates nothing"))
            })?;
            let r: &DelegatedRole = d.roles.iter().find(|r| r.name == role).ok_or_else(|| {
                Error::DelegationInvalid(format!("{delegator:?} does not delegate to {role:?}"))
            })?;
            new.verify(role, &d.keys, &r.keys)?;
        }
        if new.signed().version != meta.version {
            return Err(Error::VersionMismatch {
                role: role.to_owned(),
                expected: meta.version,
                found: new.signed().version,
            });
        }
        new.check_not_expired(role, self.now)?;
        self.targets.insert(role.to_owned(), new);
        Ok(())
    }

    /// Searches for `path` through `targets` and its delegations in TUF's pre-order depth-first order
    /// (respecting `terminating`). Returns [`Lookup::NeedRole`] when a role on the way is not loaded yet,
    /// and `target.not_found` when no role lists it.
    pub fn resolve_target(&self, path: &str) -> Result<Lookup> {
        let mut stack: Vec<(String, String)> = vec![("targets".to_owned(), "root".to_owned())];
        let mut visited = std::collections::BTreeSet::new();
        while let Some((role, delegator)) = stack.pop() {
            if visited.len() >= MAX_DELEGATIONS {
                break;
            }
            if !visited.insert(role.clone()) {
                continue;
            }
            let Some(t) = self.targets.get(&role) else {
                return Ok(Lookup::NeedRole { role, delegator });
            };
            if let Some(target) = t
                .signed()
                .targets
                .iter()
                .find(|(p, _)| p.as_str() == path)
                .map(|(_, t)| t)
            {
                return Ok(Lookup::Found {
                    role,
                    target: target.clone(),
                });
            }
            if let Some(d) = &t.signed().delegations {
                let mut children = Vec::new();
                for r in d.roles.iter().filter(|r| r.matches(path)) {
                    children.push((r.name.clone(), role.clone()));
                    if r.terminating {
                        stack.clear();
                        break;
                    }
                }
                children.reverse();
                stack.extend(children);
            }
        }
        Err(Error::TargetNotFound(path.to_owned()))
    }

    /// Checks downloaded target bytes against the verified metadata of `path`, which must be loaded.
    pub fn verify_target(&self, path: &str, data: &[u8]) -> Result<TargetFile> {
        match self.resolve_target(path)? {
            Lookup::Found { target, .. } => {
                target.verify(path, data)?;
                Ok(target)
            }
            Lookup::NeedRole { role, .. } => Err(Error::MissingRole(role)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metadata::{Delegations, MetaFile, NewRole};
    use crate::{PublicKey, SigningKey, TargetFile};

    fn t(s: &str) -> OffsetDateTime {
        crate::cjson::datetime::parse(s).unwrap()
    }

    /// A repository whose `targets` delegates `x0x/*/*` to `a` then `b` (`a` terminating or not); `b` lists
    /// the target, `a` lists nothing.
    fn chain(a_terminating: bool) -> (TrustedSet, Vec<u8>, Vec<u8>) {
        let k = |n: u8| SigningKey::from_seed(&[n; 32]);
        let (root_k, targets_k, snap_k, ts_k, a_k, b_k) = (k(1), k(2), k(3), k(4), k(5), k(6));
        let far = t("2100-01-01T00:00:00Z");
        let mut root = Root::empty(1, far);
        root.add_key("root", root_k.public()).unwrap();
        root.add_key("targets", targets_k.public()).unwrap();
        root.add_key("snapshot", snap_k.public()).unwrap();
        root.add_key("timestamp", ts_k.public()).unwrap();
        let role = |name: &str, key: &PublicKey, terminating: bool| {
            let mut r = DelegatedRole::for_package(&"x0x".parse().unwrap(), &[key], 1).unwrap();
            r.name = name.to_owned();
            r.terminating = terminating;
            r
        };
        let mut top = Targets::empty(1, far);
        top.delegations = Some(Delegations {
            keys: [a_k.public(), b_k.public()]
                .iter()
                .map(|p| (p.key_id().unwrap(), (*p).clone()))
                .collect(),
            roles: vec![
                role("a", a_k.public(), a_terminating),
                role("b", b_k.public(), false),
            ],
            extra: BTreeMap::new(),
        });
        let a = Targets::empty(1, far);
        let mut b = Targets::empty(1, far);
        b.targets.insert(
            "x0x/1.0.0/x0x.wasm32-wasip1.wasm".parse().unwrap(),
            TargetFile::for_bytes(b"wasm", None),
        );
        let mut snap = Snapshot::empty(1, far);
        for n in ["targets", "a", "b"] {
            snap.meta.insert(format!("{n}.json"), MetaFile::version(1));
        }
        let snap = Signed::new(snap, &[&snap_k]).unwrap().to_bytes();
        let mut ts = Timestamp::empty(1, far);
        ts.meta
            .insert("snapshot.json".to_owned(), MetaFile::version(1));
        let mut set = TrustedSet::new(
            &Signed::new(root, &[&root_k]).unwrap().to_bytes(),
            t("2030-01-01T00:00:00Z"),
        )
        .unwrap();
        set.update_timestamp(&Signed::new(ts, &[&ts_k]).unwrap().to_bytes())
            .unwrap();
        set.update_snapshot(&snap).unwrap();
        set.update_targets(&Signed::new(top, &[&targets_k]).unwrap().to_bytes())
            .unwrap();
        (
            set,
            Signed::new(a, &[&a_k]).unwrap().to_bytes(),
            Signed::new(b, &[&b_k]).unwrap().to_bytes(),
        )
    }

    const PATH: &str = "x0x/1.0.0/x0x.wasm32-wasip1.wasm";

    #[test]
    fn search_visits_roles_in_order_and_asks_for_missing_ones() {
        let (mut set, a, b) = chain(false);
        assert_eq!(
            set.resolve_target(PATH).unwrap(),
            Lookup::NeedRole {
                role: "a".into(),
                delegator: "targets".into()
            }
        );
        set.update_delegated(&a, "a", "targets").unwrap();
        assert_eq!(
            set.resolve_target(PATH).unwrap(),
            Lookup::NeedRole {
                role: "b".into(),
                delegator: "targets".into()
            }
        );
        // b's metadata signed by a's key is refused.
        assert_eq!(
            set.update_delegated(&a, "b", "targets").unwrap_err().code(),
            "metadata.threshold_not_met"
        );
        set.update_delegated(&b, "b", "targets").unwrap();
        match set.resolve_target(PATH).unwrap() {
            Lookup::Found { role, target } => {
                assert_eq!(role, "b");
                assert_eq!(target.length, 4);
            }
            other @ Lookup::NeedRole { .. } => panic!("{other:?}"),
        }
        assert_eq!(
            set.verify_target(PATH, b"WASM").unwrap_err().code(),
            "target.digest_mismatch"
        );
        set.verify_target(PATH, b"wasm").unwrap();
        assert_eq!(
            set.resolve_target("x0x/1.0.0/other.wasm")
                .unwrap_err()
                .code(),
            "target.not_found"
        );
        assert_eq!(
            set.resolve_target("y0y/1.0.0/x0x.wasm32-wasip1.wasm")
                .unwrap_err()
                .code(),
            "target.not_found"
        );
    }

    #[test]
    fn terminating_role_ends_the_search() {
        let (mut set, a, _) = chain(true);
        set.update_delegated(&a, "a", "targets").unwrap();
        assert_eq!(
            set.resolve_target(PATH).unwrap_err().code(),
            "target.not_found"
        );
    }
}
