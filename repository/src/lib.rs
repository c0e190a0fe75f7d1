//! The offline side of x0x-dist: everything that works on a repository directory without the HTTP server.
//!
//! [`repo`] (layout, `init`, loading and verifying the trusted chain, delegating, local releases), [`lock`] (the
//! cross-process writer lock), [`tokens`] (the upload-token file: format, create, list, revoke), [`mirror`]
//! (mirror directories and `mirror sync`), [`bundle`] (air-gapped bundles), [`object_path`] (validated object
//! paths, shared with the server's storage) and [`error`] (the crate's one error type, [`Error`]). The server
//! (`x0x-dist-server`) builds on this crate; nothing here depends on it or on axum/hyper.
// URL and file names are case-sensitive by design (napi names are lower case; `.JSON` is not metadata).
#![allow(clippy::case_sensitive_file_extension_comparisons)]

pub mod bundle;
pub mod error;
pub mod lock;
pub mod mirror;
pub mod object_path;
pub mod repo;
pub mod tokens;
pub mod trust;

pub use error::{Error, Result};
