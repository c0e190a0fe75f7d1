//! Failures of the offline repository operations: [`RepoError`] and the [`FileError`] it wraps.

use super::{codes, Path, PathBuf};

/// Failures of the offline repository operations.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// Metadata or key model failure (carries its own code).
    #[error(transparent)]
    Model(#[from] x0x_dist_manifests::Error),
    /// A file operation failed.
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
}

impl RepoError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            RepoError::Model(e) => e.code(),
            RepoError::Io { .. } => codes::IO_ERROR,
            RepoError::Exists(_) => codes::REPO_EXISTS,
            RepoError::NotFound(_) => codes::REPO_NOT_FOUND,
            RepoError::PackageExists(_) => codes::PACKAGE_EXISTS,
            RepoError::PackageNotFound(_) => codes::PACKAGE_NOT_FOUND,
            RepoError::VersionExists(_) => codes::VERSION_EXISTS,
            RepoError::KeyNotAuthorized { .. } => codes::KEY_NOT_AUTHORIZED,
            RepoError::Corrupt(_) => codes::REPO_CORRUPT,
            RepoError::Usage(_) => codes::USAGE_INVALID,
            RepoError::PlatformMismatch { .. } => codes::TARGET_PLATFORM_MISMATCH,
        }
    }
}

impl codes::Coded for RepoError {
    fn code(&self) -> &'static str {
        RepoError::code(self)
    }
}

/// This module's result type.
pub type Result<T, E = RepoError> = std::result::Result<T, E>;

/// A local file operation that failed (`{what} {path}`, the I/O error as its source): the `Io` variant of
/// [`RepoError`] and of [`crate::mirror::MirrorError`].
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

/// `map_err` adapter: an I/O error while doing `what` to `path` (`?` turns it into [`RepoError::Io`]).
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
