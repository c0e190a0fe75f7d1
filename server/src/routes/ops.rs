//! Operations: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;
use x0x_dist_manifests::codes::Coded as _;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: the repository loaded at startup and the served timestamp is not expired.
pub async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    if !st.ready.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "starting"})),
        )
            .into_response();
    }
    match crate::publish::timestamp_expiry(&*st.store).await {
        Ok(exp) if exp > time::OffsetDateTime::now_utc() => {
            axum::Json(json!({"status": "ready", "timestamp_expires": crate::publish::fmt_time(exp)})).into_response()
        }
        Ok(exp) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "timestamp expired", "timestamp_expires": crate::publish::fmt_time(exp)})),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"status": "repository unreadable", "code": e.code(), "detail": e.to_string()})))
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}

/// `GET /openapi.json`
pub async fn openapi() -> Response {
    axum::Json(crate::openapi::document()).into_response()
}
