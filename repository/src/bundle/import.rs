//! `bundle import`: into a repository (crash-safe, rollback-checked) or into a loader cache.
use super::*;

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Metadata files in the bundle.
    pub metadata: usize,
    /// Targets verified.
    pub targets: usize,
    /// Targets added to the destination (for a cache: verified into it, whether or not it held them).
    pub added: usize,
    /// Bytes of targets verified.
    pub bytes: u64,
    /// The imported timestamp version.
    pub timestamp_version: u64,
}

/// Verifies an unpacked bundle in `staging` from `root` at `at`: the chain (the loader's one walk, with what
/// `dir` serves as the rollback references), then every bundled target against the verified metadata (each
/// must be listed, by the role TUF's delegation search attributes it to).
fn verify_unpacked(
    bundle: &Path,
    dir: &Path,
    staging: &Path,
    toc: &Toc,
    root: &[u8],
    at: OffsetDateTime,
) -> Result<(TrustedSet, Vec<Job>)> {
    let set = repo::load_trusted_with(
        &Layout::new(staging),
        &mut mirror::Served::new(dir),
        root,
        at,
    )?;
    let jobs = mirror::select(&set, &Selection::default())?;
    let by_stored: BTreeMap<String, &Job> = jobs
        .iter()
        .map(|j| (format!("targets/{}", j.stored), j))
        .collect();
    let mut bundled = Vec::new();
    for t in &toc.targets {
        let j = by_stored.get(&t.name).ok_or_else(|| {
            bad(
                bundle,
                format!("{} is not listed by the verified metadata", t.name),
            )
        })?;
        // `unpack` hashed these bytes and matched them to the TOC entry; comparing the TOC entry to the
        // verified metadata completes the chain bytes → TOC → signed metadata without hashing twice.
        let (sha, len) = (t.sha256.clone(), t.length);
        if len != j.file.length {
            return Err(x0x_dist_manifests::Error::LengthMismatch {
                path: j.path.as_str().into(),
                expected: j.file.length,
                found: len,
            }
            .into());
        }
        let expected = j.file.sha256()?.to_hex();
        if sha != expected {
            return Err(x0x_dist_manifests::Error::DigestMismatch {
                path: j.path.as_str().into(),
                algorithm: "sha256",
                expected,
                found: sha,
            }
            .into());
        }
        bundled.push((*j).clone());
    }
    Ok((set, bundled))
}

/// Staging directories of imports live in `DIR/mirror/` under this prefix.
const STAGING_PREFIX: &str = "import-";

/// Removes staging directories left by an import that was killed (callers hold the writer lock, so no other
/// import is using them).
fn remove_stale_staging(state_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Imports `bundle` into the repository directory `dir` (created if missing; an air-gapped mirror that
/// `x0x-dist serve --repo DIR` serves), trusting `root` (default: the mirror's recorded root). Verification
/// uses `now` under the operator's expiry policy. Refuses an origin repository (one holding online keys).
pub fn import_repo(
    bundle: &Path,
    dir: &Path,
    root: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<ImportReport> {
    if crate::repo::Layout::new(dir).online_keys().exists() {
        return Err(Error::Usage(format!(
            "{} is an origin repository (it holds online keys); import bundles into a mirror directory",
            dir.display()
        )));
    }
    let root = match root {
        Some(r) => r.to_vec(),
        None => {
            mirror::Settings::load(dir)
                .map_err(|_| {
                    Error::Usage(format!(
                    "{} is not a mirror yet: pass --root ROOT.json (the upstream root you trust)",
                    dir.display()
                ))
                })?
                .root
        }
    };
    std::fs::create_dir_all(dir).map_err(Error::io("creating", dir))?;
    // One writer at a time (the server's publishes, `package release`, other imports): see `crate::lock`.
    let _lock = crate::lock::lock(dir, || {
        tracing::warn!("waiting for another writer of {} to finish", dir.display());
    })
    .map_err(Error::io("locking", &crate::lock::lock_path(dir)))?;
    let sd = mirror::state_dir(dir);
    std::fs::create_dir_all(&sd).map_err(Error::io("creating", &sd))?;
    remove_stale_staging(&sd);
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(&sd)
        .map_err(Error::io("creating a staging directory in", &sd))?;
    // Targets are durable (synced) when this returns; those the mirror already holds are not unpacked.
    let Unpacked { toc, present } = unpack_with(bundle, staging.path(), Some(dir))?;
    let at = policy_clock(now)?;
    let (set, jobs) = verify_unpacked(bundle, dir, staging.path(), &toc, &root, at)?;
    mirror::check_not_older(dir, set.timestamp().expect("verified").signed())?;
    // Everything verified: move targets in (synced bytes, then their directories), then metadata, timestamp
    // last (the commit point).
    let mut report = ImportReport {
        metadata: toc.metadata.len(),
        targets: jobs.len(),
        timestamp_version: set.timestamp().expect("verified").signed().version,
        ..ImportReport::default()
    };
    let mut dirs = BTreeSet::new();
    for j in &jobs {
        report.bytes += j.file.length;
        if present.contains(&format!("targets/{}", j.stored)) {
            continue;
        }
        let src = crate::repo::Layout::new(staging.path()).target_stored(&j.stored);
        let dest = crate::repo::Layout::new(dir).target_stored(&j.stored);
        let parent = dest.parent().expect("has parent");
        std::fs::create_dir_all(parent).map_err(Error::io("creating", parent))?;
        // Synced when unpacked; the directories are synced once for all targets below.
        #[allow(clippy::disallowed_methods)]
        std::fs::rename(&src, &dest).map_err(Error::io("renaming into", &dest))?;
        // The new name, and every directory created on the way, must be durable before the metadata.
        let mut d = parent;
        while d.starts_with(crate::repo::Layout::new(dir).targets()) && dirs.insert(d.to_owned()) {
            d = d.parent().expect("under dir");
        }
        report.added += 1;
    }
    for d in &dirs {
        repo::sync_dir(d)?;
    }
    let l = Layout::new(dir);
    let mut names: Vec<String> = toc
        .metadata
        .iter()
        .filter_map(|m| m.name.strip_prefix("metadata/").map(str::to_owned))
        .filter(|n| n != "timestamp.json")
        .collect();
    names.push("timestamp.json".into());
    for n in &names {
        let src = crate::repo::Layout::new(staging.path()).metadata_file(n);
        let b = std::fs::read(&src).map_err(Error::io("reading", &src))?;
        let dest = l.metadata_file(n);
        // An identical file is already there and durable (re-importing the same bundle writes nothing).
        if std::fs::read(&dest).is_ok_and(|cur| cur == b) {
            continue;
        }
        repo::write_atomic(&dest, &b, false)?;
    }
    // npm release records: not part of the TUF chain; the server verifies each from its trusted root when it
    // loads it (a forged one is refused there), so they are only copied.
    for f in &toc.npm {
        if let Some(n) = f.name.strip_prefix("npm/") {
            let src = crate::repo::Layout::new(staging.path()).npm_record(n);
            let b = std::fs::read(&src).map_err(Error::io("reading", &src))?;
            let dest = l.npm_record(n);
            if std::fs::read(&dest).is_ok_and(|cur| cur == b) {
                continue;
            }
            if let Some(d) = dest.parent() {
                std::fs::create_dir_all(d).map_err(Error::io("creating", d))?;
            }
            repo::write_atomic(&dest, &b, false)?;
        }
    }
    let latest = format!("{}.root.json", set.root().signed().version);
    if let Ok(b) = std::fs::read(l.metadata_file(&latest)) {
        if std::fs::read(l.metadata_file("root.json")).ok().as_ref() != Some(&b) {
            repo::write_atomic(&l.metadata_file("root.json"), &b, false)?;
        }
    }
    if !mirror::is_mirror(dir) {
        mirror::Settings {
            upstream: None,
            root,
        }
        .save(dir)?;
    }
    Ok(report)
}

/// Imports `bundle` into a loader cache (`X0X_DIST_CACHE` layout): the loader's own TUF client verifies the
/// unpacked bundle from `root` (persisting the trusted metadata, with rollback protection) and stores every
/// target it verifies, so later `fetch --offline` and loaders using that cache need nothing else.
pub async fn import_cache(bundle: &Path, cache_dir: &Path, root: &[u8]) -> Result<ImportReport> {
    use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location, NoProgress};
    let staging =
        tempfile::tempdir().map_err(Error::io("creating", Path::new("temporary directory")))?;
    let toc = unpack(bundle, staging.path())?;
    let fetcher = Fetcher::new(
        Location::Dir(staging.path().to_owned()),
        FetchOptions::default(),
    )?;
    let cache = x0x_dist_loader::cache::Cache::open(cache_dir)?;
    let mut report = ImportReport {
        metadata: toc.metadata.len(),
        ..ImportReport::default()
    };
    let wanted: BTreeSet<&str> = toc
        .targets
        .iter()
        .filter_map(|t| t.target.as_deref())
        .collect();
    for package in toc.packages.keys() {
        let repo = x0x_dist_loader::tuf::Repository::refresh(
            &fetcher,
            &cache,
            root,
            package,
            &x0x_dist_loader::tuf::ClientOptions::default(),
        )
        .await?;
        report.timestamp_version = repo.trusted().timestamp().map_or(0, |t| t.signed().version);
        for (path, _) in repo.package_targets()? {
            if !wanted.contains(path.as_str()) {
                continue;
            }
            let file = repo.target(path.as_str())?;
            let sha = file.sha256()?.to_hex();
            let stored = repo.stored_path(path.as_str(), &sha);
            cache
                .get_or_fetch(&fetcher, &stored, path.as_str(), &file, &NoProgress)
                .await?;
            report.targets += 1;
            report.bytes += file.length;
            report.added += 1;
        }
    }
    if report.targets != toc.targets.len() {
        return Err(bad(
            bundle,
            format!(
                "{} of {} bundled targets are listed by the verified metadata",
                report.targets,
                toc.targets.len()
            ),
        ));
    }
    Ok(report)
}
