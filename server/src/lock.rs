//! The repository's writer lock: an advisory OS file lock (`flock`/`LockFileEx` via `fs4`, as the loader's cache) on
//! `DIR/metadata.lock`, held by every writer of the next snapshot and timestamp from reading the current state
//! to the commit: the server's publish and timestamp refresh, and the offline CLI (`package add`,
//! `package release`). Without it, a `package add` run while the server publishes could read the same snapshot
//! version and both write its successor. Readers (serving, verification) never take it: every file is replaced
//! by an atomic rename, so they always see a complete state.
//!
//! The lock is released when the guard drops or the process dies (the kernel drops `flock`s of dead
//! processes, so a `kill -9` never leaves it held). The lock file itself is empty and never removed.

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

/// Takes the writer lock of the repository in `dir` if it is free.
pub fn try_lock(dir: &Path) -> io::Result<Option<WriterLock>> {
    let file = open(dir)?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Some(WriterLock { file })),
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
    Ok(WriterLock { file })
}

#[cfg(test)]
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
}
