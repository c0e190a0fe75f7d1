//! `verify`: every metadata file and every target of a repository.

use super::{
    load_trusted, read, read_metadata, Error, Layout, Lookup, OffsetDateTime, Path, Result,
};

/// What `verify` checked.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Root version after rotation.
    pub root_version: u64,
    /// Metadata files verified.
    pub metadata_files: usize,
    /// Targets verified (bytes, length and SHA-256).
    pub targets: usize,
    /// Bytes of targets hashed.
    pub target_bytes: u64,
}

/// Verifies every metadata file and every target of the repository in `dir` at `now`.
pub fn verify(
    dir: &Path,
    trusted_root: Option<&Path>,
    now: OffsetDateTime,
) -> Result<VerifyReport> {
    let l = Layout::new(dir);
    let set = load_trusted(dir, trusted_root, now)?;
    let mut report = VerifyReport {
        root_version: set.root().signed().version,
        metadata_files: usize::try_from(set.root().signed().version).unwrap_or(usize::MAX)
            + 2
            + set.all_targets().len(),
        ..VerifyReport::default()
    };
    // `root.json` must be the latest root.
    let latest = read_metadata(&l.metadata_file(&format!("{}.root.json", report.root_version)))?;
    if let Ok(copy) = std::fs::read(l.metadata_file("root.json")) {
        if copy != latest {
            return Err(Error::Corrupt(format!(
                "root.json is not {}.root.json",
                report.root_version
            )));
        }
    }
    for (role, t) in set.all_targets() {
        for (path, info) in &t.signed().targets {
            // Only targets the delegation search attributes to this role are trusted.
            match set.resolve_target(path.as_str())? {
                Lookup::Found { role: r, .. } if &r == role => {}
                _ => {
                    return Err(Error::Corrupt(format!(
                        "role {role} lists {path}, which it is not trusted for"
                    )))
                }
            }
            // Our layout stores package artifacts only: another path (valid TUF) is `target.path_invalid`.
            let file = l.target_file(&path.package_target()?, &info.sha256()?);
            let data = read(&file)?;
            info.verify(path.as_str(), &data)?;
            report.targets += 1;
            report.target_bytes += info.length;
        }
    }
    Ok(report)
}
