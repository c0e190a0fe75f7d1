//! Trusted publishing: exchanging a CI provider's OpenID Connect ID token for a short-lived upload token
//! (`POST /api/v1/oidc/token`, [`crate::routes::oidc`]).
//!
//! An ID token is accepted for package `P` only if, in this order (each refusal its own code, naming the claim):
//! 1. it is at most [`MAX_TOKEN_BYTES`] (`oidc.too_large`) and a compact JWS: three base64url parts, a JSON
//!    header and a JSON object of claims (`oidc.malformed`);
//! 2. its `alg` is asymmetric and one issuers use: RS256/384/512, PS256/384/512, ES256/384, EdDSA; `none` and
//!    `HS*` (a key the verifier would have to share) are refused (`oidc.algorithm`);
//! 3. `P` has a trusted-publishing policy that verifies against the top-level targets keys
//!    ([`x0x_dist_repository::trust`], `oidc.no_policy`), and the token's `iss` is that policy's issuer exactly
//!    (`oidc.iss`) — checked before anything is fetched, so a token naming another issuer costs nothing;
//! 4. its `kid` names a key of the issuer's JWKS, found through discovery and re-read once on an unknown `kid`
//!    ([`jwks`], `oidc.kid`), and the signature verifies with that key (`oidc.signature`);
//! 5. `aud` (a string or an array) contains the policy's audience (`oidc.aud`);
//! 6. `exp` is present and not past, `nbf` (if present) not in the future, `iat` present and not in the future,
//!    each with [`CLOCK_SKEW`]; a token whose lifetime (`exp - iat`) exceeds [`MAX_LIFETIME`] is refused too
//!    (`oidc.exp`, `oidc.nbf`, `oidc.iat`);
//! 7. every claim the policy pins has exactly its value (`oidc.claim`, the detail names the claim);
//! 8. it carries a `jti` not exchanged before (`oidc.jti`): checked in this process's memory, then recorded
//!    durably ([`replay`]: the database's table with `--database`, else the store's private `oidc-jti.json`)
//!    until the token expires, so a replay is refused after a restart too and, with a database, on any replica.
//!
//! Then an upload token ([`upload_token`]) scoped to `P` is issued: HMAC-signed, valid [`upload_token::TTL`],
//! carrying the verified identity (`iss`, `sub`) and the claims recorded as provenance ([`PROVENANCE_CLAIMS`]
//! plus the ones the policy pins).
pub mod jwks;
pub mod replay;
pub mod upload_token;

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use x0x_dist_manifests::codes::Code;
use x0x_dist_repository::trust::TrustPolicy;

use crate::error::ApiError;
use crate::wire::quote;

/// Largest ID token accepted (GitHub's and GitLab's are about 1-2 KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Allowed clock difference with the issuer, in seconds.
pub const CLOCK_SKEW: i64 = 60;
/// Longest ID token lifetime accepted (`exp - iat`), in seconds.
pub const MAX_LIFETIME: i64 = 24 * 3600;
/// Most `jti`s remembered at once.
pub const MAX_REMEMBERED: usize = 100_000;
/// Claims recorded as provenance when present (GitHub Actions, then GitLab CI), besides the policy's own.
pub const PROVENANCE_CLAIMS: &[&str] = &[
    "sub",
    "repository",
    "repository_id",
    "repository_owner",
    "workflow_ref",
    "job_workflow_ref",
    "ref",
    "sha",
    "environment",
    "run_id",
    "run_attempt",
    "event_name",
    "project_path",
    "project_id",
    "namespace_path",
    "pipeline_id",
    "pipeline_source",
    "job_id",
    "ci_config_ref_uri",
    "ci_config_sha",
];

/// An ID token that passed every check of the module docs.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `exp` (seconds since the epoch).
    pub exp: i64,
    /// The claims recorded as provenance (string, number or boolean values only).
    pub provenance: Map<String, Value>,
    /// SHA-256 of `iss NUL jti`: what the replay memory records ([`replay::record`]).
    pub replay_key: [u8; 32],
}

/// The exchange's state: the issuers' keys and the `jti`s seen.
#[derive(Debug, Default)]
pub struct Oidc {
    /// Issuers' JWK sets.
    pub jwks: jwks::JwksCache,
    /// SHA-256 of `iss NUL jti` → `exp` of that token.
    seen: Mutex<HashMap<[u8; 32], i64>>,
    /// The durable memory without a database ([`replay`]).
    pub store_log: replay::StoreLog,
}

impl Oidc {
    /// The exchange's state for `[oidc]` of the configuration.
    pub fn new(cfg: &crate::config::OidcConfig) -> Self {
        Self {
            jwks: jwks::JwksCache::with_refresh_after(std::time::Duration::from_secs(
                cfg.jwks_refresh_secs,
            )),
            ..Self::default()
        }
    }
}

/// SHA-256 of `iss NUL jti`.
fn replay_key(iss: &str, jti: &str) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(iss.as_bytes());
    h.update([0]);
    h.update(jti.as_bytes());
    h.finalize().into()
}

fn refuse(code: Code, detail: impl Into<String>) -> ApiError {
    ApiError::Refused {
        code,
        detail: detail.into(),
    }
}

/// The parts of a compact JWS, decoded but not verified.
struct Parts {
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

fn parse(token: &str) -> Result<Parts, ApiError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(refuse(
            Code::OidcTooLarge,
            format!(
                "the ID token is {} bytes, over the limit of {MAX_TOKEN_BYTES}",
                token.len()
            ),
        ));
    }
    let malformed = |why: &str| refuse(Code::OidcMalformed, format!("the ID token {why}"));
    let mut it = token.split('.');
    let (Some(h), Some(c), Some(_sig), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(malformed(
            "is not a compact JWS (three dot-separated parts)",
        ));
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = |part: &str, what: &str| -> Result<Map<String, Value>, ApiError> {
        let bytes = b64
            .decode(part)
            .map_err(|_| malformed(&format!("{what} is not base64url")))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(malformed(&format!("{what} is not a JSON object"))),
        }
    };
    Ok(Parts {
        header: json(h, "header")?,
        claims: json(c, "claims part")?,
    })
}

/// Step 2: the algorithm, from the header as sent.
fn algorithm(header: &Map<String, Value>) -> Result<Algorithm, ApiError> {
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    match alg {
        "RS256" => Ok(Algorithm::RS256),
        "RS384" => Ok(Algorithm::RS384),
        "RS512" => Ok(Algorithm::RS512),
        "PS256" => Ok(Algorithm::PS256),
        "PS384" => Ok(Algorithm::PS384),
        "PS512" => Ok(Algorithm::PS512),
        "ES256" => Ok(Algorithm::ES256),
        "ES384" => Ok(Algorithm::ES384),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(refuse(
            Code::OidcAlgorithm,
            format!(
                "the ID token's alg {} is refused (none and HS* never; RS*, PS*, ES256, ES384, EdDSA are accepted)",
                quote(other)
            ),
        )),
    }
}

fn int_claim(claims: &Map<String, Value>, name: &str, code: Code) -> Result<Option<i64>, ApiError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| {
                refuse(
                    code,
                    format!("the ID token's {name} is not a number of seconds"),
                )
            }),
    }
}

/// Step 6 at time `now` (seconds since the epoch).
fn check_times(claims: &Map<String, Value>, now: i64) -> Result<i64, ApiError> {
    let exp = int_claim(claims, "exp", Code::OidcExp)?
        .ok_or_else(|| refuse(Code::OidcExp, "the ID token has no exp"))?;
    if now > exp + CLOCK_SKEW {
        return Err(refuse(
            Code::OidcExp,
            format!("the ID token expired {} s ago (exp {exp})", now - exp),
        ));
    }
    if let Some(nbf) = int_claim(claims, "nbf", Code::OidcNbf)? {
        if nbf > now + CLOCK_SKEW {
            return Err(refuse(
                Code::OidcNbf,
                format!(
                    "the ID token is not valid for another {} s (nbf {nbf})",
                    nbf - now
                ),
            ));
        }
    }
    let iat = int_claim(claims, "iat", Code::OidcIat)?
        .ok_or_else(|| refuse(Code::OidcIat, "the ID token has no iat"))?;
    if iat > now + CLOCK_SKEW {
        return Err(refuse(
            Code::OidcIat,
            format!(
                "the ID token was issued {} s in the future (iat {iat})",
                iat - now
            ),
        ));
    }
    if exp - iat > MAX_LIFETIME {
        return Err(refuse(
            Code::OidcExp,
            format!(
                "the ID token is valid for {} s, longer than the {MAX_LIFETIME} s accepted",
                exp - iat
            ),
        ));
    }
    Ok(exp)
}

fn check_audience(claims: &Map<String, Value>, audience: &str) -> Result<(), ApiError> {
    let ok = match claims.get("aud") {
        Some(Value::String(s)) => s == audience,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(audience)),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(refuse(
            Code::OidcAud,
            format!(
                "the ID token's aud {} does not contain the policy's audience {}",
                claims
                    .get("aud")
                    .map_or_else(|| "(none)".into(), |v| quote(&v.to_string())),
                quote(audience)
            ),
        ))
    }
}

fn check_policy_claims(claims: &Map<String, Value>, policy: &TrustPolicy) -> Result<(), ApiError> {
    for (name, want) in &policy.claims {
        match claims.get(name) {
            Some(Value::String(got)) if got == want => {}
            got => {
                return Err(refuse(
                    Code::OidcClaim,
                    format!(
                        "claim {name}: the policy of {} requires {}, the ID token has {}",
                        policy.package,
                        quote(want),
                        got.map_or_else(|| "none".into(), |v| quote(&v.to_string()))
                    ),
                ))
            }
        }
    }
    Ok(())
}

impl Oidc {
    /// Checks `token` for `policy` at `now` (seconds since the epoch): every step of the module docs; on success
    /// the `jti` is remembered, so the same token is refused from then on.
    pub async fn verify(
        &self,
        token: &str,
        policy: &TrustPolicy,
        now: i64,
    ) -> Result<VerifiedToken, ApiError> {
        let parts = parse(token)?;
        let alg = algorithm(&parts.header)?;
        let iss = parts
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or("");
        if iss != policy.issuer {
            return Err(refuse(
                Code::OidcIss,
                format!(
                    "the ID token's iss {} is not the issuer {} trusted for {}",
                    quote(iss),
                    quote(&policy.issuer),
                    policy.package
                ),
            ));
        }
        let kid = parts
            .header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| refuse(Code::OidcKid, "the ID token's header has no kid"))?;
        let jwk = self.jwks.key(&policy.issuer, kid).await?.ok_or_else(|| {
            refuse(
                Code::OidcKid,
                format!("the issuer {} has no key {}", policy.issuer, quote(kid)),
            )
        })?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| {
            refuse(
                Code::OidcKid,
                format!("the issuer's key {} is unusable: {e}", quote(kid)),
            )
        })?;
        let mut validation = Validation::new(alg);
        // The claims are checked below, each with its own code.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
            refuse(
                Code::OidcSignature,
                format!(
                    "the ID token's signature does not verify with the issuer's key {}: {e}",
                    quote(kid)
                ),
            )
        })?;
        check_audience(&parts.claims, &policy.audience)?;
        let exp = check_times(&parts.claims, now)?;
        check_policy_claims(&parts.claims, policy)?;
        let jti = parts
            .claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty() && j.len() <= 512)
            .ok_or_else(|| {
                refuse(
                    Code::OidcJti,
                    "the ID token has no jti (needed to refuse replays)",
                )
            })?;
        self.remember(iss, jti, exp, now)?;
        let subject = parts
            .claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut provenance = Map::new();
        for name in PROVENANCE_CLAIMS
            .iter()
            .copied()
            .chain(policy.claims.keys().map(String::as_str))
        {
            if let Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) =
                parts.claims.get(name)
            {
                provenance.insert(name.to_owned(), v.clone());
            }
        }
        provenance.insert("issuer".into(), Value::String(iss.to_owned()));
        Ok(VerifiedToken {
            issuer: iss.to_owned(),
            subject,
            exp,
            provenance,
            replay_key: replay_key(iss, jti),
        })
    }

    /// Step 8: refuses a `jti` already exchanged; remembers it until its token expires.
    fn remember(&self, iss: &str, jti: &str, exp: i64, now: i64) -> Result<(), ApiError> {
        let key = replay_key(iss, jti);
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| ApiError::Internal("jti cache poisoned".into()))?;
        if seen.contains_key(&key) {
            return Err(refuse(
                Code::OidcJti,
                format!(
                    "the ID token with jti {} was already exchanged (a replay)",
                    quote(jti)
                ),
            ));
        }
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, e| *e + CLOCK_SKEW >= now);
            if seen.len() >= MAX_REMEMBERED {
                return Err(refuse(
                    Code::OidcJti,
                    "too many ID tokens exchanged within their lifetime; retry in a minute",
                ));
            }
        }
        seen.insert(key, exp);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x0x_dist_manifests::codes::Coded as _;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn parse_and_algorithm_refusals() {
        let code = |t: &str| parse(t).err().map(|e| e.code().as_str());
        assert_eq!(code("abc"), Some("oidc.malformed"));
        assert_eq!(code("a.b.c.d"), Some("oidc.malformed"));
        assert_eq!(code("!!.e30.x"), Some("oidc.malformed"));
        assert_eq!(
            code(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Some("oidc.too_large")
        );
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none"})),
            b64(&serde_json::json!({}))
        );
        let p = parse(&none).unwrap();
        assert_eq!(algorithm(&p.header).unwrap_err().code(), "oidc.algorithm");
        for alg in ["HS256", "HS512", "", "none", "None"] {
            let h = serde_json::json!({"alg": alg}).as_object().unwrap().clone();
            assert_eq!(algorithm(&h).unwrap_err().code(), "oidc.algorithm", "{alg}");
        }
    }

    #[test]
    fn times_with_skew() {
        let c = |v: Value| v.as_object().unwrap().clone();
        let now = 1_000_000;
        assert!(check_times(
            &c(serde_json::json!({"exp": now - 59, "iat": now - 300})),
            now
        )
        .is_ok());
        let code = |v: Value| check_times(&c(v), now).unwrap_err().code().as_str();
        assert_eq!(
            code(serde_json::json!({"exp": now - 61, "iat": now - 300})),
            "oidc.exp"
        );
        assert_eq!(code(serde_json::json!({"iat": now})), "oidc.exp");
        assert_eq!(
            code(serde_json::json!({"exp": "soon", "iat": now})),
            "oidc.exp"
        );
        assert_eq!(
            code(serde_json::json!({"exp": now + 300, "nbf": now + 61, "iat": now})),
            "oidc.nbf"
        );
        assert_eq!(
            code(serde_json::json!({"exp": now + 300, "iat": now + 61})),
            "oidc.iat"
        );
        assert_eq!(code(serde_json::json!({"exp": now + 300})), "oidc.iat");
        assert_eq!(
            code(serde_json::json!({"exp": now + MAX_LIFETIME + 10, "iat": now})),
            "oidc.exp"
        );
        assert!(check_times(
            &c(serde_json::json!({"exp": now + 300, "nbf": now + 59, "iat": now + 59})),
            now
        )
        .is_ok());
    }

    #[test]
    fn skew_boundaries_are_inclusive() {
        let c = |v: Value| v.as_object().unwrap().clone();
        let now = 1_000_000;
        let s = CLOCK_SKEW;
        let ok = |v: Value| check_times(&c(v), now).is_ok();
        assert!(ok(serde_json::json!({"exp": now - s, "iat": now - 300})));
        assert!(!ok(
            serde_json::json!({"exp": now - s - 1, "iat": now - 300})
        ));
        assert!(ok(
            serde_json::json!({"exp": now + 300, "nbf": now + s, "iat": now})
        ));
        assert!(!ok(
            serde_json::json!({"exp": now + 300, "nbf": now + s + 1, "iat": now})
        ));
        assert!(ok(serde_json::json!({"exp": now + 300, "iat": now + s})));
        assert!(!ok(
            serde_json::json!({"exp": now + 300, "iat": now + s + 1})
        ));
        assert!(ok(
            serde_json::json!({"exp": now + MAX_LIFETIME, "iat": now})
        ));
        assert!(!ok(
            serde_json::json!({"exp": now + MAX_LIFETIME + 1, "iat": now})
        ));
    }

    /// Refusals decided before any key is fetched (no issuer runs here): each its code, and nothing remembered
    /// (the same token's `jti` is not burnt by a refusal).
    #[tokio::test]
    async fn refusals_before_the_jwks_change_nothing() {
        let o = Oidc::default();
        let policy = TrustPolicy {
            type_: "x0x-trust".into(),
            version: 1,
            expires: time::OffsetDateTime::now_utc(),
            package: "x0x".parse().unwrap(),
            issuer: "https://ci.example".into(),
            audience: "x0x-ci".into(),
            claims: std::collections::BTreeMap::new(),
            sign_online: false,
        };
        let tok = |h: Value, c: Value| format!("{}.{}.c2ln", b64(&h), b64(&c));
        let claims = serde_json::json!({"iss": "https://ci.example", "aud": "x0x-ci", "jti": "j", "exp": 2, "iat": 1});
        let code = |t: String| {
            let o = &o;
            let policy = &policy;
            async move { o.verify(&t, policy, 1).await.unwrap_err().code().as_str() }
        };
        assert_eq!(
            code(tok(serde_json::json!({"alg": "RS256"}), claims.clone())).await,
            "oidc.kid"
        );
        assert_eq!(
            code(tok(
                serde_json::json!({"alg": "none", "kid": "k"}),
                claims.clone()
            ))
            .await,
            "oidc.algorithm"
        );
        assert_eq!(
            code(tok(
                serde_json::json!({"alg": "HS256", "kid": "k"}),
                claims.clone()
            ))
            .await,
            "oidc.algorithm"
        );
        let mut other = claims.clone();
        other["iss"] = "https://evil.example".into();
        assert_eq!(
            code(tok(serde_json::json!({"alg": "RS256", "kid": "k"}), other)).await,
            "oidc.iss"
        );
        assert_eq!(code("e30.e30".into()).await, "oidc.malformed");
        assert_eq!(
            code(format!("{}.e30.x", "a".repeat(MAX_TOKEN_BYTES))).await,
            "oidc.too_large"
        );
        assert!(o.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn replay_is_refused() {
        let o = Oidc::default();
        o.remember("https://i", "j1", 100, 0).unwrap();
        assert_eq!(
            o.remember("https://i", "j1", 100, 1).unwrap_err().code(),
            "oidc.jti"
        );
        o.remember("https://other", "j1", 100, 1).unwrap();
    }
}
