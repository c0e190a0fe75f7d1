//! The repository's writer lock: an advisory OS file lock (`flock`/`LockFileEx` via `fs4`, as the loader's cache) on
//! `DIR/metadata.lock`, held by every writer of the next snapshot and timestamp from reading the current state
//! to the commit: the server's publish and timestamp refresh, and the offline CLI (`package add`,
//! `package release`). Without it, a `package add` run while the server publishes could read the same snapshot
//! version and both write its successor. Readers (serving, verification) never take it: every file is replaced
//! by an atomic rename, so they always see a complete state.
//!
//! The lock is released when the guard drops or the process dies (the kernel drops `flock`s of dead
//! processes, so a `kill -9` never leaves it held). The lock file itself is empty and never removed.
//!
//! A writer killed mid-write leaves its temporary file (`metadata/.tmp-*`, see [`crate::repo::write_atomic`])
//! behind: never a named metadata file, so readers never see it, but debris. Every writer creates those files only
//! while it holds this lock, so whoever takes the lock next removes them ([`sweep_stale`]).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The lock file of the repository in `dir`.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join("metadata.lock")
}

/// Holds the writer lock until dropped.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

fn open(dir: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(dir))
}

/// The prefix of the temporary files [`crate::repo::write_atomic`] creates beside their destination.
pub const TMP_PREFIX: &str = x0x_dist_durable::TMP_PREFIX;

/// Removes the temporary files a killed writer left in `DIR/metadata/`; returns how many. Only call it while
/// holding the lock: a live writer's temporary file would go too.
pub fn sweep_stale(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(crate::repo::Layout::new(dir).metadata()) else {
        return 0;
    };
    let mut n = 0;
    for ent in rd.flatten() {
        let stale = ent
            .file_name()
            .to_str()
            .is_some_and(|s| s.starts_with(TMP_PREFIX))
            && ent.file_type().is_ok_and(|t| t.is_file());
        if stale && std::fs::remove_file(ent.path()).is_ok() {
            tracing::warn!(file = %ent.path().display(), "removed a temporary file an interrupted writer left");
            n += 1;
        }
    }
    n
}

fn locked(dir: &Path, file: File) -> WriterLock {
    sweep_stale(dir);
    WriterLock { file }
}

/// Takes the writer lock of the repository in `dir` if it is free.
pub fn try_lock(dir: &Path) -> io::Result<Option<WriterLock>> {
    let file = open(dir)?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Some(locked(dir, file))),
        Err(fs4::TryLockError::WouldBlock) => Ok(None),
        Err(fs4::TryLockError::Error(e)) => Err(e),
    }
}

/// Takes the writer lock, blocking until it is free; `waiting` runs once if it has to wait (to tell the user).
pub fn lock(dir: &Path, waiting: impl FnOnce()) -> io::Result<WriterLock> {
    if let Some(l) = try_lock(dir)? {
        return Ok(l);
    }
    waiting();
    let file = open(dir)?;
    fs4::FileExt::lock(&file)?;
    Ok(locked(dir, file))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests write fixtures directly
mod tests {
    use super::*;

    #[test]
    fn exclusive_between_handles_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_lock(dir.path()).unwrap().expect("free at first");
        assert!(
            try_lock(dir.path()).unwrap().is_none(),
            "held by the first guard"
        );
        drop(first);
        let mut waited = false;
        let again = lock(dir.path(), || waited = true).unwrap();
        assert!(!waited, "free again after the drop");
        drop(again);
        assert!(lock_path(dir.path()).is_file());
    }

    #[test]
    fn taking_the_lock_removes_temporary_files_left_by_a_killed_writer() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("metadata");
        std::fs::create_dir_all(m.join(".tmp-dir")).unwrap();
        std::fs::write(m.join(".tmp-AbC123"), b"{\"sig").unwrap();
        std::fs::write(m.join("timestamp.json"), b"{}").unwrap();
        let held = try_lock(dir.path()).unwrap().expect("free");
        assert!(!m.join(".tmp-AbC123").exists(), "debris removed");
        assert!(m.join("timestamp.json").is_file(), "metadata kept");
        assert!(m.join(".tmp-dir").is_dir(), "only files are removed");
        // While the lock is held nobody else sweeps: a live writer's file stays.
        std::fs::write(m.join(".tmp-live"), b"").unwrap();
        assert!(try_lock(dir.path()).unwrap().is_none());
        assert!(m.join(".tmp-live").exists());
        drop(held);
    }
}
