//! Delegating a package (`package add`) and releasing into a local directory (`package release`).

use super::{
    commit_snapshot, load_trusted, read_secret_key, write_atomic, BTreeMap, DelegatedRole,
    Delegations, Error, Expiry, Layout, NewRole, OffsetDateTime, PackageName, Path, Platform,
    PublicKey, Result, Signed, SigningKey, Snapshot, TargetCustom, TargetFile, TargetPath, Targets,
    Timestamp, TrustedSet, Version,
};

struct Current {
    l: Layout,
    set: TrustedSet,
}

impl Current {
    fn load(dir: &Path, now: OffsetDateTime) -> Result<Self> {
        Ok(Current {
            l: Layout::new(dir),
            set: load_trusted(dir, None, now)?,
        })
    }
    fn top_targets(&self) -> &Targets {
        self.set
            .targets("targets")
            .expect("load_trusted loads targets")
            .signed()
    }
    fn snapshot(&self) -> &Snapshot {
        self.set
            .snapshot()
            .expect("load_trusted loads snapshot")
            .signed()
    }
    fn timestamp(&self) -> &Timestamp {
        self.set
            .timestamp()
            .expect("load_trusted loads timestamp")
            .signed()
    }
    fn key(&self, role: &str) -> Result<SigningKey> {
        let k = read_secret_key(&self.l.key_file(role))?;
        let root = self.set.root().signed();
        if !root
            .roles
            .get(role)
            .is_some_and(|r| r.keyids.contains(k.key_id()))
        {
            return Err(Error::KeyNotAuthorized {
                keyid: k.key_id().to_string(),
                role: role.to_owned(),
            });
        }
        Ok(k)
    }
    fn next_snapshot(&self, now: OffsetDateTime, expiry: &Expiry) -> Snapshot {
        let mut s = Snapshot::empty(
            self.snapshot().version.saturating_add(1),
            now + expiry.snapshot,
        );
        s.meta = self.snapshot().meta.clone();
        s
    }
    fn commit(&self, changes: &[(&str, u64)], now: OffsetDateTime, expiry: &Expiry) -> Result<()> {
        let (sk, tk) = (self.key("snapshot")?, self.key("timestamp")?);
        commit_snapshot(
            &self.l,
            self.next_snapshot(now, expiry),
            changes,
            Some(self.timestamp()),
            &sk,
            &tk,
            now,
            expiry,
        )
    }
}

/// Adds the delegation of `package` to `publisher_keys` with `threshold` (the role covers `<package>/*/*`) to the
/// top-level `targets` (not re-signed: [`add_package`] here, `x0x_dist_server::admin` on a live store).
pub fn delegate(
    targets: &mut Targets,
    package: &PackageName,
    publisher_keys: &[PublicKey],
    threshold: u64,
) -> Result<()> {
    if threshold == 0 || threshold > publisher_keys.len() as u64 {
        return Err(Error::Usage(format!(
            "threshold {threshold} must be between 1 and the number of publisher keys ({})",
            publisher_keys.len()
        )));
    }
    if package.as_str() == x0x_dist_manifests::metadata::REVOCATIONS_ROLE {
        return Err(Error::Usage(format!(
            "{package} is reserved: the signed `revocations` role (yanks and revocations) has that name"
        )));
    }
    let d = targets.delegations.get_or_insert_with(|| Delegations {
        keys: BTreeMap::new(),
        roles: Vec::new(),
        extra: BTreeMap::new(),
    });
    if d.roles.iter().any(|r| r.name == package.as_str()) {
        return Err(Error::PackageExists(package.to_string()));
    }
    for k in publisher_keys {
        k.verifying_key()?;
        d.keys.insert(k.key_id()?, k.clone());
    }
    let refs: Vec<&PublicKey> = publisher_keys.iter().collect();
    d.roles
        .push(DelegatedRole::for_package(package, &refs, threshold)?);
    Ok(())
}

/// Delegates `package` to `publisher_keys` with `threshold`: re-signs the top-level targets (offline
/// targets key), then writes the next snapshot and timestamp (online keys). The role covers `<package>/*/*`.
pub fn add_package(
    dir: &Path,
    package: &PackageName,
    publisher_keys: &[PublicKey],
    threshold: u64,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<u64> {
    let cur = Current::load(dir, now)?;
    let targets_key = cur.key("targets")?;
    let mut targets = cur.top_targets().clone();
    delegate(&mut targets, package, publisher_keys, threshold)?;
    targets.version = targets.version.saturating_add(1);
    targets.expires = (now + expiry.targets)
        .replace_nanosecond(0)
        .unwrap_or(now + expiry.targets);
    let v = targets.version;
    let signed = Signed::new(targets, &[&targets_key])?;
    write_atomic(
        &cur.l.metadata_file(&format!("{v}.targets.json")),
        &signed.to_bytes(),
        false,
    )?;
    cur.commit(&[("targets", v)], now, expiry)?;
    Ok(v)
}

/// Adds `key` to the keys `package`'s delegation trusts (trusted publishing with `sign_online`: the server's
/// online packages key, `crate::trust`), re-signing the top-level targets and committing a new snapshot and
/// timestamp as [`add_package`] does. `Ok(None)` if the delegation already lists the key. Refused when the
/// delegation's threshold is above 1 (the online key alone could not meet it: the package keeps developer
/// signing, PEP 480 style).
pub fn add_delegation_key(
    dir: &Path,
    package: &PackageName,
    key: &PublicKey,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<Option<u64>> {
    let cur = Current::load(dir, now)?;
    let mut targets = cur.top_targets().clone();
    let keyid = key.key_id()?;
    let d = targets
        .delegations
        .as_mut()
        .ok_or_else(|| Error::PackageNotFound(package.to_string()))?;
    let role = d
        .roles
        .iter_mut()
        .find(|r| r.name == package.as_str())
        .ok_or_else(|| Error::PackageNotFound(package.to_string()))?;
    if role.keys.keyids.contains(&keyid) {
        return Ok(None);
    }
    if role.keys.threshold > 1 {
        return Err(Error::Usage(format!(
            "package {package} needs {} publisher signatures per release; the server's online key alone cannot \
             meet that threshold (keep developer signing, or delegate with --threshold 1)",
            role.keys.threshold
        )));
    }
    key.verifying_key()?;
    role.keys.keyids.push(keyid.clone());
    d.keys.insert(keyid, key.clone());
    let targets_key = cur.key("targets")?;
    targets.version = targets.version.saturating_add(1);
    targets.expires = (now + expiry.targets)
        .replace_nanosecond(0)
        .unwrap_or(now + expiry.targets);
    let v = targets.version;
    let signed = Signed::new(targets, &[&targets_key])?;
    write_atomic(
        &cur.l.metadata_file(&format!("{v}.targets.json")),
        &signed.to_bytes(),
        false,
    )?;
    cur.commit(&[("targets", v)], now, expiry)?;
    Ok(Some(v))
}

/// One artifact of a release: its napi file name and bytes.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// File name (`x0x.linux-x64-gnu.node`, `x0x.wasm32-wasip1.wasm`).
    pub file_name: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// For glibc builds: the glibc floor to record.
    pub glibc_floor: Option<String>,
}

/// Re-signs the snapshot and timestamp of the repository in `dir` with versions above both its current ones and
/// `past` (restore from backup: clients refuse a timestamp or snapshot whose version is lower than one they
/// already trust, so a restored repository signs past every version served before). The snapshot lists the same
/// roles. Returns the new (snapshot, timestamp) versions.
pub fn resign_past(
    dir: &Path,
    past: u64,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<(u64, u64)> {
    let cur = Current::load(dir, now)?;
    let (sk, tk) = (cur.key("snapshot")?, cur.key("timestamp")?);
    let mut snapshot = cur.next_snapshot(now, expiry);
    snapshot.version = snapshot.version.max(past.saturating_add(1));
    let sv = snapshot.version;
    let mut prev = cur.timestamp().clone();
    prev.version = prev.version.max(past);
    commit_snapshot(&cur.l, snapshot, &[], Some(&prev), &sk, &tk, now, expiry)?;
    Ok((sv, prev.version.saturating_add(1)))
}

/// Releases `version` of `package` into the local repository in `dir`, without a server: adds the artifacts
/// to the package's role (version + 1, signed by `publisher`), writes the target files, then the next snapshot
/// and timestamp with the online keys in `DIR/online/`. Target metadata is inferred from the file names.
pub fn release(
    dir: &Path,
    package: &PackageName,
    version: &Version,
    artifacts: &[Artifact],
    publisher: &SigningKey,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<u64> {
    let cur = Current::load(dir, now)?;
    let deleg = cur
        .top_targets()
        .delegations
        .as_ref()
        .and_then(|d| d.roles.iter().find(|r| r.name == package.as_str()))
        .ok_or_else(|| Error::PackageNotFound(package.to_string()))?;
    if !deleg.keys.keyids.contains(publisher.key_id()) {
        return Err(Error::KeyNotAuthorized {
            keyid: publisher.key_id().to_string(),
            role: package.to_string(),
        });
    }
    if deleg.keys.threshold > 1 {
        return Err(Error::Usage(format!(
            "role {package} needs {} signatures; local release signs with one key",
            deleg.keys.threshold
        )));
    }
    let mut role = match cur.set.targets(package.as_str()) {
        Some(t) => t.signed().clone(),
        None => Targets::empty(0, now),
    };
    if role
        .targets
        .keys()
        .any(|p| p.package_target().is_ok_and(|p| p.version() == version))
    {
        return Err(Error::VersionExists(format!("{package}@{version}")));
    }
    if artifacts.is_empty() {
        return Err(Error::Usage("a release needs at least one file".to_owned()));
    }
    // Every file is checked before anything is written.
    for a in artifacts {
        let (pkg, platform) = Platform::parse_file_name(&a.file_name)?;
        if &pkg != package {
            return Err(Error::Usage(format!(
                "{} is not a file of package {package}",
                a.file_name
            )));
        }
        x0x_dist_loader::artifact::check(platform, &a.data).map_err(|mismatch| {
            Error::PlatformMismatch {
                file: a.file_name.clone(),
                mismatch,
            }
        })?;
    }
    for a in artifacts {
        let (_, platform) = Platform::parse_file_name(&a.file_name)?;
        let path = TargetPath::new(package, version, &a.file_name)?;
        let custom = TargetCustom::new(package, version, platform, a.glibc_floor.clone());
        let mut info = TargetFile::for_bytes(&a.data, Some(&custom));
        info.set_published(now);
        write_atomic(&cur.l.target_file(&path, &info.sha256()?), &a.data, false)?;
        role.targets.insert(path.name(), info);
    }
    role.version = role.version.saturating_add(1);
    role.expires = (now + expiry.delegated)
        .replace_nanosecond(0)
        .unwrap_or(now + expiry.delegated);
    let v = role.version;
    let signed = Signed::new(role, &[publisher])?;
    write_atomic(
        &cur.l.metadata_file(&format!("{v}.{package}.json")),
        &signed.to_bytes(),
        false,
    )?;
    cur.commit(&[(package.as_str(), v)], now, expiry)?;
    Ok(v)
}
