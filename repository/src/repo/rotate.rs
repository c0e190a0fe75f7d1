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
    let old = set.root();
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
    write_atomic(
        &l.metadata_file(&format!("{version}.root.json")),
        &bytes,
        false,
    )?;
    write_atomic(&l.metadata_file("root.json"), &bytes, false)?;
    Ok(RotationReport {
        version,
        keyids,
        threshold: t,
    })
}
