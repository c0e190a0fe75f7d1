//! Validated newtypes for everything that crosses a trust boundary. None of them is `String`-like: each is
//! built only through its validating constructor (or deserialization, which calls it), so an unsafe value
//! cannot be represented.
//!
//! - [`PackageName`]: `[a-z0-9][a-z0-9._-]*`, 1..=64 bytes, not ending in `.json` (it names a role file).
//! - [`Version`]: a semantic version (semver 2.0), at most 64 bytes.
//! - [`TargetName`]: any TUF target path that is safe to turn into a URL or a file name below a directory:
//!   1..=1024 bytes, relative (no leading `/`), no empty, `.` or `..` segment, no backslash, no NUL or other
//!   control character. Every target a targets role lists must be one (else the role is refused); TUF itself
//!   sets no rule, so `README.md` or `path/to/a/file.txt` are valid.
//! - [`TargetPath`]: a package artifact `<package>/<version>/<file>`: a [`TargetName`] with exactly three
//!   segments, package and version valid as above, file `[A-Za-z0-9._+-]`, 1..=128 bytes, not starting with
//!   `.`; at most 256 bytes in total. Required where our code needs the shape: the loader resolving a
//!   package's artifacts, the server publishing or storing one, the mirror selecting one.
//! - [`Sha256`]: 32 bytes, written as 64 lower-case hex characters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::error::{Error, Result};

macro_rules! string_newtype_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A package name (also the name of its delegated targets role).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

impl PackageName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PackageName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| {
            Err(Error::PackageNameInvalid {
                name: s.chars().take(80).collect(),
                reason,
            })
        };
        if s.is_empty() || s.len() > 64 {
            return bad("must be 1 to 64 characters");
        }
        let b = s.as_bytes();
        if !(b[0].is_ascii_lowercase() || b[0].is_ascii_digit()) {
            return bad("must start with a lower-case letter or digit");
        }
        if !b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.')
        }) {
            return bad("only lower-case letters, digits, '-', '_' and '.' are allowed");
        }
        // Only lower-case names reach here, so a case-sensitive check is exact.
        #[allow(clippy::case_sensitive_file_extension_comparisons)]
        let json = s.ends_with(".json");
        if s.parse::<RoleType>().is_ok() || json {
            return bad("reserved name");
        }
        Ok(PackageName(s.to_owned()))
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype_serde!(PackageName);

/// A package version (semver).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(semver::Version);

impl Version {
    /// The semver value.
    pub fn semver(&self) -> &semver::Version {
        &self.0
    }
}

impl FromStr for Version {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.len() > 64 {
            return Err(Error::VersionInvalid(
                s.chars().take(80).collect(),
                semver::Version::parse("").expect_err("empty is not a version"),
            ));
        }
        semver::Version::parse(s)
            .map(Version)
            .map_err(|e| Error::VersionInvalid(s.to_owned(), e))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
string_newtype_serde!(Version);

/// Why `s` is not a safe target name ([`TargetName`]), if it is not.
fn unsafe_target_name(s: &str, max_len: usize) -> Option<&'static str> {
    if s.is_empty() {
        return Some("empty");
    }
    if s.len() > max_len {
        return Some(if max_len == TargetPath::MAX_LEN {
            "longer than 256 bytes"
        } else {
            "longer than 1024 bytes"
        });
    }
    if s.contains('\\') {
        return Some("contains a backslash");
    }
    if s.chars().any(char::is_control) {
        return Some("contains a NUL or another control character");
    }
    if s.starts_with('/') {
        return Some("absolute path");
    }
    let mut segs = s.split('/');
    if segs.clone().any(str::is_empty) {
        return Some("empty segment");
    }
    if segs.any(|x| x == "." || x == "..") {
        return Some("'.' or '..' segment");
    }
    None
}

/// A TUF target path as listed by a targets role: any string that is safe to use as a relative URL or file
/// path (see the module docs). It does not have to be a package artifact: see [`TargetPath`] for that shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetName(String);

impl TargetName {
    /// Maximum length in bytes.
    pub const MAX_LEN: usize = 1024;

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The path as a package artifact `<package>/<version>/<file>`, or `target.path_invalid`.
    pub fn package_target(&self) -> Result<TargetPath> {
        self.0.parse()
    }
}

impl FromStr for TargetName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match unsafe_target_name(s, Self::MAX_LEN) {
            Some(reason) => Err(Error::TargetPathInvalid {
                path: s.chars().take(300).collect(),
                reason,
            }),
            None => Ok(TargetName(s.to_owned())),
        }
    }
}

impl From<TargetPath> for TargetName {
    fn from(p: TargetPath) -> Self {
        TargetName(p.path)
    }
}

impl From<&TargetPath> for TargetName {
    fn from(p: &TargetPath) -> Self {
        TargetName(p.path.clone())
    }
}

impl std::borrow::Borrow<str> for TargetName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype_serde!(TargetName);

/// A package artifact's target path `<package>/<version>/<file>` (see the module docs for the rules).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetPath {
    path: String,
    package: PackageName,
    version: Version,
}

impl TargetPath {
    /// Maximum length in bytes.
    pub const MAX_LEN: usize = 256;

    /// Builds a path from its parts.
    pub fn new(package: &PackageName, version: &Version, file: &str) -> Result<Self> {
        format!("{package}/{version}/{file}").parse()
    }
    /// The whole path.
    pub fn as_str(&self) -> &str {
        &self.path
    }
    /// The package segment.
    pub fn package(&self) -> &PackageName {
        &self.package
    }
    /// The version segment.
    pub fn version(&self) -> &Version {
        &self.version
    }
    /// The file name segment.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
    /// As a generic target name (the key of a targets role's `targets`).
    pub fn name(&self) -> TargetName {
        TargetName::from(self)
    }
}

impl FromStr for TargetPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| {
            Err(Error::TargetPathInvalid {
                path: s.chars().take(300).collect(),
                reason,
            })
        };
        if let Some(reason) = unsafe_target_name(s, Self::MAX_LEN) {
            return bad(reason);
        }
        let segs: Vec<&str> = s.split('/').collect();
        if segs.len() != 3 {
            return bad("must be <package>/<version>/<file>");
        }
        let Ok(package) = segs[0].parse::<PackageName>() else {
            return bad("invalid package name segment");
        };
        let Ok(version) = segs[1].parse::<Version>() else {
            return bad("invalid version segment");
        };
        let file = segs[2];
        if file.len() > 128 {
            return bad("file name longer than 128 bytes");
        }
        if file.starts_with('.') {
            return bad("file name starts with '.'");
        }
        if !file
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'+'))
        {
            return bad("file name has characters other than letters, digits, '.', '_', '-', '+'");
        }
        Ok(TargetPath {
            path: s.to_owned(),
            package,
            version,
        })
    }
}

impl fmt::Display for TargetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}
string_newtype_serde!(TargetPath);

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    /// The digest of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Sha256(sha2::Sha256::digest(data).into())
    }
    /// From raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Sha256(b)
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Sha256 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            let mut out = [0; 32];
            hex::decode_to_slice(s, &mut out).map_err(|e| Error::malformed("sha256", e))?;
            Ok(Sha256(out))
        } else {
            Err(Error::malformed(
                "sha256",
                format_args!(
                    "{:?} is not 64 lower-case hex characters",
                    s.chars().take(80).collect::<String>()
                ),
            ))
        }
    }
}
string_newtype_serde!(Sha256);

/// One of the four top-level roles, named as TUF names them (`root`, `targets`, `snapshot`, `timestamp`: its
/// `_type`, its key in root's `roles`, its metadata file name before `.json`). Delegated targets roles are
/// named by plain strings; none of them may take one of these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleType {
    /// `root`: the keys and thresholds of the top-level roles.
    Root,
    /// `targets`: the top-level targets role.
    Targets,
    /// `snapshot`: the versions of every targets role.
    Snapshot,
    /// `timestamp`: the current snapshot version.
    Timestamp,
}

impl RoleType {
    /// The four, in the order root lists them.
    pub const ALL: [RoleType; 4] = [
        RoleType::Root,
        RoleType::Targets,
        RoleType::Snapshot,
        RoleType::Timestamp,
    ];

    /// The TUF name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RoleType::Root => "root",
            RoleType::Targets => "targets",
            RoleType::Snapshot => "snapshot",
            RoleType::Timestamp => "timestamp",
        }
    }
}

impl FromStr for RoleType {
    type Err = Error;
    /// The role named exactly `s` (case-sensitive, as TUF role names are); `metadata.malformed` otherwise.
    fn from_str(s: &str) -> Result<Self> {
        RoleType::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::malformed(
                    "role type",
                    format_args!(
                        "{:?} is not root, targets, snapshot or timestamp",
                        s.chars().take(40).collect::<String>()
                    ),
                )
            })
    }
}

impl fmt::Display for RoleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for RoleType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Coded as _;

    #[test]
    fn target_paths() {
        let ok = TargetPath::from_str("x0x/0.3.1/x0x.linux-x64-gnu.node").unwrap();
        assert_eq!(ok.package().as_str(), "x0x");
        assert_eq!(ok.version().to_string(), "0.3.1");
        assert_eq!(ok.file_name(), "x0x.linux-x64-gnu.node");
        assert!(TargetPath::from_str("x0x/1.0.0-rc.1+build.5/x0x.wasm32-wasip1.wasm").is_ok());
        for bad in [
            "",
            "x0x",
            "x0x/0.3.1",
            "/x0x/0.3.1/f",
            "x0x/../f/g",
            "x0x/0.3.1/..",
            "x0x/0.3.1/.hidden",
            "x0x//0.3.1/f",
            "x0x/0.3.1/f/",
            "x0x\\0.3.1\\f",
            "x0x/0.3.1/a/b",
            "X0X/0.3.1/f",
            "x0x/v1/f",
            "x0x/0.3.1/f g",
            "x0x/0.3.1/f\u{0}",
            "x0x/0.3.1/é",
        ] {
            assert_eq!(
                TargetPath::from_str(bad).unwrap_err().code(),
                "target.path_invalid",
                "{bad:?}"
            );
        }
        let long = format!("x0x/0.3.1/{}", "a".repeat(129));
        assert!(TargetPath::from_str(&long).is_err());
    }

    #[test]
    fn target_names() {
        for ok in [
            "x0x/0.3.1/x0x.linux-x64-gnu.node",
            "README.md",
            "target_file.txt",
            "path/to/a/target_file.txt",
            "x0x/not-semver/f.node",
            "nonexistent target",
            "?#%/é",
            "..a/b..",
        ] {
            assert_eq!(TargetName::from_str(ok).unwrap().as_str(), ok);
        }
        assert!(TargetName::from_str(&"a".repeat(1024)).is_ok());
        for bad in [
            "",
            "/abs",
            "../x",
            "a/../b",
            "a/./b",
            ".",
            "a//b",
            "a/",
            "a\\b",
            "a\u{0}b",
            "a\nb",
            "a\u{7f}",
            &"a".repeat(1025),
        ] {
            assert_eq!(
                TargetName::from_str(bad).unwrap_err().code(),
                "target.path_invalid",
                "{bad:?}"
            );
        }
        let p = TargetName::from_str("x0x/0.3.1/f.node").unwrap();
        assert_eq!(p.package_target().unwrap().package().as_str(), "x0x");
        assert_eq!(
            TargetName::from_str("README.md")
                .unwrap()
                .package_target()
                .unwrap_err()
                .code(),
            "target.path_invalid"
        );
    }

    #[test]
    fn package_names_and_versions() {
        assert!("x0x".parse::<PackageName>().is_ok());
        assert!("my-pkg.v2_x".parse::<PackageName>().is_ok());
        for bad in [
            "",
            "X0x",
            "-x",
            ".x",
            "a/b",
            "root",
            "targets",
            "x.json",
            &"a".repeat(65),
        ] {
            assert_eq!(
                bad.parse::<PackageName>().unwrap_err().code(),
                "package.name_invalid",
                "{bad:?}"
            );
        }
        assert!("1.2.3-beta.1".parse::<Version>().is_ok());
        assert_eq!(
            "1.2".parse::<Version>().unwrap_err().code(),
            "package.version_invalid"
        );
    }

    #[test]
    fn sha256_hex() {
        let d = Sha256::digest(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_hex().parse::<Sha256>().unwrap(), d);
        assert!(d.to_hex().to_uppercase().parse::<Sha256>().is_err());
    }
}
