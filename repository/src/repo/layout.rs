//! Paths inside a repository directory and how its files are read and written.

use super::{io, Path, PathBuf, Result, Sha256, TargetPath, Targets};

/// The upload-token file's name in a repository directory (`DIR/tokens.json`; the same key in an object store).
pub const TOKEN_FILE: &str = "tokens.json";

/// File name, in the online keys directory, of the key that signs package roles for trusted-publishing policies
/// with `sign_online` (`crate::trust`).
pub const PACKAGES_KEY_FILE: &str = "packages.key";
/// File name, in the online keys directory, of the MAC key of OIDC-issued upload tokens (`crate::trust`).
pub const UPLOAD_TOKEN_KEY_FILE: &str = "upload-token.key";

/// Paths inside a repository directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of `dir` (nothing is checked).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Layout { root: dir.into() }
    }
    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }
    /// `DIR/keys`: offline keys.
    pub fn offline_keys(&self) -> PathBuf {
        self.root.join("keys")
    }
    /// `DIR/online`: the server's keys.
    pub fn online_keys(&self) -> PathBuf {
        self.root.join("online")
    }
    /// The secret key file of a top-level role (`keys/` for root and targets, `online/` otherwise).
    pub fn key_file(&self, role: &str) -> PathBuf {
        let dir = if matches!(role, "root" | "targets") {
            self.offline_keys()
        } else {
            self.online_keys()
        };
        dir.join(format!("{role}.key"))
    }
    /// `DIR/metadata`.
    pub fn metadata(&self) -> PathBuf {
        self.root.join("metadata")
    }
    /// `DIR/metadata/<name>`.
    pub fn metadata_file(&self, name: &str) -> PathBuf {
        self.metadata().join(name)
    }
    /// `DIR/targets`.
    pub fn targets(&self) -> PathBuf {
        self.root.join("targets")
    }
    /// `DIR/targets/<stored>`: a published target by its stored (hash-prefixed) path.
    pub fn target_stored(&self, stored: &str) -> PathBuf {
        self.targets().join(stored)
    }
    /// `DIR/blobs/sha256`: uploaded blobs by SHA-256 (the server's store).
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    /// `DIR/blobs/sha256/<hex>`.
    pub fn blob_file(&self, sha256: &Sha256) -> PathBuf {
        self.blobs().join(sha256.to_hex())
    }
    /// `DIR/tmp`: in-flight uploads and writes, on the same file system as what they become (cleaned at start).
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    /// `DIR/npm/<name>`: a release record of the server's npm registry view (written once).
    pub fn npm_record(&self, name: &str) -> PathBuf {
        self.root.join("npm").join(name)
    }
    /// `DIR/tokens.json`: the upload tokens (hashes only).
    pub fn tokens_file(&self) -> PathBuf {
        self.root.join(TOKEN_FILE)
    }
    /// `DIR/trust/<package>.json`: the package's signed trusted-publishing policy (`crate::trust`).
    pub fn trust_file(&self, package: &str) -> PathBuf {
        self.root.join("trust").join(format!("{package}.json"))
    }
    /// `DIR/staging/<package>.json`: the package's staged releases, not yet in any signed role (the server's).
    pub fn staging_file(&self, package: &str) -> PathBuf {
        self.root.join("staging").join(format!("{package}.json"))
    }
    /// `<keys>/packages.key` under the online keys: the key the server signs a package role with when the
    /// package's policy says `sign_online` (`crate::trust`).
    pub fn online_packages_key(&self) -> PathBuf {
        self.online_keys().join(PACKAGES_KEY_FILE)
    }
    /// `<keys>/upload-token.key` under the online keys: the MAC key of the short-lived upload tokens the OIDC
    /// exchange issues (`crate::trust`).
    pub fn upload_token_key(&self) -> PathBuf {
        self.online_keys().join(UPLOAD_TOKEN_KEY_FILE)
    }
    /// Where a published target's bytes live: `DIR/targets/<package>/<version>/<sha256>.<file>`.
    pub fn target_file(&self, path: &TargetPath, sha256: &Sha256) -> PathBuf {
        self.targets()
            .join(path.package().as_str())
            .join(path.version().to_string())
            .join(format!("{}.{}", sha256.to_hex(), path.file_name()))
    }
}

/// Writes `bytes` to `path` atomically and durably ([`x0x_dist_durable::write_atomic`]); `secret` files get
/// mode 0600 from creation.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let mode = if secret {
        x0x_dist_durable::Mode::Private
    } else {
        x0x_dist_durable::Mode::Public
    };
    Ok(x0x_dist_durable::write_atomic(path, bytes, mode).map_err(io("writing", path))?)
}

/// `Path::parent` of a bare relative name (`repo`) is the empty path, which names no directory: use `.`.
fn non_empty(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Syncs a directory (its entries: names created or renamed into it) to stable storage.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let dir = non_empty(dir);
    Ok(x0x_dist_durable::sync_dir(dir).map_err(io("syncing directory", dir))?)
}

pub(super) fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io("creating directory", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("setting permissions of", dir))?;
    }
    Ok(())
}

pub(super) fn read(path: &Path) -> Result<Vec<u8>> {
    Ok(std::fs::read(path).map_err(io("reading", path))?)
}

/// Reads a metadata file, refusing (before reading it all) anything over the largest role size limit.
pub(super) fn read_metadata(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read as _;
    const LIMIT: usize = <Targets as x0x_dist_manifests::Role>::MAX_SIZE;
    let f = std::fs::File::open(path).map_err(io("reading", path))?;
    let mut buf = Vec::new();
    f.take(LIMIT as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io("reading", path))?;
    if buf.len() > LIMIT {
        return Err(x0x_dist_manifests::Error::TooLarge {
            what: path.display().to_string(),
            len: buf.len(),
            limit: LIMIT,
        }
        .into());
    }
    Ok(buf)
}
