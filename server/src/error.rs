//! Errors of the HTTP server and the `serve` / `token` / `publish` commands.
//!
//! Which error type goes where:
//! - [`ApiError`] is the one error enum of the server. Every handler returns `Result<_, ApiError>`; its
//!   `IntoResponse` renders `{"code": ..., "detail": ...}` with the status from [`ApiError::status`] and the stable
//!   machine code from its [`Coded::code`] (the same codes the CLI prints and the JS loader exposes as `err.code`).
//! - 4xx responses are expected client behaviour and are logged at `debug`/`info`; 5xx responses carry an
//!   [`ErrorLogged`] extension that the trace layer picks up to log them at `error` with their source chain.
//! - Verification failures of signed metadata keep the manifests crate's own code (`metadata.expired`, ...).
//! - The CLI commands use `anyhow` at the edge; their exit status comes from the code (their coded error is
//!   `x0x_dist_repository::Error`).
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use x0x_dist_manifests::codes::{Code, Coded};

/// Everything a request (or a server-side operation such as the timestamp refresh) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer` header on a publishing route.
    #[error("missing bearer token")]
    MissingToken,
    /// The token is not one the repository knows.
    #[error("invalid token")]
    InvalidToken,
    /// The token is valid but not scoped to this package.
    #[error("token is not allowed to publish package {0}")]
    Forbidden(String),
    /// A path parameter is not a valid name (traversal, odd characters, bad digest ...).
    #[error("invalid path parameter: {0}")]
    InvalidPath(String),
    /// The request is malformed (bad header, bad query, bad JSON).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Nothing at this URL.
    #[error("not found: {0}")]
    NotFound(String),
    /// The uploaded bytes do not hash to the digest in the URL.
    #[error("uploaded bytes hash to {actual}, not {expected}")]
    DigestMismatch {
        /// Digest named in the URL.
        expected: String,
        /// Digest of what arrived.
        actual: String,
    },
    /// The upload ended before `Content-Length` bytes arrived, or had more.
    #[error("upload length mismatch: expected {expected} bytes, got {actual}")]
    LengthMismatch {
        /// Declared length.
        expected: u64,
        /// Received length.
        actual: u64,
    },
    /// The upload exceeds the configured maximum blob size.
    #[error("upload exceeds the maximum blob size of {max} bytes")]
    TooLarge {
        /// Configured limit.
        max: u64,
    },
    /// The client stopped sending for longer than the idle timeout, or the body failed mid-stream.
    #[error("upload stalled or was interrupted")]
    UploadInterrupted(#[source] std::io::Error),
    /// A requested range cannot be satisfied.
    #[error("range not satisfiable")]
    RangeNotSatisfiable {
        /// Length of the whole representation.
        len: u64,
    },
    /// Another publish of the same package won the race; retry on top of the new state.
    #[error("concurrent publish of package {0}; retry")]
    Conflict(String),
    /// The submitted role's version is not above the current one (a replay, or a publish that lost a race).
    #[error("role version {got} is not above the current version {current}; fetch the current role and retry")]
    VersionReplay {
        /// Current version.
        current: u64,
        /// Submitted.
        got: u64,
    },
    /// The submitted role's version skips versions (must be exactly current + 1).
    #[error("role version {got} skips versions: expected {expected}")]
    VersionSkip {
        /// current + 1.
        expected: u64,
        /// Submitted.
        got: u64,
    },
    /// The release version already has published targets.
    #[error("version {0} is already published; versions are immutable")]
    VersionExists(String),
    /// The package is not delegated in this repository.
    #[error("package {0} is not delegated in this repository")]
    PackageNotFound(String),
    /// No published version matches.
    #[error("no published version matches {0}")]
    VersionNotFound(String),
    /// A target published earlier was changed or removed by the submitted role.
    #[error("published target {0} was changed or removed; versions are immutable")]
    TargetChanged(String),
    /// A target in the submitted role has no uploaded blob.
    #[error("no uploaded blob for target {0} (upload it first)")]
    BlobMissing(String),
    /// A target's length or hashes do not match its blob.
    #[error("target {0} does not match its uploaded blob")]
    TargetMismatch(String),
    /// A target's path or custom fields are invalid for this package.
    #[error("invalid target {path}: {reason}")]
    TargetInvalid {
        /// Target path as submitted.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A new target's uploaded bytes are not a build for the platform its file name claims.
    #[error("target {path} {reason}")]
    PlatformMismatch {
        /// Target path as submitted.
        path: String,
        /// What the bytes are instead ([`x0x_dist_loader::artifact::PlatformMismatch`]).
        reason: String,
    },
    /// Signed metadata failed verification; `code` is the manifests crate's stable code.
    #[error("metadata rejected: {detail}")]
    Metadata {
        /// Stable code from the manifests crate (`metadata.signature_invalid`, ...).
        code: Code,
        /// Human detail.
        detail: String,
    },
    /// The disk is full (or over quota).
    #[error("storage full")]
    StorageFull(#[source] std::io::Error),
    /// Any other I/O failure on the server side.
    #[error("storage error on {what}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// This replica forwards publishes (`[replica] publish_via`) and the publish leader did not answer.
    #[error("the publish leader did not answer ({0}); check that it is running and reachable from this replica, then retry")]
    LeaderUnavailable(String),
    /// A configuration value is invalid (e.g. `[storage] url`); the message says what to write instead.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Another writer changes this object-storage repository (no database; see `crate::coordinator`).
    #[error("{0}")]
    ConcurrentWriter(String),
    /// The coordinator's database failed; nothing was committed (retryable).
    #[error("the coordinator database failed; nothing was committed, retry: {0}")]
    Database(String),
    /// The npm registry view refused a request or a tarball (`npm.*` codes, `network.*` for its upstream).
    #[error("{detail}")]
    Npm {
        /// Stable code (`npm.invalid_name`, `npm.not_hosted`, `npm.tarball_unverified`, ...).
        code: Code,
        /// Human detail.
        detail: String,
    },
    /// A bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
    /// Trusted publishing and staged releases (`oidc.*`, `release.*`): the code names what was refused (the
    /// claim, the approval), the detail says why.
    #[error("{detail}")]
    Refused {
        /// Stable code, e.g. `oidc.aud`.
        code: Code,
        /// Human detail (untrusted values quoted).
        detail: String,
    },
}

/// Reads a whole request body of at most `max` bytes (a role submission): `request.too_large` beyond it, an
/// interrupted upload if the connection fails.
pub async fn collect_body(
    body: axum::body::Body,
    max: usize,
) -> Result<axum::body::Bytes, ApiError> {
    use http_body_util::BodyExt as _;
    let collected = http_body_util::Limited::new(body, max)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ApiError::TooLarge { max: max as u64 }
            } else {
                ApiError::UploadInterrupted(std::io::Error::other(e.to_string()))
            }
        })?;
    Ok(collected.to_bytes())
}

pub use crate::wire::{quote, QUOTE_CHARS};

/// The last guard on any detail sent to a client: control characters escaped (a detail is printed by CLIs and
/// written to logs) and at most 2,000 characters.
fn tame_detail(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len().min(2_000));
    for (n, c) in detail.chars().enumerate() {
        if n >= 2_000 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl ApiError {
    /// The HTTP status of this failure: the one the project's code table (`manifests/src/codes.rs`) gives its
    /// code (every entry is a valid error status, tested there), so the 500 below is only a guard.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().http()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Wraps an I/O error, classifying "no space left" / "quota exceeded" as [`ApiError::StorageFull`].
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

impl Coded for ApiError {
    /// The stable machine code of this failure.
    fn code(&self) -> Code {
        match self {
            Self::MissingToken => Code::AuthMissing,
            Self::InvalidToken => Code::AuthInvalid,
            Self::Forbidden(_) => Code::AuthForbidden,
            Self::InvalidPath(_) | Self::BadRequest(_) => Code::UsageInvalid,
            Self::NotFound(_) => Code::RequestNotFound,
            Self::DigestMismatch { .. } => Code::BlobDigestMismatch,
            Self::LengthMismatch { .. } => Code::BlobLengthMismatch,
            Self::TooLarge { .. } => Code::RequestTooLarge,
            Self::UploadInterrupted(_) => Code::RequestTimeout,
            Self::RangeNotSatisfiable { .. } => Code::RequestRangeNotSatisfiable,
            Self::Conflict(_) => Code::PublishConflict,
            Self::VersionReplay { .. } => Code::MetadataRollback,
            Self::VersionSkip { .. } => Code::MetadataVersionMismatch,
            Self::VersionExists(_) => Code::VersionExists,
            Self::PackageNotFound(_) => Code::PackageNotFound,
            Self::VersionNotFound(_) => Code::VersionNotFound,
            Self::TargetChanged(_) => Code::TargetChanged,
            Self::BlobMissing(_) => Code::TargetBlobMissing,
            Self::TargetMismatch(_) => Code::TargetDigestMismatch,
            Self::TargetInvalid { .. } => Code::TargetCustomInvalid,
            Self::PlatformMismatch { .. } => Code::TargetPlatformMismatch,
            Self::Metadata { code, .. } | Self::Refused { code, .. } | Self::Npm { code, .. } => {
                *code
            }
            Self::StorageFull(_) => Code::StorageFull,
            Self::Io { .. } => Code::IoError,
            Self::LeaderUnavailable(_) => Code::PublishLeaderUnavailable,
            Self::Config(_) => Code::ConfigInvalid,
            Self::ConcurrentWriter(_) => Code::RepoConcurrentWriter,
            Self::Database(_) => Code::DatabaseUnavailable,
            Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<x0x_dist_manifests::Error> for ApiError {
    fn from(e: x0x_dist_manifests::Error) -> Self {
        Self::Metadata {
            code: e.code(),
            detail: e.to_string(),
        }
    }
}

/// The one place a storage failure becomes an HTTP error: the same message, the same code.
impl From<crate::storage::StorageError> for ApiError {
    fn from(e: crate::storage::StorageError) -> Self {
        use crate::storage::StorageError as S;
        match e {
            S::InvalidPath(p) => Self::InvalidPath(p),
            S::BadRequest(m) => Self::BadRequest(m),
            S::DigestMismatch { expected, actual } => Self::DigestMismatch { expected, actual },
            S::LengthMismatch { expected, actual } => Self::LengthMismatch { expected, actual },
            S::TooLarge { max } => Self::TooLarge { max },
            S::UploadInterrupted(e) => Self::UploadInterrupted(e),
            S::StorageFull(e) => Self::StorageFull(e),
            S::Io { what, source } => Self::Io { what, source },
            S::Config(m) => Self::Config(m),
            S::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<x0x_dist_repository::object_path::InvalidPath> for ApiError {
    fn from(e: x0x_dist_repository::object_path::InvalidPath) -> Self {
        Self::InvalidPath(e.0)
    }
}

/// Response extension marking a server-side failure that the trace layer logs at `error` level.
#[derive(Clone, Debug)]
pub struct ErrorLogged(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut detail = self.to_string();
        let mut src = std::error::Error::source(&self);
        let mut chain = String::new();
        while let Some(s) = src {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            src = s.source();
        }
        let full = format!("{detail}{chain}");
        if status.is_client_error() {
            // Client mistakes: say what went wrong, including the cause (e.g. the stalled upload).
            detail.clone_from(&full);
        } else if !matches!(
            self,
            Self::StorageFull(_) | Self::LeaderUnavailable(_) | Self::Database(_)
        ) {
            // Server faults: the full message (paths, OS errors) goes to the log, not to the client.
            "internal server error; the server log has the details (match the x-request-id)"
                .clone_into(&mut detail);
        }
        let body = crate::wire::ErrorBody {
            code: self.code().as_str().to_owned(),
            detail: tame_detail(&detail),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Self::RangeNotSatisfiable { len } = self {
            if let Ok(v) = format!("bytes */{len}").parse() {
                resp.headers_mut()
                    .insert(axum::http::header::CONTENT_RANGE, v);
            }
        }
        if status.is_server_error() {
            resp.extensions_mut().insert(ErrorLogged(full));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_in_the_project_table() {
        let io = || std::io::Error::from(std::io::ErrorKind::Other);
        let all = [
            ApiError::MissingToken,
            ApiError::InvalidToken,
            ApiError::Forbidden(String::new()),
            ApiError::InvalidPath(String::new()),
            ApiError::BadRequest(String::new()),
            ApiError::NotFound(String::new()),
            ApiError::DigestMismatch {
                expected: String::new(),
                actual: String::new(),
            },
            ApiError::LengthMismatch {
                expected: 0,
                actual: 0,
            },
            ApiError::TooLarge { max: 0 },
            ApiError::UploadInterrupted(io()),
            ApiError::RangeNotSatisfiable { len: 0 },
            ApiError::Conflict(String::new()),
            ApiError::VersionReplay { current: 0, got: 0 },
            ApiError::VersionSkip {
                expected: 0,
                got: 0,
            },
            ApiError::VersionExists(String::new()),
            ApiError::PackageNotFound(String::new()),
            ApiError::VersionNotFound(String::new()),
            ApiError::TargetChanged(String::new()),
            ApiError::BlobMissing(String::new()),
            ApiError::TargetMismatch(String::new()),
            ApiError::TargetInvalid {
                path: String::new(),
                reason: String::new(),
            },
            ApiError::StorageFull(io()),
            ApiError::io("x", io()),
            ApiError::Internal(String::new()),
            ApiError::LeaderUnavailable(String::new()),
            ApiError::ConcurrentWriter(String::new()),
            ApiError::Database(String::new()),
        ];
        for e in all {
            let info = x0x_dist_manifests::codes::info(e.code().as_str())
                .unwrap_or_else(|| panic!("{} not in codes table", e.code()));
            assert!(
                StatusCode::from_u16(info.http)
                    .is_ok_and(|s| s.is_client_error() || s.is_server_error()),
                "{}: table status {} is not an error status",
                e.code(),
                info.http
            );
        }
        assert_eq!(
            ApiError::VersionReplay { current: 1, got: 1 }.status(),
            StatusCode::CONFLICT
        );
    }

    /// A storage failure becomes the HTTP error with the same code and the same message.
    #[test]
    fn storage_errors_keep_code_and_message_over_http() {
        use crate::storage::StorageError as S;
        let io = || std::io::Error::from(std::io::ErrorKind::Other);
        let all = [
            S::InvalidPath("p".into()),
            S::BadRequest("b".into()),
            S::DigestMismatch {
                expected: "e".into(),
                actual: "a".into(),
            },
            S::LengthMismatch {
                expected: 1,
                actual: 2,
            },
            S::TooLarge { max: 3 },
            S::UploadInterrupted(io()),
            S::StorageFull(io()),
            S::io("w", io()),
            S::io("w", std::io::Error::from(std::io::ErrorKind::StorageFull)),
            S::Config("c".into()),
            S::Internal("i".into()),
        ];
        for e in all {
            let (code, message) = (e.code(), e.to_string());
            let api = ApiError::from(e);
            assert_eq!((api.code(), api.to_string()), (code, message));
        }
    }

    #[test]
    fn untrusted_input_is_quoted_short_and_escaped() {
        assert_eq!(quote("a\nb\u{1b}[31m"), "\"a\\nb\\u{1b}[31m\"");
        let long = "x".repeat(5_000);
        let q = quote(&long);
        assert!(q.len() < 230, "{q}");
        assert!(q.ends_with("… (5000 bytes)"), "{q}");
        assert_eq!(tame_detail("a\nb\x1b"), "a\\nb\\u{1b}");
        assert_eq!(tame_detail(&long).chars().count(), 2_001);
    }

    #[test]
    fn disk_full_is_classified() {
        let e = ApiError::io("x", std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(e.code(), "storage.full");
        assert_eq!(e.status(), StatusCode::INSUFFICIENT_STORAGE);
        let e = ApiError::io(
            "x",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.code(), "io.error");
    }
}
