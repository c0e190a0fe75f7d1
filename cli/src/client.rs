//! The publishing client behind `x0x-dist publish`: inspects release files, reads the package's current role
//! through the TUF workflow (verified), builds and signs the next role, uploads blobs and submits the role.
//!
//! Trust: the current role is read by the loader's one chain walk ([`x0x_dist_loader::tuf::refresh`], every
//! decision [`x0x_dist_manifests::verify::TrustedSet`]'s) over the loader's fetcher (size limits, retries),
//! starting from `--root` if given, else from the server's `1.root.json` (trust on first use) rotated forward
//! through `N.root.json`; nothing is persisted. The publisher key must be one of the delegation's keys
//! (checked before the package's role is read). Transient failures of uploads and submissions (connection
//! errors and the statuses of the shared policy) are retried by [`x0x_dist_manifests::retry::run`]; a
//! submission that loses a race (`publish.conflict`, `metadata.rollback`) is rebuilt on top of the new
//! current role and resubmitted.
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use x0x_dist_manifests::codes::Code;

use anyhow::Context as _;
use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location};
use x0x_dist_loader::tuf::{self, MetadataSource as _, NoPersistence, Scope, WalkOptions};
use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::retry;
use x0x_dist_manifests::{
    Libc, PackageName, Platform, Role as _, Root, Sha256, Signed, SigningKey, TargetCustom,
    TargetFile, TargetPath, Targets, Version,
};
use x0x_dist_server::wire::{ErrorBody, PublishReport};

pub mod lifecycle;

/// One file of a release.
#[derive(Debug, Clone)]
pub struct ReleaseFile {
    /// Where it is on disk.
    pub source: PathBuf,
    /// Its napi file name (`x0x.linux-x64-gnu.node`).
    pub file_name: String,
    /// Its platform.
    pub platform: Platform,
    /// Length.
    pub length: u64,
    /// SHA-256.
    pub sha256: Sha256,
    /// Highest GLIBC_ version needed (glibc builds).
    pub glibc_floor: Option<String>,
}

/// Reads a release file: platform from the napi file name, checked against its bytes
/// ([`x0x_dist_loader::artifact::check`], `target.platform_mismatch`), SHA-256, and the glibc floor for glibc
/// ELF builds.
pub fn inspect_file(package: &PackageName, path: &Path) -> anyhow::Result<ReleaseFile> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("bad file name {}", path.display()))?
        .to_owned();
    let (pkg, platform) = Platform::parse_file_name(&file_name).with_context(|| {
        format!("{file_name} is not a napi artifact name like {package}.linux-x64-gnu.node")
    })?;
    if &pkg != package {
        return Err(x0x_dist_repository::Error::new(
            Code::UsageInvalid,
            format!("{file_name} belongs to package {pkg}, not {package}"),
        )
        .into());
    }
    let bytes = fs_err::read(path)?;
    if let Err(e) = x0x_dist_loader::artifact::check(platform, &bytes) {
        return Err(x0x_dist_repository::Error::new(
            x0x_dist_manifests::codes::Code::TargetPlatformMismatch,
            format!("{} {e}; nothing was uploaded", path.display()),
        )
        .into());
    }
    let glibc_floor = if platform.info().libc == Libc::Glibc {
        let floor = x0x_dist_loader::elf::glibc_floor(&bytes)
            .with_context(|| format!("reading ELF of {}", path.display()))?;
        floor.map(|v| v.to_string())
    } else {
        None
    };
    Ok(ReleaseFile {
        source: path.to_owned(),
        file_name,
        platform,
        length: bytes.len() as u64,
        sha256: Sha256::digest(&bytes),
        glibc_floor,
    })
}

/// Builds the next role: the current targets plus the release's files, version + 1, signed by `key`.
pub fn next_role(
    current: Option<&Targets>,
    package: &PackageName,
    version: &Version,
    files: &[ReleaseFile],
    expires: time::OffsetDateTime,
    key: &SigningKey,
) -> anyhow::Result<Signed<Targets>> {
    let mut role = Targets::empty(current.map_or(1, |c| c.version + 1), expires);
    if let Some(c) = current {
        role.targets = c.targets.clone();
        if c.targets
            .keys()
            .any(|p| p.package_target().is_ok_and(|p| p.version() == version))
        {
            return Err(x0x_dist_repository::Error::new(
                Code::VersionExists,
                format!("{package} {version} is already published (versions are immutable)"),
            )
            .into());
        }
    }
    for f in files {
        let path = TargetPath::new(package, version, &f.file_name)?;
        let custom = TargetCustom::new(package, version, f.platform, f.glibc_floor.clone());
        let mut t = TargetFile::for_bytes(&[], Some(&custom));
        t.length = f.length;
        t.hashes.insert("sha256".into(), f.sha256.to_hex());
        t.set_published(publish_time(time::OffsetDateTime::now_utc()));
        role.targets.insert(path.name(), t);
    }
    Ok(Signed::new(role, &[key])?)
}

/// An HTTP client for one server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
    /// Print progress bars (stderr is a terminal).
    pub progress: bool,
}

/// A failed request: the server's `{code, detail}` or a transport error. Displayed as its detail: the CLI prints
/// the code once, as `error[code]`.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct RemoteError {
    /// Stable code (`network.unreachable` for transport errors).
    pub code: String,
    /// Detail.
    pub detail: String,
    /// HTTP status (0 for transport errors).
    pub status: u16,
    /// The server's `Retry-After`, if it sent one in seconds.
    pub retry_after: Option<Duration>,
}

impl RemoteError {
    /// Worth another attempt under the shared policy ([`x0x_dist_manifests::retry`]): a transport failure or
    /// a retryable status.
    fn transient(&self) -> bool {
        self.status == 0 || retry::retryable_status(self.status)
    }
}

async fn remote_error(resp: reqwest::Response) -> RemoteError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry::retry_after);
    let text = resp.text().await.unwrap_or_default();
    if let Ok(b) = serde_json::from_str::<ErrorBody>(&text) {
        return RemoteError {
            code: b.code,
            detail: b.detail,
            status,
            retry_after,
        };
    }
    // No JSON body (e.g. a HEAD response or a proxy in between): classify by status.
    let code = match status {
        401 => Code::AuthInvalid,
        403 => Code::AuthForbidden,
        404 => Code::RequestNotFound,
        408 => Code::RequestTimeout,
        413 => Code::RequestTooLarge,
        507 => Code::StorageFull,
        _ => Code::NetworkHttpStatus,
    };
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let text = text.trim();
    RemoteError {
        code: code.as_str().into(),
        detail: if text.is_empty() {
            format!("HTTP {status} {reason} (no details in the answer)")
        } else {
            format!(
                "HTTP {status} {reason}: {}",
                text.chars().take(200).collect::<String>()
            )
        },
        status,
        retry_after,
    }
}

fn transport(e: &reqwest::Error) -> RemoteError {
    // reqwest says "error sending request for url (...)"; the cause that matters ("Connection refused",
    // a TLS or DNS failure) is further down its source chain.
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        src = s.source();
    }
    RemoteError {
        code: Code::NetworkUnreachable.as_str().into(),
        detail,
        status: 0,
        retry_after: None,
    }
}

/// Submissions that lose a race to another publisher are rebuilt on the new state this many times.
const CONFLICT_ATTEMPTS: u32 = 5;

/// Waits before retry `attempt` (1 for the first retry) under the shared policy.
async fn backoff(attempt: u32, retry_after: Option<Duration>) {
    tokio::time::sleep(retry::delay(
        retry::FIRST_DELAY,
        attempt.saturating_sub(1),
        retry::jitter(),
        retry_after,
    ))
    .await;
}

/// Runs one request under the shared retry policy ([`retry::run`]): transient failures are retried.
async fn with_retries<T, F, Fut>(what: &str, mut once: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RemoteError>>,
{
    retry::run(
        retry::RETRIES,
        retry::FIRST_DELAY,
        |_| once(),
        |e: &RemoteError| {
            let again = e.transient().then_some(e.retry_after);
            if again.is_some() {
                tracing::warn!("retrying {what} ({e})");
            }
            again
        },
        tokio::time::sleep,
    )
    .await
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
            progress: std::io::stderr().is_terminal(),
        })
    }

    /// A metadata read the server answered with an error status: its coded answer (`{code, detail}`, e.g.
    /// `auth.invalid`), asked for once more to show it; any other failure as `refused` maps it.
    async fn refused_answer(
        &self,
        e: x0x_dist_loader::Error,
        refused: impl Fn(x0x_dist_loader::Error) -> x0x_dist_repository::Error,
    ) -> anyhow::Error {
        if let x0x_dist_loader::Error::HttpStatus { url, .. } = &e {
            if let Ok(resp) = self.http.get(url).send().await {
                if !resp.status().is_success() {
                    return remote_error(resp).await.into();
                }
            }
        }
        refused(e).into()
    }

    /// Reads and verifies the package's current role; `None` if nothing is published yet.
    pub async fn current_role(
        &self,
        package: &PackageName,
        root: Option<&[u8]>,
        publisher: &SigningKey,
    ) -> anyhow::Result<Option<Signed<Targets>>> {
        let source = Fetcher::new(
            Location::parse(&format!("{}/", self.base))?,
            FetchOptions::from_env(),
        )?;
        // A missing file usually means a URL that is not the server's base (`http://HOST:PORT/tuf`).
        let base = &self.base;
        let refused = |e: x0x_dist_loader::Error| match e {
            x0x_dist_loader::Error::NotFound { what, .. } => {
                let name = what.trim_start_matches("metadata ");
                x0x_dist_repository::Error::new(
                    Code::RequestNotFound,
                    format!("the server has no {name} ({base}/tuf/metadata/{name} answers 404)"),
                )
            }
            e => x0x_dist_repository::repo::walk_error(e),
        };
        let root_bytes = if let Some(r) = root {
            r.to_vec()
        } else {
            let name = "1.root.json";
            match source.read(name, Root::MAX_SIZE as u64).await {
                Ok(Some(b)) => b,
                Ok(None) => return Err(refused(source.missing(name)).into()),
                Err(e) => return Err(self.refused_answer(e, refused).await),
            }
        };
        let mut keep = NoPersistence;
        let walk = tuf::refresh(
            &source,
            &mut keep,
            &root_bytes,
            Scope::TopLevel,
            WalkOptions::at(time::OffsetDateTime::now_utc()),
        )
        .await;
        let mut walk = match walk {
            Ok(w) => w,
            Err(e) => return Err(self.refused_answer(e, refused).await),
        };
        let delegation = walk
            .trusted()
            .targets("targets")
            .and_then(|t| t.signed().delegations.as_ref())
            .and_then(|d| d.roles.iter().find(|r| r.name == package.as_str()))
            .ok_or_else(|| {
                x0x_dist_repository::Error::new(
                    Code::PackageNotFound,
                    format!("{package} is not delegated on this server"),
                )
            })?;
        if !delegation.keys.keyids.contains(publisher.key_id()) {
            return Err(x0x_dist_repository::Error::new(
                Code::KeyNotAuthorized,
                format!(
                    "key {} is not a publisher key of {package}",
                    publisher.key_id()
                ),
            )
            .into());
        }
        let has_role = walk
            .trusted()
            .snapshot()
            .is_some_and(|s| s.signed().meta.contains_key(&format!("{package}.json")));
        if !has_role {
            return Ok(None);
        }
        walk.load_role(package.as_str(), "targets")
            .await
            .map_err(refused)?;
        Ok(walk.trusted().targets(package.as_str()).cloned())
    }

    /// Uploads a blob of `package` (skipped if the server has it), with retries and a progress bar on a terminal.
    pub async fn upload(&self, package: &PackageName, f: &ReleaseFile) -> anyhow::Result<bool> {
        // `?package=`: the server checks the token's scope before storing anything.
        let url = format!(
            "{}/api/v1/blobs/sha256/{}?package={}",
            self.base,
            f.sha256.to_hex(),
            package
        );
        with_retries(&format!("upload of {}", f.file_name), || async {
            match self.http.head(&url).bearer_auth(&self.token).send().await {
                Ok(r) if r.status().is_success() => Ok(false),
                // Missing; or a refusal a HEAD answer cannot explain (it has no body: a 503 would read as a bare
                // `network.http_status`): the PUT's answer carries the code (`database.unavailable`, `auth.*`).
                Ok(_) => self.put_once(&url, f).await.map(|()| true),
                Err(e) => Err(transport(&e)),
            }
        })
        .await
        .with_context(|| format!("uploading {}", f.file_name))
    }

    async fn put_once(&self, url: &str, f: &ReleaseFile) -> Result<(), RemoteError> {
        use futures_util::StreamExt as _;
        let file = tokio::fs::File::open(&f.source)
            .await
            .map_err(|e| RemoteError {
                code: Code::IoError.as_str().into(),
                detail: e.to_string(),
                status: 1,
                retry_after: None,
            })?;
        let bar = self.progress.then(|| {
            let b = indicatif::ProgressBar::new(f.length);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_message(f.file_name.clone());
            b
        });
        let b2 = bar.clone();
        let stream =
            tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).inspect(move |c| {
                if let (Some(b), Ok(c)) = (&b2, c) {
                    b.inc(c.len() as u64);
                }
            });
        let resp = self
            .http
            .put(url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_LENGTH, f.length)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        match resp {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(remote_error(r).await),
            Err(e) => Err(transport(&e)),
        }
    }

    /// Submits a signed role.
    pub async fn submit(
        &self,
        package: &PackageName,
        role: &Signed<Targets>,
    ) -> Result<PublishReport, RemoteError> {
        let url = format!("{}/api/v1/packages/{package}/role", self.base);
        // Compact canonical JSON: the server stores these bytes as they are (`N.<package>.json`).
        let body = role.to_compact_bytes();
        with_retries(&format!("submission of {package}"), || async {
            match self
                .http
                .post(&url)
                .bearer_auth(&self.token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {
                    // The role may have been committed: a lost answer is not sent again (status 1: not
                    // transient), the next publish sees the version.
                    let b = r.bytes().await.map_err(|e| RemoteError {
                        status: 1,
                        ..transport(&e)
                    })?;
                    serde_json::from_slice(&b).map_err(|e| RemoteError {
                        code: Code::NetworkHttpStatus.as_str().into(),
                        detail: format!("bad publish response: {e}"),
                        status: 200,
                        retry_after: None,
                    })
                }
                Ok(r) => Err(remote_error(r).await),
                Err(e) => Err(transport(&e)),
            }
        })
        .await
    }
}

/// The expiry of a published role: `now + expires_in` rounded down to the whole hour, so that a retry of the same
/// release in the same hour (after a replica died mid-publish, say) signs the same bytes (the default keys sign
/// deterministically) and the server lets it take the version its first attempt reserved (docs/coordinator.md,
/// "Failure matrix") instead of waiting out the reservation's lease.
pub fn role_expiry(now: time::OffsetDateTime, expires_in: time::Duration) -> time::OffsetDateTime {
    let t = now + expires_in;
    t.replace_time(time::Time::from_hms(t.hour(), 0, 0).expect("a whole hour"))
}

/// The signed publish time of a release's targets (`custom.published`, what cooldowns count from): `now` rounded
/// down to the whole minute, for the same reason as [`role_expiry`]: a retry in the same minute signs the same
/// bytes and takes back the version its killed first attempt reserved. A cooldown sees the release at most a
/// minute older than it is.
pub fn publish_time(now: time::OffsetDateTime) -> time::OffsetDateTime {
    now.replace_time(time::Time::from_hms(now.hour(), now.minute(), 0).expect("a whole minute"))
}

/// Everything `x0x-dist publish` needs.
#[derive(Debug)]
pub struct PublishRequest<'a> {
    /// Server base URL.
    pub server: &'a str,
    /// Upload token.
    pub token: &'a str,
    /// Publisher key.
    pub key: &'a SigningKey,
    /// Package.
    pub package: &'a PackageName,
    /// Release version.
    pub version: &'a Version,
    /// Release files.
    pub files: &'a [PathBuf],
    /// Trusted root, if pinned.
    pub root: Option<&'a [u8]>,
    /// Role lifetime.
    pub expires_in: time::Duration,
}

/// Publishes a release: inspect, upload, build + sign + submit (rebuilding on a lost race).
pub async fn publish(
    req: &PublishRequest<'_>,
) -> anyhow::Result<(PublishReport, Vec<ReleaseFile>)> {
    let client = Client::new(req.server, req.token)?;
    let files: Vec<ReleaseFile> = req
        .files
        .iter()
        .map(|p| inspect_file(req.package, p))
        .collect::<anyhow::Result<_>>()?;
    let mut seen = std::collections::BTreeSet::new();
    for f in &files {
        if !seen.insert(f.platform) {
            return Err(x0x_dist_repository::Error::new(
                Code::UsageInvalid,
                format!("two files for platform {}", f.platform),
            )
            .into());
        }
    }
    // Before any byte is uploaded: the key must be one of the package's delegation (`key.not_authorized`)
    // and the version must be new (`version.exists`); the token's scope is checked by the first upload.
    let build = |current: Option<&Signed<Targets>>| {
        next_role(
            current.map(Signed::signed),
            req.package,
            req.version,
            &files,
            role_expiry(time::OffsetDateTime::now_utc(), req.expires_in),
            req.key,
        )
    };
    let mut current = Some(client.current_role(req.package, req.root, req.key).await?);
    build(current.as_ref().and_then(Option::as_ref))?;
    for f in &files {
        client.upload(req.package, f).await?;
    }
    let mut attempt = 0;
    loop {
        let current = match current.take() {
            Some(c) => c,
            None => client.current_role(req.package, req.root, req.key).await?,
        };
        let role = build(current.as_ref())?;
        match client.submit(req.package, &role).await {
            Ok(r) => return Ok((r, files)),
            Err(e)
                if (e.code == Code::PublishConflict.as_str()
                    || e.code == Code::MetadataRollback.as_str())
                    && attempt < CONFLICT_ATTEMPTS =>
            {
                attempt += 1;
                tracing::warn!("concurrent publish of {}; retrying ({e})", req.package);
                backoff(attempt, None).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
