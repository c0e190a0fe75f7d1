//! Root rotation (`x0x-dist root rotate`): the next root, with root keys added or removed and a new threshold,
//! signed by keys in files or on PKCS#11 tokens. TUF (§5.3.4 of the client workflow) trusts root N+1 only when
//! it is signed by a threshold of root N's root keys AND a threshold of its own: the new root is checked by the
//! very function the clients run ([`TrustedSet::update_root`]) before anything is written.

use super::{
    load_trusted, write_atomic, Error, Layout, OffsetDateTime, Path, PublicKey, Result, Root,
    Signed, SigningKey, TrustedSet,
};
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::KeyId;

/// What to change in the root role.
#[derive(Debug)]
pub struct RootRotation<'a> {
    /// Public keys to add to the root role.
    pub add: &'a [PublicKey],
    /// Key ids to remove from the root role.
    pub remove: &'a [KeyId],
    /// The new root threshold (`None`: keep the current one).
    pub threshold: Option<u64>,
    /// The keys that sign the new root: enough of the old root's keys and of the new root's.
    pub sign_with: &'a [SigningKey],
    /// When the new root expires.
    pub expires: OffsetDateTime,
}

/// What [`rotate_root`] wrote.
#[derive(Debug)]
pub struct RotationReport {
    /// The new root version.
    pub version: u64,
    /// The root role's key ids in the new root.
    pub keyids: Vec<KeyId>,
    /// Its threshold.
    pub threshold: u64,
}

/// Writes `metadata/N+1.root.json` (and `root.json`) for the repository in `dir`. Refuses (writing nothing)
/// when the signatures do not meet the old root's threshold and the new root's, naming which.
pub fn rotate_root(
    dir: &Path,
    now: OffsetDateTime,
    r: &RootRotation<'_>,
) -> Result<RotationReport> {
    let l = Layout::new(dir);
    let set = load_trusted(dir, None, now)?;
    let (bytes, report) = next_root(set.root(), now, r)?;
    let version = report.version;
    write_atomic(
        &l.metadata_file(&format!("{version}.root.json")),
        &bytes,
        false,
    )?;
    write_atomic(&l.metadata_file("root.json"), &bytes, false)?;
    Ok(report)
}

/// The root after `old` with the rotation `r` applied, signed, and checked as a client holding `old` checks it
/// (not written: [`rotate_root`] here, `x0x_dist_server::admin` on a live store). Returns its bytes.
pub fn next_root(
    old: &Signed<Root>,
    now: OffsetDateTime,
    r: &RootRotation<'_>,
) -> Result<(Vec<u8>, RotationReport)> {
    let mut root: Root = old.signed().clone();
    root.version = root.version.saturating_add(1);
    root.expires = r.expires;
    for k in r.add {
        root.add_key("root", k)?;
    }
    let role = root
        .roles
        .get_mut("root")
        .ok_or_else(|| Error::Corrupt("root has no root role".to_owned()))?;
    for id in r.remove {
        if !role.keyids.contains(id) {
            return Err(Error::Usage(format!(
                "--remove-key {id}: not a root key of root version {}",
                old.signed().version
            )));
        }
        role.keyids.retain(|k| k != id);
    }
    if let Some(t) = r.threshold {
        role.threshold = t;
    }
    let (n, t) = (role.keyids.len() as u64, role.threshold);
    if t == 0 || t > n {
        return Err(Error::Usage(format!(
            "the new root would have {n} root key(s) and threshold {t}: the threshold must be 1..={n}"
        )));
    }
    let keyids = role.keyids.clone();
    // drop keys no role uses any more
    let used: Vec<KeyId> = root
        .roles
        .values()
        .flat_map(|r| r.keyids.iter().cloned())
        .collect();
    root.keys.retain(|id, _| used.contains(id));
    let signers: Vec<&SigningKey> = r.sign_with.iter().collect();
    let new = Signed::new(root, &signers)?;
    let bytes = new.to_bytes();
    // the clients' own check: threshold of the old root's keys and of the new root's
    let mut check = TrustedSet::new(&old.to_bytes(), now)?;
    if let Err(e) = check.update_root(&bytes) {
        let old_t = old.signed().roles.get("root").map_or(0, |r| r.threshold);
        return Err(Error::new(
            e.code(),
            format!(
                "root version {} would not be trusted by a client holding version {}: it must be signed by \
                 {old_t} of the old root keys AND {t} of the new root keys (--sign-with each); {e}",
                new.signed().version,
                old.signed().version
            ),
        ));
    }
    let version = new.signed().version;
    Ok((
        bytes,
        RotationReport {
            version,
            keyids,
            threshold: t,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::super::{generate_key, init, read_secret_key, Expiry};
    use super::*;

    fn rotation<'a>(
        add: &'a [PublicKey],
        remove: &'a [KeyId],
        threshold: Option<u64>,
        sign_with: &'a [SigningKey],
    ) -> RootRotation<'a> {
        RootRotation {
            add,
            remove,
            threshold,
            sign_with,
            expires: OffsetDateTime::now_utc() + time::Duration::days(30),
        }
    }

    #[test]
    fn the_next_root_needs_the_old_and_the_new_threshold() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let now = OffsetDateTime::now_utc();
        init(dir, now, &Expiry::default()).unwrap();
        let old = read_secret_key(&Layout::new(dir).key_file("root")).unwrap();
        let (b, c) = (generate_key(), generate_key());
        let add = [b.public().clone(), c.public().clone()];
        let code = |e: Error| e.code().as_str();
        // new keys only: the old root's threshold (1 of {old}) is not met
        let e = rotate_root(
            dir,
            now,
            &rotation(&add, &[], Some(2), &[b.clone(), c.clone()]),
        )
        .unwrap_err();
        assert_eq!(code(e), "metadata.threshold_not_met");
        // the old key only: the new root's threshold (2 of {old, b, c}) is not met
        let e = rotate_root(
            dir,
            now,
            &rotation(&add, &[], Some(2), std::slice::from_ref(&old)),
        )
        .unwrap_err();
        assert_eq!(code(e), "metadata.threshold_not_met");
        assert!(!Layout::new(dir).metadata_file("2.root.json").exists());
        // a threshold above the number of keys
        let e = rotate_root(
            dir,
            now,
            &rotation(&add, &[], Some(4), &[old.clone(), b.clone()]),
        )
        .unwrap_err();
        assert_eq!(code(e), "usage.invalid");
        // old + one new key: 2 of 3
        let r = rotate_root(
            dir,
            now,
            &rotation(&add, &[], Some(2), &[old.clone(), b.clone()]),
        )
        .unwrap();
        assert_eq!((r.version, r.keyids.len(), r.threshold), (2, 3, 2));
        // then retire the old key: signed by 2 of the 3 (v2) and 2 of the 2 left (v3)
        let e = rotate_root(
            dir,
            now,
            &rotation(
                &[],
                &[old.key_id().clone()],
                None,
                &[old.clone(), b.clone()],
            ),
        )
        .unwrap_err();
        assert_eq!(code(e), "metadata.threshold_not_met");
        let r = rotate_root(
            dir,
            now,
            &rotation(&[], &[old.key_id().clone()], None, &[b.clone(), c.clone()]),
        )
        .unwrap();
        assert_eq!((r.version, r.keyids.len()), (3, 2));
        let set = load_trusted(dir, None, now).unwrap();
        assert_eq!(set.root().signed().version, 3);
        assert!(!set.root().signed().keys.contains_key(old.key_id()));
    }
}
