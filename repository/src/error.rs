//! The one error type of this crate, [`Error`]: every failure of the offline repository operations, mirrors
//! and bundles, and the coded failures of the CLI's own checks ([`Error::new`]). Each variant carries a stable
//! code from `x0x_dist_manifests::codes` ([`Coded`]); the CLI prints it and takes its exit status from it, the
//! server turns it into an HTTP error where it meets one.

use std::path::{Path, PathBuf};

use x0x_dist_manifests::codes::{Code, Coded};

/// Every failure of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Metadata or key model failure (carries its own code: `metadata.expired`, `metadata.rollback`, ...).
    #[error(transparent)]
    Model(#[from] x0x_dist_manifests::Error),
    /// A loader failure (network, digest and length checks), carrying its own code.
    #[error(transparent)]
    Loader(#[from] x0x_dist_loader::Error),
    /// A local file operation failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// `init` into a directory that already has a repository.
    #[error("{} already holds a repository", .0.display())]
    Exists(PathBuf),
    /// No repository at the path.
    #[error("no repository at {} (run `x0x-dist init --repo {}`)", .0.display(), .0.display())]
    NotFound(PathBuf),
    /// The package is already delegated.
    #[error("package {0} is already delegated")]
    PackageExists(String),
    /// The package is not delegated.
    #[error("package {0} is not delegated in this repository")]
    PackageNotFound(String),
    /// The version is already released.
    #[error("{0} is already published; versions are immutable")]
    VersionExists(String),
    /// A key is not authorized for the role it is used for.
    #[error("key {keyid} is not authorized for role {role}")]
    KeyNotAuthorized {
        /// The key id.
        keyid: String,
        /// The role.
        role: String,
    },
    /// The repository on disk is inconsistent.
    #[error("repository is inconsistent: {0}")]
    Corrupt(String),
    /// Invalid arguments (e.g. threshold larger than the number of keys).
    #[error("{0}")]
    Usage(String),
    /// A release file's bytes are not a build for the platform its name claims.
    #[error("{file} {mismatch}")]
    PlatformMismatch {
        /// The file name.
        file: String,
        /// What is wrong.
        mismatch: x0x_dist_loader::artifact::PlatformMismatch,
    },
    /// A bundle file is malformed or does not match its metadata.
    #[error("bundle {}: {detail}", path.display())]
    Bundle {
        /// The bundle file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The directory is not a mirror (no `mirror/root.json`).
    #[error("{} is not a mirror (run `x0x-dist mirror init --repo {} --upstream URL --root ROOT.json`)", .0.display(), .0.display())]
    NotMirror(PathBuf),
    /// The upstream does not have a metadata file the chain needs.
    #[error("upstream {upstream} has no metadata {name}")]
    UpstreamMissing {
        /// The upstream.
        upstream: String,
        /// The file.
        name: String,
    },
    /// Any other failure with a stable code (the CLI's usage checks and the like): see [`Error::new`].
    #[error("{detail}")]
    Other {
        /// Stable code.
        code: Code,
        /// Detail.
        detail: String,
    },
}

impl Error {
    /// A failure with code `code` and message `detail` ([`Error::Other`]).
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self::Other {
            code,
            detail: detail.into(),
        }
    }

    /// For `map_err`: an I/O failure of `what` on `path` as [`Error::Io`].
    pub fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Self + 'a {
        let file_error = io(what, path);
        move |source| Self::Io(file_error(source))
    }
}

impl Coded for Error {
    fn code(&self) -> Code {
        match self {
            Self::Model(e) => e.code(),
            Self::Loader(e) => e.code(),
            Self::Io(_) => Code::IoError,
            Self::Exists(_) => Code::RepoExists,
            Self::NotFound(_) | Self::NotMirror(_) | Self::UpstreamMissing { .. } => {
                Code::RepoNotFound
            }
            Self::PackageExists(_) => Code::PackageExists,
            Self::PackageNotFound(_) => Code::PackageNotFound,
            Self::VersionExists(_) => Code::VersionExists,
            Self::KeyNotAuthorized { .. } => Code::KeyNotAuthorized,
            Self::Corrupt(_) => Code::RepoCorrupt,
            Self::Usage(_) => Code::UsageInvalid,
            Self::PlatformMismatch { .. } => Code::TargetPlatformMismatch,
            Self::Bundle { .. } => Code::BundleInvalid,
            Self::Other { code, .. } => *code,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A local file operation that failed (`{what} {path}`, the I/O error as its source): [`Error::Io`].
#[derive(Debug, thiserror::Error)]
#[error("{what} {}", path.display())]
pub struct FileError {
    /// What was being done.
    pub what: &'static str,
    /// The path.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// `map_err` adapter: an I/O error while doing `what` to `path` (`?` turns it into [`Error::Io`]).
pub(crate) fn io<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError {
        what,
        path: path.to_owned(),
        source,
    }
}
