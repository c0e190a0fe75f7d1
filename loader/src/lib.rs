//! The x0x-dist loader library: resolve → fetch → verify → cache.
//!
//! - [`elf`]: what an ELF binary needs (machine, class, glibc floor) and what the running host offers (libc from
//!   the process's own interpreter, host glibc version) — pure functions over bytes plus one I/O entry point.
//! - [`host`]: the target triple this process runs as, libc corrected at run time.
//! - [`tuf`]: the TUF client workflow (root rotation, timestamp → snapshot → targets → the package's delegated
//!   role) with trusted metadata persisted for rollback protection; trust decisions come from
//!   `x0x_dist_manifests::verify`.
//! - [`resolve`]: semver resolution and candidate ranking (native → WASM threads → WASM), glibc ABI checks.
//! - [`fetch`]: HTTP(S) and `file://` repository reads with timeouts, retries, `Range` resume, proxies and
//!   extra CA certificates; streaming SHA-256 and length checks.
//! - [`cache`]: content-addressed blobs with atomic rename and a cross-process lock.
//! - [`client`]: the pipeline behind one type.
//! - [`env`]: every environment variable read, in one place.
//! - [`provenance`]: the signed provenance a release must carry (`X0X_DIST_REQUIRE_PROVENANCE`).
//! - [`artifact`]: whether a release file's bytes are a build for the platform its name claims (ELF, Mach-O, PE,
//!   WASM with [`wasm_imports`]).
//!
//! Invariant: no path returned by this crate names bytes whose length and SHA-256 were not checked against
//! metadata verified by the TUF workflow.
#![deny(missing_docs)]

pub mod artifact;
pub mod cache;
pub mod client;
pub mod elf;
pub mod env;
mod error;
pub mod fetch;
pub mod host;
pub mod provenance;
pub mod resolve;
pub mod tuf;
pub mod wasm_imports;

pub use client::{Client, Selected};
pub use error::Error;
