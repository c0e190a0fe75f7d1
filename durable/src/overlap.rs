//! Bulk writes that do not stall the writer (bundle import): write-back overlapped with copying.
//!
//! A target must be on stable storage before the metadata that names it is committed. Writing everything
//! and then calling `fsync` serialises two phases: the copy (CPU, page cache) and the flush (the device).
//! Here they overlap:
//! - [`start_writeback`] asks the kernel to start writing a range just written (`sync_file_range` with
//!   `SYNC_FILE_RANGE_WRITE`: asynchronous, returns at once) — the device works while the next chunk is copied;
//! - [`Syncer`] runs `fdatasync` on a worker thread for each finished file while the next file is unpacked,
//!   so by the time the last file is written the earlier ones are durable.
//!
//! `sync_file_range` alone guarantees nothing (no metadata, no device cache flush): it only makes the final
//! `fdatasync` cheap. Durability comes from [`Syncer::finish`], which returns only once every file handed to it
//! is synced (or reports the first failure).
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

/// Starts write-back of `len` bytes at `offset` of `file` without waiting for it (Linux); elsewhere a no-op
/// (the final `fdatasync` then does all the work).
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let (Ok(off), Ok(n)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: `sync_file_range` only reads its integer arguments; the descriptor is borrowed from a live
        // `File` for the duration of the call. A failure (e.g. a filesystem that does not support it) is
        // harmless: it is a hint, and `Syncer` still runs `fdatasync`.
        #[allow(unsafe_code)]
        let _ =
            unsafe { libc::sync_file_range(file.as_raw_fd(), off, n, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

enum Job {
    /// Start write-back of a range ([`start_writeback`]).
    Writeback(Arc<File>, u64, u64),
    /// `fdatasync` the file (written in full).
    Sync(Arc<File>, PathBuf),
}

/// A worker thread that starts write-back of ranges as they are written and `fdatasync`s finished files, in
/// the order they are handed over, so the thread copying the data pays for neither.
pub struct Syncer {
    tx: Option<mpsc::Sender<Job>>,
    handle: Option<JoinHandle<Result<usize, (PathBuf, io::Error)>>>,
}

impl Syncer {
    /// Starts the worker.
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::spawn(move || {
            let mut first_err = None;
            let mut synced = 0;
            for job in rx {
                match job {
                    _ if first_err.is_some() => {} // drain: the import fails anyway
                    Job::Writeback(f, off, len) => start_writeback(&f, off, len),
                    Job::Sync(f, path) => match f.sync_data() {
                        Ok(()) => synced += 1,
                        Err(e) => first_err = Some((path, e)),
                    },
                }
            }
            first_err.map_or(Ok(synced), Err)
        });
        Self {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    fn send(&self, job: Job) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(job);
        }
    }

    /// Asks for write-back of `len` bytes at `offset` of `file` to start (asynchronously, on the worker).
    pub fn writeback(&self, file: &Arc<File>, offset: u64, len: u64) {
        self.send(Job::Writeback(Arc::clone(file), offset, len));
    }

    /// Hands a fully written file over to be synced.
    pub fn push(&self, file: Arc<File>, path: PathBuf) {
        self.send(Job::Sync(file, path));
    }

    /// Waits until every file handed over is durable; the number synced, or the first failure.
    pub fn finish(mut self) -> Result<usize, (PathBuf, io::Error)> {
        drop(self.tx.take());
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err((
                PathBuf::new(),
                io::Error::other("the fdatasync worker panicked"),
            )),
            None => Ok(0),
        }
    }
}

impl Default for Syncer {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        // On an early return the worker still drains what it was given before the thread ends.
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests write fixtures directly
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn syncs_every_file_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let s = Syncer::new();
        for i in 0..3 {
            let p = dir.path().join(format!("f{i}"));
            let mut f = File::create(&p).unwrap();
            f.write_all(&vec![i; 1 << 20]).unwrap();
            let f = Arc::new(f);
            s.writeback(&f, 0, 1 << 20);
            s.push(f, p);
        }
        assert_eq!(s.finish().unwrap(), 3);
    }

    #[test]
    fn reports_a_failed_sync() {
        // fdatasync of a read-only descriptor of a pipe fails with EINVAL on Linux; any error must surface.
        #[cfg(target_os = "linux")]
        {
            let s = Syncer::new();
            let f = File::open("/proc/self/status").unwrap();
            s.push(Arc::new(f), PathBuf::from("/proc/self/status"));
            let r = s.finish();
            assert!(r.is_err(), "{r:?}");
        }
    }
}
