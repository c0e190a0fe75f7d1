//! `bundle export`: the verified chain and the chosen targets of a repository, written into one archive.
use super::*;

/// The metadata files of the verified chain in `dir`, by name: roots 1..=latest, timestamp, and the pinned
/// snapshot, targets and delegated roles, and the revocations role.
fn chain_files(dir: &Path, set: &TrustedSet) -> Result<Vec<(String, Vec<u8>)>> {
    let l = Layout::new(dir);
    let versioned = |v: u64, role: &str| set.metadata_file_name(v, role);
    let mut names = Vec::new();
    for v in 1..=set.root().signed().version {
        let n = format!("{v}.root.json");
        if l.metadata_file(&n).is_file() {
            names.push(n);
        }
    }
    let snap = set.snapshot().expect("verified set has a snapshot");
    let ts = set.timestamp().expect("verified set has a timestamp");
    names.push(versioned(ts.signed().snapshot_meta().version, "snapshot"));
    for role in set.all_targets().keys() {
        if let Some(m) = snap.signed().meta.get(&format!("{role}.json")) {
            names.push(versioned(m.version, role));
        }
    }
    // The yanks and revocations the snapshot pins (the walk verified them).
    if let Some(v) = set.revocations_pinned() {
        names.push(versioned(v, x0x_dist_manifests::metadata::REVOCATIONS_ROLE));
    }
    names.push("timestamp.json".into());
    names
        .into_iter()
        .map(|n| {
            let p = l.metadata_file(&n);
            let b = std::fs::read(&p).map_err(Error::io("reading", &p))?;
            Ok((n, b))
        })
        .collect()
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The output file.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The table of contents.
    pub toc: Toc,
}

/// Exports the repository in `dir` (an origin, a mirror, or a directory synced by `mirror sync`) into one
/// bundle file `out`: verifies the chain from `root` at `now`, then writes the TOC, the metadata and every
/// selected target, hashing each target as it is copied.
pub fn export(
    dir: &Path,
    root: &[u8],
    sel: &Selection,
    out: &Path,
    now: OffsetDateTime,
) -> Result<ExportReport> {
    let set = repo::load_trusted_from(dir, root, now)?;
    let jobs = mirror::select(&set, sel)?;
    let meta = chain_files(dir, &set)?;
    let ts = set
        .timestamp()
        .expect("verified set has a timestamp")
        .signed();
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for j in &jobs {
        packages
            .entry(j.path.package().to_string())
            .or_default()
            .insert(j.path.version().to_string());
    }
    // The npm view's release records of the bundled versions (made by the origin's server when it first served
    // them), so that an air-gapped mirror serves the same npm tarballs.
    let mut records = Vec::new();
    for (package, versions) in &packages {
        for v in versions {
            let name = format!("{package}-{v}.record.json");
            let p = Layout::new(dir).npm_record(&name);
            if let Ok(b) = std::fs::read(&p) {
                records.push((name, b));
            }
        }
    }
    let toc = Toc {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created: rfc3339(OffsetDateTime::now_utc()),
        root_version: set.root().signed().version,
        timestamp_version: ts.version,
        snapshot_version: ts.snapshot_meta().version,
        timestamp_expires: rfc3339(ts.expires),
        packages: packages
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect(),
        metadata: meta
            .iter()
            .map(|(n, b)| TocFile {
                name: format!("metadata/{n}"),
                length: b.len() as u64,
                sha256: hex_sha(b),
                target: None,
                platform: None,
            })
            .collect(),
        targets: jobs
            .iter()
            .map(|j| {
                Ok(TocFile {
                    name: format!("targets/{}", j.stored),
                    length: j.file.length,
                    sha256: j.file.sha256()?.to_hex(),
                    target: Some(j.path.as_str().to_owned()),
                    platform: j.file.x0x_custom().map(|c| c.platform),
                })
            })
            .collect::<Result<_>>()?,
        npm: records
            .iter()
            .map(|(n, b)| TocFile {
                name: format!("npm/{n}"),
                length: b.len() as u64,
                sha256: hex_sha(b),
                target: None,
                platform: None,
            })
            .collect(),
    };
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".x0x-bundle-")
        .tempfile_in(parent)
        .map_err(Error::io("creating a temporary file in", parent))?;
    let mtime = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        let werr = |e| Error::io("writing", out)(e);
        let toc_bytes = serde_json::to_vec_pretty(&toc).expect("TOC serializes");
        write_entry(&mut w, TOC_NAME, &toc_bytes, mtime, out)?;
        for (n, b) in &meta {
            write_entry(&mut w, &format!("metadata/{n}"), b, mtime, out)?;
        }
        let mut hasher = PipelinedHash::new();
        for j in &jobs {
            copy_target(dir, j, &mut w, &mut hasher, mtime, out)?;
        }
        for (n, b) in &records {
            write_entry(&mut w, &format!("npm/{n}"), b, mtime, out)?;
        }
        tar::finish(&mut w).map_err(werr)?;
        w.flush().map_err(werr)?;
    }
    // No fsync: the bundle appears atomically (temporary name, then rename) and is verified entry by entry
    // on import, so a file torn by a crash is refused (`bundle.invalid`), never trusted; re-export it.
    let bytes = tmp.as_file().metadata().map_or(0, |m| m.len());
    tmp.persist(out)
        .map_err(|e| Error::io("renaming into", out)(e.error))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o644));
    }
    Ok(ExportReport {
        file: out.to_owned(),
        bytes,
        toc,
    })
}

fn write_entry(w: &mut impl Write, name: &str, data: &[u8], mtime: u64, out: &Path) -> Result<()> {
    let h = tar::header(name, data.len() as u64, mtime).map_err(|e| bad(out, e.0))?;
    let werr = |e| Error::io("writing", out)(e);
    w.write_all(&h).map_err(werr)?;
    w.write_all(data).map_err(werr)?;
    w.write_all(&[0u8; tar::BLOCK][..tar::padding(data.len() as u64)])
        .map_err(werr)
}

fn copy_target(
    dir: &Path,
    job: &Job,
    out_w: &mut impl Write,
    hasher: &mut PipelinedHash,
    mtime: u64,
    out: &Path,
) -> Result<()> {
    let src = crate::repo::Layout::new(dir).target_stored(&job.stored);
    let mut src_f = std::fs::File::open(&src).map_err(Error::io("opening", &src))?;
    let name = format!("targets/{}", job.stored);
    let h = tar::header(&name, job.file.length, mtime).map_err(|e| bad(out, e.0))?;
    let werr = |e| Error::io("writing", out)(e);
    out_w.write_all(&h).map_err(werr)?;
    let mut got = 0u64;
    loop {
        let mut buf = hasher.buffer();
        let n = src_f.read(&mut buf).map_err(Error::io("reading", &src))?;
        if n == 0 {
            hasher.recycle(buf);
            break;
        }
        got += n as u64;
        if got > job.file.length {
            hasher.recycle(buf);
            break;
        }
        buf.truncate(n);
        out_w.write_all(&buf).map_err(werr)?;
        hasher.hash(buf);
    }
    let found = hasher.finish();
    if got != job.file.length {
        return Err(x0x_dist_manifests::Error::LengthMismatch {
            path: src.display().to_string(),
            expected: job.file.length,
            found: got,
        }
        .into());
    }
    let expected = job.file.sha256()?.to_hex();
    if found != expected {
        return Err(x0x_dist_manifests::Error::DigestMismatch {
            path: src.display().to_string(),
            algorithm: "sha256",
            expected,
            found,
        }
        .into());
    }
    out_w
        .write_all(&[0u8; tar::BLOCK][..tar::padding(got)])
        .map_err(werr)
}
