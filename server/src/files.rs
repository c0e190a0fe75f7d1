//! Serving immutable and mutable files over HTTP: ETag, `If-None-Match` → 304, single `Range` → 206 / 416,
//! `HEAD`, `Cache-Control`, precompressed gzip for JSON, and an in-memory cache.
//!
//! Invariants:
//! - Versioned metadata (`N.role.json`) and hash-prefixed targets never change, so they are served with
//!   `Cache-Control: public, max-age=31536000, immutable` and may be held in memory for the life of the process.
//! - Unversioned files (`timestamp.json`, the `root.json` convenience copy) get a short `max-age` and are
//!   revalidated against the store's [`ETag`] of the object: on every request when that is cheap (local: one
//!   `stat`, so a re-signed timestamp is visible at once), else against what the store poller last saw
//!   (`crate::state`, visible within `[storage] poll_secs`).
//! - Files larger than the cache's per-file limit are streamed from storage in 256 KiB chunks, never buffered whole.
//! - The gzip variant of a JSON file has its own ETag (`"<etag>-gzip"`) and is never used with `Range`.
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::RwLock;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use crate::error::ApiError;
use crate::storage::{ByteStream, ETag};

/// Cache-Control for immutable files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control for `timestamp.json` and other unversioned files.
pub const SHORT: &str = "public, max-age=60";

/// One file held in memory.
#[derive(Clone, Debug)]
pub struct CachedFile {
    /// The bytes.
    pub bytes: Bytes,
    /// gzip of the bytes (JSON only).
    pub gzip: Option<Bytes>,
    /// Strong ETag, quoted.
    pub etag: String,
    /// For revalidation of mutable objects: the tag they were read under.
    pub stamp: Option<ETag>,
}

impl CachedFile {
    /// Builds a cache entry (computing the ETag from the SHA-256 and the gzip variant for JSON).
    pub fn new(bytes: Bytes, json: bool, stamp: Option<ETag>) -> Self {
        let etag = format!(
            "\"{}\"",
            &crate::storage::Digest::digest(&bytes).to_hex()[..32]
        );
        let gzip = json.then(|| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let _ = enc.write_all(&bytes);
            Bytes::from(enc.finish().unwrap_or_default())
        });
        Self {
            bytes,
            gzip,
            etag,
            stamp,
        }
    }
}

/// A byte-budgeted in-memory cache of files.
#[derive(Debug)]
pub struct MemCache {
    budget: u64,
    max_file: u64,
    inner: RwLock<(u64, HashMap<String, CachedFile>)>,
    loading: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// The right to load one key into the cache; released on drop.
#[derive(Debug)]
pub struct LoadSlot<'a> {
    cache: &'a MemCache,
    key: String,
}

impl Drop for LoadSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut l) = self.cache.loading.lock() {
            l.remove(&self.key);
        }
    }
}

impl MemCache {
    /// A cache holding at most `budget` bytes, files of at most `max_file` bytes.
    pub fn new(budget: u64, max_file: u64) -> Self {
        Self {
            budget,
            max_file: max_file.min(budget),
            inner: RwLock::new((0, HashMap::new())),
            loading: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Claims the loading of `key`: `None` if another request is loading it already (that request should be
    /// served from storage meanwhile, so a burst of first requests never reads a big file into memory N times).
    pub fn try_load(&self, key: &str) -> Option<LoadSlot<'_>> {
        let mut l = self.loading.lock().ok()?;
        l.insert(key.to_owned()).then(|| LoadSlot {
            cache: self,
            key: key.to_owned(),
        })
    }

    /// Whether a file of `len` bytes may be cached.
    pub fn admits(&self, len: u64) -> bool {
        len <= self.max_file
    }

    /// Looks up `key`.
    pub fn get(&self, key: &str) -> Option<CachedFile> {
        self.inner.read().ok()?.1.get(key).cloned()
    }

    /// Inserts `key`, evicting other entries when over budget.
    pub fn insert(&self, key: String, file: CachedFile) {
        let size = file.bytes.len() as u64 + file.gzip.as_ref().map_or(0, |g| g.len() as u64);
        if size > self.budget {
            return;
        }
        let Ok(mut g) = self.inner.write() else {
            return;
        };
        let (used, map) = &mut *g;
        if let Some(old) = map.remove(&key) {
            *used -= old.bytes.len() as u64 + old.gzip.as_ref().map_or(0, |g| g.len() as u64);
        }
        while *used + size > self.budget {
            let Some(k) = map.keys().next().cloned() else {
                break;
            };
            if let Some(old) = map.remove(&k) {
                *used -= old.bytes.len() as u64 + old.gzip.as_ref().map_or(0, |g| g.len() as u64);
            }
        }
        *used += size;
        map.insert(key, file);
    }

    /// Drops `key` (after the file changed).
    pub fn remove(&self, key: &str) {
        if let Ok(mut g) = self.inner.write() {
            let (used, map) = &mut *g;
            if let Some(old) = map.remove(key) {
                *used -= old.bytes.len() as u64 + old.gzip.as_ref().map_or(0, |g| g.len() as u64);
            }
        }
    }
}

/// What the request asked for, as far as file serving is concerned.
#[derive(Debug)]
pub struct Conditions<'a> {
    /// GET or HEAD.
    pub head: bool,
    headers: &'a HeaderMap,
}

impl<'a> Conditions<'a> {
    /// Reads the relevant request headers.
    pub fn new(method: &Method, headers: &'a HeaderMap) -> Self {
        Self {
            head: method == Method::HEAD,
            headers,
        }
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn none_match(&self, etag: &str) -> bool {
        self.header(header::IF_NONE_MATCH).is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
        })
    }

    fn accepts_gzip(&self) -> bool {
        self.header(header::ACCEPT_ENCODING).is_some_and(|v| {
            v.split(',').any(|p| {
                let mut it = p.split(';');
                let enc = it.next().unwrap_or("").trim();
                let q0 = it.any(|param| {
                    let param = param.trim().replace(' ', "");
                    param == "q=0" || param == "q=0.0" || param == "q=0.00" || param == "q=0.000"
                });
                enc.eq_ignore_ascii_case("gzip") && !q0
            })
        })
    }

    /// The requested byte range, after `If-Range`: `Ok(None)` for the whole file (also for multi-range requests,
    /// which are answered with 200), `Err` when unsatisfiable.
    pub fn range(&self, len: u64, etag: &str) -> Result<Option<std::ops::Range<u64>>, ApiError> {
        let Some(spec) = self.header(header::RANGE) else {
            return Ok(None);
        };
        if let Some(ir) = self.header(header::IF_RANGE) {
            if ir.trim() != etag {
                return Ok(None);
            }
        }
        let Some(set) = spec.trim().strip_prefix("bytes=") else {
            return Ok(None);
        };
        if set.contains(',') {
            return Ok(None);
        }
        let (a, b) = set
            .split_once('-')
            .ok_or(ApiError::RangeNotSatisfiable { len })?;
        let (a, b) = (a.trim(), b.trim());
        let bad = || ApiError::RangeNotSatisfiable { len };
        let r = if a.is_empty() {
            let n: u64 = b.parse().map_err(|_| bad())?;
            if n == 0 || len == 0 {
                return Err(bad());
            }
            len.saturating_sub(n)..len
        } else {
            let start: u64 = a.parse().map_err(|_| bad())?;
            let end = if b.is_empty() {
                len.saturating_sub(1)
            } else {
                b.parse::<u64>()
                    .map_err(|_| bad())?
                    .min(len.saturating_sub(1))
            };
            if start >= len || end < start {
                return Err(bad());
            }
            start..end + 1
        };
        Ok(Some(r))
    }
}

/// Builds the response headers common to 200/206/304.
fn base(
    builder: axum::http::response::Builder,
    etag: &str,
    cache_control: &str,
    content_type: &str,
) -> axum::http::response::Builder {
    builder
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, cache_control)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT_RANGES, "bytes")
}

/// Serves an in-memory file.
pub fn serve_memory(
    cond: &Conditions<'_>,
    file: &CachedFile,
    cache_control: &str,
    content_type: &str,
) -> Result<Response, ApiError> {
    let json = file.gzip.is_some();
    let gz_etag = json.then(|| format!("{}-gzip\"", file.etag.trim_end_matches('"')));
    let use_gzip = json && cond.accepts_gzip() && cond.header(header::RANGE).is_none();
    let etag = if use_gzip {
        gz_etag.as_deref().unwrap_or(&file.etag)
    } else {
        &file.etag
    };
    let mut b = base(Response::builder(), etag, cache_control, content_type);
    if json {
        b = b.header(header::VARY, "Accept-Encoding");
    }
    if cond.none_match(&file.etag) || gz_etag.as_deref().is_some_and(|g| cond.none_match(g)) {
        return b
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(internal);
    }
    let len = file.bytes.len() as u64;
    let (status, body) = if use_gzip {
        let gz = file.gzip.clone().unwrap_or_default();
        b = b.header(header::CONTENT_ENCODING, "gzip");
        (StatusCode::OK, gz)
    } else if let Some(r) = cond.range(len, &file.etag)? {
        b = b.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{len}", r.start, r.end - 1),
        );
        (
            StatusCode::PARTIAL_CONTENT,
            file.bytes.slice(r.start as usize..r.end as usize),
        )
    } else {
        (StatusCode::OK, file.bytes.clone())
    };
    b = b.header(header::CONTENT_LENGTH, body.len());
    let body = if cond.head {
        Body::empty()
    } else {
        memory_body(body)
    };
    b.status(status).body(body).map_err(internal)
}

/// Chunk size when sending an in-memory file.
const SEND_CHUNK: usize = 256 * 1024;

/// A body over in-memory bytes: small files as one frame; big ones as zero-copy 256 KiB slices of the same
/// buffer (measured: markedly faster than handing hyper one multi-megabyte frame, see BENCHMARKS.md).
fn memory_body(bytes: Bytes) -> Body {
    if bytes.len() <= SEND_CHUNK {
        return Body::from(bytes);
    }
    let len = bytes.len();
    let chunks = (0..len)
        .step_by(SEND_CHUNK)
        .map(move |o| Ok::<_, std::io::Error>(bytes.slice(o..(o + SEND_CHUNK).min(len))));
    Body::from_stream(futures_util::stream::iter(chunks))
}

/// Serves a streamed file; `open` is called with the byte range to send (never for HEAD or 304).
pub async fn serve_stream<F, Fut>(
    cond: &Conditions<'_>,
    len: u64,
    etag: &str,
    cache_control: &str,
    content_type: &str,
    open: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(std::ops::Range<u64>) -> Fut,
    Fut: std::future::Future<Output = Result<ByteStream, ApiError>>,
{
    let mut b = base(Response::builder(), etag, cache_control, content_type);
    if cond.none_match(etag) {
        return b
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(internal);
    }
    let (status, range) = match cond.range(len, etag)? {
        Some(r) => {
            b = b.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", r.start, r.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, r)
        }
        None => (StatusCode::OK, 0..len),
    };
    b = b.header(header::CONTENT_LENGTH, range.end - range.start);
    let body = if cond.head {
        Body::empty()
    } else {
        Body::from_stream(open(range).await?)
    };
    b.status(status).body(body).map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// Content type from a file name.
pub fn content_type(name: &str) -> &'static str {
    if name.ends_with(".json") {
        "application/json"
    } else if name.ends_with(".wasm") {
        "application/wasm"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use x0x_dist_manifests::codes::Coded as _;

    fn cond(h: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in h {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn ranges() {
        let h = cond(&[("range", "bytes=0-9")]);
        let c = Conditions::new(&Method::GET, &h);
        assert_eq!(c.range(100, "\"e\"").unwrap(), Some(0..10));
        for (spec, want) in [
            ("bytes=90-", Some(90..100)),
            ("bytes=-10", Some(90..100)),
            ("bytes=-1000", Some(0..100)),
            ("bytes=5-5000", Some(5..100)),
            ("bytes=0-1,5-6", None),
            ("items=0-1", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert("range", HeaderValue::from_str(spec).unwrap());
            assert_eq!(
                Conditions::new(&Method::GET, &h)
                    .range(100, "\"e\"")
                    .unwrap(),
                want,
                "{spec}"
            );
        }
        for spec in [
            "bytes=100-",
            "bytes=10-5",
            "bytes=-0",
            "bytes=x-1",
            "bytes=1",
        ] {
            let mut h = HeaderMap::new();
            h.insert("range", HeaderValue::from_str(spec).unwrap());
            assert_eq!(
                Conditions::new(&Method::GET, &h)
                    .range(100, "\"e\"")
                    .unwrap_err()
                    .code(),
                "request.range_not_satisfiable",
                "{spec}"
            );
        }
        let h = cond(&[("range", "bytes=0-9"), ("if-range", "\"other\"")]);
        assert_eq!(
            Conditions::new(&Method::GET, &h)
                .range(100, "\"e\"")
                .unwrap(),
            None
        );
    }

    #[test]
    fn gzip_negotiation() {
        for (v, want) in [
            ("gzip", true),
            ("br, gzip;q=0.5", true),
            ("gzip;q=0", false),
            ("identity", false),
            ("GZIP", true),
        ] {
            let mut h = HeaderMap::new();
            h.insert("accept-encoding", HeaderValue::from_str(v).unwrap());
            assert_eq!(
                Conditions::new(&Method::GET, &h).accepts_gzip(),
                want,
                "{v}"
            );
        }
    }

    #[test]
    fn cache_budget() {
        let c = MemCache::new(100, 60);
        assert!(c.admits(60) && !c.admits(61));
        let slot = c.try_load("a").unwrap();
        assert!(c.try_load("a").is_none(), "one loader per key");
        drop(slot);
        assert!(c.try_load("a").is_some());
        c.insert(
            "a".into(),
            CachedFile::new(Bytes::from(vec![0; 60]), false, None),
        );
        c.insert(
            "b".into(),
            CachedFile::new(Bytes::from(vec![0; 60]), false, None),
        );
        assert!(c.get("a").is_none() && c.get("b").is_some());
        c.remove("b");
        assert!(c.get("b").is_none());
    }
}
