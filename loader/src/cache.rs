//! The on-disk cache: content-addressed target blobs and the persisted trusted TUF metadata.
//!
//! # Layout (under the cache root, default `$X0X_DIST_CACHE` or the per-user cache dir + `/x0x-dist`)
//! ```text
//! blobs/<hex>.<node|wasm>  a verified target, named by its SHA-256; written once (mode 0444), never modified
//! tmp/<hex>.part           a download in progress (kept across failures so the next attempt resumes)
//! locks/<hex>.flock        the per-blob writer lock (an OS lock on the file, not its existence)
//! tuf/<repo-id>/           trusted metadata of one repository (see `tuf`), with its own `.lock`
//! ```
//! The blob names are the JavaScript loader's (`loader/js/lib/cache.js`), so a cache filled by `x0x-dist fetch`
//! serves `require('x0x')` too. The two use different lock files (the JS loader's `locks/<hex>.lock` is an
//! exclusive-create file, ours an OS lock on `.flock`) and different `tuf/` ids (32 vs 16 hex digits), so they
//! never block or confuse each other; at worst both download the same blob and the second atomic rename
//! replaces identical bytes.
//! # Invariants
//! - A file appears under `blobs/` only by an atomic `rename` from `tmp/` after its length and SHA-256 matched
//!   verified metadata and it was `fsync`ed; readers never see a partial blob.
//! - Writers of one blob serialise on an exclusive OS file lock (`flock`/`LockFileEx` via `fs4`), then re-check
//!   whether another process finished first: N concurrent installs download a blob once.
//! - Readers trust nothing: [`Cache::get`] re-checks length and (unless told otherwise) SHA-256, and deletes a
//!   blob that no longer matches (disk corruption, tampering) so it is fetched again.
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fetch::{sha256_file, Fetcher, Progress};
use x0x_dist_manifests::TargetFile;

/// A cache rooted at a directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// An exclusive lock on a cache file, released on drop.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// Takes an exclusive lock on `path` (created if missing), blocking until it is free.
pub fn lock_file(path: &Path) -> Result<LockGuard, Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(Error::io("open", path))?;
    fs4::FileExt::lock(&file).map_err(Error::io("lock", path))?;
    Ok(LockGuard { file })
}

/// The blob file extension for a target path: `node`, `wasm`, or `bin` for anything else.
pub fn blob_ext(target_path: &str) -> &'static str {
    match Path::new(target_path).extension().and_then(|e| e.to_str()) {
        Some("node") => "node",
        Some("wasm") => "wasm",
        _ => "bin",
    }
}

impl Cache {
    /// Opens (creating if needed) a cache at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        for sub in ["blobs", "tmp", "locks", "tuf"] {
            let d = root.join(sub);
            std::fs::create_dir_all(&d).map_err(Error::io("create", &d))?;
        }
        Ok(Self { root })
    }

    /// The default cache directory: `$X0X_DIST_CACHE`, else `$XDG_CACHE_HOME/x0x-dist`, else
    /// `~/.cache/x0x-dist` (`%LOCALAPPDATA%\x0x-dist\Cache` on Windows, `~/Library/Caches/x0x-dist` on macOS).
    pub fn default_dir() -> PathBuf {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(d) = env(crate::env::CACHE) {
            return d;
        }
        // The same directories as the JavaScript loader (loader/js/lib/constants.js), so both share one cache.
        if cfg!(windows) {
            return env("LOCALAPPDATA")
                .unwrap_or_else(std::env::temp_dir)
                .join("x0x-dist")
                .join("Cache");
        }
        let base = if cfg!(target_os = "macos") {
            env("HOME").map(|h| h.join("Library/Caches"))
        } else {
            env("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .or_else(|| env("HOME").map(|h| h.join(".cache")))
        };
        base.unwrap_or_else(std::env::temp_dir).join("x0x-dist")
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this SHA-256 lives (whether or not it exists); `ext` from [`blob_ext`].
    pub fn blob_path(&self, sha256: &str, ext: &str) -> Result<PathBuf, Error> {
        let ok = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if !ok {
            return Err(Error::Config {
                what: "SHA-256",
                value: sha256.to_owned(),
            });
        }
        Ok(self.root.join("blobs").join(format!("{sha256}.{ext}")))
    }

    /// The directory of one repository's trusted metadata.
    pub fn tuf_dir(&self, repo_id: &str) -> PathBuf {
        self.root.join("tuf").join(repo_id)
    }

    /// A cached, still-valid blob: `Some(path)` if it exists with the verified length and (when `rehash`) the
    /// verified SHA-256. A blob that fails the check is deleted and `None` returned.
    pub fn get(
        &self,
        sha256: &str,
        ext: &str,
        length: u64,
        rehash: bool,
    ) -> Result<Option<PathBuf>, Error> {
        let path = self.blob_path(sha256, ext)?;
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("stat", &path)(e)),
        };
        let valid = meta.len() == length && (!rehash || sha256_file(&path)?.0 == sha256);
        if valid {
            Ok(Some(path))
        } else {
            tracing::warn!(blob = %path.display(), "cached blob does not match verified metadata; discarding");
            let _ = std::fs::remove_file(&path);
            Ok(None)
        }
    }

    /// Returns the verified blob for a target, downloading it through `fetcher` unless a valid copy is cached.
    /// Safe to call from many processes at once: one downloads, the others wait and then find it.
    /// The blob is named by the target's SHA-256 (required here: our repositories always list one); the
    /// download is checked against every hash `file` lists ([`Fetcher::target_file`]).
    pub async fn get_or_fetch(
        &self,
        fetcher: &Fetcher,
        stored_path: &str,
        display: &str,
        file: &TargetFile,
        progress: &dyn Progress,
    ) -> Result<PathBuf, Error> {
        let length = file.length;
        let sha256 = &file
            .sha256()
            .map_err(|source| Error::Metadata {
                context: format!("target {display}"),
                source,
            })?
            .to_hex();
        let ext = blob_ext(display);
        let blob = self.blob_path(sha256, ext)?;
        if let Some(p) = self.get(sha256, ext, length, true)? {
            return Ok(p);
        }
        let lock_path = self.root.join("locks").join(format!("{sha256}.flock"));
        let _guard = tokio::task::spawn_blocking(move || lock_file(&lock_path))
            .await
            .map_err(|e| Error::io("lock", "locks")(std::io::Error::other(e)))??;
        // Another writer may have finished while we waited.
        if let Some(p) = self.get(sha256, ext, length, true)? {
            return Ok(p);
        }
        let part = self.root.join("tmp").join(format!("{sha256}.part"));
        fetcher
            .target_file(stored_path, display, file, &part, progress)
            .await?;
        let mut perms = std::fs::metadata(&part)
            .map_err(Error::io("stat", &part))?
            .permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&part, perms).map_err(Error::io("chmod", &part))?;
        x0x_dist_durable::persist(&part, &blob).map_err(Error::io("store", &blob))?;
        Ok(blob)
    }

    /// Copies a cached blob to `dest` atomically (temp file in `dest`'s directory, then rename), mode 0644.
    pub fn export(&self, blob: &Path, dest: &Path) -> Result<(), Error> {
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            dest.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("target"),
            std::process::id()
        ));
        std::fs::copy(blob, &tmp).map_err(Error::io("copy", blob))?;
        // The copy is the user's file: writable by its owner (the blob it came from stays read-only).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))
                .map_err(Error::io("chmod", &tmp))?;
        }
        x0x_dist_durable::persist(&tmp, dest).map_err(Error::io("rename", &tmp))
    }
}
