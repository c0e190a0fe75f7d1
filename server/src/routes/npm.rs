//! `/npm/{*path}`: the npm registry view (`crate::npm`). Reads are `GET`/`HEAD`; `npm audit` `POST`s to the
//! advisories endpoints: the bulk one lists revoked releases (`crate::npm::audit`), the quick one none. Everything answered is either generated from the
//! repository's verified releases or, for packages it does not host, proxied to `[npm] upstream` (404
//! `npm.not_hosted` without one).
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use x0x_dist_manifests::codes::Code;

use crate::error::ApiError;
use crate::files::{self, CachedFile, Conditions};
use crate::npm::packument;
use crate::npm::{Endpoint, NpmName, ABBREVIATED};
use crate::state::AppState;

/// Largest `Accept` header considered (npm sends under 100 bytes).
const MAX_ACCEPT: usize = 4096;

/// Cache-Control of packuments, version documents and dist-tags (they change when a release is published).
const PACKUMENT_CACHE: &str = "public, max-age=300";

/// The URL clients reach this server at: `X-Forwarded-Proto` (or `http`) and `Host` (checked), else the
/// configured listen address.
fn base_url(st: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map_or_else(|| st.config.bind.listen.to_string(), str::to_owned);
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// Whether the client asked for the abbreviated packument.
fn wants_abbreviated(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(a) = headers.get(header::ACCEPT) else {
        return Ok(false);
    };
    if a.len() > MAX_ACCEPT {
        return Err(ApiError::BadRequest(format!(
            "Accept header of {} bytes (at most {MAX_ACCEPT})",
            a.len()
        )));
    }
    let a = a
        .to_str()
        .map_err(|_| ApiError::BadRequest("Accept header is not ASCII".into()))?;
    Ok(a.split(',')
        .any(|p| p.split(';').next().unwrap_or("").trim() == ABBREVIATED))
}

fn json_file(v: &serde_json::Value, stamp: Option<crate::storage::ETag>) -> CachedFile {
    CachedFile::new(
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
        true,
        stamp,
    )
}

fn with_vary(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    r
}

/// `GET|HEAD|POST /npm/{*path}`
pub async fn serve(
    State(st): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let raw = uri.path().strip_prefix("/npm/").unwrap_or_default();
    let ep = Endpoint::parse(raw)?;
    let post_ok = matches!(ep, Endpoint::AuditBulk | Endpoint::AuditQuick);
    if (method == Method::POST) != post_ok {
        return Err(ApiError::Npm {
            code: Code::UsageInvalid,
            detail: format!(
                "method {method} not allowed on /npm/{}",
                crate::error::quote(raw)
            ),
        });
    }
    let cond = Conditions::new(&method, &headers);
    let reg = &st.npm;
    match ep {
        // Ping: an empty object, as npm's registry answers.
        Endpoint::Ping => Ok(axum::Json(json!({})).into_response()),
        Endpoint::AuditBulk => {
            let base = base_url(&st, &headers);
            let body = audit_body(&headers, body)?;
            Ok(axum::Json(crate::npm::audit::bulk(reg, &*st, &body, &base).await?).into_response())
        }
        Endpoint::AuditQuick => Ok(axum::Json(json!({
            "actions": [], "advisories": {}, "muted": [],
            "metadata": {
                "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0},
                "dependencies": 0, "devDependencies": 0, "optionalDependencies": 0, "totalDependencies": 0
            }
        }))
        .into_response()),
        Endpoint::Record(package, version) => {
            let l = reg.record(&*st, &package, &version).await?;
            let f = json_file(&serde_json::to_value(&l.record).unwrap_or_default(), None);
            files::serve_memory(&cond, &f, files::IMMUTABLE, "application/json")
        }
        Endpoint::Packument(ref name) | Endpoint::Version(ref name, _) | Endpoint::DistTags(ref name) => {
            let abbreviated = wants_abbreviated(&headers)?;
            // Served from the cache while `timestamp.json` is unchanged: one tag read (local: a stat) a request.
            let base = base_url(&st, &headers);
            let stamp = st.published_timestamp().await?;
            let key = format!("{raw}|{base}|{abbreviated}");
            if let Some(f) = reg.cached_packument(&key, &stamp) {
                let ctype = if abbreviated && matches!(ep, Endpoint::Packument(_)) { ABBREVIATED } else { "application/json" };
                return Ok(with_vary(files::serve_memory(&cond, &f, PACKUMENT_CACHE, ctype)?));
            }
            let Some((package, hosted, versions)) = reg.hosted(&*st, name).await? else {
                return proxy(&st, &method, &headers, raw, name).await;
            };
            let d = packument::docs(reg, &*st, name, &package, hosted, &versions, &base).await?;
            let (value, ctype) = match &ep {
                Endpoint::Packument(_) => (
                    packument::packument(name, &d, abbreviated),
                    if abbreviated { ABBREVIATED } else { "application/json" },
                ),
                Endpoint::DistTags(_) => (serde_json::Value::Object(d.tags.clone()), "application/json"),
                Endpoint::Version(_, v) => {
                    let want = d.tags.get(v.as_str()).and_then(|t| t.as_str()).unwrap_or(v.as_str());
                    let doc = d
                        .versions
                        .iter()
                        .find(|(sv, _)| sv.to_string() == want)
                        .map(|(_, doc)| doc.clone())
                        .ok_or_else(|| ApiError::Npm {
                            code: Code::NpmNotHosted,
                            detail: format!("{name}@{} is not hosted by this registry", crate::error::quote(v)),
                        })?;
                    (doc, "application/json")
                }
                _ => unreachable!("matched above"),
            };
            let f = json_file(&value, stamp.clone());
            reg.cache_packument(key, stamp, f.clone());
            Ok(with_vary(files::serve_memory(&cond, &f, PACKUMENT_CACHE, ctype)?))
        }
        Endpoint::Tarball(ref name, ref file) => {
            let Some((package, hosted, versions)) = reg.hosted(&*st, name).await? else {
                return proxy(&st, &method, &headers, raw, name).await;
            };
            let version = file
                .strip_suffix(".tgz")
                .and_then(|f| f.strip_prefix(name.bare()))
                .and_then(|f| f.strip_prefix('-'))
                .filter(|v| versions.iter().any(|x| x == v))
                .ok_or_else(|| ApiError::Npm {
                    code: Code::NpmNotHosted,
                    detail: format!("tarball {} of {name} is not hosted by this registry", crate::error::quote(file)),
                })?
                .to_owned();
            let (bytes, dist) = reg.tarball(&*st, name, &package, hosted, &version).await?;
            let mut f = CachedFile::new(bytes, false, None);
            f.etag = format!("\"{}\"", dist.shasum);
            files::serve_memory(&cond, &f, files::IMMUTABLE, "application/octet-stream")
        }
    }
}

/// A package this registry does not host: proxied to `[npm] upstream`, or `npm.not_hosted`.
async fn proxy(
    st: &AppState,
    method: &Method,
    headers: &HeaderMap,
    raw: &str,
    name: &NpmName,
) -> Result<Response, ApiError> {
    let Some(up) = &st.config.npm.upstream else {
        return Err(ApiError::Npm {
            code: Code::NpmNotHosted,
            detail: format!(
                "{name} is not hosted by this registry (no [npm] upstream is configured)"
            ),
        });
    };
    let url = format!("{}/{raw}", up.trim_end_matches('/'));
    let mut req = st.npm.http().request(method.clone(), &url);
    if let Some(a) = headers.get(header::ACCEPT) {
        req = req.header(header::ACCEPT, a);
    }
    let r = req.send().await.map_err(|e| ApiError::Npm {
        code: Code::NetworkUnreachable,
        detail: format!("npm upstream {}: {e}", crate::error::quote(up)),
    })?;
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut b = Response::builder().status(status);
    for h in [
        header::CONTENT_TYPE,
        header::ETAG,
        header::CACHE_CONTROL,
        header::LAST_MODIFIED,
    ] {
        if let Some(v) = r
            .headers()
            .get(h.as_str())
            .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
        {
            b = b.header(h, v);
        }
    }
    b.body(Body::from_stream(r.bytes_stream()))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The most a bulk audit request may hold once decompressed.
const MAX_AUDIT_BODY: u64 = 4 << 20;

/// A bulk audit request's body: npm sends it gzip-compressed (`Content-Encoding: gzip`); decompressed with a cap,
/// so a small compressed body cannot expand without bound.
fn audit_body(headers: &HeaderMap, body: Bytes) -> Result<Bytes, ApiError> {
    use std::io::Read as _;
    let gzip = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(body);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .take(MAX_AUDIT_BODY + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("the audit request is not valid gzip: {e}")))?;
    if out.len() as u64 > MAX_AUDIT_BODY {
        return Err(ApiError::BadRequest(format!(
            "the audit request is over {MAX_AUDIT_BODY} bytes once decompressed"
        )));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    fn gzip_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_ENCODING,
            axum::http::HeaderValue::from_static("gzip"),
        );
        h
    }

    #[test]
    fn a_gzip_audit_body_is_decompressed_and_capped() {
        let plain = br#"{"x0x":["1.0.0"]}"#;
        assert_eq!(
            &audit_body(&gzip_headers(), gzip(plain)).unwrap()[..],
            plain
        );
        // Without Content-Encoding the body is taken as it is.
        assert_eq!(
            &audit_body(&HeaderMap::new(), Bytes::from_static(plain)).unwrap()[..],
            plain
        );
        // A small body that expands past the cap, and bytes that are not gzip: refused.
        let bomb = gzip(&vec![b' '; (MAX_AUDIT_BODY + 1) as usize]);
        assert!(bomb.len() < 64 << 10);
        assert!(audit_body(&gzip_headers(), bomb).is_err());
        assert!(audit_body(&gzip_headers(), Bytes::from_static(plain)).is_err());
    }
}
