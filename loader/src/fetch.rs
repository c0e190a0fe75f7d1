//! Getting bytes from a repository: HTTP(S) with timeouts, retries, backoff and `Range` resume, or a `file://`
//! directory. Nothing here trusts what it reads: metadata comes back as bounded bytes for the TUF client to
//! verify, and targets are streamed into a file while their SHA-256 and length are checked against values that
//! came from verified metadata. A target download that fails either check is deleted.
//!
//! # Repository layout
//! A repository location is the server's base URL (`http://127.0.0.1:8080`) or a directory (`file:///srv/repo`,
//! or a plain path). Under it, metadata lives at `tuf/metadata/<file>` and targets at `tuf/targets/<path>`, the
//! layout of `x0x-dist serve`; a directory without `tuf/` is read as a bare TUF repository (`metadata/`,
//! `targets/`). Metadata never contains URLs, so any of these serves the same signed bytes.
//!
//! # Network behaviour
//! - Proxies: `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` are honoured (reqwest's system proxy).
//! - Extra CA certificates (PEM bundles) are added to the webpki roots: [`FetchOptions::extra_ca_certs`], filled by
//!   [`FetchOptions::from_env`] from `X0X_DIST_CA_CERTS` and `NODE_EXTRA_CA_CERTS` (the variable Node users
//!   already set for the JavaScript loader).
//! - Connect timeout, per-read timeout (a stalled transfer fails, a slow one does not), and up to
//!   [`FetchOptions::retries`] retries with exponential backoff on connection errors, timeouts and the statuses
//!   of the shared policy ([`x0x_dist_manifests::retry`]: 408, 425, 429 and most 5xx, not 507).
//! - A target download that breaks mid-way keeps its partial file; the next attempt (or the next process) asks
//!   for the rest with `Range: bytes=N-` and hashes the kept prefix first. A server that ignores `Range` (200)
//!   simply restarts the file.
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256, Sha512};
use x0x_dist_manifests::retry;
use x0x_dist_manifests::TargetFile;

use crate::error::Error;

/// Receives progress of a target download (the CLI draws a bar; libraries pass [`NoProgress`]).
pub trait Progress: Send + Sync {
    /// Download of `name` starts; `total` bytes expected, `already` of them kept from a previous attempt.
    fn start(&self, name: &str, total: u64, already: u64);
    /// `n` more bytes arrived.
    fn advance(&self, n: u64);
    /// Finished (successfully or not).
    fn finish(&self);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Transport settings.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// TCP+TLS connect timeout.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Retries after the first attempt (transient failures only).
    pub retries: u32,
    /// First backoff; doubles per retry, capped at [`retry::MAX_DELAY`], with jitter ([`retry::delay`]).
    pub backoff: Duration,
    /// PEM files whose certificates are trusted in addition to the built-in roots.
    pub extra_ca_certs: Vec<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: retry::RETRIES,
            backoff: retry::FIRST_DELAY,
            extra_ca_certs: Vec::new(),
        }
    }
}

impl FetchOptions {
    /// Defaults plus extra CA files from `X0X_DIST_CA_CERTS` and `NODE_EXTRA_CA_CERTS`.
    pub fn from_env() -> Self {
        let mut o = Self::default();
        for var in [crate::env::CA_CERTS, crate::env::NODE_EXTRA_CA_CERTS] {
            if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                o.extra_ca_certs.push(PathBuf::from(v));
            }
        }
        o
    }
}

/// Where a repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An HTTP(S) server; the URL is the base (metadata at `tuf/metadata/` under it).
    Http(Url),
    /// A local directory holding `tuf/metadata` and `tuf/targets` (or bare `metadata`, `targets`).
    Dir(PathBuf),
}

impl Location {
    /// Parses `http(s)://...`, `file:///dir` or a plain directory path.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::Config {
            what: "repository location",
            value: redact(s),
        };
        if s.starts_with("http://") || s.starts_with("https://") {
            let mut url = Url::parse(s).map_err(|_| bad())?;
            if !url.path().ends_with('/') {
                let p = format!("{}/", url.path());
                url.set_path(&p);
            }
            Ok(Self::Http(url))
        } else if s.starts_with("file:") {
            let url = Url::parse(s).map_err(|_| bad())?;
            Ok(Self::Dir(url.to_file_path().map_err(|()| bad())?))
        } else if s.contains("://") || s.is_empty() {
            Err(bad())
        } else {
            Ok(Self::Dir(PathBuf::from(s)))
        }
    }

    fn dir_root(dir: &Path) -> PathBuf {
        let tuf = dir.join("tuf");
        if tuf.is_dir() {
            tuf
        } else {
            dir.to_path_buf()
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(u) => f.write_str(&redact(u.as_str())),
            Self::Dir(d) => write!(f, "{}", d.display()),
        }
    }
}

/// Removes `user:password@` from a URL for messages and logs.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("***");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// At most this many redirects per request (a server offloading targets to a CDN needs one).
pub const MAX_REDIRECTS: usize = 5;

/// Redirects are followed up to [`MAX_REDIRECTS`] hops and never from https to http: the bytes are verified
/// against signed metadata either way, but a downgrade would expose what the client asks for. Same rule as
/// the JavaScript loader (`loader/js/lib/fetch.js`).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if downgrade {
            let to = attempt.url().to_string();
            attempt.error(format!("redirect to {to} refused: https to http downgrade"))
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// A request that got no response: retried, unless a redirect was refused (that answer will not change).
fn send_failed<T>(url: String, source: reqwest::Error) -> Result<Attempt<T>, Error> {
    let e = Error::Network { url, source };
    match &e {
        Error::Network { source, .. } if source.is_redirect() => Err(e),
        _ => Ok(Attempt::Retry(e, None)),
    }
}

/// A response that is neither a success nor handled by the caller: retried if the shared policy
/// ([`retry::retryable_status`]) says so, after at least the server's `Retry-After`.
fn status_failed<T>(url: String, resp: &reqwest::Response) -> Result<Attempt<T>, Error> {
    let status = resp.status().as_u16();
    let e = Error::HttpStatus { url, status };
    if retry::retryable_status(status) {
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::retry_after);
        Ok(Attempt::Retry(e, after))
    } else {
        Err(e)
    }
}

/// A repository reader.
#[derive(Debug, Clone)]
pub struct Fetcher {
    location: Location,
    client: reqwest::Client,
    options: FetchOptions,
    /// The folder under an HTTP location that holds `metadata/` and `targets/`: `tuf/` (our server's
    /// layout) unless [`Fetcher::bare_layout`] made it empty.
    prefix: &'static str,
}

enum Attempt<T> {
    Done(T),
    /// Failed; worth another attempt, after at least this long if the server said so.
    Retry(Error, Option<Duration>),
}

impl Fetcher {
    /// A reader for `location` with `options`.
    pub fn new(location: Location, options: FetchOptions) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(redirect_policy())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("x0x-dist-loader/", env!("CARGO_PKG_VERSION")));
        for path in &options.extra_ca_certs {
            let pem = std::fs::read(path).map_err(Error::io("read", path))?;
            let bad = || Error::Config {
                what: "CA certificate file (no PEM certificate in it)",
                value: path.display().to_string(),
            };
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| bad())?;
            if certs.is_empty() {
                return Err(bad());
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| Error::Network {
            url: location.to_string(),
            source: e,
        })?;
        Ok(Self {
            location,
            client,
            options,
            prefix: "tuf/",
        })
    }

    /// Reads `metadata/` and `targets/` directly under an HTTP location instead of under `tuf/` (the layout
    /// of python-tuf repositories and of the tuf-conformance simulator, used by the conformance adapter
    /// `loader/examples/tuf-conformance.rs`). A directory location already accepts both layouts.
    #[must_use]
    pub fn bare_layout(mut self) -> Self {
        self.prefix = "";
        self
    }

    /// The repository location.
    pub fn location(&self) -> &Location {
        &self.location
    }

    fn url(&self, base: &Url, kind: &str, name: &str) -> Result<Url, Error> {
        base.join(&format!("{}{kind}/{name}", self.prefix))
            .map_err(|_| Error::Config {
                what: "repository path",
                value: name.to_owned(),
            })
    }

    /// Runs `once` until it is done or fails for good, retrying (after [`Self::backoff`]) at most
    /// `options.retries` times. A retried target download resumes from what the failed attempt kept.
    async fn with_retries<T, F, Fut>(&self, url: &Url, mut once: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Attempt<T>, Error>>,
    {
        let mut attempt = 0;
        loop {
            match once().await? {
                Attempt::Done(v) => return Ok(v),
                Attempt::Retry(e, _) if attempt >= self.options.retries => return Err(e),
                Attempt::Retry(e, after) => {
                    tracing::debug!(url = %redact(url.as_str()), error = %e, attempt, "retrying");
                    self.backoff(attempt, after).await;
                    attempt += 1;
                }
            }
        }
    }

    /// The shared policy's delay before retry `attempt` (0 for the first), from [`FetchOptions::backoff`].
    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        let d = retry::delay(self.options.backoff, attempt, retry::jitter(), retry_after);
        tokio::time::sleep(d).await;
    }

    /// Reads the metadata file `name` (`timestamp.json`, `3.snapshot.json`, ...), at most `limit` bytes.
    /// `Ok(None)` when the repository does not have it (HTTP 404 / no such file): the normal end of a root
    /// rotation chain.
    pub async fn metadata(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
        check_relative(name)?;
        match &self.location {
            Location::Dir(dir) => {
                let path = Location::dir_root(dir).join("metadata").join(name);
                let file = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(Error::io("open", &path)(e)),
                };
                let mut buf = Vec::new();
                file.take(limit + 1)
                    .read_to_end(&mut buf)
                    .map_err(Error::io("read", &path))?;
                if buf.len() as u64 > limit {
                    return Err(Error::MetadataTooLarge {
                        file: name.to_owned(),
                        limit,
                    });
                }
                Ok(Some(buf))
            }
            Location::Http(base) => {
                let url = self.url(base, "metadata", name)?;
                self.with_retries(&url, || self.metadata_once(&url, name, limit))
                    .await
            }
        }
    }

    async fn metadata_once(
        &self,
        url: &Url,
        name: &str,
        limit: u64,
    ) -> Result<Attempt<Option<Vec<u8>>>, Error> {
        let shown = redact(url.as_str());
        let mut resp = match self.client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => return send_failed(shown, e),
        };
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(Attempt::Done(None));
        }
        if !status.is_success() {
            return status_failed(shown, &resp);
        }
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(Error::MetadataTooLarge {
                file: name.to_owned(),
                limit,
            });
        }
        let mut buf = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    buf.extend_from_slice(&chunk);
                    if buf.len() as u64 > limit {
                        return Err(Error::MetadataTooLarge {
                            file: name.to_owned(),
                            limit,
                        });
                    }
                }
                Ok(None) => return Ok(Attempt::Done(Some(buf))),
                Err(e) => {
                    return Ok(Attempt::Retry(
                        Error::Network {
                            url: shown,
                            source: e,
                        },
                        None,
                    ))
                }
            }
        }
    }

    /// Downloads the target stored at `stored_path` (relative to `tuf/targets/`, e.g. the consistent-snapshot
    /// name `x0x/0.3.1/<sha256>.x0x.linux-x64-gnu.node`) into `dest`, checking it against the verified
    /// `length` and `sha256` (hex) as it streams. `shown_name` names the target in errors. On success `dest` holds
    /// exactly the verified bytes; on a length or digest failure it is deleted; on a network failure it keeps
    /// the verified-so-far prefix so a later call resumes with `Range`.
    pub async fn target(
        &self,
        stored_path: &str,
        shown_name: &str,
        length: u64,
        sha256: &str,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<(), Error> {
        let want = Expected {
            length,
            sha256: Some(sha256),
            sha512: None,
        };
        self.target_expecting(stored_path, shown_name, &want, dest, progress)
            .await
    }

    /// As [`Fetcher::target`], checked against every hash `file` lists ([`Expected::of`]: sha256 and/or
    /// sha512; a target listing any other algorithm is refused before anything is downloaded).
    pub async fn target_file(
        &self,
        stored_path: &str,
        shown_name: &str,
        file: &TargetFile,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<(), Error> {
        let want = Expected::of(shown_name, file)?;
        self.target_expecting(stored_path, shown_name, &want, dest, progress)
            .await
    }

    async fn target_expecting(
        &self,
        stored_path: &str,
        shown_name: &str,
        want: &Expected<'_>,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<(), Error> {
        check_relative(stored_path)?;
        let length = want.length;
        let sha512 = want.sha512.is_some();
        let result = match &self.location {
            Location::Dir(dir) => {
                let src = Location::dir_root(dir).join("targets").join(stored_path);
                copy_checked(&src, shown_name, want, dest, progress)
            }
            Location::Http(base) => {
                let url = self.url(base, "targets", &encode_target_path(stored_path))?;
                self.with_retries(&url, || {
                    self.target_once(&url, shown_name, length, sha512, dest, progress)
                })
                .await
                .and_then(|digests| check(shown_name, want, &digests, length))
            }
        };
        progress.finish();
        if matches!(
            result,
            Err(Error::LengthMismatch { .. } | Error::DigestMismatch { .. })
        ) {
            let _ = std::fs::remove_file(dest);
        }
        result
    }

    /// One download attempt into `dest`, hashed as it streams (a kept prefix is hashed from disk first), so
    /// the file is never read back. `Done` carries the SHA-256 (and, if `sha512`, the SHA-512) of exactly
    /// `length` bytes.
    async fn target_once(
        &self,
        url: &Url,
        shown_name: &str,
        length: u64,
        sha512: bool,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<Attempt<Digests>, Error> {
        let shown = redact(url.as_str());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(dest)
            .map_err(Error::io("open", dest))?;
        let mut have = file.metadata().map_err(Error::io("stat", dest))?.len();
        if have > length {
            file.set_len(0).map_err(Error::io("truncate", dest))?;
            have = 0;
        }
        let mut hasher = Hashes::new(sha512);
        if have > 0 {
            let mut prefix = std::fs::File::open(dest).map_err(Error::io("open", dest))?;
            let read = hash_into(&mut |b| hasher.update(b), &mut (&mut prefix).take(have))
                .map_err(Error::io("read", dest))?;
            if read != have {
                // The file shrank under us: start over rather than trust a prefix we did not hash.
                file.set_len(0).map_err(Error::io("truncate", dest))?;
                have = 0;
                hasher = Hashes::new(sha512);
            }
        }
        if have == length {
            return Ok(Attempt::Done(hasher.finish()));
        }
        let mut req = self.client.get(url.clone());
        if have > 0 {
            req = req.header(RANGE, format!("bytes={have}-"));
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return send_failed(shown, e),
        };
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Err(Error::NotFound {
                what: format!("target {shown_name}"),
                location: shown,
            });
        }
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            file.set_len(0).map_err(Error::io("truncate", dest))?;
            return Ok(Attempt::Retry(
                Error::HttpStatus {
                    url: shown,
                    status: 416,
                },
                None,
            ));
        }
        if !status.is_success() {
            return status_failed(shown, &resp);
        }
        let resumed = status == StatusCode::PARTIAL_CONTENT
            && resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(&format!("bytes {have}-")));
        if resumed {
            tracing::debug!(file = %shown_name, offset = have, "resuming download");
        } else {
            // A full body (the server ignored Range, or this is the first attempt): start over.
            file.set_len(0).map_err(Error::io("truncate", dest))?;
            have = 0;
            hasher = Hashes::new(sha512);
        }
        progress.start(shown_name, length, have);
        let mut got = have;
        // The network's small chunks are gathered into 1 MiB writes (a 32 MiB target: 32 write calls, not
        // thousands); what is buffered is always written out before returning, so a retry resumes from
        // exactly the bytes received.
        let mut pending: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
        let write_out = |file: &mut std::fs::File, pending: &mut Vec<u8>| {
            let r = file.write_all(pending).map_err(Error::io("write", dest));
            pending.clear();
            r
        };
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    got += chunk.len() as u64;
                    if got > length {
                        return Err(Error::LengthMismatch {
                            target: shown_name.to_owned(),
                            expected: length,
                            actual: got,
                        });
                    }
                    hasher.update(&chunk);
                    pending.extend_from_slice(&chunk);
                    if pending.len() >= WRITE_CHUNK {
                        write_out(&mut file, &mut pending)?;
                    }
                    progress.advance(chunk.len() as u64);
                }
                Ok(None) => break,
                Err(e) => {
                    write_out(&mut file, &mut pending)?;
                    return Ok(Attempt::Retry(
                        Error::Network {
                            url: shown,
                            source: e,
                        },
                        None,
                    ));
                }
            }
        }
        write_out(&mut file, &mut pending)?;
        if got < length {
            // The server closed a "complete" response early: resume from what we have.
            return Ok(Attempt::Retry(
                Error::LengthMismatch {
                    target: shown_name.to_owned(),
                    expected: length,
                    actual: got,
                },
                None,
            ));
        }
        Ok(Attempt::Done(hasher.finish()))
    }
}

/// What a downloaded target must match: its length and the hashes to check (at least one).
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The verified length.
    pub length: u64,
    /// The verified SHA-256 (hex), if checked.
    pub sha256: Option<&'a str>,
    /// The verified SHA-512 (hex), if checked.
    pub sha512: Option<&'a str>,
}

impl<'a> Expected<'a> {
    /// Every hash `file` lists (as python-tuf: each listed algorithm is checked; one we cannot compute, or
    /// none at all, refuses the target with `target.digest_mismatch` before anything is downloaded).
    pub fn of(shown_name: &str, file: &'a TargetFile) -> Result<Self, Error> {
        file.check_hash_algorithms(shown_name)
            .map_err(|source| Error::Metadata {
                context: format!("target {shown_name}"),
                source,
            })?;
        Ok(Expected {
            length: file.length,
            sha256: file.hashes.get("sha256").map(String::as_str),
            sha512: file.hashes.get("sha512").map(String::as_str),
        })
    }
}

/// The digests of a download (hex).
#[derive(Debug)]
struct Digests {
    sha256: String,
    sha512: Option<String>,
}

/// SHA-256, and SHA-512 when asked for, over the same bytes.
struct Hashes {
    sha256: Sha256,
    sha512: Option<Sha512>,
}

impl Hashes {
    fn new(sha512: bool) -> Self {
        Hashes {
            sha256: Sha256::new(),
            sha512: sha512.then(Sha512::new),
        }
    }
    fn update(&mut self, b: &[u8]) {
        self.sha256.update(b);
        if let Some(h) = &mut self.sha512 {
            h.update(b);
        }
    }
    fn finish(self) -> Digests {
        Digests {
            sha256: hex::encode(self.sha256.finalize()),
            sha512: self.sha512.map(|h| hex::encode(h.finalize())),
        }
    }
}

/// Size of the writes a download gathers the network's chunks into.
const WRITE_CHUNK: usize = 1 << 20;

/// A target path as the path of a URL: each segment percent-encoded except for the characters a path segment
/// may hold literally (RFC 3986 unreserved, sub-delims, `:` and `@`), so `?`, `#`, `%`, spaces and non-ASCII
/// stay part of the name. Package artifact paths (`[A-Za-z0-9._+-]` segments) are unchanged.
fn encode_target_path(path: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Rejects absolute paths, `..`, empty segments and backslashes in repository-relative names.
fn check_relative(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if ok {
        Ok(())
    } else {
        Err(Error::Config {
            what: "repository path",
            value: name.to_owned(),
        })
    }
}

/// Streams `path` through SHA-256 and returns `(hex digest, length)`.
pub fn sha256_file(path: &Path) -> Result<(String, u64), Error> {
    let mut file = std::fs::File::open(path).map_err(Error::io("open", path))?;
    sha256_reader(&mut file).map_err(Error::io("read", path))
}

/// Streams a reader through SHA-256 (1 MiB buffer) and returns `(hex digest, length)`.
pub fn sha256_reader(r: &mut dyn Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let total = hash_into(&mut |b| hasher.update(b), r)?;
    Ok((hex::encode(hasher.finalize()), total))
}

/// Feeds everything `r` yields into `update` (1 MiB buffer); returns the byte count.
fn hash_into(update: &mut dyn FnMut(&[u8]), r: &mut dyn Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        update(&buf[..n]);
        total += n as u64;
    }
    Ok(total)
}

fn check(shown_name: &str, want: &Expected<'_>, got: &Digests, len: u64) -> Result<(), Error> {
    if len != want.length {
        return Err(Error::LengthMismatch {
            target: shown_name.to_owned(),
            expected: want.length,
            actual: len,
        });
    }
    let pairs = [
        ("sha256", want.sha256, Some(got.sha256.as_str())),
        ("sha512", want.sha512, got.sha512.as_deref()),
    ];
    for (algorithm, expected, actual) in pairs {
        let Some(expected) = expected else { continue };
        let actual = actual.unwrap_or_default();
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(Error::DigestMismatch {
                target: shown_name.to_owned(),
                algorithm,
                expected: expected.to_owned(),
                actual: actual.to_owned(),
            });
        }
    }
    Ok(())
}

/// Copies a local target into `dest` while hashing, reading at most `length + 1` bytes.
fn copy_checked(
    src: &Path,
    shown_name: &str,
    want: &Expected<'_>,
    dest: &Path,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let input = match std::fs::File::open(src) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound {
                what: format!("target {shown_name}"),
                location: src.display().to_string(),
            })
        }
        Err(e) => return Err(Error::io("open", src)(e)),
    };
    // `dest` is the caller's scratch `.part` file: made durable (persisted) only once verified.
    #[allow(clippy::disallowed_methods)]
    let mut out = std::fs::File::create(dest).map_err(Error::io("create", dest))?;
    let length = want.length;
    progress.start(shown_name, length, 0);
    let mut hasher = Hashes::new(want.sha512.is_some());
    let mut reader = input.take(length + 1);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(Error::io("read", src))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(Error::io("write", dest))?;
        total += n as u64;
        progress.advance(n as u64);
    }
    out.flush().map_err(Error::io("write", dest))?;
    out.rewind().map_err(Error::io("seek", dest))?;
    check(shown_name, want, &hasher.finish(), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_under_tuf_unless_bare_layout() {
        let loc = Location::parse("http://127.0.0.1:8080/test/").unwrap();
        let Location::Http(base) = loc.clone() else {
            unreachable!()
        };
        let ours = Fetcher::new(loc, FetchOptions::default()).unwrap();
        let url = |f: &Fetcher, kind, name| f.url(&base, kind, name).unwrap().to_string();
        assert_eq!(
            url(&ours, "metadata", "1.root.json"),
            "http://127.0.0.1:8080/test/tuf/metadata/1.root.json"
        );
        let suite = ours.bare_layout();
        assert_eq!(
            url(&suite, "metadata", "1.%3F.json"),
            "http://127.0.0.1:8080/test/metadata/1.%3F.json"
        );
        assert_eq!(
            url(&suite, "targets", "a/b.txt"),
            "http://127.0.0.1:8080/test/targets/a/b.txt"
        );
        assert_eq!(
            url(&suite, "targets", &encode_target_path("a b/?#%é.txt")),
            "http://127.0.0.1:8080/test/targets/a%20b/%3F%23%25%C3%A9.txt"
        );
        let ours_path = "x0x/1.0.0-rc.1+build.5/0a.x0x.linux-x64-gnu.node";
        assert_eq!(encode_target_path(ours_path), ours_path);
    }

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("http://127.0.0.1:8080").unwrap(),
            Location::Http(Url::parse("http://127.0.0.1:8080/").unwrap())
        );
        assert_eq!(
            Location::parse("file:///srv/repo").unwrap(),
            Location::Dir("/srv/repo".into())
        );
        assert_eq!(
            Location::parse("./repo").unwrap(),
            Location::Dir("./repo".into())
        );
        assert!(Location::parse("ftp://x").is_err());
        assert!(Location::parse("").is_err());
        let base = Location::parse("https://u:secret@mirror.example/x0x").unwrap();
        assert!(!base.to_string().contains("secret"), "{base}");
    }

    #[test]
    fn relative_paths_only() {
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a\\b", "./a"] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
        check_relative("x0x/0.3.1/abc.x0x.linux-x64-gnu.node").unwrap();
    }

    #[test]
    fn sha256_matches_known_vector() {
        let (d, n) = sha256_reader(&mut &b"abc"[..]).unwrap();
        assert_eq!(
            d,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(n, 3);
    }
}
