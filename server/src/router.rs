//! The HTTP surface: the route table ([`ROUTES`]: the router, the metrics labels and the OpenAPI check all come
//! from it), the handlers of each route, and the middleware stack.
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::Router;
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _, SizeAbove};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::error::{ApiError, ErrorLogged};
use crate::metrics::Group;
use crate::routes::{blobs, npm, oidc, ops, packages, releases, tuf, ui, ui_lifecycle};
use crate::state::AppState;

pub use crate::wire::REQUEST_ID;

/// One route: the one place that says a path is served, with which methods, and under which metrics label.
/// The router is built from [`ROUTES`], the metrics label comes from the matched route (axum's
/// [`MatchedPath`]), and a test holds the OpenAPI document to exactly these (method, path) pairs.
#[derive(Debug)]
pub struct Route {
    /// Path in axum syntax (`{name}` a segment, `{*path}` the rest).
    pub path: &'static str,
    /// Methods answered and documented, lower case. A `get` route also answers `head` (axum does that); it
    /// is listed where clients rely on it (TUF files, blobs).
    pub methods: &'static [&'static str],
    /// Metrics label group.
    pub group: Group,
}

impl Route {
    /// The path in OpenAPI syntax (`{*path}` → `{path}`).
    pub fn openapi_path(&self) -> String {
        self.path.replace("{*", "{")
    }
}

/// Every route the server has.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/tuf/metadata/{file}",
        methods: &["get", "head"],
        group: Group::Metadata,
    },
    Route {
        path: "/tuf/targets/{*path}",
        methods: &["get", "head"],
        group: Group::Targets,
    },
    Route {
        path: "/api/v1/blobs/sha256/{digest}",
        methods: &["put", "head"],
        group: Group::Blobs,
    },
    Route {
        path: "/api/v1/packages",
        methods: &["get"],
        group: Group::Api,
    },
    Route {
        path: "/api/v1/packages/{name}",
        methods: &["get"],
        group: Group::Api,
    },
    Route {
        path: "/api/v1/packages/{name}/resolve",
        methods: &["get"],
        group: Group::Api,
    },
    Route {
        path: "/api/v1/packages/{name}/role",
        methods: &["get", "post"],
        group: Group::Publish,
    },
    Route {
        path: "/api/v1/packages/{name}/releases",
        methods: &["post"],
        group: Group::Publish,
    },
    Route {
        path: "/api/v1/packages/{name}/staged",
        methods: &["get"],
        group: Group::Api,
    },
    Route {
        path: "/api/v1/packages/{name}/staged/{version}/approve",
        methods: &["post"],
        group: Group::Publish,
    },
    Route {
        path: "/api/v1/packages/{name}/staged/{version}/reject",
        methods: &["post"],
        group: Group::Publish,
    },
    Route {
        path: "/api/v1/packages/{name}/revocations",
        methods: &["post"],
        group: Group::Publish,
    },
    Route {
        path: "/api/v1/oidc/token",
        methods: &["post"],
        group: Group::Publish,
    },
    Route {
        path: "/npm/{*path}",
        methods: &["get", "head", "post"],
        group: Group::Npm,
    },
    Route {
        path: "/",
        methods: &["get"],
        group: Group::Other,
    },
    Route {
        path: "/ui/actions",
        methods: &["post"],
        group: Group::Publish,
    },
    Route {
        path: "/healthz",
        methods: &["get"],
        group: Group::Ops,
    },
    Route {
        path: "/livez",
        methods: &["get"],
        group: Group::Ops,
    },
    Route {
        path: "/readyz",
        methods: &["get"],
        group: Group::Ops,
    },
    Route {
        path: "/metrics",
        methods: &["get"],
        group: Group::Ops,
    },
    Route {
        path: "/openapi.json",
        methods: &["get"],
        group: Group::Ops,
    },
];

/// The handlers of a route of [`ROUTES`].
fn handlers(path: &str) -> MethodRouter<Arc<AppState>> {
    match path {
        "/tuf/metadata/{file}" => get(tuf::metadata),
        "/tuf/targets/{*path}" => get(tuf::target),
        "/api/v1/blobs/sha256/{digest}" => put(blobs::put).head(blobs::head),
        "/api/v1/packages" => get(packages::list),
        "/api/v1/packages/{name}" => get(packages::show),
        "/api/v1/packages/{name}/resolve" => get(packages::resolve),
        "/api/v1/packages/{name}/role" => get(packages::current_role).post(packages::submit_role),
        "/api/v1/packages/{name}/releases" => post(releases::create),
        "/api/v1/packages/{name}/staged" => get(releases::list),
        "/api/v1/packages/{name}/staged/{version}/approve" => post(releases::approve),
        "/api/v1/packages/{name}/staged/{version}/reject" => post(releases::reject),
        "/api/v1/packages/{name}/revocations" => post(releases::revoke),
        "/api/v1/oidc/token" => post(oidc::exchange),
        "/npm/{*path}" => get(npm::serve).post(npm::serve),
        "/" => get(ui::index),
        "/ui/actions" => post(ui_lifecycle::action),
        "/healthz" => get(ops::healthz),
        "/livez" => get(ops::livez),
        "/readyz" => get(ops::readyz),
        "/metrics" => get(ops::metrics),
        "/openapi.json" => get(ops::openapi),
        // Every route in ROUTES has an arm (the router test builds them all).
        other => unreachable!("route {other} in ROUTES has no handlers"),
    }
}

/// The route a request matched, by its matched path.
pub fn route_of(matched: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.path == matched)
}

/// API responses smaller than this are sent uncompressed: they fit in one TCP segment either way, and gzip's
/// per-response setup cost more than the send (a 417-byte `resolve` answer: median 57 µs gzipped vs 31 µs
/// plain, half the req/s; Node's fetch always asks for gzip).
pub const MIN_GZIP_BYTES: u16 = 1400;

/// Marks responses produced by the fallback (no route matched).
#[derive(Clone, Copy, Debug)]
pub struct NoRoute;

/// Builds the router from [`ROUTES`].
pub fn router(state: Arc<AppState>) -> Router {
    let mut api = Router::new();
    let mut rest = Router::new();
    for r in ROUTES {
        // The JSON API answers are gzipped when large; TUF files, blobs, the UI and ops are not.
        if matches!(r.group, Group::Api | Group::Publish) {
            api = api.route(r.path, handlers(r.path));
        } else {
            rest = rest.route(r.path, handlers(r.path));
        }
    }
    let api = api.layer(
        tower_http::compression::CompressionLayer::new()
            .gzip(true)
            .compress_when(DefaultPredicate::new().and(SizeAbove::new(MIN_GZIP_BYTES))),
    );
    let request_timeout = Duration::from_secs(state.config.limits.request_timeout_secs);
    rest.merge(api)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::map_response(coded_errors))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The code an error answer rendered by something other than [`ApiError`] gets, by its status.
fn code_for_status(status: StatusCode) -> x0x_dist_manifests::codes::Code {
    use x0x_dist_manifests::codes::Code;
    match status {
        StatusCode::NOT_FOUND => Code::RequestNotFound,
        StatusCode::REQUEST_TIMEOUT => Code::RequestTimeout,
        StatusCode::PAYLOAD_TOO_LARGE => Code::RequestTooLarge,
        StatusCode::RANGE_NOT_SATISFIABLE => Code::RequestRangeNotSatisfiable,
        StatusCode::UNAUTHORIZED => Code::AuthMissing,
        StatusCode::FORBIDDEN => Code::AuthForbidden,
        s if s.is_client_error() => Code::UsageInvalid,
        _ => Code::Internal,
    }
}

/// Every error answer is `{"code", "detail"}` JSON: an extractor's rejection (a percent-encoded path parameter
/// that is not UTF-8, a query that does not parse), the request timeout's empty 408, or any other error a layer
/// renders as text, becomes JSON here, with the code of its status and its text quoted ([`crate::error::quote`]).
async fn coded_errors(resp: Response) -> Response {
    use http_body_util::BodyExt as _;
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    // The web UI's refusal page already names its code (routes::ui_lifecycle).
    let coded_page = resp
        .extensions()
        .get::<crate::routes::ui_lifecycle::CodedPage>()
        .is_some();
    if json || coded_page || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = http_body_util::Limited::new(body, 4096)
        .collect()
        .await
        .map(|c| String::from_utf8_lossy(&c.to_bytes()).trim().to_owned())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        crate::error::quote(&text)
    };
    let body = crate::wire::ErrorBody {
        code: code_for_status(status).as_str().to_owned(),
        detail,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let json = axum::Json(body).into_response();
    let (jparts, jbody) = json.into_parts();
    parts.headers.extend(jparts.headers);
    Response::from_parts(parts, jbody)
}

async fn fallback(req: Request) -> Response {
    let mut r = ApiError::NotFound(format!(
        "no route for {}",
        crate::error::quote(req.uri().path())
    ))
    .into_response();
    r.extensions_mut().insert(NoRoute);
    r
}

async fn method_not_allowed(req: Request) -> Response {
    let mut r = (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(crate::wire::ErrorBody::new(
            x0x_dist_manifests::codes::Code::UsageInvalid,
            format!(
                "method {} not allowed on {}",
                req.method(),
                crate::error::quote(req.uri().path())
            ),
        )),
    )
        .into_response();
    r.extensions_mut().insert(NoRoute);
    r
}

/// Metrics and logs for every request: 5xx logged at `error` with their cause chain, 4xx at `info`, the rest at
/// `debug`. Mutating API requests run inside a span carrying the request id.
async fn observe(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let group = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| route_of(m.as_str()))
        .map_or(Group::Other, |r| r.group);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let rid = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let resp = if matches!(group, Group::Blobs | Group::Publish) {
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
    // Milliseconds to the microsecond (`ms=0.113`, not `ms=0.11298699999999999`).
    let ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    if status.is_server_error() {
        let cause = resp
            .extensions()
            .get::<ErrorLogged>()
            .map_or("", |e| e.0.as_str());
        tracing::error!(request_id = %rid, %method, path = %path, status = status.as_u16(), ms, cause, "request failed");
    } else if status.is_client_error()
        && !is_root_probe(status, &path)
        // `HEAD` answered 404 is a "do you have it?" probe (`publish` asks before each upload), not a rejection.
        && !(method == axum::http::Method::HEAD && status == StatusCode::NOT_FOUND)
    {
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
