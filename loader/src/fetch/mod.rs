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
//!
//! # Layout
//! [`Fetcher`] and its public entry points are here; the rest, one concern per file: transport settings
//! (`options.rs`), [`Location`] and [`redact`] (`location.rs`), the URL and path layout under a location
//! (`layout.rs`, [`Fetcher::bare_layout`]), HTTP requests, redirects and status handling (`http.rs`), the retry
//! loop over the shared policy (`retry.rs`), the HTTP target download with `Range` resume (`resume.rs`), reading a
//! directory repository (`file.rs`), hashing and the expected digests ([`Expected`], `hash.rs`), and download
//! progress (`progress.rs`).

use std::path::Path;

use x0x_dist_manifests::TargetFile;

use crate::error::Error;
use file::copy_checked;
use hash::check;
use http::redirect_policy;
use layout::{check_relative, encode_target_path};

mod file;
mod hash;
mod http;
mod layout;
mod location;
mod options;
mod progress;
mod resume;
mod retry;

pub use file::read_limited;
pub use hash::{sha256_file, sha256_reader, Expected};
pub use http::MAX_REDIRECTS;
pub use location::{redact, Location};
pub use options::FetchOptions;
pub use progress::{NoProgress, Progress};

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

    /// The repository location.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Reads the metadata file `name` (`timestamp.json`, `3.snapshot.json`, ...), at most `limit` bytes.
    /// `Ok(None)` when the repository does not have it (HTTP 404 / no such file): the normal end of a root
    /// rotation chain.
    pub async fn metadata(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
        check_relative(name)?;
        match &self.location {
            Location::Dir(dir) => file::read_metadata(dir, name, limit),
            Location::Http(base) => {
                let url = self.url(base, "metadata", name)?;
                self.with_retries(&url, || self.metadata_once(&url, name, limit))
                    .await
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
}
