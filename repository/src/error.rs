//! The error of the offline commands that is neither a [`crate::repo::RepoError`] nor a
//! [`crate::mirror::MirrorError`]: a failure with a stable code (usage errors and the like). The CLI prints its
//! code and takes its exit status from it; the server turns it into an HTTP error where it meets one.

/// A CLI failure with a stable code (usage errors and the like).
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct CliError {
    /// Stable code.
    pub code: &'static str,
    /// Detail.
    pub detail: String,
}

impl x0x_dist_manifests::codes::Coded for CliError {
    fn code(&self) -> &'static str {
        self.code
    }
}

impl CliError {
    /// A new error.
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}
