//! The npm registry view under `/npm/` (`docs/npm-registry.md`): a read-only npm registry for the packages this
//! repository hosts, generated from its verified releases — the loader package `x0x` and one
//! `@x0x/core-<platform>` per signed target — on the origin, on replicas, on pull-through mirrors and on mirrors
//! loaded from a bundle.
//!
//! - [`name`]: what a request asks for, every name validated before anything is looked up.
//! - [`contents`]: the files of each package (what `loader/js/scripts/pack.js` makes).
//! - [`tarball`]: deterministic `.tgz` bytes, `dist.integrity` and `dist.shasum`.
//! - [`record`]: a release's frozen record (its embedded signed metadata and every tarball's `dist`).
//! - [`registry`]: hosted packages, records, tarballs, packument caching.
//! - [`packument`]: the JSON documents (full and abbreviated packuments, version documents, dist-tags).
//!
//! - [`audit`]: `npm audit`'s bulk advisories (the revoked releases).
//!
//! The HTTP handler is `crate::routes::npm`.
pub mod audit;
pub mod contents;
pub mod json;
pub mod name;
pub mod packument;
pub mod record;
pub mod registry;
pub mod tarball;

pub use name::{Endpoint, NpmName};
pub use registry::Registry;

/// The media type of abbreviated packuments (`Accept: application/vnd.npm.install-v1+json`).
pub const ABBREVIATED: &str = "application/vnd.npm.install-v1+json";
