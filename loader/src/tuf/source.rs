//! Where the chain walk ([`super::walk`]) reads metadata: anything that can return the bytes of a metadata file
//! by name, or say it has none. The loader's [`Fetcher`] (HTTP with retries and redirects, or a `file://`
//! directory in the server's layout) is one; a repository directory, an unpacked bundle and the server's
//! object store are others (implemented where they live: `x0x-dist-repository`, `x0x-dist-server`).
//!
//! A source only moves bytes: every trust decision is the walk's, through `TrustedSet`. A source must stop
//! reading at `limit + 1` bytes and fail with `metadata.too_large` beyond `limit` (an endless answer must not
//! exhaust memory before any signature is checked).
use std::future::Future;
use std::pin::Pin;

use crate::error::Error;
pub use crate::fetch::read_limited;
use crate::fetch::Fetcher;

/// The answer of one read: the bytes, `None` when the source has no such file, or a failure.
pub type Read<'a> = Pin<Box<dyn Future<Output = Result<Option<Vec<u8>>, Error>> + Send + 'a>>;

/// A place metadata files are read from.
pub trait MetadataSource: Send + Sync {
    /// Reads the metadata file `name` (`timestamp.json`, `3.snapshot.json`, `2.root.json`, ...), at most
    /// `limit` bytes. `Ok(None)` when the source does not have it (the normal end of a root rotation).
    fn read<'a>(&'a self, name: &'a str, limit: u64) -> Read<'a>;

    /// Where it reads from, for messages (`http://host/`, a directory).
    fn describe(&self) -> String;

    /// The failure when a file the chain needs (timestamp, a pinned snapshot or targets role) is missing.
    fn missing(&self, name: &str) -> Error {
        Error::NotFound {
            what: format!("metadata {name}"),
            location: self.describe(),
        }
    }
}

impl MetadataSource for Fetcher {
    fn read<'a>(&'a self, name: &'a str, limit: u64) -> Read<'a> {
        Box::pin(self.metadata(name, limit))
    }

    fn describe(&self) -> String {
        self.location().to_string()
    }
}
