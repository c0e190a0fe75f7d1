//! Operations: `/healthz`, `/livez`, `/readyz`, `/metrics`, `/openapi.json`.
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

/// `GET /livez`: the process answers (nothing else is checked: a liveness probe must not restart a replica
/// because its store or database is slow).
pub async fn livez() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: this replica can serve: the repository loaded at startup, the store answers and (with one) the
/// coordinator database answers. 503 only for those. The served timestamp's expiry is reported, never a reason
/// for 503 (every replica would turn unready at once and a load balancer would drop the whole fleet, downloads
/// included): an expiring timestamp is an alarm (`timestamp_expiring` here, the `x0x_dist_timestamp_expiring`
/// metric, a log line, `doctor`) and any replica re-signs it.
pub async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    if !st.ready.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "starting"})),
        )
            .into_response();
    }
    let unready = |status: &str, e: &crate::error::ApiError| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": status, "code": e.code(), "detail": e.to_string()})),
        )
            .into_response()
    };
    let t = std::time::Instant::now();
    let store = crate::storage::ObjectKey::metadata("root.json");
    let probe = match &store {
        Ok(k) => st
            .store
            .object_etag(k)
            .await
            .map_err(crate::error::ApiError::from),
        Err(_) => Ok(None),
    };
    st.metrics.store_probe(t.elapsed(), probe.is_ok());
    if let Err(e) = probe {
        return unready("store unreachable", &e);
    }
    if let Err(e) = st.coordinator.ping().await {
        return unready("database unreachable", &e);
    }
    let exp = if st.coordinator.authoritative() {
        st.served_timestamp().await.map(|h| {
            time::OffsetDateTime::from_unix_timestamp(h.expires)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        })
    } else {
        crate::publish::timestamp_expiry(&*st.store).await
    };
    match exp {
        Ok(exp) => {
            let now = time::OffsetDateTime::now_utc();
            let margin = time::Duration::seconds(
                i64::try_from(st.config.timestamp.refresh_before_secs / 2).unwrap_or(0),
            );
            let expiring = exp - now < margin;
            st.metrics.set_timestamp_expiring(expiring);
            axum::Json(json!({
                "status": "ready",
                "timestamp_expires": crate::publish::fmt_time(exp),
                "timestamp_expiring": expiring,
                "timestamp_expired": exp <= now,
                "coordinator": st.coordinator.describe(),
            }))
            .into_response()
        }
        Err(e) => unready("repository unreadable", &e),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics
            .render_with(st.coordinator.database().map(|d| &*d.stats)),
    )
        .into_response()
}

/// `GET /openapi.json`
pub async fn openapi() -> Response {
    axum::Json(crate::openapi::document()).into_response()
}
