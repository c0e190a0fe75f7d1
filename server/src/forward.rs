//! Publish forwarding for scale-out (`[replica] publish_via`, `serve --publish-via URL`; `docs/server.md`,
//! "Scale-out").
//!
//! Several `serve` replicas share one store, and exactly one of them, the publish leader, commits publishes: it
//! holds the online keys, takes the writer lock and re-signs the timestamp. The store cannot arbitrate between
//! writers itself (the reference engine, Garage, ignores `If-None-Match`/`If-Match` on `PutObject`, so two
//! replicas writing `N.snapshot.json` and `timestamp.json` would silently overwrite each other). Every other
//! replica (a follower) forwards `POST /api/v1/packages/{name}/role` to the leader and relays its answer
//! verbatim — status, the headers that matter, body — so the leader's codes (`publish.conflict`,
//! `auth.invalid`, ...) reach the publisher unchanged. The leader authorizes the token (one source of truth);
//! the follower only refuses a request without an `Authorization` header, as the leader would.
//!
//! Everything else stays local to the follower: blob uploads go straight into the shared store (they are
//! content-addressed, so any replica may write them), and reads (`/tuf/...`, `GET .../role`, the JSON views)
//! come from the shared store. A follower holds no online keys and runs no timestamp refresher.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use x0x_dist_manifests::{Root, Signed, Timestamp};

use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::ObjectKey;
use x0x_dist_manifests::codes::Coded as _;

/// How long to wait for a TCP (and TLS) connection to the leader.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a forwarded publish may take end to end (the leader checks the role, links the targets and
/// writes three metadata files durably; seconds even for large roles, plus waiting for its writer lock).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest answer relayed from the leader (a publish report or an error body: a few KiB).
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Headers of the leader's answer that are relayed to the publisher.
const RELAYED: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
    header::CACHE_CONTROL,
];

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The leader is an internal address: never send publishes through an outbound proxy.
            .no_proxy()
            .build()
            .unwrap_or_default()
    })
}

/// The leader's base URL, validated (`http` or `https`, no query), without a trailing `/`.
pub fn leader_base(url: &str) -> Result<String, ApiError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::BadRequest(format!("publish_via {url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.host().is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "publish_via {url:?} must be the leader's base URL, e.g. http://10.0.0.5:8080"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Forwards a role submission to the leader at `leader` and relays its answer. `name` was validated by the
/// caller (it becomes a URL path segment).
pub async fn submit_role(
    st: &Arc<AppState>,
    leader: &str,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Refuse early what the leader would refuse anyway (and do not make it read the body).
    let auth = bearer(headers)?;
    let body: Bytes = crate::publish::read_role(st, headers, body).await?;
    relay(
        st,
        leader,
        &format!("/api/v1/packages/{name}/role"),
        name,
        Some(auth),
        headers,
        body,
    )
    .await
}

/// The request's `Authorization: Bearer …` header, or `auth.missing` (what the leader would answer).
pub fn bearer(headers: &HeaderMap) -> Result<axum::http::HeaderValue, ApiError> {
    Ok(headers
        .get(header::AUTHORIZATION)
        .filter(|v| v.to_str().is_ok_and(|s| s.starts_with("Bearer ")))
        .ok_or(ApiError::MissingToken)?
        .clone())
}

/// Posts `body` to `path` on the leader (with `auth` when given) and relays its answer verbatim: role
/// submissions, and the other writes only the leader makes (the OIDC exchange, whose replay cache lives in the
/// leader's memory; releases signed online, staging, approvals — `crate::staging`). `name` is the package, for
/// logs.
pub async fn relay(
    st: &Arc<AppState>,
    leader: &str,
    path: &str,
    name: &str,
    auth: Option<axum::http::HeaderValue>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let base = leader_base(leader)?;
    let url = format!("{base}{path}");
    let mut req = client().post(&url).body(body);
    if let Some(auth) = auth {
        req = req.header(header::AUTHORIZATION, auth);
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        req = req.header(header::CONTENT_TYPE, ct.clone());
    }
    // The same request id in both servers' logs.
    if let Some(rid) = headers.get(crate::wire::REQUEST_ID) {
        req = req.header(crate::wire::REQUEST_ID, rid.clone());
    }
    let started = std::time::Instant::now();
    let unavailable = |why: String| {
        tracing::warn!(package = %name, leader = %base, error = %why, "publish leader unavailable");
        ApiError::LeaderUnavailable(why)
    };
    let resp = req.send().await.map_err(|e| unavailable(describe(&e)))?;
    let status = resp.status();
    let mut relayed = Vec::new();
    for h in &RELAYED {
        if let Some(v) = resp.headers().get(h) {
            relayed.push((h.clone(), v.clone()));
        }
    }
    let answer = read_limited(resp)
        .await
        .map_err(|e| unavailable(format!("answer cut off: {e}")))?;
    tracing::info!(
        package = %name,
        leader = %base,
        status = status.as_u16(),
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "publish forwarded to the leader"
    );
    if status.is_success() {
        // The leader committed into the shared store: record the new timestamp's tag (with object storage this
        // replica otherwise keeps serving the old state until its poller notices) and rebuild the view now.
        st.timestamp_written().await;
        crate::state::AppState::refresh_views_in_background(st);
    }
    let mut out = Response::builder()
        .status(StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY));
    for (h, v) in relayed {
        out = out.header(h, v);
    }
    out.body(Body::from(answer))
        .map_err(|e| ApiError::Internal(format!("relaying the leader's answer: {e}")))
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Bytes, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if buf.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!("larger than {MAX_ANSWER_BYTES} bytes"));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.into())
}

/// A transport error in one line, without the URL (the leader's address stays in the server log).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}

/// The start-up check of a follower: the leader URL is valid and the shared store holds a repository (root and
/// timestamp parse). Unlike [`crate::server::startup_check`] it needs no online keys and signs nothing.
pub async fn startup_check(st: &AppState, leader: &str) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    leader_base(leader).map_err(|e| anyhow::anyhow!("{e}"))?;
    let root = st
        .store
        .get_object(&ObjectKey::metadata("root.json")?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{} holds no metadata/root.json", st.store.describe()))?;
    Signed::<Root>::from_slice(&root.bytes)?;
    set_expiry_metric(st).await?;
    st.ready.store(true, Ordering::Release);
    tracing::info!(leader, "publishes are forwarded to the leader");
    Ok(())
}

async fn set_expiry_metric(st: &AppState) -> Result<(), ApiError> {
    let ts = st
        .store
        .get_object(&ObjectKey::timestamp())
        .await?
        .ok_or_else(|| ApiError::NotFound("metadata/timestamp.json".into()))?;
    let exp = Signed::<Timestamp>::from_slice(&ts.bytes)?.signed().expires;
    st.metrics
        .set_timestamp_expires(u64::try_from(exp.unix_timestamp()).unwrap_or(0));
    Ok(())
}

/// A follower's background task in place of the timestamp refresher: keeps the timestamp-expiry metric current
/// with what the leader signs (so an alert on it fires for a leader that stopped re-signing, on every replica).
pub async fn watch(st: Arc<AppState>) {
    let every = Duration::from_secs(st.config.timestamp.check_interval_secs.max(1));
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = set_expiry_metric(&st).await {
            tracing::warn!(code = e.code().as_str(), error = %e, "reading the shared timestamp failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::leader_base;

    #[test]
    fn leader_urls() {
        assert_eq!(
            leader_base("http://10.0.0.5:8080/").unwrap(),
            "http://10.0.0.5:8080"
        );
        assert_eq!(
            leader_base("https://leader.internal/x0x").unwrap(),
            "https://leader.internal/x0x"
        );
        for bad in [
            "10.0.0.5:8080",
            "ftp://h/",
            "http://h/?a=1",
            "",
            "file:///tmp",
        ] {
            assert!(leader_base(bad).is_err(), "{bad}");
        }
    }
}
