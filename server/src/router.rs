//! The HTTP surface: every route, the middleware stack, and the route table the OpenAPI document must match.
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _, SizeAbove};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::error::{ApiError, ErrorLogged};
use crate::routes::{blobs, ops, packages, tuf, ui};
use crate::state::AppState;

/// Header carrying the request id (set if the client did not send one, echoed in the response).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every (method, path) the router serves, in OpenAPI path syntax. `GET` routes also answer `HEAD`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/tuf/metadata/{file}"),
    ("head", "/tuf/metadata/{file}"),
    ("get", "/tuf/targets/{path}"),
    ("head", "/tuf/targets/{path}"),
    ("put", "/api/v1/blobs/sha256/{digest}"),
    ("head", "/api/v1/blobs/sha256/{digest}"),
    ("get", "/api/v1/packages"),
    ("get", "/api/v1/packages/{name}"),
    ("get", "/api/v1/packages/{name}/resolve"),
    ("get", "/api/v1/packages/{name}/role"),
    ("post", "/api/v1/packages/{name}/role"),
    ("get", "/"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// API responses smaller than this are sent uncompressed: they fit in one TCP segment either way, and gzip's
/// per-response setup cost more than the send (a 417-byte `resolve` answer: median 57 µs gzipped vs 31 µs
/// plain, half the req/s; Node's fetch always asks for gzip).
pub const MIN_GZIP_BYTES: u16 = 1400;

/// Marks responses produced by the fallback (no route matched).
#[derive(Clone, Copy, Debug)]
pub struct NoRoute;

/// Builds the router.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/v1/packages", get(packages::list))
        .route("/api/v1/packages/{name}", get(packages::show))
        .route("/api/v1/packages/{name}/resolve", get(packages::resolve))
        .route(
            "/api/v1/packages/{name}/role",
            get(packages::current_role).post(packages::submit_role),
        )
        .layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(MIN_GZIP_BYTES))),
        );
    let request_timeout = Duration::from_secs(state.config.limits.request_timeout_secs);
    Router::new()
        .route("/tuf/metadata/{file}", get(tuf::metadata))
        .route("/tuf/targets/{*path}", get(tuf::target))
        .route(
            "/api/v1/blobs/sha256/{digest}",
            put(blobs::put).head(blobs::head),
        )
        .merge(api)
        .route("/", get(ui::index))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn fallback(req: Request) -> Response {
    let mut r = ApiError::NotFound(format!("no route for {}", req.uri().path())).into_response();
    r.extensions_mut().insert(NoRoute);
    r
}

async fn method_not_allowed(req: Request) -> Response {
    let mut r = (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(crate::wire::ErrorBody {
            code: "usage.invalid".into(),
            detail: format!(
                "method {} not allowed on {}",
                req.method(),
                req.uri().path()
            ),
        }),
    )
        .into_response();
    r.extensions_mut().insert(NoRoute);
    r
}

/// Metrics and logs for every request: 5xx logged at `error` with their cause chain, 4xx at `info`, the rest at
/// `debug`. Mutating API requests run inside a span carrying the request id.
async fn observe(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let group = crate::metrics::route_group(req.uri().path());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let rid = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let resp = if group == 2 || group == 3 {
        use tracing::Instrument as _;
        let span = tracing::info_span!("request", request_id = %rid, %method, path = %path);
        next.run(req).instrument(span).await
    } else {
        next.run(req).await
    };
    let status = resp.status();
    let bytes = if method == axum::http::Method::HEAD {
        0
    } else {
        resp.headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let elapsed = start.elapsed();
    st.metrics.record(group, status.as_u16(), bytes, elapsed);
    let ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        let cause = resp
            .extensions()
            .get::<ErrorLogged>()
            .map_or("", |e| e.0.as_str());
        tracing::error!(request_id = %rid, %method, path = %path, status = status.as_u16(), ms, cause, "request failed");
    } else if status.is_client_error() && !is_root_probe(status, &path) {
        tracing::info!(request_id = %rid, %method, path = %path, status = status.as_u16(), ms, "request rejected");
    } else {
        tracing::debug!(request_id = %rid, %method, path = %path, status = status.as_u16(), ms, "request");
    }
    resp
}

/// Every TUF client asks for the next root (`N+1.root.json`) on each update and expects a 404 while no rotation
/// happened: an answer, not a rejection worth an operator's attention (logged at debug like other requests).
fn is_root_probe(status: StatusCode, path: &str) -> bool {
    status == StatusCode::NOT_FOUND
        && path
            .strip_prefix("/tuf/metadata/")
            .and_then(|n| n.strip_suffix(".root.json"))
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_next_root_is_a_quiet_probe() {
        let nf = StatusCode::NOT_FOUND;
        assert!(is_root_probe(nf, "/tuf/metadata/2.root.json"));
        assert!(is_root_probe(nf, "/tuf/metadata/17.root.json"));
        for p in [
            "/tuf/metadata/root.json",
            "/tuf/metadata/.root.json",
            "/tuf/metadata/2.snapshot.json",
            "/tuf/metadata/x/2.root.json",
            "/tuf/targets/2.root.json",
        ] {
            assert!(!is_root_probe(nf, p), "{p}");
        }
        assert!(!is_root_probe(
            StatusCode::FORBIDDEN,
            "/tuf/metadata/2.root.json"
        ));
    }
}
