//! Who is calling a publishing route: an upload token from the token file ([`crate::tokens`]) or a short-lived
//! one from the OIDC exchange ([`crate::oidc::upload_token`], prefix `x0xo_`). Either way the result is an
//! [`Identity`]; staged releases compare identities so that nobody approves their own release.
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::oidc::upload_token;
use crate::state::AppState;

/// A caller allowed to publish.
#[derive(Clone, Debug)]
pub struct Identity {
    /// For logs: the token id, or `oidc:<iss>#<sub>`.
    pub id: String,
    /// Compared between stager and approver: `token:<id>` or `oidc:<iss>#<sub>`.
    pub principal: String,
    /// The verified OIDC claims (empty for a file token).
    pub provenance: Map<String, Value>,
}

/// Checks the `Authorization` header value for publishing `package` (see the module docs).
pub async fn authorize(
    st: &AppState,
    header: Option<&str>,
    package: Option<&str>,
) -> Result<Identity, ApiError> {
    let bearer = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(token) = bearer.filter(|t| t.starts_with(upload_token::PREFIX)) {
        let key = upload_token::load_key(&st.keys_dir)?;
        let claims = upload_token::verify(
            &key,
            token,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )?;
        if let Some(p) = package {
            if claims.pkg != p {
                return Err(ApiError::Forbidden(p.to_owned()));
            }
        }
        return Ok(Identity {
            id: claims.principal.clone(),
            principal: claims.principal,
            provenance: claims.prov,
        });
    }
    let id = st.tokens.authorize(header, package).await?;
    Ok(Identity {
        principal: format!("token:{id}"),
        id,
        provenance: Map::new(),
    })
}

/// [`authorize`] with the request's `Authorization` header.
pub async fn from_headers(
    st: &AppState,
    headers: &axum::http::HeaderMap,
    package: Option<&str>,
) -> Result<Identity, ApiError> {
    authorize(
        st,
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        package,
    )
    .await
}
