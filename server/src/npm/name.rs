//! What a request under `/npm/` asks for ([`Endpoint::parse`]), from the raw, still percent-encoded path, with
//! every name validated ([`NpmName`]) before anything is looked up: a scoped name arrives as `@scope%2fname`
//! (npm) or `@scope/name` (pnpm, yarn, bun); anything else — a `/` or `%` left in a segment after decoding
//! (`@x0x%2f..`, `%252f`), `.`/`..` segments, a name over 214 bytes, characters npm never allows — is
//! `npm.invalid_name`, so no path trick reaches the store.
use std::fmt;

use x0x_dist_manifests::codes::Code;

use crate::error::ApiError;

/// npm's limit on a package name's length.
pub const MAX_NAME: usize = 214;

fn invalid(what: impl fmt::Display) -> ApiError {
    ApiError::Npm {
        code: Code::NpmInvalidName,
        detail: format!("invalid npm request: {what}"),
    }
}

/// A validated npm package name, `name` or `@scope/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NpmName {
    scope: Option<String>,
    name: String,
}

/// One part of a name (scope or bare name): `[A-Za-z0-9][A-Za-z0-9._~-]*` (npm's legacy names may have capitals).
fn check_part(part: &str) -> bool {
    let b = part.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'~' | b'-'))
}

impl NpmName {
    /// Parses `name` or `@scope/name` (already percent-decoded).
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if s.len() > MAX_NAME {
            return Err(invalid(format!(
                "package name of {} bytes (npm allows {MAX_NAME})",
                s.len()
            )));
        }
        let (scope, name) = match s.strip_prefix('@') {
            Some(rest) => {
                let (scope, name) = rest.split_once('/').ok_or_else(|| {
                    invalid(format!("scoped name without /: {}", crate::error::quote(s)))
                })?;
                (Some(scope), name)
            }
            None => (None, s),
        };
        if scope.is_some_and(|sc| !check_part(sc)) || !check_part(name) {
            return Err(invalid(format!(
                "not an npm package name: {}",
                crate::error::quote(s)
            )));
        }
        Ok(Self {
            scope: scope.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    /// `@scope/name` for a scope and a bare name that are known to be valid parts.
    pub fn scoped(scope: &str, name: &str) -> Result<Self, ApiError> {
        Self::parse(&format!("@{scope}/{name}"))
    }

    /// The scope, without `@`.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The name without its scope (the tarball's file name starts with it).
    pub fn bare(&self) -> &str {
        &self.name
    }

    /// How npm spells the name in a URL path: `@scope%2fname`.
    pub fn url_path(&self) -> String {
        match &self.scope {
            Some(s) => format!("@{s}%2f{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl fmt::Display for NpmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(s) => write!(f, "@{s}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A version or dist-tag in a URL: `[A-Za-z0-9.+-]`, at most 256 bytes, not starting with `.`.
fn check_version_segment(s: &str) -> Result<(), ApiError> {
    if s.is_empty()
        || s.len() > 256
        || s.starts_with('.')
        || !s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-' | b'_'))
    {
        return Err(invalid(format!(
            "not a version or dist-tag: {}",
            crate::error::quote(s)
        )));
    }
    Ok(())
}

/// What a request under `/npm/` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /npm/{name}`: the packument (full, or abbreviated by `Accept`).
    Packument(NpmName),
    /// `GET /npm/{name}/{version|tag}`: one version's document.
    Version(NpmName, String),
    /// `GET /npm/{name}/-/{file}.tgz`: a tarball.
    Tarball(NpmName, String),
    /// `GET /npm/-/package/{name}/dist-tags`.
    DistTags(NpmName),
    /// `POST /npm/-/npm/v1/security/advisories/bulk` (npm 7+ `npm audit`).
    AuditBulk,
    /// `POST /npm/-/npm/v1/security/audits/quick` (the older audit endpoint npm falls back to).
    AuditQuick,
    /// `GET /npm/-/ping`.
    Ping,
    /// `GET /npm/-/x0x-dist/record/{package}/{version}`: a release record (mirrors fetch it from their upstream).
    Record(String, String),
}

/// Percent-decodes one path segment; refuses invalid UTF-8.
fn decode(seg: &str) -> Result<String, ApiError> {
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "bad percent-encoding in {}",
                        crate::error::quote(seg)
                    ))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid("a path segment is not UTF-8"))
}

impl Endpoint {
    /// Parses the raw path after `/npm/` (percent-encoded as received).
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if raw.len() > 1024 {
            return Err(invalid(format!("path of {} bytes", raw.len())));
        }
        let segs = raw.split('/').map(decode).collect::<Result<Vec<_>, _>>()?;
        if segs.iter().any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(invalid(format!(
                "empty, . or .. path segment in {}",
                crate::error::quote(raw)
            )));
        }
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        // Registry-wide endpoints: `/-/…`.
        if s.first() == Some(&"-") {
            return match s.as_slice() {
                ["-", "ping"] => Ok(Self::Ping),
                ["-", "npm", "v1", "security", "advisories", "bulk"] => Ok(Self::AuditBulk),
                ["-", "npm", "v1", "security", "audits", "quick"] => Ok(Self::AuditQuick),
                ["-", "package", rest @ .., "dist-tags"] => {
                    Ok(Self::DistTags(Self::name_of(rest)?.0))
                }
                ["-", "x0x-dist", "record", pkg, version] => {
                    check_version_segment(version)?;
                    NpmName::parse(pkg)?;
                    Ok(Self::Record((*pkg).to_owned(), (*version).to_owned()))
                }
                _ => Err(invalid(format!(
                    "unknown registry endpoint /npm/{}",
                    crate::error::quote(raw)
                ))),
            };
        }
        let (name, rest) = Self::name_of(&s)?;
        match rest {
            [] => Ok(Self::Packument(name)),
            [v] => {
                check_version_segment(v)?;
                Ok(Self::Version(name, (*v).to_owned()))
            }
            ["-", file] => {
                if !file.ends_with(".tgz") || file.contains('/') {
                    return Err(invalid(format!(
                        "not a tarball name: {}",
                        crate::error::quote(file)
                    )));
                }
                check_version_segment(file)?;
                Ok(Self::Tarball(name, (*file).to_owned()))
            }
            _ => Err(invalid(format!(
                "unknown path /npm/{}",
                crate::error::quote(raw)
            ))),
        }
    }

    /// The package name at the start of `s` (one segment, or `@scope` + name), and the segments after it.
    fn name_of<'a>(s: &'a [&'a str]) -> Result<(NpmName, &'a [&'a str]), ApiError> {
        match s {
            [first, rest @ ..] if first.starts_with('@') && first.contains('/') => {
                Ok((NpmName::parse(first)?, rest))
            }
            [first, second, rest @ ..] if first.starts_with('@') => {
                Ok((NpmName::parse(&format!("{first}/{second}"))?, rest))
            }
            [first, rest @ ..] if !first.contains('/') => Ok((NpmName::parse(first)?, rest)),
            _ => Err(invalid("no package name")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x0x_dist_manifests::codes::Coded as _;

    #[test]
    fn names_and_paths() {
        let n = |s: &str| NpmName::parse(s).unwrap();
        assert_eq!(
            Endpoint::parse("x0x").unwrap(),
            Endpoint::Packument(n("x0x"))
        );
        assert_eq!(
            Endpoint::parse("@x0x%2fcore-linux-x64-gnu").unwrap(),
            Endpoint::Packument(n("@x0x/core-linux-x64-gnu"))
        );
        assert_eq!(
            Endpoint::parse("@x0x%2Fcore-linux-x64-gnu").unwrap(),
            Endpoint::Packument(n("@x0x/core-linux-x64-gnu"))
        );
        assert_eq!(
            Endpoint::parse("@x0x/core-linux-x64-gnu/-/core-linux-x64-gnu-1.0.0.tgz").unwrap(),
            Endpoint::Tarball(
                n("@x0x/core-linux-x64-gnu"),
                "core-linux-x64-gnu-1.0.0.tgz".into()
            )
        );
        assert_eq!(
            Endpoint::parse("x0x/latest").unwrap(),
            Endpoint::Version(n("x0x"), "latest".into())
        );
        assert_eq!(
            Endpoint::parse("-/package/@x0x%2fcore-a/dist-tags").unwrap(),
            Endpoint::DistTags(n("@x0x/core-a"))
        );
        assert_eq!(
            Endpoint::parse("-/package/x0x/dist-tags").unwrap(),
            Endpoint::DistTags(n("x0x"))
        );
        for bad in [
            "@x0x%2f..",
            "@x0x%2f%2e%2e",
            "@x0x%2f..%2f..%2fmetadata",
            "..",
            "x0x/..",
            "x0x/-/..%2f..%2froot.json",
            "x0x%2f..",
            "%252f",
            "@x0x%252fcore",
            "@%2fcore",
            "@x0x",
            ".hidden",
            "x0x/-/x0x-1.0.0.tar",
            "x0x//",
            "",
            "x0x/a/b/c",
            "-/nope",
            "%ff",
            "x0x%",
            "a b",
        ] {
            let e = Endpoint::parse(bad).unwrap_err();
            assert_eq!(e.code(), Code::NpmInvalidName, "{bad}");
        }
        let long = "a".repeat(MAX_NAME + 1);
        assert_eq!(
            Endpoint::parse(&long).unwrap_err().code(),
            Code::NpmInvalidName
        );
        assert_eq!(n("@x0x/core-a").url_path(), "@x0x%2fcore-a");
    }
}
