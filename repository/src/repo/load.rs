//! Loading and verifying the trusted chain from a repository directory or any metadata source: the loader's
//! one walk of the chain ([`x0x_dist_loader::tuf::refresh`]) with every delegated role ([`Scope::All`]) and
//! nothing persisted. A repository directory ([`Layout`]) is a [`MetadataSource`]; so are the server's store
//! (`x0x-dist-server`'s web UI) and an unpacked bundle.

use x0x_dist_loader::tuf::{self, MetadataSource, NoPersistence, Persistence, Scope, WalkOptions};

use super::{Error, Layout, OffsetDateTime, Path, Result, TrustedSet};

impl MetadataSource for Layout {
    fn read<'a>(&'a self, name: &'a str, limit: u64) -> tuf::source::Read<'a> {
        let r = tuf::source::read_limited(&self.metadata_file(name), name, limit);
        Box::pin(std::future::ready(r))
    }

    fn describe(&self) -> String {
        self.metadata().display().to_string()
    }

    /// A repository that lacks a file its own chain names is broken: an I/O failure naming the file.
    fn missing(&self, name: &str) -> x0x_dist_loader::Error {
        let path = self.metadata_file(name);
        x0x_dist_loader::Error::Io {
            op: "read",
            path,
            source: std::io::ErrorKind::NotFound.into(),
        }
    }
}

/// A failure of the walk as this crate reports it: a verification failure as the model's error (its code and
/// message, as every caller has always seen them), anything else as the loader's.
pub fn walk_error(e: x0x_dist_loader::Error) -> Error {
    match e {
        x0x_dist_loader::Error::Metadata { source, .. } => Error::Model(source),
        e => Error::Loader(e),
    }
}

/// Loads and verifies the whole chain at `now`, starting from `1.root.json` (or from `trusted_root` if
/// given) and rotating through every `N.root.json`: timestamp, snapshot, top-level targets and every
/// delegated role the snapshot lists.
pub fn load_trusted(
    dir: &Path,
    trusted_root: Option<&Path>,
    now: OffsetDateTime,
) -> Result<TrustedSet> {
    let first = Layout::new(dir).metadata_file("1.root.json");
    if trusted_root.is_none() && !first.exists() {
        return Err(Error::NotFound(dir.to_owned()));
    }
    load_trusted_from(
        dir,
        &super::read_metadata(trusted_root.unwrap_or(&first))?,
        now,
    )
}

/// [`load_trusted`] starting from the trusted root's bytes (a bundle's or a mirror's pinned root), so no
/// temporary copy of it is ever written (a killed process would leave that behind).
pub fn load_trusted_from(
    dir: &Path,
    trusted_root: &[u8],
    now: OffsetDateTime,
) -> Result<TrustedSet> {
    load_trusted_with(&Layout::new(dir), &mut NoPersistence, trusted_root, now)
}

/// [`load_trusted_from`] over any [`MetadataSource`] (the server's store, an unpacked bundle) with the
/// rollback references and the reuse of `persist` (a mirror's served files). Synchronous: the source must
/// not wait on a runtime (call it from a blocking thread).
pub fn load_trusted_with(
    source: &dyn MetadataSource,
    persist: &mut dyn Persistence,
    trusted_root: &[u8],
    now: OffsetDateTime,
) -> Result<TrustedSet> {
    tuf::refresh_blocking(
        source,
        persist,
        trusted_root,
        Scope::All,
        WalkOptions::at(now),
    )
    .map_err(walk_error)
}
