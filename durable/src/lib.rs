//! The one way x0x-dist writes a file that must survive a crash: every crate (the server, the repository
//! tools, the mirror, bundles, the Rust loader's cache) goes through here, and `clippy.toml` steers plain
//! `std::fs::write` / `rename` / `File::create` away from the code that does this.
//!
//! - [`write_atomic`]: a new file content appears all at once or not at all — a temporary file in the same
//!   directory (named with [`TMP_PREFIX`], so a writer that died mid-way leaves only debris a later writer can
//!   sweep), written, `fsync`ed, renamed over the destination, and the directory `fsync`ed so the rename
//!   itself survives a power cut. [`write_atomic_in`] takes the temporary file's directory (same file system).
//! - [`persist`]: a finished file (a download, a staged copy) synced and renamed into place durably;
//!   [`rename`] when it is already synced.
//! - [`sync_dir`]: `fsync` of a directory's entries.
//! - [`overlap`]: write-back started while copying and `fdatasync` on a worker thread, for bulk imports.
//!
//! Errors are `std::io::Error`s that name the path; callers wrap them in their own error with a stable code.
use std::io::{self, Write as _};
use std::path::Path;

pub mod overlap;

/// Names of temporary files: `.tmp-<random>`. Never a name any reader looks for.
pub const TMP_PREFIX: &str = ".tmp-";

/// Who may read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0644 on Unix (metadata, targets).
    Public,
    /// 0600 on Unix from creation on (keys, tokens).
    Private,
}

fn at<'a>(path: &'a Path, what: &str) -> impl FnOnce(io::Error) -> io::Error + 'a {
    let what = what.to_owned();
    move |e| io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// `Path::parent` of a bare relative name (`repo`) is the empty path, which names no directory: use `.`.
fn parent_of(path: &Path) -> io::Result<&Path> {
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Ok(Path::new(".")),
        Some(p) => Ok(p),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no parent directory", path.display()),
        )),
    }
}

/// Replaces `path` with `bytes` atomically and durably (see the crate docs); creates the directory if missing.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Mode) -> io::Result<()> {
    let dir = parent_of(path)?;
    std::fs::create_dir_all(dir).map_err(at(dir, "creating directory"))?;
    write_atomic_in(dir, path, bytes, mode)
}

/// [`write_atomic`] with the temporary file in `tmp_dir`, which must be on the same file system as `path`
/// (e.g. a repository's `tmp/`, swept at startup, so readers of `path`'s directory never list a temporary).
pub fn write_atomic_in(tmp_dir: &Path, path: &Path, bytes: &[u8], mode: Mode) -> io::Result<()> {
    std::fs::create_dir_all(tmp_dir).map_err(at(tmp_dir, "creating directory"))?;
    // tempfile creates files with mode 0600; public files are widened before they get their name.
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(tmp_dir)
        .map_err(at(tmp_dir, "creating a temporary file in"))?;
    tmp.write_all(bytes).map_err(at(path, "writing"))?;
    #[cfg(unix)]
    if mode == Mode::Public {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(at(path, "setting permissions of"))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.as_file().sync_all().map_err(at(path, "syncing"))?;
    tmp.persist(path)
        .map_err(|e| at(path, "renaming into")(e.error))?;
    sync_dir(parent_of(path)?)
}

/// Makes the finished file `from` durable under the name `to`: syncs its content, renames it and syncs `to`'s
/// directory (downloads and staged copies that were written elsewhere). Same file system.
pub fn persist(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::File::open(from)
        .and_then(|f| f.sync_all())
        .map_err(at(from, "syncing"))?;
    rename(from, to)
}

/// Renames the (already synced) file `from` to `to` and syncs `to`'s directory, so the new name survives a
/// crash. Both must be on the same file system.
#[allow(clippy::disallowed_methods)] // this is the durable rename
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to).map_err(at(to, "renaming into"))?;
    sync_dir(parent_of(to)?)
}

/// Syncs a directory (the names created or renamed into it) to stable storage. A no-op where directories
/// cannot be opened (Windows), where the rename is durable by itself on NTFS.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(at(dir, "syncing directory"))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/timestamp.json");
        write_atomic(&p, b"one", Mode::Public).unwrap();
        write_atomic(&p, b"two", Mode::Public).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(d.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["timestamp.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let d = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        write_atomic(&d.path().join("pub"), b"x", Mode::Public).unwrap();
        write_atomic(&d.path().join("key"), b"x", Mode::Private).unwrap();
        assert_eq!(mode(&d.path().join("pub")), 0o644);
        assert_eq!(mode(&d.path().join("key")), 0o600);
    }

    #[test]
    fn temporary_in_another_directory() {
        let d = tempfile::tempdir().unwrap();
        let (tmp, meta) = (d.path().join("tmp"), d.path().join("metadata"));
        std::fs::create_dir_all(&meta).unwrap();
        write_atomic_in(&tmp, &meta.join("1.root.json"), b"{}", Mode::Public).unwrap();
        assert_eq!(std::fs::read(meta.join("1.root.json")).unwrap(), b"{}");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    }

    #[test]
    fn a_failed_write_names_the_path_and_keeps_the_old_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        write_atomic(&p, b"old", Mode::Public).unwrap();
        // The temporary directory is a file: nothing can be created there.
        let blocker = d.path().join("blocker");
        std::fs::File::options()
            .create_new(true)
            .write(true)
            .open(&blocker)
            .unwrap();
        let e = write_atomic_in(&blocker, &p, b"new", Mode::Public).unwrap_err();
        assert!(e.to_string().contains("blocker"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn bare_relative_names_use_the_current_directory() {
        assert_eq!(parent_of(Path::new("repo")).unwrap(), Path::new("."));
        assert!(parent_of(Path::new("/")).is_err());
    }
}
