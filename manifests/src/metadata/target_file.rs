//! A target entry ([`TargetFile`]: length, hashes, `custom`), the streaming check of its bytes
//! ([`TargetHasher`]), and the `custom` fields of an x0x artifact ([`TargetCustom`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;

use crate::error::{Error, Result};
use crate::names::{PackageName, Sha256, Version};
use crate::platform::{Kind, Libc, Platform};

/// A target: length, hashes, custom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    /// Exact length in bytes.
    pub length: u64,
    /// Hashes by algorithm; `sha256` is required.
    pub hashes: BTreeMap<String, String>,
    /// Opaque custom data; for x0x artifacts a [`TargetCustom`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl TargetFile {
    /// A target for `data`.
    pub fn for_bytes(data: &[u8], custom: Option<&TargetCustom>) -> Self {
        TargetFile {
            length: data.len() as u64,
            hashes: BTreeMap::from([("sha256".to_owned(), Sha256::digest(data).to_hex())]),
            custom: custom.map(|c| serde_json::to_value(c).expect("custom serializes")),
            extra: BTreeMap::new(),
        }
    }
    /// The required SHA-256.
    pub fn sha256(&self) -> Result<Sha256> {
        self.hashes
            .get("sha256")
            .ok_or_else(|| Error::malformed("target", "no sha256 hash"))?
            .parse()
    }
    /// The signed publish time (`custom.published`, RFC 3339, written at publish since issue 23): `None` when
    /// the target has none (published before, or by another tool: treated as old) or it does not parse.
    pub fn published(&self) -> Option<time::OffsetDateTime> {
        let s = self.custom.as_ref()?.get(PUBLISHED)?.as_str()?;
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    }
    /// Records `at` as the signed publish time (`custom.published`), when the target has a `custom` object.
    pub fn set_published(&mut self, at: time::OffsetDateTime) {
        if let Some(Value::Object(c)) = self.custom.as_mut() {
            c.insert(
                PUBLISHED.to_owned(),
                Value::String(crate::cjson::datetime::format(at)),
            );
        }
    }
    /// The x0x custom fields, if present and well-formed.
    pub fn x0x_custom(&self) -> Option<TargetCustom> {
        self.custom
            .clone()
            .and_then(|c| serde_json::from_value(c).ok())
    }
    /// Parse-time checks of `hashes`: not empty; `sha256` and `sha512`, if listed, lower-case hex of 32 and
    /// 64 bytes. Other algorithms are kept (the target then never verifies: see [`TargetFile::verify`]).
    pub(super) fn check_hashes(&self) -> Result<()> {
        if self.hashes.is_empty() {
            return Err(Error::malformed("target", "no hashes"));
        }
        if self.hashes.contains_key("sha256") {
            self.sha256()?;
        }
        if let Some(h) = self.hashes.get("sha512") {
            if !(h.len() == 128 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))) {
                return Err(Error::malformed(
                    "sha512",
                    format_args!(
                        "{:?} is not 128 lower-case hex characters",
                        h.chars().take(140).collect::<String>()
                    ),
                ));
            }
        }
        Ok(())
    }
    /// Whether this target can be verified at all: it lists at least one hash and only sha256 / sha512
    /// (`target.digest_mismatch` naming the first other algorithm; `metadata.malformed` if none is listed).
    pub fn check_hash_algorithms(&self, path: &str) -> Result<()> {
        if self.hashes.is_empty() {
            return Err(Error::malformed(format!("target {path}"), "no hashes"));
        }
        if let Some(alg) = self
            .hashes
            .keys()
            .find(|a| !TARGET_HASH_ALGORITHMS.contains(&a.as_str()))
        {
            return Err(Error::HashUnsupported {
                path: path.to_owned(),
                algorithm: alg.chars().take(40).collect(),
            });
        }
        Ok(())
    }
    /// A streaming check of a target's bytes against this metadata ([`TargetHasher::finish`]).
    pub fn hasher(&self) -> TargetHasher<'_> {
        TargetHasher {
            target: self,
            length: 0,
            sha256: self.hashes.contains_key("sha256").then(sha2::Sha256::new),
            sha512: self.hashes.contains_key("sha512").then(sha2::Sha512::new),
        }
    }
    /// Checks `data` against the length and every hash this target lists: each must be sha256 or sha512 and
    /// match (`target.length_mismatch`, `target.digest_mismatch`). As python-tuf: an algorithm we cannot
    /// compute is a failure, never skipped.
    pub fn verify(&self, path: &str, data: &[u8]) -> Result<()> {
        let mut h = self.hasher();
        h.update(data);
        h.finish(path)
    }
}

/// The hash algorithms a target's `hashes` may list ([`TargetFile::verify`]).
pub const TARGET_HASH_ALGORITHMS: [&str; 2] = ["sha256", "sha512"];

/// Target bytes being checked as they stream: [`TargetFile::hasher`], then [`TargetHasher::update`] with every
/// byte in order, then [`TargetHasher::finish`].
pub struct TargetHasher<'a> {
    target: &'a TargetFile,
    length: u64,
    sha256: Option<sha2::Sha256>,
    sha512: Option<sha2::Sha512>,
}

impl TargetHasher<'_> {
    /// Feeds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.length += data.len() as u64;
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
    }
    /// Bytes fed so far.
    pub fn length(&self) -> u64 {
        self.length
    }
    /// Checks the length, then every listed hash (`path` names the target in errors).
    pub fn finish(self, path: &str) -> Result<()> {
        let t = self.target;
        if self.length != t.length {
            return Err(Error::LengthMismatch {
                path: path.to_owned(),
                expected: t.length,
                found: self.length,
            });
        }
        t.check_hash_algorithms(path)?;
        let found = [
            ("sha256", self.sha256.map(|h| hex::encode(h.finalize()))),
            ("sha512", self.sha512.map(|h| hex::encode(h.finalize()))),
        ];
        for (alg, found) in found {
            if let (Some(expected), Some(found)) = (t.hashes.get(alg), found) {
                if *expected != found {
                    return Err(Error::DigestMismatch {
                        path: path.to_owned(),
                        algorithm: alg,
                        expected: expected.clone(),
                        found,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The key of the signed publish time in a target's `custom` ([`TargetFile::published`]).
pub const PUBLISHED: &str = "published";

/// The `custom` object of an x0x artifact target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCustom {
    /// Package name.
    pub package: PackageName,
    /// Package version.
    pub version: Version,
    /// Rust target triple.
    pub target: String,
    /// napi-rs platform name (the triple for WASM), the key of the platform table.
    pub platform: String,
    /// Node `process.platform` (`wasi` for WASM).
    pub os: String,
    /// Node `process.arch` (`wasm32` for WASM).
    pub arch: String,
    /// `glibc`, `musl` or `none`.
    pub libc: Libc,
    /// `native` or `wasm`.
    pub kind: Kind,
    /// For glibc builds: the highest `GLIBC_` symbol version the binary needs (e.g. `2.17`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glibc_floor: Option<String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl TargetCustom {
    /// The custom fields for an artifact of `platform`.
    pub fn new(
        package: &PackageName,
        version: &Version,
        platform: Platform,
        glibc_floor: Option<String>,
    ) -> Self {
        let i = platform.info();
        TargetCustom {
            package: package.clone(),
            version: version.clone(),
            target: i.triple.to_owned(),
            platform: i.name.to_owned(),
            os: i.platform.to_owned(),
            arch: i.arch.to_owned(),
            libc: i.libc,
            kind: i.kind,
            glibc_floor: if i.libc == Libc::Glibc {
                glibc_floor
            } else {
                None
            },
            extra: BTreeMap::new(),
        }
    }
    /// The platform (errors with `platform.unknown`).
    pub fn platform(&self) -> Result<Platform> {
        Platform::from_name(&self.platform)
    }
}
