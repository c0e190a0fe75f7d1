//! [`StorageError`]: what a [`super::Store`] fails with. It carries a stable code ([`Coded`]) and becomes the
//! HTTP error in one place, `From<StorageError> for ApiError` (`crate::error`), with the same message.

use x0x_dist_manifests::codes::{Code, Coded};

/// Every failure of a store (local directory or S3 bucket) and of choosing one.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A key or digest is not a valid object name (traversal, odd characters, bad digest ...).
    #[error("invalid path parameter: {0}")]
    InvalidPath(String),
    /// A store was named in a way no store understands (e.g. an empty `--from`).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The uploaded bytes do not hash to the expected digest.
    #[error("uploaded bytes hash to {actual}, not {expected}")]
    DigestMismatch {
        /// The expected digest.
        expected: String,
        /// Digest of what arrived.
        actual: String,
    },
    /// The upload ended before the declared length arrived, or had more.
    #[error("upload length mismatch: expected {expected} bytes, got {actual}")]
    LengthMismatch {
        /// Declared length.
        expected: u64,
        /// Received length.
        actual: u64,
    },
    /// The upload exceeds the maximum blob size.
    #[error("upload exceeds the maximum blob size of {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The upload stalled for longer than the idle timeout, or its body failed mid-stream.
    #[error("upload stalled or was interrupted")]
    UploadInterrupted(#[source] std::io::Error),
    /// The disk is full (or over quota).
    #[error("storage full")]
    StorageFull(#[source] std::io::Error),
    /// Any other I/O failure.
    #[error("storage error on {what}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A storage setting is invalid (e.g. `[storage] url`); the message says what to write instead.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A bug or an unexpected state (a task that panicked, an object gone right after it was written).
    #[error("internal error: {0}")]
    Internal(String),
}

impl StorageError {
    /// Wraps an I/O error, classifying "no space left" / "quota exceeded" as [`StorageError::StorageFull`].
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        if matches!(
            source.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        ) {
            Self::StorageFull(source)
        } else {
            Self::Io {
                what: what.into(),
                source,
            }
        }
    }
}

impl Coded for StorageError {
    fn code(&self) -> Code {
        match self {
            Self::InvalidPath(_) | Self::BadRequest(_) => Code::UsageInvalid,
            Self::DigestMismatch { .. } => Code::BlobDigestMismatch,
            Self::LengthMismatch { .. } => Code::BlobLengthMismatch,
            Self::TooLarge { .. } => Code::RequestTooLarge,
            Self::UploadInterrupted(_) => Code::RequestTimeout,
            Self::StorageFull(_) => Code::StorageFull,
            Self::Io { .. } => Code::IoError,
            Self::Config(_) => Code::ConfigInvalid,
            Self::Internal(_) => Code::Internal,
        }
    }
}
