//! The short-lived upload tokens the OIDC exchange issues: `x0xo_<claims>.<mac>`, where `<claims>` is the
//! base64url JSON of [`UploadClaims`] and `<mac>` the base64url HMAC-SHA256 of `x0xo_<claims>` under the key in
//! `<keys>/upload-token.key` ([`x0x_dist_repository::trust::UPLOAD_TOKEN_KEY_FILE`], hex).
//!
//! Stateless on purpose: any replica holding the keys directory verifies one without a token file or a database,
//! and nothing is stored per token. A token is valid for one package until `exp` ([`TTL`] after issue, never
//! after the ID token it came from); it cannot be revoked before (rotate the MAC key to revoke them all). The
//! MAC is compared in constant time.
use std::path::Path;

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Prefix of every OIDC-issued upload token (secret scanners can tell them from `x0xd_` file tokens).
pub const PREFIX: &str = "x0xo_";
/// Lifetime of an upload token, in seconds.
pub const TTL: i64 = 15 * 60;
/// Longest upload token accepted (claims include the provenance).
pub const MAX_BYTES: usize = 8 * 1024;

type HmacSha256 = Hmac<sha2::Sha256>;

/// What an upload token carries.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UploadClaims {
    /// The one package it may publish.
    pub pkg: String,
    /// The identity: `oidc:<iss>#<sub>` (approvals compare it with the stager's).
    pub principal: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// The verified claims recorded as provenance.
    pub prov: Map<String, Value>,
}

/// Reads the MAC key from the keys directory.
pub fn load_key(keys_dir: &Path) -> Result<Vec<u8>, ApiError> {
    let p = keys_dir.join(x0x_dist_repository::trust::UPLOAD_TOKEN_KEY_FILE);
    let text = std::fs::read_to_string(&p).map_err(|e| {
        ApiError::io(
            format!(
                "reading the upload-token key {} (created by `x0x-dist package trust`; copy it to every replica's keys directory)",
                p.display()
            ),
            e,
        )
    })?;
    let key = hex::decode(text.trim())
        .map_err(|_| ApiError::Internal(format!("{} is not hex", p.display())))?;
    if key.len() < 32 {
        return Err(ApiError::Internal(format!(
            "{} holds {} bytes; at least 32 are needed",
            p.display(),
            key.len()
        )));
    }
    Ok(key)
}

fn mac(key: &[u8], data: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut m = HmacSha256::new_from_slice(key)
        .map_err(|e| ApiError::Internal(format!("upload-token key: {e}")))?;
    m.update(data);
    Ok(m.finalize().into_bytes().to_vec())
}

/// Issues a token for `claims`.
pub fn issue(key: &[u8], claims: &UploadClaims) -> Result<String, ApiError> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = serde_json::to_vec(claims).map_err(|e| ApiError::Internal(e.to_string()))?;
    let signed = format!("{PREFIX}{}", b64.encode(body));
    let tag = mac(key, signed.as_bytes())?;
    Ok(format!("{signed}.{}", b64.encode(tag)))
}

/// Verifies `token` at `now` (seconds since the epoch): `auth.invalid` if it is malformed, its MAC is wrong or it
/// expired.
pub fn verify(key: &[u8], token: &str, now: i64) -> Result<UploadClaims, ApiError> {
    use subtle::ConstantTimeEq as _;
    if token.len() > MAX_BYTES {
        return Err(ApiError::InvalidToken);
    }
    let (signed, tag) = token.rsplit_once('.').ok_or(ApiError::InvalidToken)?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let tag = b64.decode(tag).map_err(|_| ApiError::InvalidToken)?;
    let want = mac(key, signed.as_bytes())?;
    if !bool::from(want.as_slice().ct_eq(tag.as_slice())) {
        return Err(ApiError::InvalidToken);
    }
    let body = signed
        .strip_prefix(PREFIX)
        .and_then(|b| b64.decode(b).ok())
        .ok_or(ApiError::InvalidToken)?;
    let claims: UploadClaims = serde_json::from_slice(&body).map_err(|_| ApiError::InvalidToken)?;
    if now >= claims.exp {
        return Err(ApiError::InvalidToken);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x0x_dist_manifests::codes::Coded as _;

    #[test]
    fn round_trip_tamper_expiry() {
        let key = [7u8; 32];
        let c = UploadClaims {
            pkg: "x0x".into(),
            principal: "oidc:https://i#repo:a/b".into(),
            exp: 1000,
            prov: Map::new(),
        };
        let t = issue(&key, &c).unwrap();
        assert!(t.starts_with(PREFIX));
        assert_eq!(verify(&key, &t, 999).unwrap(), c);
        assert_eq!(verify(&key, &t, 1000).unwrap_err().code(), "auth.invalid");
        assert_eq!(
            verify(&[8u8; 32], &t, 0).unwrap_err().code(),
            "auth.invalid"
        );
        // Another package in the claims, the old MAC: refused.
        let forged = issue(
            &[9u8; 32],
            &UploadClaims {
                pkg: "other".into(),
                ..c.clone()
            },
        )
        .unwrap();
        let (body, _) = forged.rsplit_once('.').unwrap();
        let (_, tag) = t.rsplit_once('.').unwrap();
        assert_eq!(
            verify(&key, &format!("{body}.{tag}"), 0)
                .unwrap_err()
                .code(),
            "auth.invalid"
        );
        assert_eq!(
            verify(&key, "x0xo_garbage", 0).unwrap_err().code(),
            "auth.invalid"
        );
    }
}
