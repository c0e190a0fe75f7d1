//! The loader's one error type. Every variant has a stable machine code (its `codes::Coded` impl) from the project's
//! code table (`x0x_dist_manifests::codes`), shared with the CLI (exit status), the HTTP API (`{"code","detail"}`)
//! and the JavaScript loader's `err.code`.
//!
//! Messages name the subject; causes stay in `#[source]` so a chain reporter prints each once.
use std::path::PathBuf;

use x0x_dist_manifests::codes::{self, Code};

/// Everything the loader can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not an ELF file.
    #[error("not an ELF file")]
    NotElf,
    /// The bytes start like an ELF file but its headers or version sections are invalid.
    #[error("malformed ELF file: {reason}")]
    MalformedElf {
        /// What the parser rejected.
        reason: String,
    },
    /// A glibc version string could not be parsed.
    #[error("invalid glibc version {value:?}")]
    InvalidGlibcVersion {
        /// The rejected text.
        value: String,
    },
    /// A repository location or other configuration value is invalid.
    #[error("invalid {what}: {value:?}")]
    Config {
        /// Which setting.
        what: &'static str,
        /// The rejected value.
        value: String,
    },
    /// The repository could not be reached (connect, TLS, timeout, reset), after retries.
    #[error("failed to fetch {url}")]
    Network {
        /// The URL (credentials redacted).
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The repository answered with an unexpected HTTP status, after retries.
    #[error("{url} answered HTTP {status}")]
    HttpStatus {
        /// The URL (credentials redacted).
        url: String,
        /// The status code.
        status: u16,
    },
    /// A file the repository must have is missing (HTTP 404 or no such file).
    #[error("{what} not found at {location}")]
    NotFound {
        /// What was looked for (`target x0x/0.3.1/x0x.linux-x64-gnu.node`, `metadata 2.root.json`).
        what: String,
        /// Where.
        location: String,
    },
    /// A metadata file is larger than its limit; it was not read to the end.
    #[error("{file} is larger than its limit of {limit} bytes")]
    MetadataTooLarge {
        /// The metadata file name.
        file: String,
        /// The limit.
        limit: u64,
    },
    /// A downloaded or cached target's length differs from verified metadata.
    #[error("{target} is {actual} bytes, verified metadata says {expected}")]
    LengthMismatch {
        /// The target path.
        target: String,
        /// Verified length.
        expected: u64,
        /// Observed length (at least; downloads stop at the first excess byte).
        actual: u64,
    },
    /// A downloaded or cached target's SHA-256 (or SHA-512) differs from verified metadata.
    #[error("{target} has {algorithm} {actual}, verified metadata says {expected}")]
    DigestMismatch {
        /// The target path.
        target: String,
        /// `sha256` or `sha512`.
        algorithm: &'static str,
        /// Verified hex digest.
        expected: String,
        /// Observed hex digest.
        actual: String,
    },
    /// A local file operation failed.
    #[error("failed to {op} {path}")]
    Io {
        /// The operation (`read`, `write`, `rename`, `lock`, ...).
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The signed metadata failed verification (signature, threshold, expiry, rollback, hashes, schema, ...).
    #[error("{context}")]
    Metadata {
        /// What was being verified (`timestamp.json from http://...`).
        context: String,
        /// The verification failure; its code is this error's code.
        #[source]
        source: x0x_dist_manifests::Error,
    },
    /// The package is not delegated in the verified targets metadata.
    #[error("package {package} is not in the repository")]
    PackageNotFound {
        /// The package name.
        package: String,
    },
    /// No published version matches the requested range.
    #[error("no version of {package} matches {range} (published: {published})")]
    VersionNotFound {
        /// The package.
        package: String,
        /// The requested range.
        range: String,
        /// The published versions, comma separated.
        published: String,
    },
    /// The release is revoked (the signed `revocations` role): never loaded. `detail`: the reason, the
    /// advisory and the version to move to.
    #[error("{package} {version} is revoked ({detail})")]
    Revoked {
        /// The package.
        package: String,
        /// The revoked version.
        version: String,
        /// `REASON; advisory URL: move to PACKAGE@VERSION`.
        detail: String,
    },
    /// The pinned release is younger than the minimum release age (`X0X_DIST_MIN_RELEASE_AGE`). `detail`:
    /// its signed publish time, the age and when it becomes eligible.
    #[error("{package} {version} {detail}")]
    TooYoung {
        /// The package.
        package: String,
        /// The version.
        version: String,
        /// `was published at T, less than AGE ago (X0X_DIST_MIN_RELEASE_AGE): it becomes eligible at T2`.
        detail: String,
    },
    /// The release lacks signed provenance matching `X0X_DIST_REQUIRE_PROVENANCE`. `detail`: what it has.
    #[error("{package} {version} {detail}")]
    NoProvenance {
        /// The package.
        package: String,
        /// The version.
        version: String,
        /// `has no signed provenance …` / `has provenance from issuer …, not …` and the requirement.
        detail: String,
    },
    /// A target triple or platform is not in the platform table, or has no build in the release.
    #[error("no target {target} in {package} {version}")]
    TargetNotFound {
        /// The package.
        package: String,
        /// The version.
        version: String,
        /// The requested triple or platform.
        target: String,
    },
    /// No candidate (native or WASM) could be used on this host; each rejection is listed.
    #[error("no usable binary of {package} for {host}: {}", reasons.join("; "))]
    NoCandidate {
        /// The package.
        package: String,
        /// The host triple.
        host: String,
        /// One line per candidate: why it was rejected.
        reasons: Vec<String>,
    },
    /// A fetch was needed but the loader is offline.
    #[error("{what} is not cached and the loader is offline")]
    Offline {
        /// What would have been fetched.
        what: String,
    },
}

impl Error {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}

impl codes::Coded for Error {
    /// The stable machine code of this failure (`elf.malformed`, `metadata.expired`, ...).
    fn code(&self) -> Code {
        match self {
            Self::NotElf => Code::ElfNotElf,
            Self::MalformedElf { .. } => Code::ElfMalformed,
            Self::InvalidGlibcVersion { .. } => Code::HostInvalidGlibcVersion,
            Self::Config { .. } => Code::ConfigInvalid,
            // A refused redirect (loop, https → http) is the server's answer, not an unreachable server.
            Self::Network { source, .. } if source.is_redirect() => Code::NetworkHttpStatus,
            Self::Network { .. } => Code::NetworkUnreachable,
            Self::HttpStatus { .. } => Code::NetworkHttpStatus,
            Self::NotFound { .. } | Self::TargetNotFound { .. } => Code::TargetNotFound,
            Self::MetadataTooLarge { .. } => Code::MetadataTooLarge,
            Self::LengthMismatch { .. } => Code::TargetLengthMismatch,
            Self::DigestMismatch { .. } => Code::TargetDigestMismatch,
            Self::Io { .. } => Code::IoError,
            Self::Metadata { source, .. } => source.code(),
            Self::PackageNotFound { .. } => Code::PackageNotFound,
            Self::VersionNotFound { .. } => Code::VersionNotFound,
            Self::Revoked { .. } => Code::LoaderRevoked,
            Self::TooYoung { .. } => Code::LoaderTooYoung,
            Self::NoProvenance { .. } => Code::LoaderProvenance,
            Self::NoCandidate { .. } => Code::LoaderNoCandidate,
            Self::Offline { .. } => Code::LoaderOffline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x0x_dist_manifests::codes::Coded as _;

    #[test]
    fn every_code_is_in_the_project_table() {
        let samples = [
            Error::NotElf,
            Error::MalformedElf {
                reason: String::new(),
            },
            Error::InvalidGlibcVersion {
                value: String::new(),
            },
            Error::Config {
                what: "x",
                value: String::new(),
            },
            Error::HttpStatus {
                url: String::new(),
                status: 500,
            },
            Error::NotFound {
                what: String::new(),
                location: String::new(),
            },
            Error::MetadataTooLarge {
                file: String::new(),
                limit: 1,
            },
            Error::LengthMismatch {
                target: String::new(),
                expected: 1,
                actual: 2,
            },
            Error::DigestMismatch {
                target: String::new(),
                algorithm: "sha256",
                expected: String::new(),
                actual: String::new(),
            },
            Error::io("read", "/x")(std::io::Error::other("x")),
            Error::PackageNotFound {
                package: String::new(),
            },
            Error::VersionNotFound {
                package: String::new(),
                range: String::new(),
                published: String::new(),
            },
            Error::Revoked {
                package: String::new(),
                version: String::new(),
                detail: String::new(),
            },
            Error::TooYoung {
                package: String::new(),
                version: String::new(),
                detail: String::new(),
            },
            Error::NoProvenance {
                package: String::new(),
                version: String::new(),
                detail: String::new(),
            },
            Error::NoCandidate {
                package: String::new(),
                host: String::new(),
                reasons: vec![],
            },
            Error::Offline {
                what: String::new(),
            },
        ];
        for e in samples {
            assert!(
                codes::info(e.code().as_str()).is_some(),
                "{} is not in manifests/src/codes.rs",
                e.code()
            );
        }
    }
}
