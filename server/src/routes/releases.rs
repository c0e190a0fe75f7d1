//! Releases without a client signature and staged releases ([`crate::staging`]):
//! `POST /api/v1/packages/{name}/releases`, `GET /api/v1/packages/{name}/staged`,
//! `POST /api/v1/packages/{name}/staged/{version}/approve|reject`.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::PackageName;

use crate::error::ApiError;
use crate::staging::{self, ReleaseRequest};
use crate::state::AppState;

fn check_name(name: &str) -> Result<PackageName, ApiError> {
    name.parse::<PackageName>()
        .map_err(|e| ApiError::InvalidPath(e.to_string()))
}

/// A staged version from a URL path: a semantic version (it becomes a URL path segment when forwarded).
fn check_version(v: &str) -> Result<String, ApiError> {
    v.parse::<x0x_dist_manifests::Version>()
        .map(|v| v.to_string())
        .map_err(|e| ApiError::InvalidPath(e.to_string()))
}

fn done(st: &Arc<AppState>, name: &str, what: &str, r: &Result<impl std::fmt::Debug, ApiError>) {
    match r {
        Ok(_) => {
            AppState::refresh_views_in_background(st);
            tracing::info!(package = %name, what, "release lifecycle");
        }
        Err(e) => {
            tracing::info!(package = %name, what, code = e.code().as_str(), error = %e, "release lifecycle refused");
        }
    }
}

/// Who called a lifecycle route, or the leader's answer already relayed.
enum Caller {
    /// A follower (`[replica] publish_via`) relayed the request: this is the leader's answer.
    Relayed(Response),
    /// This process handles it: the authenticated caller and the request body.
    Here(crate::auth::Identity, axum::body::Bytes),
}

/// The preamble every lifecycle route shares. On a follower: the bearer token must be present, the body is
/// read (within the role limits), then `path()` names the leader's route (checking what it puts in the URL) and
/// the request is relayed there, where it is authenticated. On the leader: the caller is authenticated for
/// `name` first, then the body is read. `body: None`: a route without a body (an empty one is relayed).
async fn relay_or_authenticate(
    st: &Arc<AppState>,
    name: &str,
    headers: &HeaderMap,
    body: Option<axum::body::Body>,
    path: impl FnOnce() -> Result<String, ApiError>,
) -> Result<Caller, ApiError> {
    let read = |body: Option<axum::body::Body>| async {
        match body {
            Some(b) => crate::publish::read_role(st, headers, b).await,
            None => Ok(axum::body::Bytes::new()),
        }
    };
    if let Some(leader) = &st.config.replica.publish_via {
        let auth = crate::forward::bearer(headers)?;
        let body = read(body).await?;
        let path = path()?;
        let r = crate::forward::relay(st, leader, &path, name, Some(auth), headers, body).await?;
        return Ok(Caller::Relayed(r));
    }
    let who = crate::auth::from_headers(st, headers, Some(name)).await?;
    Ok(Caller::Here(who, read(body).await?))
}

/// `POST /api/v1/packages/{name}/releases`: stage a release, or publish it signed with the server's online key.
pub async fn create(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let pkg = check_name(&name)?;
    let (who, body) = match relay_or_authenticate(&st, &name, &headers, Some(body), || {
        Ok(format!("/api/v1/packages/{name}/releases"))
    })
    .await?
    {
        Caller::Relayed(r) => return Ok(r),
        Caller::Here(who, body) => (who, body),
    };
    let req: ReleaseRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a release request: {e}")))?;
    if req.stage {
        let r = staging::stage(&st, &pkg, req, &who).await;
        done(&st, &name, "staged", &r);
        let r = r?;
        return Ok(axum::Json(serde_json::json!({"staged": true, "package": name, "version": r.version, "staged_by": r.staged_by, "targets": r.targets.keys().collect::<Vec<_>>()})).into_response());
    }
    let r = staging::publish_online(&st, &pkg, &req, &who).await;
    done(&st, &name, "published online", &r);
    Ok(axum::Json(r?).into_response())
}

/// `GET /api/v1/packages/{name}/staged`: the staged releases (never in any signed role).
pub async fn list(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let pkg = check_name(&name)?;
    let f = staging::load(&st, &pkg).await?;
    Ok(axum::Json(serde_json::json!({"package": name, "staged": f.staged})).into_response())
}

/// `POST /api/v1/packages/{name}/staged/{version}/approve`: body empty (the server signs online) or the
/// approver's signed role.
pub async fn approve(
    State(st): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let pkg = check_name(&name)?;
    let (who, body) = match relay_or_authenticate(&st, &name, &headers, Some(body), || {
        Ok(format!(
            "/api/v1/packages/{name}/staged/{}/approve",
            check_version(&version)?
        ))
    })
    .await?
    {
        Caller::Relayed(r) => return Ok(r),
        Caller::Here(who, body) => (who, body),
    };
    let role = (!body.is_empty()).then(|| body.to_vec());
    let r = staging::approve(&st, &pkg, &version, &who, role).await;
    done(&st, &name, "approved", &r);
    Ok(axum::Json(r?).into_response())
}

/// `POST /api/v1/packages/{name}/staged/{version}/reject`.
pub async fn reject(
    State(st): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pkg = check_name(&name)?;
    let who = match relay_or_authenticate(&st, &name, &headers, None, || {
        Ok(format!(
            "/api/v1/packages/{name}/staged/{}/reject",
            check_version(&version)?
        ))
    })
    .await?
    {
        Caller::Relayed(r) => return Ok(r),
        Caller::Here(who, _) => who,
    };
    let r = staging::reject(&st, &pkg, &version, &who).await;
    done(&st, &name, "rejected", &r);
    let r = r?;
    Ok(
        axum::Json(serde_json::json!({"rejected": true, "package": name, "version": r.version}))
            .into_response(),
    )
}

/// `POST /api/v1/packages/{name}/revocations`: yank or revoke a published release (`crate::revocations`).
pub async fn revoke(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let pkg = check_name(&name)?;
    let (who, body) = match relay_or_authenticate(&st, &name, &headers, Some(body), || {
        Ok(format!("/api/v1/packages/{name}/revocations"))
    })
    .await?
    {
        Caller::Relayed(r) => return Ok(r),
        Caller::Here(who, body) => (who, body),
    };
    let req: crate::revocations::RevokeRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a revocation request: {e}")))?;
    let r = crate::revocations::set(&st, &pkg, req, &who).await;
    done(&st, &name, "withdrawn", &r);
    Ok(axum::Json(r?).into_response())
}
