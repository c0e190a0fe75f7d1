//! The issuers' signing keys: `<issuer>/.well-known/openid-configuration` → `jwks_uri` → the JWK set, cached per
//! issuer and re-read when a token names a `kid` the cached set lacks (key rotation), at most once per
//! [`REFRESH_AFTER`] (`[oidc] jwks_refresh_secs`) per issuer (a stream of tokens with random `kid`s cannot make the server hammer the issuer).
//!
//! The discovery document's `issuer` must equal the issuer exactly (OpenID Connect Discovery 1.0 §4.3), and
//! `jwks_uri` must itself be an acceptable issuer URL (https, or http on loopback). Answers are capped at
//! [`MAX_DOC_BYTES`] and [`FETCH_TIMEOUT`].
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use x0x_dist_manifests::codes::Code;

use crate::error::ApiError;
use crate::wire::quote;

/// A cached set is re-read on an unknown `kid` only if older than this.
pub const REFRESH_AFTER: Duration = Duration::from_secs(30);
/// A cached set is re-read regardless after this.
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// Largest discovery document or JWK set accepted.
pub const MAX_DOC_BYTES: usize = 256 * 1024;
/// Deadline of each fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

struct Cached {
    keys: JwkSet,
    fetched: Instant,
}

/// Per-issuer JWK sets.
pub struct JwksCache {
    http: reqwest::Client,
    sets: Mutex<HashMap<String, Cached>>,
    refresh_after: Duration,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache").finish_non_exhaustive()
    }
}

impl Default for JwksCache {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            sets: Mutex::new(HashMap::new()),
            refresh_after: REFRESH_AFTER,
        }
    }
}

fn unavailable(detail: String) -> ApiError {
    ApiError::Refused {
        code: Code::OidcIssuerUnavailable,
        detail,
    }
}

impl JwksCache {
    /// A cache that re-reads a set on an unknown `kid` at most once per `refresh_after`.
    pub fn with_refresh_after(refresh_after: Duration) -> Self {
        Self {
            refresh_after,
            ..Self::default()
        }
    }

    /// The key `kid` of `issuer` (re-reading the issuer's set when it is not cached, stale, or lacks `kid` and
    /// was read at least `refresh_after` ago). `Ok(None)`: the issuer has no such key.
    pub async fn key(&self, issuer: &str, kid: &str) -> Result<Option<Jwk>, ApiError> {
        let (found, refresh) = {
            let sets = self
                .sets
                .lock()
                .map_err(|_| ApiError::Internal("JWKS cache poisoned".into()))?;
            match sets.get(issuer) {
                Some(c) => {
                    let age = c.fetched.elapsed();
                    let k = c.keys.find(kid).cloned();
                    let refresh = age > MAX_AGE || (k.is_none() && age >= self.refresh_after);
                    (k, refresh)
                }
                None => (None, true),
            }
        };
        if !refresh {
            return Ok(found);
        }
        let keys = self.fetch(issuer).await?;
        let k = keys.find(kid).cloned();
        self.sets
            .lock()
            .map_err(|_| ApiError::Internal("JWKS cache poisoned".into()))?
            .insert(
                issuer.to_owned(),
                Cached {
                    keys,
                    fetched: Instant::now(),
                },
            );
        Ok(k)
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, ApiError> {
        let resp = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(format!("fetching {url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(unavailable(format!(
                "{url} answered HTTP {}",
                resp.status().as_u16()
            )));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_DOC_BYTES as u64)
        {
            return Err(unavailable(format!("{url} is over {MAX_DOC_BYTES} bytes")));
        }
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| unavailable(format!("reading {url}: {e}")))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOC_BYTES {
                return Err(unavailable(format!("{url} is over {MAX_DOC_BYTES} bytes")));
            }
        }
        serde_json::from_slice(&body).map_err(|e| unavailable(format!("{url} is not JSON: {e}")))
    }

    async fn fetch(&self, issuer: &str) -> Result<JwkSet, ApiError> {
        let disc_url = format!("{issuer}/.well-known/openid-configuration");
        let disc = self.get_json(&disc_url).await?;
        let claimed = disc.get("issuer").and_then(serde_json::Value::as_str);
        if claimed != Some(issuer) {
            return Err(unavailable(format!(
                "{disc_url} names issuer {}, not {issuer}",
                claimed.map_or_else(|| "nothing".into(), quote)
            )));
        }
        let jwks_uri = disc
            .get("jwks_uri")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| unavailable(format!("{disc_url} has no jwks_uri")))?
            .to_owned();
        x0x_dist_repository::trust::check_issuer(&jwks_uri)
            .map_err(|e| unavailable(format!("jwks_uri of {issuer}: {e}")))?;
        let set = self.get_json(&jwks_uri).await?;
        let listed = set
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| unavailable(format!("{jwks_uri} is not a JWK set (no `keys` array)")))?;
        // A key of a type this server does not verify with (a post-quantum or encryption key) is skipped, not
        // a reason to refuse the issuer's other keys.
        let keys = listed
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect();
        Ok(JwkSet { keys })
    }
}
