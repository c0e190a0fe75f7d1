//! The shared tamper table: every way a repository (or a man in the middle) can serve metadata that a TUF
//! client must refuse, as data ([`CASES`]), each with the one stable code every entry point must answer. Each
//! entry point that verifies a chain runs the whole table (`loader/tests/tamper.rs`: the loader's fetch;
//! `cli/tests/tamper.rs`: repository verify, mirror sync, bundle import, the publishing client) and checks
//! that nothing of the tampered chain was kept ([`Kept`]).
//!
//! The chain ([`Chain`]) is real: ed25519 keys, consistent snapshots, the server's layout under `tuf/`
//! (`Chain::repo` is a repository directory, `Chain::serve_root` the folder a static server serves), the
//! package `x0x` delegated by `targets`, two releases (timestamp, snapshot and `x0x` at version 2), the
//! snapshot role with threshold 2 (two keys, so a duplicated key id could reach it if counted twice).
//!
//! A case is *stateful* when only a client that remembers what it trusted can tell (a rollback to an older,
//! validly signed chain, or a new snapshot pinning a role below the version trusted before): entry points with memory (the loader's cache, a mirror, a bundle's destination)
//! accept the good chain first and must then refuse the case; those without (repository verify, the
//! publishing client) run it only as a control that they accept it (they have nothing to compare with).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest as _;
use time::{Duration, OffsetDateTime};
use x0x_dist_manifests::metadata::{DelegatedRole, Delegations, MetaFile, NewRole as _};
use x0x_dist_manifests::{
    PackageName, Platform, Role, Root, Signed, SigningKey, Snapshot, TargetFile, Targets, Timestamp,
};

use crate::loader::{key, timestamp_pinning};

/// One tampering.
#[derive(Clone, Copy)]
pub struct Case {
    /// Short name (test output).
    pub name: &'static str,
    /// The stable code every entry point must fail with.
    pub code: &'static str,
    /// Only detectable with memory of an earlier trusted chain (see the module doc).
    pub stateful: bool,
    /// Applies the tampering to a good chain; returns the bytes of the files that must be refused (none of
    /// them may be kept by the entry point; files the attacker could not forge, such as a timestamp signed by
    /// the timestamp key that pins them, may be kept by a client that persists each role as TUF accepts it).
    pub apply: fn(&mut Chain) -> Vec<Vec<u8>>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.code)
    }
}

/// The table.
pub const CASES: &[Case] = &[
    Case {
        name: "rollback: timestamp v1 served again after v2",
        code: "metadata.rollback",
        stateful: true,
        apply: |c| {
            let old = c.timestamps[0].clone();
            c.write("timestamp.json", &old);
            vec![old]
        },
    },
    Case {
        name: "role rollback: a new snapshot pins x0x v1 after v2",
        code: "metadata.rollback",
        stateful: true,
        apply: |c| {
            c.x0x.version = 1;
            let snap = c.write_snapshot();
            c.timestamp(&snap, c.expires);
            vec![snap]
        },
    },
    Case {
        name: "freeze: a new timestamp that has expired",
        code: "metadata.expired",
        stateful: false,
        apply: |c| {
            let snap = c.file(&format!("{}.snapshot.json", c.snapshot_version));
            let ts = c.timestamp(&snap, OffsetDateTime::now_utc() - Duration::hours(1));
            vec![ts]
        },
    },
    Case {
        name: "mix-and-match: x0x v1 served as the v2 the snapshot pins",
        code: "metadata.version_mismatch",
        stateful: false,
        apply: |c| {
            let v1 = c.file("1.x0x.json");
            c.write(&format!("{}.x0x.json", c.x0x.version), &v1);
            vec![v1]
        },
    },
    Case {
        name: "diamond delegation: x0x signed by a key only a second delegator trusts",
        code: "metadata.threshold_not_met",
        stateful: false,
        apply: |c| c.diamond(),
    },
    Case {
        name: "duplicate key ids: one snapshot signature listed twice",
        code: "metadata.malformed",
        stateful: false,
        apply: |c| {
            let snap = c.snapshot_with(|env| {
                let sigs = env["signatures"].as_array_mut().unwrap();
                let first = sigs[0].clone();
                sigs.clear();
                sigs.push(first.clone());
                sigs.push(first);
            });
            vec![snap]
        },
    },
    Case {
        name: "oversized metadata: timestamp.json over its size limit",
        code: "metadata.too_large",
        stateful: false,
        apply: |c| {
            let mut b = c.file("timestamp.json");
            b.resize(Timestamp::MAX_SIZE + 1, b' ');
            c.write("timestamp.json", &b);
            vec![b]
        },
    },
    Case {
        name: "bad signature: a snapshot signature altered",
        code: "metadata.signature_invalid",
        stateful: false,
        apply: |c| {
            let snap = c.snapshot_with(|env| {
                let sig = env["signatures"][0]["sig"].as_str().unwrap().to_owned();
                let flipped = if sig.starts_with('0') { "1" } else { "0" };
                env["signatures"][0]["sig"] = format!("{flipped}{}", &sig[1..]).into();
            });
            vec![snap]
        },
    },
    Case {
        name: "expired role: the package's role has expired",
        code: "metadata.expired",
        stateful: false,
        apply: |c| {
            c.x0x.expires = OffsetDateTime::now_utc() - Duration::hours(1);
            let x0x = c.write_x0x(&[&key("publisher")]);
            let snap = c.write_snapshot();
            c.timestamp(&snap, c.expires);
            vec![x0x]
        },
    },
];

/// A repository written with real keys, at the state described in the module doc.
#[derive(Debug)]
pub struct Chain {
    /// The folder a static server serves (`<serve_root>/tuf/metadata/...`).
    pub serve_root: PathBuf,
    /// The repository directory (`metadata/`, `targets/`).
    pub repo: PathBuf,
    /// The trusted `1.root.json`.
    pub root: Vec<u8>,
    /// The targets (consistent-snapshot names under `targets/`) and their bytes.
    pub blobs: Vec<Vec<u8>>,
    /// Every timestamp written, oldest first.
    pub timestamps: Vec<Vec<u8>>,
    x0x: Targets,
    targets_version: u64,
    snapshot_version: u64,
    timestamp_version: u64,
    delegated: Vec<(String, u64)>,
    expires: OffsetDateTime,
}

fn sign<T: Role>(t: T, keys: &[&SigningKey]) -> Vec<u8> {
    Signed::new(t, keys).unwrap().to_bytes()
}

fn in_days(d: i64) -> OffsetDateTime {
    (OffsetDateTime::now_utc() + Duration::days(d))
        .replace_nanosecond(0)
        .unwrap()
}

impl Chain {
    /// Writes the good chain under `parent/tuf`.
    pub fn new(parent: &Path) -> Self {
        let repo = parent.join("tuf");
        std::fs::create_dir_all(repo.join("metadata")).unwrap();
        std::fs::create_dir_all(repo.join("targets")).unwrap();
        let mut root = Root::empty(1, in_days(365));
        root.add_key("root", key("root-1").public()).unwrap();
        root.add_key("targets", key("targets").public()).unwrap();
        root.add_key("snapshot", key("snapshot").public()).unwrap();
        root.add_key("snapshot", key("snapshot-2").public())
            .unwrap();
        root.roles.get_mut("snapshot").unwrap().threshold = 2;
        root.add_key("timestamp", key("timestamp").public())
            .unwrap();
        let root = sign(root, &[&key("root-1")]);
        let mut c = Chain {
            serve_root: parent.to_owned(),
            repo,
            root: root.clone(),
            blobs: Vec::new(),
            timestamps: Vec::new(),
            x0x: Targets::empty(0, in_days(30)),
            targets_version: 0,
            snapshot_version: 0,
            timestamp_version: 0,
            delegated: Vec::new(),
            expires: in_days(30),
        };
        c.write("1.root.json", &root);
        c.write("root.json", &root);
        c.write_targets(vec![DelegatedRole::for_package(
            &"x0x".parse().unwrap(),
            &[key("publisher").public()],
            1,
        )
        .unwrap()]);
        for (version, seed) in [("1.0.0", 1u8), ("1.1.0", 2)] {
            c.release(version, seed);
            let snap = c.write_snapshot();
            c.timestamp(&snap, c.expires);
        }
        c
    }

    fn meta(&self, name: &str) -> PathBuf {
        self.repo.join("metadata").join(name)
    }

    /// The bytes of `metadata/<name>`.
    pub fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.meta(name)).unwrap()
    }

    /// Replaces `metadata/<name>`.
    pub fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.meta(name), bytes).unwrap();
    }

    fn release(&mut self, version: &str, seed: u8) {
        let pkg: PackageName = "x0x".parse().unwrap();
        let data: Vec<u8> = (0..4096u32)
            .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed))
            .collect();
        let file = Platform::Wasm32Wasip1.file_name(&pkg);
        let sha = hex::encode(sha2::Sha256::digest(&data));
        let blob = self
            .repo
            .join(format!("targets/x0x/{version}/{sha}.{file}"));
        std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
        std::fs::write(&blob, &data).unwrap();
        self.x0x.targets.insert(
            format!("x0x/{version}/{file}").parse().unwrap(),
            TargetFile::for_bytes(&data, None),
        );
        self.blobs.push(data);
        self.write_x0x(&[&key("publisher")]);
    }

    fn write_targets(&mut self, roles: Vec<DelegatedRole>) -> Vec<u8> {
        self.targets_version += 1;
        let mut t = Targets::empty(self.targets_version, in_days(365));
        let mut keys = BTreeMap::new();
        for name in ["publisher", "other"] {
            let k = key(name);
            keys.insert(k.public().key_id().unwrap(), k.public().clone());
        }
        t.delegations = Some(Delegations {
            keys,
            roles,
            extra: BTreeMap::new(),
        });
        let b = sign(t, &[&key("targets")]);
        self.write(&format!("{}.targets.json", self.targets_version), &b);
        b
    }

    fn write_x0x(&mut self, signers: &[&SigningKey]) -> Vec<u8> {
        self.x0x.version += 1;
        let b = sign(self.x0x.clone(), signers);
        self.write(&format!("{}.x0x.json", self.x0x.version), &b);
        b
    }

    /// The next snapshot (both snapshot keys), pinning the current roles.
    fn snapshot_bytes(&mut self) -> Vec<u8> {
        self.snapshot_version += 1;
        let mut s = Snapshot::empty(self.snapshot_version, self.expires);
        s.meta.insert(
            "targets.json".into(),
            MetaFile::version(self.targets_version),
        );
        s.meta
            .insert("x0x.json".into(), MetaFile::version(self.x0x.version));
        for (role, v) in &self.delegated {
            s.meta.insert(format!("{role}.json"), MetaFile::version(*v));
        }
        sign(s, &[&key("snapshot"), &key("snapshot-2")])
    }

    fn write_snapshot(&mut self) -> Vec<u8> {
        let b = self.snapshot_bytes();
        self.write(&format!("{}.snapshot.json", self.snapshot_version), &b);
        b
    }

    /// The next snapshot with its envelope changed by `edit` (the signatures stay as they were), and a
    /// timestamp pinning exactly those bytes (so only the snapshot's own check can refuse it).
    fn snapshot_with(&mut self, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let good = self.snapshot_bytes();
        let mut env: serde_json::Value = serde_json::from_slice(&good).unwrap();
        edit(&mut env);
        let b = serde_json::to_vec(&env).unwrap();
        self.write(&format!("{}.snapshot.json", self.snapshot_version), &b);
        self.timestamp(&b, self.expires);
        b
    }

    /// Writes the next `timestamp.json`, pinning `snapshot` (version, length and SHA-256), expiring at
    /// `expires`.
    fn timestamp(&mut self, snapshot: &[u8], expires: OffsetDateTime) -> Vec<u8> {
        self.timestamp_version += 1;
        let t = timestamp_pinning(
            self.timestamp_version,
            expires,
            self.snapshot_version,
            snapshot,
        );
        let b = sign(t, &[&key("timestamp")]);
        self.write("timestamp.json", &b);
        self.timestamps.push(b.clone());
        b
    }

    /// `targets` delegates to `other` (first, for `other/*/*`) and to `x0x`; `other` delegates `x0x` to the
    /// attacker's key, which signs the new `x0x`. Reached through `targets`, `x0x` must be verified with
    /// `targets`' keys for it, whatever was loaded through `other`.
    fn diamond(&mut self) -> Vec<Vec<u8>> {
        let mut other =
            DelegatedRole::for_package(&"other".parse().unwrap(), &[key("other").public()], 1)
                .unwrap();
        other.terminating = false;
        let x0x =
            DelegatedRole::for_package(&"x0x".parse().unwrap(), &[key("publisher").public()], 1)
                .unwrap();
        self.write_targets(vec![other, x0x]);
        let mut other_role = Targets::empty(1, in_days(30));
        let attacker = key("attacker");
        other_role.delegations = Some(Delegations {
            keys: BTreeMap::from([(
                attacker.public().key_id().unwrap(),
                attacker.public().clone(),
            )]),
            roles: vec![DelegatedRole::for_package(
                &"x0x".parse().unwrap(),
                &[attacker.public()],
                1,
            )
            .unwrap()],
            extra: BTreeMap::new(),
        });
        let other_bytes = sign(other_role, &[&key("other")]);
        self.write("1.other.json", &other_bytes);
        self.delegated.push(("other".into(), 1));
        let x0x_bytes = self.write_x0x(&[&attacker]);
        let snap = self.write_snapshot();
        self.timestamp(&snap, self.expires);
        vec![x0x_bytes]
    }

    /// Writes a bundle of everything under `repo` (every metadata file, every target) without verifying
    /// anything, as an attacker would hand one over.
    pub fn bundle(&self, out: &Path) {
        use std::io::Write as _;
        use x0x_dist_repository::bundle::{tar, Toc, TocFile, FORMAT, FORMAT_VERSION, TOC_NAME};
        let mut entries: Vec<(String, Vec<u8>, Option<String>)> = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(self.repo.join("metadata"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for n in names {
            let b = self.file(&n);
            entries.push((format!("metadata/{n}"), b, None));
        }
        // The targets of the x0x role the served timestamp leads to (timestamp → snapshot → x0x), so the
        // bundle lists exactly what that chain lists; the newest role when the chain does not parse.
        let ts: Signed<Timestamp> = Signed::from_slice(&self.file("timestamp.json"))
            .unwrap_or_else(|_| Signed::from_slice(&self.timestamps[0]).unwrap());
        let pinned_x0x = std::fs::read(self.meta(&format!(
            "{}.snapshot.json",
            ts.signed().snapshot_meta().version
        )))
        .ok()
        .and_then(|b| Signed::<Snapshot>::from_slice(&b).ok())
        .and_then(|s| s.signed().meta.get("x0x.json").map(|m| m.version))
        .unwrap_or(self.x0x.version);
        let current: Targets =
            Signed::<Targets>::from_slice(&self.file(&format!("{pinned_x0x}.x0x.json")))
                .map_or_else(|_| self.x0x.clone(), |s| s.signed().clone());
        for (path, f) in &current.targets {
            let sha = f.hashes["sha256"].clone();
            let (dir, file) = path.as_str().rsplit_once('/').unwrap();
            let stored = format!("targets/{dir}/{sha}.{file}");
            let b = std::fs::read(self.repo.join(&stored)).unwrap();
            entries.push((stored, b, Some(path.as_str().to_owned())));
        }
        let toc_file = |(name, b, target): &(String, Vec<u8>, Option<String>)| TocFile {
            name: name.clone(),
            length: b.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(b)),
            target: target.clone(),
            platform: None,
        };
        let rfc = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let toc = Toc {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            created: rfc(OffsetDateTime::now_utc()),
            root_version: 1,
            timestamp_version: ts.signed().version,
            snapshot_version: ts.signed().snapshot_meta().version,
            timestamp_expires: rfc(ts.signed().expires),
            packages: BTreeMap::from([(
                "x0x".to_owned(),
                vec!["1.0.0".to_owned(), "1.1.0".to_owned()],
            )]),
            metadata: entries
                .iter()
                .filter(|e| e.2.is_none())
                .map(toc_file)
                .collect(),
            targets: entries
                .iter()
                .filter(|e| e.2.is_some())
                .map(toc_file)
                .collect(),
            npm: Vec::new(),
        };
        let mut w = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
        let mut entry = |name: &str, data: &[u8]| {
            w.write_all(&tar::header(name, data.len() as u64, 0).unwrap())
                .unwrap();
            w.write_all(data).unwrap();
            w.write_all(&[0u8; tar::BLOCK][..tar::padding(data.len() as u64)])
                .unwrap();
        };
        entry(TOC_NAME, &serde_json::to_vec_pretty(&toc).unwrap());
        for (name, b, _) in &entries {
            entry(name, b);
        }
        tar::finish(&mut w).unwrap();
        w.flush().unwrap();
    }
}

/// Every file under `dir` with its bytes (an absent `dir` is empty).
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(b) = std::fs::read(&p) {
                out.insert(p, b);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// What an entry point may have kept after refusing a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Nothing changed at all (a mirror, a bundle's destination, a verified repository).
    Nothing,
    /// Only files of the chain it verified before the failure (the loader persists each role as TUF
    /// accepts it): none of the tampered bytes and no target.
    NoTamperedFileNoTarget,
}

/// Asserts what `after` (the state `before` became) may hold under `kept`: `tampered` bytes never, targets
/// (`blobs`) never (unless they were there before).
pub fn assert_kept(
    case: &Case,
    kept: Kept,
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    tampered: &[Vec<u8>],
    blobs: &[Vec<u8>],
) {
    match kept {
        Kept::Nothing => assert!(
            before == after,
            "{case:?}: the state changed: {:?}",
            after
                .keys()
                .filter(|k| before.get(*k) != after.get(*k))
                .collect::<Vec<_>>()
        ),
        Kept::NoTamperedFileNoTarget => {
            for (p, b) in after {
                if before.get(p) == Some(b) {
                    continue;
                }
                assert!(
                    !tampered.contains(b),
                    "{case:?}: tampered bytes kept in {}",
                    p.display()
                );
                assert!(
                    !blobs.contains(b),
                    "{case:?}: a target was kept in {}",
                    p.display()
                );
            }
        }
    }
}
