//! SHA-256 of archive entries on a second thread, overlapped with the copy (export and unpack).
use super::*;

/// Hashes chunks on a second thread while the caller keeps reading and writing (hashing and I/O overlap).
/// One thread and at most [`Self::DEPTH`] buffers serve every entry in turn ([`Self::finish`] ends an entry):
/// buffers are recycled, never zeroed again or freshly faulted in per entry.
pub(super) struct PipelinedHash {
    to_hasher: Option<std::sync::mpsc::SyncSender<Option<Vec<u8>>>>,
    back: std::sync::mpsc::Receiver<Vec<u8>>,
    digests: std::sync::mpsc::Receiver<String>,
    handle: Option<std::thread::JoinHandle<()>>,
    /// Buffers that may still be allocated.
    spare: usize,
    /// Buffers handed back unused.
    free: Vec<Vec<u8>>,
}

impl PipelinedHash {
    pub(super) const DEPTH: usize = 4;
    pub(super) const CHUNK: usize = 1 << 20;

    pub(super) fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Vec<u8>>>(Self::DEPTH);
        let (back_tx, back) = std::sync::mpsc::channel::<Vec<u8>>();
        let (digest_tx, digests) = std::sync::mpsc::channel::<String>();
        let handle = std::thread::spawn(move || {
            let mut h = sha2::Sha256::new();
            for msg in rx {
                match msg {
                    Some(buf) => {
                        h.update(&buf);
                        let _ = back_tx.send(buf);
                    }
                    None => {
                        let _ = digest_tx.send(hex::encode(h.finalize_reset()));
                    }
                }
            }
        });
        Self {
            to_hasher: Some(tx),
            back,
            digests,
            handle: Some(handle),
            spare: Self::DEPTH,
            free: Vec::new(),
        }
    }

    /// A full-size buffer to read into (recycled from the hasher, or new while fewer than DEPTH exist).
    pub(super) fn buffer(&mut self) -> Vec<u8> {
        let mut b = if let Some(b) = self.free.pop() {
            b
        } else if self.spare > 0 {
            self.spare -= 1;
            Vec::new()
        } else {
            self.back.recv().unwrap_or_default()
        };
        // A recycled buffer was truncated to what it held: only that tail is zeroed again.
        b.resize(Self::CHUNK, 0);
        b
    }

    /// Returns a buffer that was not filled (end of an entry), for the next [`Self::buffer`].
    pub(super) fn recycle(&mut self, buf: Vec<u8>) {
        self.free.push(buf);
    }

    /// Hashes `buf` (the caller is done with it) as the next piece of the current entry.
    pub(super) fn hash(&mut self, buf: Vec<u8>) {
        if let Some(tx) = &self.to_hasher {
            let _ = tx.send(Some(buf));
        }
    }

    /// The SHA-256 (hex) of everything hashed since the last call; the next entry starts empty.
    pub(super) fn finish(&mut self) -> String {
        if let Some(tx) = &self.to_hasher {
            let _ = tx.send(None);
        }
        self.digests.recv().unwrap_or_default()
    }
}

impl Drop for PipelinedHash {
    fn drop(&mut self) {
        drop(self.to_hasher.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
