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
//!
//! Every trust decision lives here, so any caller gets all of them:
//! - A timestamp that verifies but is expired is still kept as the rollback reference (python-tuf does the
//!   same): loading a persisted, expired `timestamp.json` fails with `metadata.expired`, yet the next
//!   timestamp must not go below its version or the snapshot version it names.
//! - A delegated role is trusted only through the delegator that the search reaches it by: when a role
//!   verified under one delegator is reached through another ("diamond" delegations), it is verified again
//!   against that delegator's keys and threshold before any target of it is returned
//!   (tuf-conformance `test_cached_role_is_verified_against_current_delegator`).
//! - Role names come from signed metadata but are not trusted as names of files or URLs:
//!   [`encode_role_name`] turns them into one safe path segment.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::metadata::{
    DelegatedRole, Revocations, RoleKeys, RoleType, Root, Signed, Snapshot, TargetFile, Targets,
    Timestamp, REVOCATIONS_ROLE,
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
    /// For each loaded targets role, the delegators whose keys and threshold it was verified against.
    verified_by: BTreeMap<String, BTreeSet<String>>,
    /// The `revocations` role at the version the snapshot pins, once loaded.
    revocations: Option<Signed<Revocations>>,
}

/// A role name as one segment of a file name or URL: every byte other than ASCII letters, digits and
/// `_.-~` percent-encoded, exactly as python-tuf's `urllib.parse.quote(name, safe="")`, so `../x` becomes
/// `..%2Fx` and `?` becomes `%3F`. The result never contains `/` or `\`, and with `.json` appended it is
/// never `.` or `..`.
pub fn encode_role_name(role: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(role.len());
    for b in role.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
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

fn role_keys(root: &Root, role: RoleType) -> Result<&RoleKeys> {
    root.roles
        .get(role.as_str())
        .ok_or_else(|| Error::MissingRole(role.to_string()))
}

impl TrustedSet {
    /// Starts from a trusted root (shipped with the client): it must be signed by a threshold of its own
    /// root keys. Its expiry is checked when the timestamp is loaded (a newer root may replace it first).
    pub fn new(root_bytes: &[u8], now: OffsetDateTime) -> Result<Self> {
        let root = Signed::<Root>::from_slice(root_bytes)?;
        root.verify(
            RoleType::Root.as_str(),
            &root.signed().keys,
            role_keys(root.signed(), RoleType::Root)?,
        )?;
        Ok(TrustedSet {
            now,
            root,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
            verified_by: BTreeMap::new(),
            revocations: None,
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
    /// `VERSION.ROLE.json` with consistent snapshots (the trusted root says), `ROLE.json` without; the role
    /// name encoded by [`encode_role_name`].
    pub fn metadata_file_name(&self, version: u64, role: &str) -> String {
        let role = encode_role_name(role);
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
            RoleType::Root.as_str(),
            &self.root.signed().keys,
            role_keys(self.root.signed(), RoleType::Root)?,
        )?;
        new.verify(
            RoleType::Root.as_str(),
            &new.signed().keys,
            role_keys(new.signed(), RoleType::Root)?,
        )?;
        let (old_v, new_v) = (self.root.signed().version, new.signed().version);
        if new_v <= old_v {
            return Err(Error::Rollback {
                role: RoleType::Root.to_string(),
                trusted: old_v,
                new: new_v,
            });
        }
        if new_v != old_v + 1 {
            return Err(Error::VersionMismatch {
                role: RoleType::Root.to_string(),
                expected: old_v + 1,
                found: new_v,
            });
        }
        self.root = new;
        Ok(())
    }

    /// Loads `timestamp.json`. An equal version keeps the trusted one (which must still be unexpired). A new
    /// timestamp that verifies is kept even when it is expired, as the rollback reference for the next one,
    /// and `metadata.expired` is returned: so a persisted timestamp that expired still stops a rollback.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<()> {
        self.root
            .check_not_expired(RoleType::Root.as_str(), self.now)?;
        let new = Signed::<Timestamp>::from_slice(bytes)?;
        new.verify(
            RoleType::Timestamp.as_str(),
            &self.root.signed().keys,
            role_keys(self.root.signed(), RoleType::Timestamp)?,
        )?;
        if let Some(old) = &self.timestamp {
            let (o, n) = (old.signed().version, new.signed().version);
            if n < o {
                return Err(Error::Rollback {
                    role: RoleType::Timestamp.to_string(),
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
                    role: RoleType::Snapshot.to_string(),
                    trusted: os,
                    new: ns,
                });
            }
            if n == o {
                return old.check_not_expired(RoleType::Timestamp.as_str(), self.now);
            }
        }
        // The trusted snapshot stays: the next snapshot is checked against it for rollback.
        let expired = new.check_not_expired(RoleType::Timestamp.as_str(), self.now);
        self.timestamp = Some(new);
        expired
    }

    /// Loads `N.snapshot.json` (N as pinned by the timestamp).
    pub fn update_snapshot(&mut self, bytes: &[u8]) -> Result<()> {
        let ts = self
            .timestamp
            .as_ref()
            .ok_or_else(|| Error::MissingRole(RoleType::Timestamp.to_string()))?;
        ts.check_not_expired(RoleType::Timestamp.as_str(), self.now)?;
        let pinned = ts.signed().snapshot_meta();
        pinned.verify_bytes(RoleType::Snapshot.as_str(), bytes)?;
        let new = Signed::<Snapshot>::from_slice(bytes)?;
        new.verify(
            RoleType::Snapshot.as_str(),
            &self.root.signed().keys,
            role_keys(self.root.signed(), RoleType::Snapshot)?,
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
                role: RoleType::Snapshot.to_string(),
                expected: pinned.version,
                found: new.signed().version,
            });
        }
        new.check_not_expired(RoleType::Snapshot.as_str(), self.now)?;
        self.snapshot = Some(new);
        self.targets.clear();
        self.verified_by.clear();
        self.revocations = None;
        Ok(())
    }

    /// The trusted `revocations` role, if the snapshot lists one and it was loaded.
    pub fn revocations(&self) -> Option<&Signed<Revocations>> {
        self.revocations.as_ref()
    }

    /// The version of `revocations.json` the trusted snapshot pins (`None`: the repository has none).
    pub fn revocations_pinned(&self) -> Option<u64> {
        self.snapshot
            .as_ref()?
            .signed()
            .meta
            .get(&format!("{REVOCATIONS_ROLE}.json"))
            .map(|m| m.version)
    }

    /// Loads `N.revocations.json` (N as pinned by the snapshot): length and hashes the snapshot pins, a
    /// threshold of root's `snapshot` keys (the online key that signs it), the pinned version, unexpired.
    pub fn update_revocations(&mut self, bytes: &[u8]) -> Result<()> {
        let snap = self
            .snapshot
            .as_ref()
            .ok_or_else(|| Error::MissingRole(RoleType::Snapshot.to_string()))?;
        snap.check_not_expired(RoleType::Snapshot.as_str(), self.now)?;
        let meta = snap
            .signed()
            .meta
            .get(&format!("{REVOCATIONS_ROLE}.json"))
            .ok_or_else(|| Error::MissingRole(REVOCATIONS_ROLE.to_owned()))?;
        meta.verify_bytes(REVOCATIONS_ROLE, bytes)?;
        let new = Signed::<Revocations>::from_slice(bytes)?;
        new.verify(
            REVOCATIONS_ROLE,
            &self.root.signed().keys,
            role_keys(self.root.signed(), RoleType::Snapshot)?,
        )?;
        if new.signed().version != meta.version {
            return Err(Error::VersionMismatch {
                role: REVOCATIONS_ROLE.to_owned(),
                expected: meta.version,
                found: new.signed().version,
            });
        }
        new.check_not_expired(REVOCATIONS_ROLE, self.now)?;
        self.revocations = Some(new);
        Ok(())
    }

    /// Loads the top-level `N.targets.json`.
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<()> {
        self.update_delegated(bytes, RoleType::Targets.as_str(), RoleType::Root.as_str())
    }

    /// Loads a targets role `role` delegated by `delegator` (`root` for the top-level `targets`).
    pub fn update_delegated(&mut self, bytes: &[u8], role: &str, delegator: &str) -> Result<()> {
        let snap = self
            .snapshot
            .as_ref()
            .ok_or_else(|| Error::MissingRole(RoleType::Snapshot.to_string()))?;
        snap.check_not_expired(RoleType::Snapshot.as_str(), self.now)?;
        let meta = snap
            .signed()
            .meta
            .get(&format!("{role}.json"))
            .ok_or_else(|| Error::MissingRole(role.to_owned()))?;
        meta.verify_bytes(role, bytes)?;
        let new = Signed::<Targets>::from_slice(bytes)?;
        self.verify_delegated(&new, role, delegator)?;
        if new.signed().version != meta.version {
            return Err(Error::VersionMismatch {
                role: role.to_owned(),
                expected: meta.version,
                found: new.signed().version,
            });
        }
        new.check_not_expired(role, self.now)?;
        let same = self
            .targets
            .get(role)
            .is_some_and(|old| old.canonical_signed() == new.canonical_signed());
        let by = self.verified_by.entry(role.to_owned()).or_default();
        if !same {
            by.clear();
        }
        by.insert(delegator.to_owned());
        self.targets.insert(role.to_owned(), new);
        Ok(())
    }

    /// Checks that `md` (the metadata of targets role `role`) is signed by a threshold of the keys that
    /// `delegator` (`root` for the top-level `targets`, else a loaded targets role) assigns to `role`.
    fn verify_delegated(&self, md: &Signed<Targets>, role: &str, delegator: &str) -> Result<()> {
        if delegator == RoleType::Root.as_str() {
            if role != RoleType::Targets.as_str() {
                return Err(Error::DelegationInvalid(format!(
                    "root delegates only `targets`, not {role:?}"
                )));
            }
            return md.verify(
                role,
                &self.root.signed().keys,
                role_keys(self.root.signed(), RoleType::Targets)?,
            );
        }
        let parent = self
            .targets
            .get(delegator)
            .ok_or_else(|| Error::MissingRole(delegator.to_owned()))?;
        let d =
            parent.signed().delegations.as_ref().ok_or_else(|| {
                Error::DelegationInvalid(format!("{delegator:?} delegates nothing"))
            })?;
        let r: &DelegatedRole = d.roles.iter().find(|r| r.name == role).ok_or_else(|| {
            Error::DelegationInvalid(format!("{delegator:?} does not delegate to {role:?}"))
        })?;
        md.verify(role, &d.keys, &r.keys)
    }

    /// Searches for `path` through `targets` and its delegations in TUF's pre-order depth-first order
    /// (respecting `terminating`). Returns [`Lookup::NeedRole`] when a role on the way is not loaded yet,
    /// and `target.not_found` when no role lists it.
    pub fn resolve_target(&self, path: &str) -> Result<Lookup> {
        let mut stack: Vec<(String, String)> =
            vec![(RoleType::Targets.to_string(), RoleType::Root.to_string())];
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
            // Loaded through another delegator: its authority does not carry over (diamond delegations).
            if !self
                .verified_by
                .get(&role)
                .is_some_and(|by| by.contains(&delegator))
            {
                self.verify_delegated(t, &role, &delegator)?;
            }
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
    use crate::codes::Coded as _;
    use std::collections::BTreeMap;

    use super::*;
    use crate::metadata::{Delegations, MetaFile, NewRole};
    use crate::{PublicKey, SigningKey, TargetFile};

    fn t(s: &str) -> OffsetDateTime {
        crate::cjson::datetime::parse(s).unwrap()
    }

    /// A trusted set with the top-level roles loaded (keys from seeds 1-4: root, targets, snapshot, timestamp),
    /// the snapshot listing `roles` at version 1, and `top` as the top-level targets.
    fn loaded(roles: &[&str], top: Targets) -> TrustedSet {
        let k = |n: u8| SigningKey::from_seed(&[n; 32]);
        let (root_k, targets_k, snap_k, ts_k) = (k(1), k(2), k(3), k(4));
        let far = t("2100-01-01T00:00:00Z");
        let mut root = Root::empty(1, far);
        root.add_key("root", root_k.public()).unwrap();
        root.add_key("targets", targets_k.public()).unwrap();
        root.add_key("snapshot", snap_k.public()).unwrap();
        root.add_key("timestamp", ts_k.public()).unwrap();
        let mut snap = Snapshot::empty(1, far);
        for n in roles {
            snap.meta.insert(format!("{n}.json"), MetaFile::version(1));
        }
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
        set.update_snapshot(&Signed::new(snap, &[&snap_k]).unwrap().to_bytes())
            .unwrap();
        set.update_targets(&Signed::new(top, &[&targets_k]).unwrap().to_bytes())
            .unwrap();
        set
    }

    /// A repository whose `targets` delegates `x0x/*/*` to `a` then `b` (`a` terminating or not); `b` lists
    /// the target, `a` lists nothing.
    fn chain(a_terminating: bool) -> (TrustedSet, Vec<u8>, Vec<u8>) {
        let (a_k, b_k) = (
            SigningKey::from_seed(&[5; 32]),
            SigningKey::from_seed(&[6; 32]),
        );
        let far = t("2100-01-01T00:00:00Z");
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
        (
            loaded(&["targets", "a", "b"], top),
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

    /// tuf-conformance `test_cached_role_is_verified_against_current_delegator`: `targets` delegates `a/*/*`
    /// to `parent-a` and `b/*/*` to `parent-b`; both delegate to one role `release`, each with its own key;
    /// `release` is signed by parent-a's release key only and lists a target under each prefix.
    #[allow(clippy::similar_names)] // parent a / parent b, and their release keys
    fn diamond() -> (TrustedSet, Vec<u8>, Vec<u8>, Vec<u8>) {
        let k = |n: u8| SigningKey::from_seed(&[n; 32]);
        let (parent_a_key, parent_b_key, release_a_key, release_b_key) = (k(5), k(6), k(7), k(8));
        let far = t("2100-01-01T00:00:00Z");
        let delegate = |roles: Vec<(&str, &SigningKey, &str)>| {
            let mut d = Delegations {
                keys: BTreeMap::new(),
                roles: Vec::new(),
                extra: BTreeMap::new(),
            };
            for (name, key, pattern) in roles {
                d.keys
                    .insert(key.public().key_id().unwrap(), key.public().clone());
                let mut r = DelegatedRole::for_package(&"x0x".parse().unwrap(), &[key.public()], 1)
                    .unwrap();
                r.name = name.to_owned();
                r.terminating = false;
                r.paths = Some(vec![pattern.to_owned()]);
                d.roles.push(r);
            }
            d
        };
        let mut top = Targets::empty(1, far);
        top.delegations = Some(delegate(vec![
            ("parent-a", &parent_a_key, "a/*/*"),
            ("parent-b", &parent_b_key, "b/*/*"),
        ]));
        let mut pa = Targets::empty(1, far);
        pa.delegations = Some(delegate(vec![("release", &release_a_key, "a/*/*")]));
        let mut pb = Targets::empty(1, far);
        pb.delegations = Some(delegate(vec![("release", &release_b_key, "b/*/*")]));
        let mut release = Targets::empty(1, far);
        for p in ["a/1.0.0/good.wasm", "b/1.0.0/evil.wasm"] {
            release.targets.insert(
                p.parse().unwrap(),
                TargetFile::for_bytes(p.as_bytes(), None),
            );
        }
        (
            loaded(&["targets", "parent-a", "parent-b", "release"], top),
            Signed::new(pa, &[&parent_a_key]).unwrap().to_bytes(),
            Signed::new(pb, &[&parent_b_key]).unwrap().to_bytes(),
            // Signed by parent-a's release key only: parent-b's key never signed it.
            Signed::new(release, &[&release_a_key]).unwrap().to_bytes(),
        )
    }

    /// Drives the search as a client does: load each role it asks for (from `files`), until found or failed.
    fn search(set: &mut TrustedSet, files: &BTreeMap<&str, Vec<u8>>, path: &str) -> Result<Lookup> {
        loop {
            match set.resolve_target(path)? {
                Lookup::NeedRole { role, delegator } => {
                    set.update_delegated(&files[role.as_str()], &role, &delegator)?;
                }
                found @ Lookup::Found { .. } => return Ok(found),
            }
        }
    }

    #[test]
    fn a_role_reached_through_another_delegator_is_verified_again() {
        let (mut set, pa, pb, release) = diamond();
        let files: BTreeMap<&str, Vec<u8>> = [
            ("parent-a", pa),
            ("parent-b", pb),
            ("release", release.clone()),
        ]
        .into_iter()
        .collect();
        // Through parent-a, release is properly signed.
        match search(&mut set, &files, "a/1.0.0/good.wasm").unwrap() {
            Lookup::Found { role, .. } => assert_eq!(role, "release"),
            other @ Lookup::NeedRole { .. } => panic!("{other:?}"),
        }
        // Through parent-b, the cached release must not inherit parent-a's authority.
        let e = search(&mut set, &files, "b/1.0.0/evil.wasm").unwrap_err();
        assert_eq!(e.code(), "metadata.threshold_not_met", "{e}");
        // Nor may loading it again under parent-b succeed.
        assert_eq!(
            set.update_delegated(&release, "release", "parent-b")
                .unwrap_err()
                .code(),
            "metadata.threshold_not_met"
        );
        // And the first lookup still works afterwards.
        assert!(matches!(
            search(&mut set, &files, "a/1.0.0/good.wasm").unwrap(),
            Lookup::Found { .. }
        ));
    }

    #[test]
    fn a_role_signed_for_both_delegators_is_found_through_either() {
        let (mut set, pa, pb, release) = diamond();
        // Re-sign release with both release keys: valid through both parents.
        let mut md = Signed::<Targets>::from_slice(&release).unwrap();
        md.add_signature(&SigningKey::from_seed(&[8; 32])).unwrap();
        let files: BTreeMap<&str, Vec<u8>> = [
            ("parent-a", pa),
            ("parent-b", pb),
            ("release", md.to_bytes()),
        ]
        .into_iter()
        .collect();
        for p in ["a/1.0.0/good.wasm", "b/1.0.0/evil.wasm"] {
            assert!(matches!(
                search(&mut set, &files, p).unwrap(),
                Lookup::Found { .. }
            ));
        }
    }

    /// A timestamp pair: `old` (version 5, naming snapshot 5) expired at `now`, `rolled` (version 3) valid.
    fn timestamps() -> (TrustedSet, Vec<u8>, Vec<u8>, Vec<u8>) {
        let k = |n: u8| SigningKey::from_seed(&[n; 32]);
        let (root_k, ts_k) = (k(1), k(4));
        let mut root = Root::empty(1, t("2100-01-01T00:00:00Z"));
        for r in ["root", "targets", "snapshot"] {
            root.add_key(r, root_k.public()).unwrap();
        }
        root.add_key("timestamp", ts_k.public()).unwrap();
        let ts = |v: u64, snap: u64, expires: &str| {
            let mut ts = Timestamp::empty(v, t(expires));
            ts.meta
                .insert("snapshot.json".to_owned(), MetaFile::version(snap));
            Signed::new(ts, &[&ts_k]).unwrap().to_bytes()
        };
        let set = TrustedSet::new(
            &Signed::new(root, &[&root_k]).unwrap().to_bytes(),
            t("2030-01-01T00:00:00Z"),
        )
        .unwrap();
        (
            set,
            ts(5, 5, "2029-01-01T00:00:00Z"),
            ts(3, 3, "2100-01-01T00:00:00Z"),
            ts(6, 4, "2100-01-01T00:00:00Z"),
        )
    }

    #[test]
    fn an_expired_trusted_timestamp_is_still_the_rollback_reference() {
        let (mut set, old, rolled, snap_rolled) = timestamps();
        // The persisted timestamp expired: refused as final, kept as the reference.
        assert_eq!(
            set.update_timestamp(&old).unwrap_err().code(),
            "metadata.expired"
        );
        assert_eq!(set.timestamp().unwrap().signed().version, 5);
        let mut again = set.clone();
        assert_eq!(
            set.update_timestamp(&rolled).unwrap_err().code(),
            "metadata.rollback"
        );
        // A newer timestamp that names an older snapshot is a rollback too.
        assert_eq!(
            again.update_timestamp(&snap_rolled).unwrap_err().code(),
            "metadata.rollback"
        );
        // The same (expired) version again is still expired, not accepted.
        assert_eq!(
            again.update_timestamp(&old).unwrap_err().code(),
            "metadata.expired"
        );
        // An expired timestamp never lets a snapshot in.
        assert_eq!(
            again.update_snapshot(b"{}").unwrap_err().code(),
            "metadata.expired"
        );
    }

    #[test]
    fn role_names_are_encoded_before_they_name_files_or_urls() {
        for (name, want) in [
            ("x0x", "x0x"),
            ("../delegatedrole", "..%2Fdelegatedrole"),
            ("/delegatedrole", "%2Fdelegatedrole"),
            ("?", "%3F"),
            ("#", "%23"),
            ("a\\b c%", "a%5Cb%20c%25"),
            ("caf\u{e9}", "caf%C3%A9"),
            ("..", ".."),
        ] {
            let e = encode_role_name(name);
            assert_eq!(e, want, "{name:?}");
            assert!(!e.contains('/') && !e.contains('\\'));
        }
        // Such names are valid role names (tuf-conformance test_unusual_role_name): accepted in metadata.
        let key = SigningKey::from_seed(&[9; 32]);
        let mut top = Targets::empty(1, t("2100-01-01T00:00:00Z"));
        let mut r =
            DelegatedRole::for_package(&"x0x".parse().unwrap(), &[key.public()], 1).unwrap();
        r.name = "../delegatedrole".to_owned();
        top.delegations = Some(Delegations {
            keys: [(key.public().key_id().unwrap(), key.public().clone())].into(),
            roles: vec![r],
            extra: BTreeMap::new(),
        });
        let bytes = Signed::new(top, &[&key]).unwrap().to_bytes();
        Signed::<Targets>::from_slice(&bytes).unwrap();
        let mut snap = Snapshot::empty(1, t("2100-01-01T00:00:00Z"));
        snap.meta
            .insert("../delegatedrole.json".to_owned(), MetaFile::version(1));
        Signed::<Snapshot>::from_slice(&Signed::new(snap, &[&key]).unwrap().to_bytes()).unwrap();
        let (set, ..) = chain(false);
        assert_eq!(set.metadata_file_name(3, "../x"), "3...%2Fx.json");
        assert_eq!(set.metadata_file_name(3, "?"), "3.%3F.json");
    }

    #[test]
    fn duplicate_key_ids_in_a_signature_list_are_refused() {
        let (set, ..) = chain(false);
        let k = SigningKey::from_seed(&[6; 32]);
        let mut md = Signed::new(Targets::empty(1, t("2100-01-01T00:00:00Z")), &[&k]).unwrap();
        let sig = md.signatures()[0].clone();
        md.signatures_mut().push(sig);
        let e = Signed::<Targets>::from_slice(&md.to_bytes()).unwrap_err();
        assert_eq!(e.code(), "metadata.malformed");
        assert!(e.to_string().contains("more than once"), "{e}");
        // In memory too: verify refuses the list before counting.
        let d = set
            .targets("targets")
            .unwrap()
            .signed()
            .delegations
            .clone()
            .unwrap();
        let e = md.verify("b", &d.keys, &d.roles[1].keys).unwrap_err();
        assert_eq!(e.code(), "metadata.malformed");
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
