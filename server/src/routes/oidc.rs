//! `POST /api/v1/oidc/token`: a CI provider's ID token in, a short-lived upload token for one package out
//! (the checks: [`crate::oidc`]).
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::PackageName;

use crate::error::ApiError;
use crate::oidc::upload_token::{self, UploadClaims};
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The package to publish.
    pub package: String,
    /// The CI provider's ID token (a compact JWS).
    pub token: String,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExchangeResponse {
    /// The upload token (`x0xo_…`), a bearer token for the publishing routes of `package`.
    pub token: String,
    /// The package it is scoped to.
    pub package: String,
    /// Its expiry, seconds since the epoch.
    pub expires: i64,
    /// The identity it carries (`oidc:<iss>#<sub>`).
    pub principal: String,
    /// Whether the server signs this package's releases with its online key.
    pub sign_online: bool,
}

/// `POST /api/v1/oidc/token`.
pub async fn exchange(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    // The ID token plus a package name and JSON punctuation.
    let max = crate::oidc::MAX_TOKEN_BYTES + 1024;
    let body = match crate::error::collect_body(body, max).await {
        Err(ApiError::TooLarge { .. }) => {
            return Err(ApiError::Refused {
                code: Code::OidcTooLarge,
                detail: format!("the exchange request is over {max} bytes"),
            })
        }
        other => other?,
    };
    if let Some(leader) = &st.config.replica.publish_via {
        // The replay cache lives in the leader's memory: one process sees every `jti`.
        return crate::forward::relay(&st, leader, "/api/v1/oidc/token", "-", None, &headers, body)
            .await;
    }
    let req: ExchangeRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not {{\"package\": NAME, \"token\": JWT}}: {e}"
        ))
    })?;
    let pkg: PackageName = req
        .package
        .parse()
        .map_err(|e: x0x_dist_manifests::Error| ApiError::InvalidPath(e.to_string()))?;
    let policy = crate::staging::policy(&st, &pkg).await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let result = st.oidc.verify(&req.token, &policy, now).await;
    // Then the durable replay memory (`crate::oidc::replay`): a replay across a restart is refused too.
    let result = match result {
        Ok(v) => crate::oidc::replay::record(
            &*st.store,
            st.coordinator.database(),
            &st.oidc.store_log,
            &v.replay_key,
            v.exp,
            now,
        )
        .await
        .map(|()| v),
        Err(e) => Err(e),
    };
    let v = match result {
        Ok(v) => v,
        Err(e) => {
            use x0x_dist_manifests::codes::Coded as _;
            tracing::info!(package = %pkg, code = e.code().as_str(), error = %e, "OIDC token refused");
            return Err(e);
        }
    };
    let principal = format!("oidc:{}#{}", v.issuer, v.subject);
    let claims = UploadClaims {
        pkg: pkg.to_string(),
        principal: principal.clone(),
        exp: (now + upload_token::TTL).min(v.exp.max(now + 60)),
        prov: v.provenance,
    };
    let key = upload_token::load_key(&st.keys_dir)?;
    let token = upload_token::issue(&key, &claims)?;
    tracing::info!(package = %pkg, principal = %principal, "OIDC token exchanged for an upload token");
    Ok(axum::Json(ExchangeResponse {
        token,
        package: pkg.to_string(),
        expires: claims.exp,
        principal,
        sign_online: policy.sign_online,
    })
    .into_response())
}
