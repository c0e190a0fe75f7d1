//! `PUT|HEAD /api/v1/blobs/sha256/{hex}`: content-addressed blob upload (bearer token required).
//!
//! `?package=NAME` asks for the token to be checked against that package's scope too (`auth.forbidden`
//! otherwise), so a publisher learns that its token cannot publish the package before any byte is stored;
//! `x0x-dist publish` always sends it.
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt as _;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::{parse_digest, PutLimits, PutOutcome};

/// Response of an upload.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct BlobInfo {
    /// Hex SHA-256.
    pub sha256: String,
    /// Length in bytes.
    pub length: u64,
    /// Whether this request stored it (false: it existed).
    pub created: bool,
}

/// Query of the blob routes.
#[derive(Debug, serde::Deserialize)]
pub struct BlobQuery {
    /// The package the blob is for: the token must be scoped to it.
    pub package: Option<String>,
}

async fn auth(st: &AppState, headers: &HeaderMap, q: &BlobQuery) -> Result<String, ApiError> {
    Ok(crate::auth::from_headers(st, headers, q.package.as_deref())
        .await?
        .id)
}

/// `PUT /api/v1/blobs/sha256/{hex}`: streams the body to storage while hashing; see [`crate::storage`].
pub async fn put(
    State(st): State<Arc<AppState>>,
    Path(hex): Path<String>,
    Query(q): Query<BlobQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let digest = parse_digest(&hex)?;
    let token = auth(&st, &headers, &q).await?;
    let expected_len = match headers.get(header::CONTENT_LENGTH) {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| ApiError::BadRequest("bad Content-Length".into()))?,
        ),
        None => None,
    };
    let limits = PutLimits {
        max_bytes: st.config.storage.max_blob_bytes,
        expected_len,
        idle_timeout: st.config.limits.upload_idle_timeout(),
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let outcome = st.store.put_blob(&digest, Box::pin(stream), limits).await?;
    let (status, length, created) = match outcome {
        PutOutcome::Created { len } => (StatusCode::CREATED, len, true),
        PutOutcome::Existed { len } => (StatusCode::OK, len, false),
    };
    if created {
        st.metrics.uploaded(length);
    }
    tracing::info!(token, sha256 = %digest, length, created, "blob upload");
    Ok((
        status,
        axum::Json(BlobInfo {
            sha256: digest.to_string(),
            length,
            created,
        }),
    )
        .into_response())
}

/// `HEAD /api/v1/blobs/sha256/{hex}`: 200 with `Content-Length` if stored, else 404.
pub async fn head(
    State(st): State<Arc<AppState>>,
    Path(hex): Path<String>,
    Query(q): Query<BlobQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let digest = parse_digest(&hex)?;
    auth(&st, &headers, &q).await?;
    let len = st
        .store
        .blob_len(&digest)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("blob {digest}")))?;
    Ok((StatusCode::OK, [(header::CONTENT_LENGTH, len.to_string())]).into_response())
}
