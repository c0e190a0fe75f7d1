//! [`MetaFile`]: how snapshot and timestamp pin a metadata file (version, optionally length and hashes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::names::Sha256;

/// A snapshot/timestamp entry for a metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// The role version.
    pub version: u64,
    /// Optional exact file length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Optional hashes of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl MetaFile {
    /// A version-only entry.
    pub fn version(version: u64) -> Self {
        MetaFile {
            version,
            length: None,
            hashes: None,
            extra: BTreeMap::new(),
        }
    }
    pub(super) fn check(&self) -> Result<()> {
        if self.version == 0 {
            return Err(Error::malformed("meta entry", "version must be >= 1"));
        }
        Ok(())
    }
    /// Checks a fetched metadata file against the pinned length and SHA-256 (if any).
    pub fn verify_bytes(&self, role: &str, bytes: &[u8]) -> Result<()> {
        if let Some(len) = self.length {
            if bytes.len() as u64 != len {
                return Err(Error::MetadataLengthMismatch {
                    role: role.to_owned(),
                    expected: len,
                    found: bytes.len() as u64,
                });
            }
        }
        if let Some(expected) = self.hashes.as_ref().and_then(|h| h.get("sha256")) {
            let found = Sha256::digest(bytes).to_hex();
            if *expected != found {
                return Err(Error::MetadataDigestMismatch {
                    role: role.to_owned(),
                    expected: expected.clone(),
                    found,
                });
            }
        }
        Ok(())
    }
}
