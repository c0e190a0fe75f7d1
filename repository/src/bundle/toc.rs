//! `bundle.json`: the table of contents, the archive's first entry.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Name of the table of contents, the archive's first entry.
pub const TOC_NAME: &str = "bundle.json";
/// The `format` field of every bundle.
pub const FORMAT: &str = "x0x-dist-bundle";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// Largest accepted `bundle.json`.
pub(super) const MAX_TOC: u64 = 16 << 20;

/// One entry of the table of contents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TocFile {
    /// Entry name in the archive (`metadata/1.root.json`, `targets/x0x/0.3.1/<sha256>.x0x.linux-x64-gnu.node`).
    pub name: String,
    /// Length in bytes.
    pub length: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// For targets: the TUF target path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// For targets: the napi platform name (or WASM triple), from the signed `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// `bundle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Toc {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u64,
    /// When the bundle was written (RFC 3339).
    pub created: String,
    /// Latest root version in the bundle.
    pub root_version: u64,
    /// The timestamp's version.
    pub timestamp_version: u64,
    /// The snapshot's version.
    pub snapshot_version: u64,
    /// When the bundled timestamp expires (RFC 3339): after this, installs need the operator's expiry policy.
    pub timestamp_expires: String,
    /// Packages and the versions whose targets are included.
    pub packages: BTreeMap<String, Vec<String>>,
    /// Metadata entries, in archive order.
    pub metadata: Vec<TocFile>,
    /// Target entries, in archive order.
    pub targets: Vec<TocFile>,
    /// Release records of the server's npm registry view (`npm/<package>-<version>.record.json`), for the
    /// bundled versions that have one: an air-gapped mirror then serves the very npm tarballs the origin
    /// serves (docs/npm-registry.md). Verified by the server when it loads them, not on import. Absent in
    /// bundles written before they existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub npm: Vec<TocFile>,
}
