//! Pull-through serving (`x0x-dist serve --upstream URL`): a middleware in front of the ordinary TUF routes.
//!
//! - `GET /tuf/metadata/timestamp.json`: if the last successful pull is older than the refresh interval, pull
//!   and verify the upstream's chain first (one pull at a time; concurrent requests wait for it).
//! - Any other metadata file or a target the mirror does not have: pull metadata (at most once per interval),
//!   then, for a target, download it if and only if the verified metadata lists exactly that stored path
//!   (`<package>/<version>/<sha256>.<file>`), verifying length and SHA-256 before it is stored.
//! - `/api/v1/packages…` (the JSON API, `resolve` included): pull metadata (at most once per interval) first.
//! - `/npm/…`: pull metadata (at most once per interval); the npm view then pulls the targets it packs
//!   ([`PullThrough::target`]) and the upstream's release records (`crate::npm::record`).
//! - Then the request goes to the ordinary handler, which serves the mirror's files: the upstream's signed
//!   bytes, unchanged. If the upstream is down or fails verification, the failure is logged and the mirror
//!   answers from what it has (a target it cannot verify is a 502 with the failure's code, never its bytes).
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use x0x_dist_manifests::codes::{Code, Coded as _};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use x0x_dist_loader::fetch::{Fetcher, NoProgress};
use x0x_dist_manifests::verify::TrustedSet;
use x0x_dist_repository::repo::Layout;

use x0x_dist_repository::mirror::{fetch_target, pull_metadata, select, Selection, Settings};

/// Pull-through state.
#[derive(Debug)]
pub struct PullThrough {
    dir: PathBuf,
    upstream: String,
    root: Vec<u8>,
    fetcher: Fetcher,
    interval: Duration,
    last: tokio::sync::Mutex<Option<(Instant, Arc<TrustedSet>)>>,
    inflight: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl PullThrough {
    /// Pull-through for the mirror in `dir` from `upstream`, re-checking the upstream's timestamp at most once
    /// per `interval`.
    pub fn new(
        dir: PathBuf,
        settings: &Settings,
        upstream: &str,
        interval: Duration,
    ) -> x0x_dist_repository::Result<Self> {
        Ok(Self {
            dir,
            upstream: upstream.to_owned(),
            root: settings.root.clone(),
            fetcher: x0x_dist_repository::mirror::upstream_fetcher(upstream)?,
            interval,
            last: tokio::sync::Mutex::new(None),
            inflight: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The upstream repository URL.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The verified upstream metadata, pulled again if older than the interval (or `force`). Falls back to the
    /// previous pull when the upstream fails.
    pub async fn metadata(
        &self,
        force: bool,
    ) -> Result<Arc<TrustedSet>, x0x_dist_repository::Error> {
        let mut last = self.last.lock().await;
        if let Some((at, set)) = last.as_ref() {
            if !force && at.elapsed() < self.interval {
                return Ok(set.clone());
            }
            if force && at.elapsed() < Duration::from_secs(1) {
                return Ok(set.clone());
            }
        }
        match pull_metadata(
            &self.dir,
            &self.fetcher,
            &self.root,
            OffsetDateTime::now_utc(),
        )
        .await
        {
            Ok((set, report)) => {
                if report.written > 0 {
                    tracing::info!(
                        timestamp = report.timestamp_version,
                        snapshot = report.snapshot_version,
                        files = report.written,
                        "mirror: pulled new upstream metadata"
                    );
                }
                let set = Arc::new(set);
                *last = Some((Instant::now(), set.clone()));
                Ok(set)
            }
            Err(e) => {
                tracing::warn!(code = e.code().as_str(), error = %e, "mirror: upstream metadata pull failed; serving what the mirror has");
                match last.as_ref() {
                    Some((_, set)) => {
                        let set = set.clone();
                        // Do not hammer a failing upstream: retry after the interval.
                        *last = Some((Instant::now(), set.clone()));
                        Ok(set)
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// Makes sure the target stored at `stored` (relative to `targets/`) is in the mirror, if verified upstream
    /// metadata lists it. `Ok(false)`: no verified metadata lists it (the handler answers 404).
    pub async fn target(&self, stored: &str) -> Result<bool, x0x_dist_repository::Error> {
        let lock = {
            let mut map = self.inflight.lock().expect("inflight lock");
            map.entry(stored.to_owned()).or_default().clone()
        };
        let _g = lock.lock().await;
        if Layout::new(&self.dir).target_stored(stored).is_file() {
            return Ok(true);
        }
        let mut found = None;
        for force in [false, true] {
            let set = self.metadata(force).await?;
            found = select(&set, &Selection::default())?
                .into_iter()
                .find(|j| j.stored == stored);
            if found.is_some() {
                break;
            }
        }
        let Some(job) = found else {
            return Ok(false);
        };
        fetch_target(&self.dir, &self.fetcher, &job, &NoProgress).await?;
        tracing::info!(
            target = job.path.as_str(),
            bytes = job.file.length,
            "mirror: pulled and verified target"
        );
        self.inflight.lock().expect("inflight lock").remove(stored);
        Ok(true)
    }
}

impl crate::npm::registry::Puller for PullThrough {
    fn pull<'a>(
        &'a self,
        stored: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match self.target(stored).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!("no verified upstream metadata lists {stored}")),
                Err(e) => Err(format!("{e}")),
            }
        })
    }
}

fn failure(e: &x0x_dist_repository::Error) -> Response {
    // Whatever went wrong upstream (unreachable, tampered bytes, bad metadata), the mirror is a gateway that
    // could not get a verified answer.
    let mut r = (
        StatusCode::BAD_GATEWAY,
        axum::Json(crate::wire::ErrorBody::new(
            e.code(),
            format!("mirror upstream: {e}"),
        )),
    )
        .into_response();
    r.extensions_mut()
        .insert(crate::error::ErrorLogged(format!("{e:#}")));
    r
}

/// The target path of a stored name: `x0x/0.1.0/<sha256>.x0x.linux-x64-gnu.node` → `x0x/0.1.0/x0x.linux-x64-gnu.node`.
fn target_name(stored: &str) -> String {
    match stored.rsplit_once('/') {
        Some((dir, file)) => {
            let file = file
                .split_once('.')
                .filter(|(h, _)| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .map_or(file, |(_, f)| f);
            format!("{dir}/{file}")
        }
        None => stored.to_owned(),
    }
}

/// The middleware.
pub async fn middleware(
    State((m, st)): State<(Arc<PullThrough>, Arc<crate::state::AppState>)>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if let Some(name) = path.strip_prefix("/tuf/metadata/") {
        let have = Layout::new(&m.dir).metadata_file(name).is_file();
        if name == "timestamp.json" || (!have && !name.contains('/') && !name.starts_with('.')) {
            // Failures are logged inside; the handler serves what the mirror has.
            let _ = m.metadata(!have).await;
        }
    } else if path.starts_with("/npm/") || path.starts_with("/api/v1/packages") {
        // The npm view and the JSON API (`resolve`, with the mirror's own `[resolve] min_release_age`)
        // answer from the mirror's metadata: pulled first (at most once per interval).
        let _ = m.metadata(false).await;
    } else if let Some(stored) = path.strip_prefix("/tuf/targets/") {
        if crate::storage::ObjectPath::parse(stored).is_ok()
            && !Layout::new(&m.dir).target_stored(stored).is_file()
        {
            if let Err(e) = m.target(stored).await {
                tracing::warn!(target = stored, code = e.code().as_str(), error = %e, "mirror: target refused");
                let code = e.code();
                if matches!(
                    code,
                    Code::TargetDigestMismatch | Code::TargetLengthMismatch
                ) {
                    st.metrics
                        .target_verify_failed(&target_name(stored), code.as_str());
                }
                return failure(&e);
            }
        }
    }
    next.run(req).await
}

/// How the server runs for a repository directory.
#[derive(Debug)]
pub enum Mode {
    /// An origin repository (holds online keys, accepts publishes, re-signs its timestamp).
    Origin,
    /// A mirror: serves verified upstream bytes, never signs; pull-through when it has an upstream.
    Mirror(Option<Arc<PullThrough>>),
}

/// Decides the mode for `st`'s repository: a mirror if `upstream` is given or the directory is a mirror
/// (`mirror/root.json`). A pull-through mirror pulls the upstream's metadata once at startup (an unreachable
/// upstream is logged; the mirror then serves what it has, and must have a verified timestamp at least).
pub async fn startup(
    st: &crate::state::AppState,
    upstream: Option<&str>,
    refresh: Duration,
) -> anyhow::Result<Mode> {
    use anyhow::Context as _;
    let dir = st.repo_dir.clone();
    if upstream.is_none() && !x0x_dist_repository::mirror::is_mirror(&dir) {
        return Ok(Mode::Origin);
    }
    let settings = Settings::load(&dir)?;
    let upstream = upstream.map(str::to_owned).or(settings.upstream.clone());
    let pull = match &upstream {
        Some(u) => {
            let p = Arc::new(PullThrough::new(dir.clone(), &settings, u, refresh)?);
            let _ = p.metadata(true).await;
            Some(p)
        }
        None => None,
    };
    if !Layout::new(&dir).metadata_file("timestamp.json").is_file() {
        anyhow::bail!(x0x_dist_repository::Error::Usage(format!(
            "mirror {} has no metadata yet and its upstream did not answer: run `x0x-dist mirror sync` or `x0x-dist bundle import` first",
            dir.display()
        )));
    }
    // The mirror's own files must verify (signatures, chain); expiry is the clients' business, so this check is
    // done as of the timestamp's own lifetime start (any time the chain was valid would do).
    let root = settings.root.clone();
    tokio::task::spawn_blocking(move || check_signatures(&dir, &root))
        .await?
        .context("the mirror's metadata does not verify")?;
    st.ready.store(true, std::sync::atomic::Ordering::Release);
    Ok(Mode::Mirror(pull))
}

/// Verifies the mirror's metadata chain at a time when it was valid (so an expired but authentic mirror still
/// starts and serves; clients apply expiry themselves).
fn check_signatures(dir: &std::path::Path, root: &[u8]) -> Result<(), x0x_dist_repository::Error> {
    use x0x_dist_manifests::metadata::{Signed, Timestamp};
    let ts = std::fs::read(Layout::new(dir).metadata_file("timestamp.json")).map_err(
        x0x_dist_repository::Error::io("reading", &dir.join("metadata/timestamp.json")),
    )?;
    let ts = Signed::<Timestamp>::from_slice(&ts)?;
    // One second before the timestamp expires: every role it pins must be valid then too, or it was never valid.
    let at = ts.signed().expires - time::Duration::seconds(1);
    x0x_dist_repository::repo::load_trusted_from(dir, root, at)?;
    Ok(())
}
