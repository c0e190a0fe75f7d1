//! The x0x-dist loader library: resolve → fetch → verify → cache.
//!
//! Will hold: host detection (target-lexicon triple, libc from the process's ELF interpreter, glibc version),
//! candidate ranking from verified metadata, the TUF client workflow with persisted trusted metadata, fetching
//! with reqwest (timeouts, retries, resume, proxies), streaming SHA-256 checks and a content-addressed cache.
#![deny(missing_docs)]
