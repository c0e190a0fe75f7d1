//! Download progress reporting.

/// Receives progress of a target download (the CLI draws a bar; libraries pass [`NoProgress`]).
pub trait Progress: Send + Sync {
    /// Download of `name` starts; `total` bytes expected, `already` of them kept from a previous attempt.
    fn start(&self, name: &str, total: u64, already: u64);
    /// `n` more bytes arrived.
    fn advance(&self, n: u64);
    /// Finished (successfully or not).
    fn finish(&self);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
