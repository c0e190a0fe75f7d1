//! TUF 1.0 metadata: the four top-level roles, delegated targets roles, and the signed envelope.
//!
//! Invariants:
//! - A [`Signed<T>`] keeps the parsed `signed` value it was read from and its canonical bytes; signatures are
//!   verified over those bytes, never over a re-serialization of `T`. Unknown fields are preserved (each struct
//!   has a flattened `extra` map) so metadata written by another implementation round-trips.
//! - Parsing checks size (per-role limit), strict JSON (no duplicate keys, no floats), `_type`, `spec_version`
//!   1.x, `version >= 1`, the `expires` format, and for targets roles that every target path is a safe
//!   [`TargetName`] (else `target.path_invalid`; the package shape [`crate::TargetPath`] is checked where a
//!   path is used as a package artifact, not here) and every target has a non-empty `hashes` whose `sha256` /
//!   `sha512` values, if present, are lower-case hex of the right length.
//! - Target bytes verify only when the length and every listed hash match; a target listing a hash algorithm
//!   other than sha256 and sha512 never verifies ([`TargetFile::verify`], as python-tuf and go-tuf).
//! - Dates are written `YYYY-MM-DDTHH:MM:SSZ`; `consistent_snapshot` is always written `true` by this crate.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use time::OffsetDateTime;

use crate::cjson::{self, datetime};
use crate::error::{Error, Result};
use crate::keys::{KeyId, PublicKey, Signature, SigningKey};
use crate::names::{PackageName, Sha256, TargetName, Version};
use crate::platform::{Kind, Libc, Platform};

/// The TUF specification version this crate writes.
pub const SPEC_VERSION: &str = "1.0.31";

/// A TUF role's signed part.
pub trait Role: Serialize + DeserializeOwned + Clone {
    /// The `_type` string.
    const TYPE: &'static str;
    /// Size limit in bytes for a metadata file of this role, checked before parsing.
    const MAX_SIZE: usize;
    /// When it expires.
    fn expires(&self) -> OffsetDateTime;
    /// Its version.
    fn version(&self) -> u64;
    /// Checks on the raw `signed` value before typed deserialization (error codes more precise than
    /// `metadata.malformed`).
    fn check_raw(_signed: &Value) -> Result<()> {
        Ok(())
    }
    /// Semantic checks after deserialization.
    fn check(&self) -> Result<()> {
        Ok(())
    }
}

/// The keys and threshold of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// Authorized key ids.
    pub keyids: Vec<KeyId>,
    /// How many distinct authorized keys must sign.
    pub threshold: u64,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl RoleKeys {
    /// Role keys for `keys` with `threshold`.
    pub fn new(keys: &[&PublicKey], threshold: u64) -> Result<Self> {
        Ok(RoleKeys {
            keyids: keys.iter().map(|k| k.key_id()).collect::<Result<_>>()?,
            threshold,
            extra: BTreeMap::new(),
        })
    }
}

macro_rules! common_fields {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The role type (`_type`).
            #[serde(rename = "_type")]
            pub type_: String,
            /// The TUF spec version.
            pub spec_version: String,
            /// The metadata version (>= 1).
            pub version: u64,
            /// Expiry (UTC, second precision).
            #[serde(with = "datetime")]
            pub expires: OffsetDateTime,
            $($(#[$fm])* pub $f: $t,)*
            /// Unknown fields, preserved.
            #[serde(flatten)]
            pub extra: BTreeMap<String, Value>,
        }
    };
}

common_fields! {
    /// The root role: the keys and thresholds of the top-level roles.
    pub struct Root {
        /// Always `true` for repositories this crate writes.
        pub consistent_snapshot: bool,
        /// Keys by id.
        pub keys: BTreeMap<KeyId, PublicKey>,
        /// `root`, `targets`, `snapshot`, `timestamp`.
        pub roles: BTreeMap<String, RoleKeys>,
    }
}

common_fields! {
    /// A targets role (top-level `targets` or a delegated package role).
    pub struct Targets {
        /// Targets by path (any safe TUF target path; package artifacts are `<package>/<version>/<file>`).
        pub targets: BTreeMap<TargetName, TargetFile>,
        /// Delegations to other targets roles.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub delegations: Option<Delegations>,
    }
}

common_fields! {
    /// The snapshot role: the versions of every targets role.
    pub struct Snapshot {
        /// `<role>.json` to its version (and optionally length and hashes).
        pub meta: BTreeMap<String, MetaFile>,
    }
}

common_fields! {
    /// The timestamp role: the current snapshot version.
    pub struct Timestamp {
        /// Exactly `snapshot.json`.
        pub meta: BTreeMap<String, MetaFile>,
    }
}

/// What a role checks beyond the fields every role has, which [`Role::check`] checks first.
trait RoleChecks {
    /// [`Role::check_raw`] for this role.
    fn check_raw_fields(_signed: &Value) -> Result<()> {
        Ok(())
    }
    /// [`Role::check`] for this role, after [`check_common`].
    fn check_fields(&self) -> Result<()>;
}

/// `impl Role` for a struct made by `common_fields!`, given its `_type` and size limit: the common fields are
/// checked here, then the role's own [`RoleChecks`].
macro_rules! role {
    ($name:ident, $type_:literal, $max_size:expr) => {
        impl Role for $name {
            const TYPE: &'static str = $type_;
            const MAX_SIZE: usize = $max_size;
            fn expires(&self) -> OffsetDateTime {
                self.expires
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn check_raw(signed: &Value) -> Result<()> {
                <Self as RoleChecks>::check_raw_fields(signed)
            }
            fn check(&self) -> Result<()> {
                check_common(&self.type_, &self.spec_version, self.version)?;
                self.check_fields()
            }
        }
    };
}

fn check_common(type_: &str, spec_version: &str, version: u64) -> Result<()> {
    let _ = type_;
    let major = spec_version.split('.').next().unwrap_or_default();
    if major != "1" || spec_version.split('.').count() < 2 {
        return Err(Error::SpecVersion(spec_version.chars().take(40).collect()));
    }
    if version == 0 {
        return Err(Error::malformed("metadata", "version must be >= 1"));
    }
    Ok(())
}

role!(Root, "root", 512 * 1024);

impl RoleChecks for Root {
    fn check_fields(&self) -> Result<()> {
        for name in ["root", "targets", "snapshot", "timestamp"] {
            let r = self
                .roles
                .get(name)
                .ok_or_else(|| Error::MissingRole(name.to_owned()))?;
            check_role_keys(name, r, &self.keys)?;
        }
        check_keys(&self.keys)
    }
}

role!(Targets, "targets", 16 * 1024 * 1024);

impl RoleChecks for Targets {
    fn check_raw_fields(signed: &Value) -> Result<()> {
        if let Some(t) = signed.get("targets").and_then(Value::as_object) {
            for path in t.keys() {
                path.parse::<TargetName>()?;
            }
        }
        Ok(())
    }
    fn check_fields(&self) -> Result<()> {
        for (path, t) in &self.targets {
            t.check_hashes()
                .map_err(|e| Error::malformed(format!("target {path}"), e))?;
        }
        if let Some(d) = &self.delegations {
            check_keys(&d.keys)?;
            let mut names = std::collections::BTreeSet::new();
            for r in &d.roles {
                if !names.insert(r.name.as_str()) {
                    return Err(Error::DelegationInvalid(format!(
                        "duplicate role name {:?}",
                        r.name
                    )));
                }
                // Any other name is a valid role name (TUF sets no rule; `../x` and `?` included): it
                // becomes a file name or URL only through `verify::encode_role_name`.
                if matches!(
                    r.name.as_str(),
                    "root" | "targets" | "snapshot" | "timestamp"
                ) || r.name.is_empty()
                    || r.name.len() > 128
                {
                    return Err(Error::DelegationInvalid(format!(
                        "invalid role name {:?}",
                        r.name
                    )));
                }
                if r.paths.is_some() == r.path_hash_prefixes.is_some() {
                    return Err(Error::DelegationInvalid(format!(
                        "role {:?} must have exactly one of paths and path_hash_prefixes",
                        r.name
                    )));
                }
                check_role_keys(&r.name, &r.keys, &d.keys)?;
            }
        }
        Ok(())
    }
}

role!(Snapshot, "snapshot", 4 * 1024 * 1024);

impl RoleChecks for Snapshot {
    fn check_fields(&self) -> Result<()> {
        for (name, m) in &self.meta {
            // Role file names are case-sensitive by the spec. The role name before `.json` may hold any
            // character (see `verify::encode_role_name`).
            #[allow(clippy::case_sensitive_file_extension_comparisons)]
            let bad = !name.ends_with(".json");
            if bad {
                return Err(Error::malformed(
                    "snapshot metadata",
                    format_args!("bad meta name {name:?}"),
                ));
            }
            m.check()?;
        }
        Ok(())
    }
}

role!(Timestamp, "timestamp", 64 * 1024);

impl RoleChecks for Timestamp {
    fn check_fields(&self) -> Result<()> {
        if self.meta.len() != 1 || !self.meta.contains_key("snapshot.json") {
            return Err(Error::malformed(
                "timestamp metadata",
                "meta must contain exactly snapshot.json",
            ));
        }
        self.meta.values().try_for_each(MetaFile::check)
    }
}

impl Timestamp {
    /// The pinned snapshot entry.
    pub fn snapshot_meta(&self) -> &MetaFile {
        &self.meta["snapshot.json"]
    }
}

fn check_keys(keys: &BTreeMap<KeyId, PublicKey>) -> Result<()> {
    // Unsupported key types are tolerated (they can never verify); malformed ed25519 keys are not.
    for k in keys.values() {
        if k.keytype == "ed25519" {
            k.ed25519()?;
        }
    }
    Ok(())
}

fn check_role_keys(name: &str, r: &RoleKeys, keys: &BTreeMap<KeyId, PublicKey>) -> Result<()> {
    if r.threshold == 0 {
        return Err(Error::DelegationInvalid(format!(
            "role {name:?} has threshold 0"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &r.keyids {
        if !seen.insert(id) {
            return Err(Error::DelegationInvalid(format!(
                "role {name:?} lists key {id} twice"
            )));
        }
        if !keys.contains_key(id) {
            return Err(Error::DelegationInvalid(format!(
                "role {name:?} uses unknown key {id}"
            )));
        }
    }
    Ok(())
}

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
    fn check(&self) -> Result<()> {
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
    /// The x0x custom fields, if present and well-formed.
    pub fn x0x_custom(&self) -> Option<TargetCustom> {
        self.custom
            .clone()
            .and_then(|c| serde_json::from_value(c).ok())
    }
    /// Parse-time checks of `hashes`: not empty; `sha256` and `sha512`, if listed, lower-case hex of 32 and
    /// 64 bytes. Other algorithms are kept (the target then never verifies: see [`TargetFile::verify`]).
    fn check_hashes(&self) -> Result<()> {
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

/// Delegations of a targets role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    /// Keys by id.
    pub keys: BTreeMap<KeyId, PublicKey>,
    /// Delegated roles, in priority order.
    pub roles: Vec<DelegatedRole>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One delegated role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// Role name (for x0x: the package name).
    pub name: String,
    /// Keys and threshold.
    #[serde(flatten)]
    pub keys: RoleKeys,
    /// Whether the search stops at this role when it matches.
    pub terminating: bool,
    /// Path patterns (`*` and `?` match within one segment, as python-tuf's fnmatch per segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Hex prefixes of the SHA-256 of target paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
}

impl DelegatedRole {
    /// The delegation of a package: role named after it, covering `<package>/*/*`, terminating.
    pub fn for_package(package: &PackageName, keys: &[&PublicKey], threshold: u64) -> Result<Self> {
        Ok(DelegatedRole {
            name: package.to_string(),
            keys: RoleKeys::new(keys, threshold)?,
            terminating: true,
            paths: Some(vec![format!("{package}/*/*")]),
            path_hash_prefixes: None,
        })
    }

    /// Whether this role is trusted for `path`.
    pub fn matches(&self, path: &str) -> bool {
        if let Some(paths) = &self.paths {
            return paths.iter().any(|p| path_matches(p, path));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let h = Sha256::digest(path.as_bytes()).to_hex();
            return prefixes.iter().any(|p| h.starts_with(p.as_str()));
        }
        false
    }
}

/// TUF path pattern matching: same number of `/`-separated segments, each matched as a glob where `*` matches
/// any run of characters and `?` one character (never crossing `/`). `[...]` classes are not supported and
/// match literally (a departure from python's fnmatch; x0x's patterns never use them).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let ps: Vec<&str> = pattern.split('/').collect();
    let ts: Vec<&str> = path.split('/').collect();
    ps.len() == ts.len()
        && ps
            .iter()
            .zip(&ts)
            .all(|(p, t)| glob(p.as_bytes(), t.as_bytes()))
}

fn glob(p: &[u8], t: &[u8]) -> bool {
    // Iterative wildcard matching with single backtrack point: O(len(p) * len(t)) worst case.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) && p[pi] != b'*' {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A signed metadata envelope: `{"signatures": [...], "signed": {...}}`.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `signed` is the TUF field name.
pub struct Signed<T> {
    signed: T,
    signatures: Vec<Signature>,
    raw_signed: Value,
    canonical: Vec<u8>,
    extra: serde_json::Map<String, Value>,
}

impl<T: Role> Signed<T> {
    /// Parses an envelope (size limit, strict JSON, `_type`, schema and semantic checks). Does not verify
    /// signatures: see [`Signed::verify`] and [`crate::verify::TrustedSet`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let what = format!("{} metadata", T::TYPE);
        let value = cjson::parse_strict(bytes, T::MAX_SIZE, &what)?;
        let Value::Object(mut obj) = value else {
            return Err(Error::malformed(what, "not a JSON object"));
        };
        let raw_signed = obj
            .remove("signed")
            .ok_or_else(|| Error::malformed(&what, "no `signed`"))?;
        let sigs = obj
            .remove("signatures")
            .ok_or_else(|| Error::malformed(&what, "no `signatures`"))?;
        let found = raw_signed
            .get("_type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::malformed(&what, "no `_type`"))?;
        if found != T::TYPE {
            return Err(Error::WrongType {
                expected: T::TYPE,
                found: found.chars().take(40).collect(),
            });
        }
        T::check_raw(&raw_signed)?;
        let signed: T =
            serde_json::from_value(raw_signed.clone()).map_err(|e| Error::malformed(&what, e))?;
        signed.check()?;
        let signatures: Vec<Signature> =
            serde_json::from_value(sigs).map_err(|e| Error::malformed(&what, e))?;
        check_unique_keyids(&what, &signatures)?;
        let canonical = cjson::canonical(&raw_signed)?;
        Ok(Signed {
            signed,
            signatures,
            raw_signed,
            canonical,
            extra: obj,
        })
    }

    /// Wraps `signed` and signs it with every key in `keys`.
    pub fn new(signed: T, keys: &[&SigningKey]) -> Result<Self> {
        signed.check()?;
        let raw_signed = serde_json::to_value(&signed).map_err(|e| Error::malformed(T::TYPE, e))?;
        let canonical = cjson::canonical(&raw_signed)?;
        let signatures = keys.iter().map(|k| k.sign(&canonical)).collect();
        Ok(Signed {
            signed,
            signatures,
            raw_signed,
            canonical,
            extra: serde_json::Map::new(),
        })
    }

    /// Adds a signature by `key` (replacing an earlier one by the same key).
    pub fn add_signature(&mut self, key: &SigningKey) {
        self.signatures.retain(|s| &s.keyid != key.key_id());
        self.signatures.push(key.sign(&self.canonical));
    }

    /// The typed signed part.
    pub fn signed(&self) -> &T {
        &self.signed
    }
    /// The signatures.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }
    /// Mutable access to the signatures (for tests and re-signing tools).
    pub fn signatures_mut(&mut self) -> &mut Vec<Signature> {
        &mut self.signatures
    }
    /// The exact canonical bytes that signatures cover.
    pub fn canonical_signed(&self) -> &[u8] {
        &self.canonical
    }
    /// The parsed `signed` value (with any unknown fields).
    pub fn raw_signed(&self) -> &Value {
        &self.raw_signed
    }

    /// The file bytes: pretty-printed JSON, keys sorted, trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut obj = self.extra.clone();
        obj.insert(
            "signatures".to_owned(),
            serde_json::to_value(&self.signatures).expect("signatures serialize"),
        );
        obj.insert("signed".to_owned(), self.raw_signed.clone());
        let mut out = serde_json::to_vec_pretty(&Value::Object(obj)).expect("value serializes");
        out.push(b'\n');
        out
    }

    /// Verifies that at least `role.threshold` distinct authorized keys signed (see [`verify_signatures`]).
    pub fn verify(
        &self,
        role_name: &str,
        keys: &BTreeMap<KeyId, PublicKey>,
        role: &RoleKeys,
    ) -> Result<()> {
        verify_signatures(role_name, &self.canonical, &self.signatures, keys, role)
    }

    /// Fails with `metadata.expired` if `now >= expires`.
    pub fn check_not_expired(&self, role_name: &str, now: OffsetDateTime) -> Result<()> {
        if now >= self.signed.expires() {
            return Err(Error::Expired {
                role: role_name.to_owned(),
                expires: datetime::format(self.signed.expires()),
            });
        }
        Ok(())
    }
}

/// TUF §4.2: "the keyid MUST be unique in the signatures array". An envelope listing one key id twice is
/// refused as malformed (as python-tuf does when it deserializes), whatever the signatures' validity.
fn check_unique_keyids(what: &str, signatures: &[Signature]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for s in signatures {
        if !seen.insert(&s.keyid) {
            return Err(Error::malformed(
                what,
                format_args!("the signatures list key id {} more than once", s.keyid),
            ));
        }
    }
    Ok(())
}

/// Counts valid signatures over `canonical` by distinct authorized keys: each key id may sign once (a list
/// naming it twice is refused), two key ids for the same key material count once, keys not listed in `role` or
/// missing from `keys` never count. Fails with `metadata.signature_invalid` if the threshold is not met and
/// an authorized key's signature was invalid, else `metadata.threshold_not_met`; with `metadata.malformed` if a
/// key id appears twice in `signatures` (see [`Signed::from_slice`]; checked here too for envelopes built in
/// memory).
pub fn verify_signatures(
    role_name: &str,
    canonical: &[u8],
    signatures: &[Signature],
    keys: &BTreeMap<KeyId, PublicKey>,
    role: &RoleKeys,
) -> Result<()> {
    if role.threshold == 0 {
        return Err(Error::DelegationInvalid(format!(
            "role {role_name:?} has threshold 0"
        )));
    }
    check_unique_keyids(&format!("{role_name} metadata"), signatures)?;
    let mut counted_ids = std::collections::BTreeSet::new();
    let mut counted_material = std::collections::BTreeSet::new();
    let mut invalid: Option<&KeyId> = None;
    for sig in signatures {
        if !role.keyids.contains(&sig.keyid) || counted_ids.contains(&sig.keyid) {
            continue;
        }
        let Some(key) = keys.get(&sig.keyid) else {
            continue;
        };
        if key.verify(canonical, &sig.sig) {
            counted_ids.insert(&sig.keyid);
            counted_material.insert(key.keyval.public.to_ascii_lowercase());
        } else {
            invalid.get_or_insert(&sig.keyid);
        }
    }
    let valid = counted_material.len();
    if valid as u64 >= role.threshold {
        return Ok(());
    }
    Err(match invalid {
        Some(keyid) => Error::SignatureInvalid {
            role: role_name.to_owned(),
            keyid: keyid.to_string(),
            valid,
            threshold: role.threshold,
        },
        None => Error::ThresholdNotMet {
            role: role_name.to_owned(),
            valid,
            threshold: role.threshold,
        },
    })
}

/// A fresh role struct with the common fields filled in.
pub trait NewRole: Sized {
    /// `version` and `expires`, empty body.
    fn empty(version: u64, expires: OffsetDateTime) -> Self;
}

macro_rules! new_role {
    ($t:ident, { $($f:ident : $v:expr),* }) => {
        impl NewRole for $t {
            fn empty(version: u64, expires: OffsetDateTime) -> Self {
                $t {
                    type_: <$t as Role>::TYPE.to_owned(),
                    spec_version: SPEC_VERSION.to_owned(),
                    version,
                    expires: expires.replace_nanosecond(0).expect("0 is a valid nanosecond"),
                    $($f: $v,)*
                    extra: BTreeMap::new(),
                }
            }
        }
    };
}

new_role!(Root, { consistent_snapshot: true, keys: BTreeMap::new(), roles: BTreeMap::new() });
new_role!(Targets, { targets: BTreeMap::new(), delegations: None });
new_role!(Snapshot, { meta: BTreeMap::new() });
new_role!(Timestamp, { meta: BTreeMap::new() });

impl Root {
    /// Adds `key` to `keys` and to `role`'s key ids (creating the role with threshold 1).
    pub fn add_key(&mut self, role: &str, key: &PublicKey) -> Result<()> {
        let id = key.key_id()?;
        self.keys.insert(id.clone(), key.clone());
        let r = self
            .roles
            .entry(role.to_owned())
            .or_insert_with(|| RoleKeys {
                keyids: Vec::new(),
                threshold: 1,
                extra: BTreeMap::new(),
            });
        if !r.keyids.contains(&id) {
            r.keyids.push(id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_do_not_cross_slashes() {
        assert!(path_matches("x0x/*/*", "x0x/0.3.1/x0x.linux-x64-gnu.node"));
        assert!(!path_matches("x0x/*", "x0x/0.3.1/x0x.linux-x64-gnu.node"));
        assert!(!path_matches("x0x/*/*", "x0y/0.3.1/f"));
        assert!(!path_matches("x0x/*/*", "x0x/0.3.1/a/b"));
        assert!(path_matches("x0x/0.?.*/*.node", "x0x/0.3.1/a.node"));
        assert!(!path_matches("x0x/0.?.*/*.node", "x0x/0.3.1/a.wasm"));
        assert!(path_matches("*", "anything"));
        assert!(glob(b"a*b*c", b"aXXbYYc") && !glob(b"a*b*c", b"aXXbYY"));
    }
}
