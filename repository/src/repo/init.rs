//! `init`, and writing the next snapshot and timestamp after a change.

use super::{
    create_private_dir, generate_key_of, io, read_secret_key, write_atomic, write_key_pair,
    write_key_reference, BTreeMap, Delegations, Error, Expiry, Layout, NewRole, OffsetDateTime,
    Path, Result, Root, Signed, SigningKey, Snapshot, Targets, Timestamp,
};
use x0x_dist_manifests::keys::pkcs11::is_uri;
use x0x_dist_manifests::Algorithm;

/// What `init` created.
#[derive(Debug)]
pub struct InitReport {
    /// Key ids by role.
    pub keys: BTreeMap<&'static str, String>,
}

/// Creates a repository in `dir`: four ed25519 keys, then root v1, empty targets v1, snapshot v1, timestamp v1.
pub fn init(dir: &Path, now: OffsetDateTime, expiry: &Expiry) -> Result<InitReport> {
    init_with_key_type(dir, now, expiry, Algorithm::Ed25519)
}

/// [`init`] with keys of type `alg` for the four roles.
pub fn init_with_key_type(
    dir: &Path,
    now: OffsetDateTime,
    expiry: &Expiry,
    alg: Algorithm,
) -> Result<InitReport> {
    init_with_keys(dir, now, expiry, alg, &BTreeMap::new())
}

/// [`init_with_key_type`], using the keys in `given` (role → a secret key file or a PKCS#11 URI) for those
/// roles instead of generating them. A file key is copied into the layout; for a token key the layout's key
/// file holds the URI ([`write_key_reference`]), so the private key stays on the token.
pub fn init_with_keys(
    dir: &Path,
    now: OffsetDateTime,
    expiry: &Expiry,
    alg: Algorithm,
    given: &BTreeMap<&str, String>,
) -> Result<InitReport> {
    if let Some(r) = given
        .keys()
        .find(|r| !["root", "targets", "snapshot", "timestamp"].contains(r))
    {
        return Err(Error::Usage(format!("init: no role {r:?}")));
    }
    // open every given key first: a wrong PIN or a missing object leaves no half-made repository
    let mut opened = BTreeMap::new();
    for (role, spec) in given {
        opened.insert(*role, read_secret_key(Path::new(spec))?);
    }
    let l = Layout::new(dir);
    if l.metadata_file("root.json").exists()
        || l.metadata_file("1.root.json").exists()
        || l.key_file("root").exists()
    {
        return Err(Error::Exists(dir.to_owned()));
    }
    create_private_dir(&l.offline_keys())?;
    create_private_dir(&l.online_keys())?;
    std::fs::create_dir_all(l.targets()).map_err(io("creating directory", &l.targets()))?;
    let mut keys = BTreeMap::new();
    let mut root = Root::empty(1, now + expiry.root);
    let mut signing = BTreeMap::new();
    for role in ["root", "targets", "snapshot", "timestamp"] {
        let k = match (opened.remove(role), given.get(role)) {
            (Some(k), Some(spec)) if is_uri(spec) => {
                write_key_reference(&l.key_file(role), spec, &k)?;
                k
            }
            (Some(k), Some(spec)) if k.to_secret_file().is_none() => {
                // a file that itself references a token key: reference the same key
                let uri = std::fs::read_to_string(spec).map_err(io("reading", Path::new(spec)))?;
                write_key_reference(&l.key_file(role), &uri, &k)?;
                k
            }
            (Some(k), _) => {
                write_key_pair(&l.key_file(role), &k)?;
                k
            }
            _ => {
                let k = generate_key_of(alg)?;
                write_key_pair(&l.key_file(role), &k)?;
                k
            }
        };
        root.add_key(role, k.public())?;
        keys.insert(role, k.key_id().to_string());
        signing.insert(role, k);
    }
    let root = Signed::new(root, &[&signing["root"]])?;
    let mut targets = Targets::empty(1, now + expiry.targets);
    targets.delegations = Some(Delegations {
        keys: BTreeMap::new(),
        roles: Vec::new(),
        extra: BTreeMap::new(),
    });
    let targets = Signed::new(targets, &[&signing["targets"]])?;
    write_atomic(&l.metadata_file("1.root.json"), &root.to_bytes(), false)?;
    write_atomic(&l.metadata_file("root.json"), &root.to_bytes(), false)?;
    write_atomic(
        &l.metadata_file("1.targets.json"),
        &targets.to_bytes(),
        false,
    )?;
    let snapshot = Snapshot::empty(1, now + expiry.snapshot);
    commit_snapshot(
        &l,
        snapshot,
        &[("targets", 1)],
        None,
        &signing["snapshot"],
        &signing["timestamp"],
        now,
        expiry,
    )?;
    Ok(InitReport { keys })
}

/// Writes `snapshot` (with `changes` applied) and the next timestamp. `prev_timestamp` is the current one.
#[allow(clippy::too_many_arguments)]
pub(super) fn commit_snapshot(
    l: &Layout,
    snapshot: Snapshot,
    changes: &[(&str, u64)],
    prev_timestamp: Option<&Timestamp>,
    snapshot_key: &SigningKey,
    timestamp_key: &SigningKey,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<()> {
    let tv = prev_timestamp.map_or(1, |t| t.version.saturating_add(1));
    let c = x0x_dist_manifests::metadata::sign_snapshot_and_timestamp(
        snapshot,
        changes,
        tv,
        now + expiry.timestamp,
        snapshot_key,
        timestamp_key,
    )?;
    write_atomic(
        &l.metadata_file(&format!("{}.snapshot.json", c.snapshot_version)),
        &c.snapshot,
        false,
    )?;
    write_atomic(&l.metadata_file("timestamp.json"), &c.timestamp, false)
}

#[cfg(test)]
mod tests {
    use super::super::{read_secret_key, write_key_pair};
    use super::*;

    #[test]
    fn init_uses_a_given_key_file_and_refuses_unknown_roles() {
        let tmp = tempfile::tempdir().unwrap();
        let given = generate_key_of(Algorithm::EcdsaP256).unwrap();
        let file = tmp.path().join("mine.key");
        write_key_pair(&file, &given).unwrap();
        let now = OffsetDateTime::now_utc();
        let bad = BTreeMap::from([("bogus", file.display().to_string())]);
        let e = init_with_keys(
            &tmp.path().join("r0"),
            now,
            &Expiry::default(),
            Algorithm::Ed25519,
            &bad,
        );
        assert!(matches!(e, Err(Error::Usage(_))), "{e:?}");
        let dir = tmp.path().join("repo");
        let keys = BTreeMap::from([("root", file.display().to_string())]);
        let report =
            init_with_keys(&dir, now, &Expiry::default(), Algorithm::Ed25519, &keys).unwrap();
        assert_eq!(report.keys["root"], given.key_id().to_string());
        let l = Layout::new(&dir);
        assert_eq!(
            read_secret_key(&l.key_file("root")).unwrap().key_id(),
            given.key_id()
        );
        // the other roles got generated keys of the requested type
        assert_eq!(
            read_secret_key(&l.key_file("targets")).unwrap().algorithm(),
            Some(Algorithm::Ed25519)
        );
        super::super::load_trusted(&dir, None, now).unwrap();
    }
}
