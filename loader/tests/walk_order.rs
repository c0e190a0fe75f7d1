//! The one chain walk (`x0x_dist_loader::tuf::refresh`) loads every delegated role in TUF's pre-order
//! depth-first order with `Scope::All` (a role's whole subtree before its next sibling), as the mirror,
//! bundles and `verify` use it; a role the snapshot does not list (delegated, never published) is skipped.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};
use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location};
use x0x_dist_loader::tuf::{self, NoPersistence, Scope, WalkOptions};
use x0x_dist_manifests::metadata::{DelegatedRole, Delegations, MetaFile, NewRole as _};
use x0x_dist_manifests::{Root, Signed, Snapshot, Targets};
use x0x_dist_test_support::loader::{key, timestamp_pinning};

fn delegating(version: u64, to: &[&str]) -> Targets {
    let mut t = Targets::empty(version, OffsetDateTime::now_utc() + Duration::days(1));
    if !to.is_empty() {
        let k = key("delegate");
        t.delegations = Some(Delegations {
            keys: BTreeMap::from([(k.public().key_id().unwrap(), k.public().clone())]),
            roles: to
                .iter()
                .map(|n| {
                    let mut r =
                        DelegatedRole::for_package(&n.parse().unwrap(), &[k.public()], 1).unwrap();
                    r.terminating = false;
                    r
                })
                .collect(),
            extra: BTreeMap::new(),
        });
    }
    t
}

#[tokio::test]
async fn every_delegated_role_in_pre_order() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("metadata");
    std::fs::create_dir_all(&meta).unwrap();
    let write = |name: &str, b: &[u8]| std::fs::write(meta.join(name), b).unwrap();
    let expires = OffsetDateTime::now_utc() + Duration::days(1);
    let mut root = Root::empty(1, expires);
    for role in ["root", "targets", "snapshot", "timestamp"] {
        root.add_key(role, key(role).public()).unwrap();
    }
    let root = Signed::new(root, &[&key("root")]).unwrap().to_bytes();
    write("1.root.json", &root);
    // targets → [a, b, unpublished]; a → [a1, a2]; a1 → [a11].
    let tree: [(&str, &[&str]); 7] = [
        ("targets", &["a", "b", "unpublished"]),
        ("a", &["a1", "a2"]),
        ("a1", &["a11"]),
        ("a11", &[]),
        ("a2", &[]),
        ("b", &[]),
        ("unused", &[]),
    ];
    let mut snap = Snapshot::empty(1, expires);
    for (name, to) in tree {
        if name == "unused" {
            continue;
        }
        let signer = if name == "targets" {
            key("targets")
        } else {
            key("delegate")
        };
        let b = Signed::new(delegating(1, to), &[&signer])
            .unwrap()
            .to_bytes();
        write(&format!("1.{name}.json"), &b);
        snap.meta
            .insert(format!("{name}.json"), MetaFile::version(1));
    }
    let snap = Signed::new(snap, &[&key("snapshot")]).unwrap().to_bytes();
    write("1.snapshot.json", &snap);
    let ts = timestamp_pinning(1, expires, 1, &snap);
    write(
        "timestamp.json",
        &Signed::new(ts, &[&key("timestamp")]).unwrap().to_bytes(),
    );

    let source = Fetcher::new(
        Location::Dir(tmp.path().to_owned()),
        FetchOptions::default(),
    )
    .unwrap();
    let mut keep = NoPersistence;
    let walk = tuf::refresh(
        &source,
        &mut keep,
        &root,
        Scope::All,
        WalkOptions::at(OffsetDateTime::now_utc()),
    )
    .await
    .unwrap();
    let order: Vec<&str> = walk.statuses().iter().map(|s| s.role.as_str()).collect();
    assert_eq!(
        order,
        [
            "root",
            "timestamp",
            "snapshot",
            "targets",
            "a",
            "a1",
            "a11",
            "a2",
            "b"
        ],
        "pre-order depth-first, not breadth-first (targets, a, b, a1, a2, a11)"
    );
}
