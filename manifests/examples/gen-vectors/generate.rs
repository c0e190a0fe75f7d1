//! The vector generator, shared by the `gen-vectors` example and the drift test.
//!
//! Layout (paths relative to the workspace root):
//! - `manifests/vectors/platforms.json`: the platform table. `manifests/vectors/retry.json`: the retry policy. `docs/error-codes.md`: the codes table.
//! - `manifests/vectors/keys.json`: the test keys (seeds are public: TEST ONLY).
//! - `manifests/vectors/repo/`: a valid repository in consistent-snapshot layout: `metadata/1.root.json`,
//!   `2.root.json` (rotation), `1.targets.json` (delegates `x0x/*/*` to role `x0x`), `1.x0x.json`,
//!   `1.snapshot.json`, `timestamp.json`; `targets/x0x/0.3.1/<sha256>.<file>`.
//! - `manifests/vectors/index.json`: every case name. `manifests/vectors/cases/<name>.json`: one descriptor per
//!   case; case-specific files in `manifests/vectors/cases/<name>/`.
//!
//! A descriptor: `{"name", "description", "now", "steps": [...], "expect": {"result": "ok"} |
//! {"result": "error", "code": <stable code>, "step": <index of the failing step>}}`. Steps run in order; all
//! steps before `expect.step` must succeed. Step ops (files relative to `manifests/vectors/`):
//! - `{"op": "root", "file"}`: trust this root (self-signed threshold check);
//! - `{"op": "update_root", "file"}`: rotate to the next root;
//! - `{"op": "timestamp" | "snapshot" | "targets", "file"}`: load that role;
//! - `{"op": "delegated", "role", "delegator", "file"}`: load a delegated targets role;
//! - `{"op": "target", "path", "file"}`: use `path` as a package artifact, as the loaders do: check it is a
//!   package target path (as `target_path`), resolve it through the delegations and check the file's bytes
//!   against the length and every listed hash;
//! - `{"op": "target_name", "value"}`: validate a target path as a targets role may list it (any safe path;
//!   a role listing an unsafe one is refused when it is loaded);
//! - `{"op": "target_path", "value"}`: validate a package artifact's target path `<package>/<version>/<file>`
//!   (the loaders' check of a path they resolve, the server's of a path it publishes);
//! - `{"op": "platform_file", "value"}`: parse an artifact file name with the platform table;
//! - `{"op": "platform_name", "value"}`: look up a napi platform name.

// A test-data script: terse local names and by-value builders read best here.
#![allow(
    clippy::similar_names,
    clippy::many_single_char_names,
    clippy::needless_pass_by_value
)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::Digest as _;
use time::OffsetDateTime;
use x0x_dist_manifests::metadata::{DelegatedRole, Delegations, MetaFile, NewRole, RoleKeys};
use x0x_dist_manifests::{
    codes, platform, PackageName, Platform, PublicKey, Root, Signed, SigningKey, Snapshot,
    TargetCustom, TargetFile, TargetPath, Targets, Timestamp, Version,
};

/// The verification time of every case.
pub const NOW: &str = "2030-01-01T00:00:00Z";
const FUTURE: &str = "2100-01-01T00:00:00Z";
const PAST: &str = "2020-01-01T00:00:00Z";
const V: &str = "repo/metadata";

fn date(s: &str) -> OffsetDateTime {
    x0x_dist_manifests::cjson::datetime::parse(s).expect("valid date")
}

fn key(name: &str) -> SigningKey {
    let seed: [u8; 32] = sha2::Sha256::digest(format!("x0x-dist test vector key: {name}")).into();
    SigningKey::from_seed(&seed)
}

struct Keys {
    root1: SigningKey,
    root2: SigningKey,
    targets: SigningKey,
    snapshot: SigningKey,
    timestamp: SigningKey,
    pub_a: SigningKey,
    pub_b: SigningKey,
}

impl Keys {
    fn new() -> Self {
        Keys {
            root1: key("root-1"),
            root2: key("root-2"),
            targets: key("targets"),
            snapshot: key("snapshot"),
            timestamp: key("timestamp"),
            pub_a: key("publisher-a"),
            pub_b: key("publisher-b"),
        }
    }
}

fn root(k: &Keys, version: u64, root_key: &SigningKey, expires: &str) -> Root {
    let mut r = Root::empty(version, date(expires));
    r.add_key("root", root_key.public()).unwrap();
    r.add_key("targets", k.targets.public()).unwrap();
    r.add_key("snapshot", k.snapshot.public()).unwrap();
    r.add_key("timestamp", k.timestamp.public()).unwrap();
    r
}

fn x0x() -> PackageName {
    "x0x".parse().unwrap()
}

fn artifact(p: Platform) -> (String, Vec<u8>) {
    let file = p.file_name(&x0x());
    (
        format!("x0x/0.3.1/{file}"),
        format!("x0x test payload for {}\n", p.name()).into_bytes(),
    )
}

fn artifacts() -> Vec<(Platform, String, Vec<u8>)> {
    [Platform::LinuxX64Gnu, Platform::Wasm32Wasip1]
        .into_iter()
        .map(|p| {
            let (path, data) = artifact(p);
            (p, path, data)
        })
        .collect()
}

fn x0x_role(version: u64, expires: &str) -> Targets {
    let mut t = Targets::empty(version, date(expires));
    let ver: Version = "0.3.1".parse().unwrap();
    for (p, path, data) in artifacts() {
        let floor = (p == Platform::LinuxX64Gnu).then(|| "2.17".to_owned());
        let custom = TargetCustom::new(&x0x(), &ver, p, floor);
        t.targets.insert(
            path.parse().unwrap(),
            TargetFile::for_bytes(&data, Some(&custom)),
        );
    }
    t
}

fn top_targets(delegated: Vec<DelegatedRole>, keys: &[&PublicKey]) -> Targets {
    let mut t = Targets::empty(1, date(FUTURE));
    t.delegations = Some(Delegations {
        keys: keys
            .iter()
            .map(|k| (k.key_id().unwrap(), (*k).clone()))
            .collect(),
        roles: delegated,
        extra: BTreeMap::new(),
    });
    // An unknown field: signatures must cover it, verifiers must keep it.
    t.extra.insert(
        "x-x0x-note".to_owned(),
        json!({"purpose": "unknown fields are signed and preserved"}),
    );
    t
}

fn snapshot(version: u64, roles: &[(&str, u64)]) -> Snapshot {
    let mut s = Snapshot::empty(version, date(FUTURE));
    for (name, v) in roles {
        s.meta.insert(format!("{name}.json"), MetaFile::version(*v));
    }
    s
}

fn timestamp(
    version: u64,
    snapshot_bytes: &[u8],
    snapshot_version: u64,
    expires: &str,
) -> Timestamp {
    let mut t = Timestamp::empty(version, date(expires));
    let mut m = MetaFile::version(snapshot_version);
    m.length = Some(snapshot_bytes.len() as u64);
    m.hashes = Some(BTreeMap::from([(
        "sha256".to_owned(),
        hex::encode(sha2::Sha256::digest(snapshot_bytes)),
    )]));
    t.meta.insert("snapshot.json".to_owned(), m);
    t
}

fn sign<T: x0x_dist_manifests::Role>(t: T, keys: &[&SigningKey]) -> Vec<u8> {
    Signed::new(t, keys).unwrap().to_bytes()
}

struct Out {
    files: Vec<(String, Vec<u8>)>,
    cases: Vec<String>,
}

impl Out {
    fn file(&mut self, rel: &str, bytes: Vec<u8>) {
        self.files.push((format!("manifests/vectors/{rel}"), bytes));
    }
    fn case(&mut self, name: &str, description: &str, steps: Vec<Value>, expect: Value) {
        let doc = json!({"name": name, "description": description, "now": NOW, "steps": steps, "expect": expect});
        let mut b = serde_json::to_vec_pretty(&doc).unwrap();
        b.push(b'\n');
        self.file(&format!("cases/{name}.json"), b);
        self.cases.push(name.to_owned());
    }
    fn case_file(&mut self, case: &str, name: &str, bytes: Vec<u8>) -> String {
        let rel = format!("cases/{case}/{name}");
        self.file(&rel, bytes);
        rel
    }
}

fn step(op: &str, file: &str) -> Value {
    json!({"op": op, "file": file})
}

fn ok() -> Value {
    json!({"result": "ok"})
}

fn err(code: &str, step: usize) -> Value {
    assert!(codes::info(code).is_some(), "unknown code {code}");
    json!({"result": "error", "code": code, "step": step})
}

/// Every generated file: (path relative to the workspace root, bytes).
#[allow(clippy::too_many_lines)]
pub fn generate() -> Vec<(String, Vec<u8>)> {
    let k = Keys::new();
    let mut out = Out {
        files: Vec::new(),
        cases: Vec::new(),
    };
    out.files.push((
        "manifests/vectors/platforms.json".to_owned(),
        platform::table_json().into_bytes(),
    ));
    out.files.push((
        "manifests/vectors/retry.json".to_owned(),
        x0x_dist_manifests::retry::vector_json().into_bytes(),
    ));
    out.files.push((
        "docs/error-codes.md".to_owned(),
        codes::render_markdown().into_bytes(),
    ));

    let mut keys_doc = serde_json::Map::new();
    for (name, sk) in [
        ("root-1", &k.root1),
        ("root-2", &k.root2),
        ("targets", &k.targets),
        ("snapshot", &k.snapshot),
        ("timestamp", &k.timestamp),
        ("publisher-a", &k.pub_a),
        ("publisher-b", &k.pub_b),
    ] {
        let secret: Value = serde_json::from_slice(&sk.to_secret_file().unwrap()).unwrap();
        keys_doc.insert(name.to_owned(), secret);
    }
    let mut kb = serde_json::to_vec_pretty(&json!({
        "comment": "TEST KEYS ONLY: seeds are sha256(\"x0x-dist test vector key: <name>\"). Key file format of `x0x-dist keygen`.",
        "keys": keys_doc,
    }))
    .unwrap();
    kb.push(b'\n');
    out.file("keys.json", kb);

    // --- The valid repository.
    let root1 = sign(root(&k, 1, &k.root1, FUTURE), &[&k.root1]);
    let root2 = sign(root(&k, 2, &k.root2, FUTURE), &[&k.root1, &k.root2]);
    let x0x_deleg = DelegatedRole::for_package(&x0x(), &[k.pub_a.public()], 1).unwrap();
    let targets = sign(
        top_targets(vec![x0x_deleg], &[k.pub_a.public()]),
        &[&k.targets],
    );
    let x0x1 = sign(x0x_role(1, FUTURE), &[&k.pub_a]);
    let snap1 = sign(snapshot(1, &[("targets", 1), ("x0x", 1)]), &[&k.snapshot]);
    let ts1 = sign(timestamp(1, &snap1, 1, FUTURE), &[&k.timestamp]);
    for (name, bytes) in [
        ("1.root.json", &root1),
        ("2.root.json", &root2),
        ("root.json", &root2),
        ("1.targets.json", &targets),
        ("1.x0x.json", &x0x1),
        ("1.snapshot.json", &snap1),
        ("timestamp.json", &ts1),
    ] {
        out.file(&format!("{V}/{name}"), bytes.clone());
    }
    let mut target_steps = Vec::new();
    for (_, path, data) in artifacts() {
        let sha = hex::encode(sha2::Sha256::digest(&data));
        let (dir, file) = path.rsplit_once('/').unwrap();
        let rel = format!("repo/targets/{dir}/{sha}.{file}");
        out.file(&rel, data);
        target_steps.push(json!({"op": "target", "path": path, "file": rel}));
    }
    let chain = |ts: &str, snap: &str, tg: &str, x: &str| -> Vec<Value> {
        vec![
            step("root", &format!("{V}/1.root.json")),
            step("update_root", &format!("{V}/2.root.json")),
            step("timestamp", ts),
            step("snapshot", snap),
            step("targets", tg),
            json!({"op": "delegated", "role": "x0x", "delegator": "targets", "file": x}),
        ]
    };
    let ts_p = format!("{V}/timestamp.json");
    let snap_p = format!("{V}/1.snapshot.json");
    let tg_p = format!("{V}/1.targets.json");
    let x_p = format!("{V}/1.x0x.json");
    let valid = chain(&ts_p, &snap_p, &tg_p, &x_p);

    let mut steps = valid.clone();
    steps.extend(target_steps.clone());
    out.case(
        "valid",
        "A valid repository: root rotation 1->2, the full chain, every target verifies.",
        steps,
        ok(),
    );

    // --- Signatures and thresholds.
    let mut bad = Signed::<Timestamp>::from_slice(&ts1).unwrap();
    let s = &mut bad.signatures_mut()[0].sig;
    let flipped = if s.starts_with('0') { "1" } else { "0" };
    s.replace_range(0..1, flipped);
    let f = out.case_file("bad-signature", "timestamp.json", bad.to_bytes());
    out.case(
        "bad-signature",
        "The timestamp's only signature has one hex digit changed.",
        chain(&f, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.signature_invalid", 2),
    );

    let mut unsigned = Signed::<Timestamp>::from_slice(&ts1).unwrap();
    unsigned.signatures_mut().clear();
    let f = out.case_file("unsigned", "timestamp.json", unsigned.to_bytes());
    out.case(
        "unsigned",
        "The timestamp has no signatures.",
        chain(&f, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.threshold_not_met", 2),
    );

    let wrong_key = sign(timestamp(1, &snap1, 1, FUTURE), &[&k.snapshot]);
    let f = out.case_file("wrong-key", "timestamp.json", wrong_key);
    out.case(
        "wrong-key",
        "The timestamp is validly signed, but by the snapshot key, which root does not authorize for timestamp.",
        chain(&f, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.threshold_not_met", 2),
    );

    let deleg2 =
        DelegatedRole::for_package(&x0x(), &[k.pub_a.public(), k.pub_b.public()], 2).unwrap();
    let targets_t2 = sign(
        top_targets(vec![deleg2], &[k.pub_a.public(), k.pub_b.public()]),
        &[&k.targets],
    );
    let tg2 = out.case_file("threshold-not-met", "1.targets.json", targets_t2.clone());
    let one_sig = out.case_file("threshold-not-met", "1.x0x.json", x0x1.clone());
    out.case(
        "threshold-not-met",
        "Role x0x needs 2 of {publisher-a, publisher-b}; only publisher-a signed.",
        chain(&ts_p, &snap_p, &tg2, &one_sig),
        err("metadata.threshold_not_met", 5),
    );
    let both = out.case_file(
        "threshold-met",
        "1.x0x.json",
        sign(x0x_role(1, FUTURE), &[&k.pub_a, &k.pub_b]),
    );
    let mut steps = chain(&ts_p, &snap_p, &tg2, &both);
    steps.push(target_steps[0].clone());
    out.case(
        "threshold-met",
        "Role x0x needs 2 of {publisher-a, publisher-b}; both signed.",
        steps,
        ok(),
    );

    let mut dup = Signed::<Targets>::from_slice(&x0x1).unwrap();
    let first = dup.signatures()[0].clone();
    dup.signatures_mut().push(first);
    let dupf = out.case_file("duplicate-signature", "1.x0x.json", dup.to_bytes());
    out.case(
        "duplicate-signature",
        "Role x0x's signature list names publisher-a's key id twice: refused as malformed (TUF: a key id \
         MUST be unique in signatures; tuf-conformance test_duplicate_sig_keyids), whatever the threshold.",
        chain(&ts_p, &snap_p, &tg2, &dupf),
        err("metadata.malformed", 5),
    );

    // The same key material listed under two key ids (the second id is not its hash), both signing.
    let alias_id = x0x_dist_manifests::KeyId::parse(&"f".repeat(64)).unwrap();
    let mut t = top_targets(vec![], &[k.pub_a.public()]);
    let d = t.delegations.as_mut().unwrap();
    d.keys.insert(alias_id.clone(), k.pub_a.public().clone());
    d.roles.push(DelegatedRole {
        name: "x0x".to_owned(),
        keys: RoleKeys {
            keyids: vec![k.pub_a.key_id().clone(), alias_id.clone()],
            threshold: 2,
            extra: BTreeMap::new(),
        },
        terminating: true,
        paths: Some(vec!["x0x/*/*".to_owned()]),
        path_hash_prefixes: None,
    });
    let tg_alias = out.case_file(
        "duplicate-key-two-ids",
        "1.targets.json",
        sign(t, &[&k.targets]),
    );
    let mut aliased = Signed::<Targets>::from_slice(&x0x1).unwrap();
    let mut s2 = aliased.signatures()[0].clone();
    s2.keyid = alias_id;
    aliased.signatures_mut().push(s2);
    let xf = out.case_file("duplicate-key-two-ids", "1.x0x.json", aliased.to_bytes());
    out.case(
        "duplicate-key-two-ids",
        "Role x0x needs 2 signatures; one key is listed under two key ids and signs under both: it counts once.",
        chain(&ts_p, &snap_p, &tg_alias, &xf),
        err("metadata.threshold_not_met", 5),
    );

    let rot_bad = out.case_file(
        "root-rotation-not-signed-by-old",
        "2.root.json",
        sign(root(&k, 2, &k.root2, FUTURE), &[&k.root2]),
    );
    out.case(
        "root-rotation-not-signed-by-old",
        "2.root.json is signed only by the new root key, not by the trusted root's key.",
        vec![
            step("root", &format!("{V}/1.root.json")),
            step("update_root", &rot_bad),
        ],
        err("metadata.threshold_not_met", 1),
    );
    let rot_skip = out.case_file(
        "root-rotation-skips-version",
        "3.root.json",
        sign(root(&k, 3, &k.root1, FUTURE), &[&k.root1]),
    );
    out.case(
        "root-rotation-skips-version",
        "The next root offered after version 1 has version 3.",
        vec![
            step("root", &format!("{V}/1.root.json")),
            step("update_root", &rot_skip),
        ],
        err("metadata.version_mismatch", 1),
    );

    // --- Expiry.
    let f = out.case_file(
        "expired-timestamp",
        "timestamp.json",
        sign(timestamp(1, &snap1, 1, PAST), &[&k.timestamp]),
    );
    out.case(
        "expired-timestamp",
        "The timestamp expired in 2020.",
        chain(&f, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.expired", 2),
    );
    let f = out.case_file(
        "expired-root",
        "1.root.json",
        sign(root(&k, 1, &k.root1, PAST), &[&k.root1]),
    );
    out.case(
        "expired-root",
        "The trusted root expired and no newer root is offered: loading the timestamp fails.",
        vec![step("root", &f), step("timestamp", &ts_p)],
        err("metadata.expired", 1),
    );
    let f = out.case_file(
        "expired-delegated",
        "1.x0x.json",
        sign(x0x_role(1, PAST), &[&k.pub_a]),
    );
    out.case(
        "expired-delegated",
        "Role x0x expired.",
        chain(&ts_p, &snap_p, &tg_p, &f),
        err("metadata.expired", 5),
    );

    // --- Rollback and version pinning.
    let ts2 = out.case_file(
        "rollback-timestamp",
        "timestamp.v2.json",
        sign(timestamp(2, &snap1, 1, FUTURE), &[&k.timestamp]),
    );
    out.case(
        "rollback-timestamp",
        "Timestamp version 2 is trusted, then version 1 is offered.",
        vec![
            step("root", &format!("{V}/1.root.json")),
            step("timestamp", &ts2),
            step("timestamp", &ts_p),
        ],
        err("metadata.rollback", 2),
    );
    let snap2_bytes = sign(snapshot(2, &[("targets", 1)]), &[&k.snapshot]);
    let snap2 = out.case_file(
        "snapshot-drops-role",
        "2.snapshot.json",
        snap2_bytes.clone(),
    );
    let ts_s2 = out.case_file(
        "snapshot-drops-role",
        "timestamp.json",
        sign(timestamp(2, &snap2_bytes, 2, FUTURE), &[&k.timestamp]),
    );
    out.case(
        "snapshot-drops-role",
        "A newer snapshot no longer lists role x0x, which the trusted snapshot listed.",
        vec![
            step("root", &format!("{V}/1.root.json")),
            step("timestamp", &ts_p),
            step("snapshot", &snap_p),
            step("timestamp", &ts_s2),
            step("snapshot", &snap2),
        ],
        err("metadata.missing_role", 4),
    );
    let x2 = out.case_file(
        "delegated-version-mismatch",
        "2.x0x.json",
        sign(x0x_role(2, FUTURE), &[&k.pub_a]),
    );
    out.case(
        "delegated-version-mismatch",
        "Snapshot pins x0x version 1; version 2 is offered.",
        chain(&ts_p, &snap_p, &tg_p, &x2),
        err("metadata.version_mismatch", 5),
    );

    let snap_hi = sign(snapshot(1, &[("targets", 1), ("x0x", 2)]), &[&k.snapshot]);
    let snap_lo = sign(snapshot(2, &[("targets", 1), ("x0x", 1)]), &[&k.snapshot]);
    let ts_hi = sign(timestamp(1, &snap_hi, 1, FUTURE), &[&k.timestamp]);
    let ts_lo = sign(timestamp(2, &snap_lo, 2, FUTURE), &[&k.timestamp]);
    let c = "snapshot-role-rollback";
    let (a, b) = (
        out.case_file(c, "1.snapshot.json", snap_hi),
        out.case_file(c, "2.snapshot.json", snap_lo),
    );
    let (ta, tb) = (
        out.case_file(c, "timestamp.v1.json", ts_hi),
        out.case_file(c, "timestamp.v2.json", ts_lo),
    );
    out.case(
        c,
        "The trusted snapshot lists x0x version 2; a newer snapshot lists x0x version 1.",
        vec![
            step("root", &format!("{V}/1.root.json")),
            step("timestamp", &ta),
            step("snapshot", &a),
            step("timestamp", &tb),
            step("snapshot", &b),
        ],
        err("metadata.rollback", 4),
    );
    let c = "timestamp-pins-older-snapshot";
    let t1 = out.case_file(
        c,
        "timestamp.v1.json",
        sign(timestamp(1, &snap1, 2, FUTURE), &[&k.timestamp]),
    );
    let t2 = out.case_file(
        c,
        "timestamp.v2.json",
        sign(timestamp(2, &snap1, 1, FUTURE), &[&k.timestamp]),
    );
    out.case(
        c,
        "Timestamp version 1 pins snapshot version 2; timestamp version 2 pins snapshot version 1.",
        vec![
            step("root", &format!("{V}/1.root.json")),
            step("timestamp", &t1),
            step("timestamp", &t2),
        ],
        err("metadata.rollback", 2),
    );
    let f = out.case_file(
        "delegated-wrong-signer",
        "1.x0x.json",
        sign(x0x_role(1, FUTURE), &[&k.targets]),
    );
    out.case(
        "delegated-wrong-signer",
        "Role x0x is signed by the top-level targets key, not by its delegated publisher key.",
        chain(&ts_p, &snap_p, &tg_p, &f),
        err("metadata.threshold_not_met", 5),
    );

    // --- Wrong type, malformed, too large.
    out.case(
        "wrong-type",
        "The targets metadata is offered as the timestamp.",
        chain(&tg_p, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.wrong_type", 2),
    );
    let text = String::from_utf8(ts1.clone()).unwrap();
    let dup_key = text.replacen(
        "\"_type\": \"timestamp\",",
        "\"_type\": \"timestamp\",\n    \"_type\": \"timestamp\",",
        1,
    );
    assert_ne!(dup_key, text);
    let f = out.case_file("duplicate-json-key", "timestamp.json", dup_key.into_bytes());
    out.case(
        "duplicate-json-key",
        "The timestamp has a duplicated JSON key.",
        chain(&f, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.malformed", 2),
    );
    let float = text.replacen("\"version\": 1", "\"version\": 1.0", 1);
    let f = out.case_file("float-version", "timestamp.json", float.into_bytes());
    out.case(
        "float-version",
        "The timestamp's version is a float.",
        chain(&f, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.malformed", 2),
    );
    let mut big = sign(timestamp(1, &snap1, 1, FUTURE), &[&k.timestamp]);
    big.pop();
    big.extend(std::iter::repeat_n(b' ', 70 * 1024));
    big.push(b'\n');
    let f = out.case_file("too-large", "timestamp.json", big);
    out.case(
        "too-large",
        "The timestamp is over 64 KiB (padded with whitespace).",
        chain(&f, &snap_p, &tg_p, &x_p)[..3].to_vec(),
        err("metadata.too_large", 2),
    );

    // --- Metadata hashes pinned by timestamp.
    let mut s = snapshot(1, &[("targets", 1), ("x0x", 1)]);
    s.expires = date("2100-01-02T00:00:00Z");
    let tampered = sign(s, &[&k.snapshot]);
    assert_eq!(tampered.len(), snap1.len());
    let f = out.case_file("snapshot-digest-mismatch", "1.snapshot.json", tampered);
    out.case(
        "snapshot-digest-mismatch",
        "A validly signed snapshot of the pinned version and length, but not the bytes whose SHA-256 timestamp pins.",
        chain(&ts_p, &f, &tg_p, &x_p)[..4].to_vec(),
        err("metadata.digest_mismatch", 3),
    );
    let mut longer = snap1.clone();
    longer.push(b'\n');
    let f = out.case_file("snapshot-length-mismatch", "1.snapshot.json", longer);
    out.case(
        "snapshot-length-mismatch",
        "The snapshot has one extra byte.",
        chain(&ts_p, &f, &tg_p, &x_p)[..4].to_vec(),
        err("metadata.length_mismatch", 3),
    );

    // --- Targets.
    let (_, path, data) = artifacts().remove(0);
    let mut flipped = data.clone();
    flipped[0] ^= 1;
    let f = out.case_file("target-digest-mismatch", "x0x.linux-x64-gnu.node", flipped);
    let mut steps = valid.clone();
    steps.push(json!({"op": "target", "path": path, "file": f}));
    out.case(
        "target-digest-mismatch",
        "The target has one bit flipped.",
        steps,
        err("target.digest_mismatch", 6),
    );
    let mut longer = data.clone();
    longer.push(0);
    let f = out.case_file("target-length-mismatch", "x0x.linux-x64-gnu.node", longer);
    let mut steps = valid.clone();
    steps.push(json!({"op": "target", "path": path, "file": f}));
    out.case(
        "target-length-mismatch",
        "The target has one extra byte.",
        steps,
        err("target.length_mismatch", 6),
    );

    let mut steps = valid.clone();
    steps.push(json!({"op": "target", "path": "x0x/0.3.1/x0x.darwin-arm64.node", "file": target_steps[0]["file"]}));
    out.case(
        "target-not-listed",
        "A target no verified role lists.",
        steps,
        err("target.not_found", 6),
    );

    // A path traversal inside validly signed metadata.
    let mut raw: Value = serde_json::to_value(x0x_role(1, FUTURE)).unwrap();
    let entry = raw["targets"]["x0x/0.3.1/x0x.linux-x64-gnu.node"].clone();
    raw["targets"]["x0x/0.3.1/../../../etc/passwd"] = entry;
    let canonical = x0x_dist_manifests::cjson::canonical(&raw).unwrap();
    let doc = json!({"signatures": [k.pub_a.sign(&canonical).unwrap()], "signed": raw});
    let mut b = serde_json::to_vec_pretty(&doc).unwrap();
    b.push(b'\n');
    let f = out.case_file("target-path-traversal", "1.x0x.json", b);
    out.case(
        "target-path-traversal",
        "Role x0x (validly signed) lists `x0x/0.3.1/../../../etc/passwd`.",
        chain(&ts_p, &snap_p, &tg_p, &f),
        err("target.path_invalid", 5),
    );

    // Key types (manifests/src/keys/public.rs, loader/js/lib/keys.js). Signatures by ecdsa/rsa keys are randomized,
    // so these cases are signed by the ed25519 root key and pin what the key dicts themselves decide: a supported
    // type with a malformed key is refused where root is parsed; an unsupported (keytype, scheme) is carried.
    let rsa_pem = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw2x785U7b0/bklWTxXaK\nOVVWbVw5cQpMQ2XBxyphZp5zSO/SRVldxcNwjAcoMbz8iU9z25MDpwr2hMcRuIP0\nFbEGCo+IFje0y1kTMiBZxmVeF0h/86YmBovxBMhTngy3XRvSYYfz6WOxjkHOJbIf\n87Vra0gHlw5N2Ou6lsSAjjfxiAjdcCIwhm5MX2+rPddzt2EOJfqKget/QHPwvxN0\naH/xvxUaEPVtQibTPFvM3viov0hCIwlZO+CvA3bwi1GRl8BfVLEaSlQa1GLxzGN/\nNP1LHPIKWX9uYI4LO1eZV7ZoOV4Q/pcnIGbT8sN3UIe4zkxQZrcdJzQBr7PJoxOi\nGwIDAQAB\n-----END PUBLIC KEY-----\n";
    for (name, description, key, expect) in [
        (
            "key-ecdsa-malformed",
            "Root lists an ecdsa-sha2-nistp256 key whose keyval.public is not a SubjectPublicKeyInfo.",
            json!({"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
                   "keyval": {"public": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}),
            err("metadata.key_invalid", 0),
        ),
        (
            "key-rsa-under-ecdsa-scheme",
            "Root lists an RSA public key under the ecdsa-sha2-nistp256 scheme.",
            json!({"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": rsa_pem}}),
            err("metadata.key_invalid", 0),
        ),
        (
            "key-rsa-zero-modulus",
            "Root lists an rsa key whose modulus is the INTEGER 0 (must be refused, never crash a client).",
            json!({"keytype": "rsa", "scheme": "rsassa-pss-sha256",
                   "keyval": {"public": "-----BEGIN PUBLIC KEY-----\nMBwwDQYJKoZIhvcNAQEBBQADCwAwCAIBAAIDAQAB\n-----END PUBLIC KEY-----\n"}}),
            err("metadata.key_invalid", 0),
        ),
        (
            "key-unsupported-scheme-carried",
            "Root lists an rsa-pkcs1v15-sha256 key (unsupported: carried, never counted); the chain verifies.",
            json!({"keytype": "rsa", "scheme": "rsa-pkcs1v15-sha256", "keyval": {"public": rsa_pem}}),
            ok(),
        ),
    ] {
        let mut raw: Value = serde_json::to_value(root(&k, 1, &k.root1, FUTURE)).unwrap();
        raw["keys"]["0".repeat(64)] = key;
        let canonical = x0x_dist_manifests::cjson::canonical(&raw).unwrap();
        let doc = json!({"signatures": [k.root1.sign(&canonical).unwrap()], "signed": raw});
        let mut b = serde_json::to_vec_pretty(&doc).unwrap();
        b.push(b'\n');
        let f = out.case_file(name, "1.root.json", b);
        let mut steps = vec![step("root", &f)];
        if expect == ok() {
            steps.extend(valid[2..].iter().cloned());
        }
        out.case(name, description, steps, expect);
    }

    // A role listing a target outside its delegated paths: never trusted for it.
    let mut t = x0x_role(1, FUTURE);
    let (_, _, data) = artifacts().remove(0);
    let other: TargetPath = "other/1.0.0/x0x.linux-x64-gnu.node".parse().unwrap();
    t.targets
        .insert(other.name(), TargetFile::for_bytes(&data, None));
    let f = out.case_file(
        "target-outside-delegation",
        "1.x0x.json",
        sign(t, &[&k.pub_a]),
    );
    let mut steps = chain(&ts_p, &snap_p, &tg_p, &f);
    steps.push(json!({"op": "target", "path": other.as_str(), "file": target_steps[0]["file"]}));
    out.case(
        "target-outside-delegation",
        "Role x0x (delegated only x0x/*/*) lists other/1.0.0/...: the search never trusts it for that path.",
        steps,
        err("target.not_found", 6),
    );

    // A validly signed role may list a path that is not a package artifact (TUF sets no shape): the role
    // loads and its other targets resolve; the loaders refuse the path when asked to use it as an artifact.
    let mut t = x0x_role(1, FUTURE);
    let (_, _, data) = artifacts().remove(0);
    t.targets.insert(
        "x0x/docs/README.md".parse().unwrap(),
        TargetFile::for_bytes(&data, None),
    );
    let f = out.case_file(
        "target-listed-not-package",
        "1.x0x.json",
        sign(t, &[&k.pub_a]),
    );
    let mut steps = chain(&ts_p, &snap_p, &tg_p, &f);
    steps.push(target_steps[0].clone());
    steps.push(
        json!({"op": "target", "path": "x0x/docs/README.md", "file": target_steps[0]["file"]}),
    );
    out.case(
        "target-listed-not-package",
        "Role x0x (validly signed) also lists `x0x/docs/README.md`: it loads and its artifacts verify; the path \
         is refused where it would be used as a package artifact.",
        steps,
        err("target.path_invalid", 7),
    );

    // Hashes: every listed hash is checked; sha512 alone is enough; an algorithm we cannot compute fails.
    let (_, path, data) = artifacts().remove(0);
    let sha512 = hex::encode(sha2::Sha512::digest(&data));
    let with_hashes = |hashes: &[(&str, String)]| {
        let mut t = x0x_role(1, FUTURE);
        let e = t.targets.get_mut(path.as_str()).unwrap();
        e.hashes = hashes
            .iter()
            .map(|(a, h)| ((*a).to_owned(), h.clone()))
            .collect();
        sign(t, &[&k.pub_a])
    };
    let sha256 = hex::encode(sha2::Sha256::digest(&data));
    let mut wrong512 = sha512.clone().into_bytes();
    wrong512[0] = if wrong512[0] == b'0' { b'1' } else { b'0' };
    let wrong512 = String::from_utf8(wrong512).unwrap();
    for (name, hashes, description, expect) in [
        (
            "target-sha512-only",
            vec![("sha512", sha512.clone())],
            "The target lists only a sha512 hash: it verifies.",
            ok(),
        ),
        (
            "target-sha256-and-sha512",
            vec![("sha256", sha256.clone()), ("sha512", sha512.clone())],
            "The target lists sha256 and sha512: both are checked and match.",
            ok(),
        ),
        (
            "target-sha512-mismatch",
            vec![("sha256", sha256.clone()), ("sha512", wrong512)],
            "The sha256 matches, the sha512 beside it does not: every listed hash is checked.",
            err("target.digest_mismatch", 6),
        ),
        (
            "target-hash-unsupported",
            vec![("sha256", sha256.clone()), ("md5", "0".repeat(32))],
            "The sha256 matches, but md5 is listed too: an algorithm we cannot compute is a failure.",
            err("target.digest_mismatch", 6),
        ),
    ] {
        let f = out.case_file(name, "1.x0x.json", with_hashes(&hashes));
        let mut steps = chain(&ts_p, &snap_p, &tg_p, &f);
        steps.push(target_steps[0].clone());
        out.case(name, description, steps, expect);
    }

    // --- Target path and platform validation (no files).
    for (i, bad) in [
        "../x0x/0.3.1/f.node",
        "/README.md",
        "docs/../README.md",
        "docs/./README.md",
        "docs\\README.md",
        "docs//README.md",
        "docs/",
        "README\u{0}.md",
        "README\n.md",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("target-name-invalid-{}", i + 1);
        out.case(
            &name,
            &format!("Target path {bad:?} is unsafe: a targets role listing it is refused."),
            vec![json!({"op": "target_name", "value": bad})],
            err("target.path_invalid", 0),
        );
    }
    out.case(
        "target-name-valid",
        "Any safe path is a valid target path in a targets role (TUF sets no shape).",
        vec![
            json!({"op": "target_name", "value": "x0x/0.3.1/x0x.linux-x64-gnu.node"}),
            json!({"op": "target_name", "value": "README.md"}),
            json!({"op": "target_name", "value": "path/to/a/target_file.txt"}),
            json!({"op": "target_name", "value": "x0x/not-semver/f.node"}),
            json!({"op": "target_name", "value": "nonexistent target"}),
        ],
        ok(),
    );
    for (i, bad) in [
        "../x0x/0.3.1/f.node",
        "/x0x/0.3.1/f.node",
        "x0x/0.3.1/../f.node",
        "x0x\\0.3.1\\f.node",
        "x0x//0.3.1/f.node",
        "x0x/0.3.1/",
        "x0x/0.3.1",
        "x0x/not-semver/f.node",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("target-path-invalid-{}", i + 1);
        out.case(
            &name,
            &format!("Target path {bad:?} is not a package artifact path (refused where one is required)."),
            vec![json!({"op": "target_path", "value": bad})],
            err("target.path_invalid", 0),
        );
    }
    out.case(
        "target-path-valid",
        "Well-formed package artifact paths are accepted.",
        vec![
            json!({"op": "target_path", "value": "x0x/0.3.1/x0x.linux-x64-gnu.node"}),
            json!({"op": "target_path", "value": "x0x/1.0.0-rc.1+build.5/x0x.wasm32-wasip1-threads.wasm"}),
        ],
        ok(),
    );
    for (name, op, value) in [
        (
            "platform-unknown-file",
            "platform_file",
            "x0x.freebsd-x64.node",
        ),
        (
            "platform-wrong-extension",
            "platform_file",
            "x0x.linux-x64-gnu.wasm",
        ),
        (
            "platform-unknown-name",
            "platform_name",
            "linux-riscv64-gnu",
        ),
    ] {
        out.case(
            name,
            &format!("{op} {value:?} is not in the platform table."),
            vec![json!({"op": op, "value": value})],
            err("platform.unknown", 0),
        );
    }
    let mut steps: Vec<Value> = Vec::new();
    for p in Platform::ALL {
        steps.push(json!({"op": "platform_file", "value": p.file_name(&x0x())}));
        steps.push(json!({"op": "platform_name", "value": p.name()}));
    }
    out.case(
        "platform-known",
        "Every artifact file name and platform name in the table parses.",
        steps,
        ok(),
    );

    let mut idx = serde_json::to_vec_pretty(&json!({"now": NOW, "cases": out.cases})).unwrap();
    idx.push(b'\n');
    out.file("index.json", idx);
    out.files
}
