//! `/api/v1/packages...`: unsigned convenience JSON (clients still verify the TUF metadata), and the role
//! submission that publishes a release.
//!
//! The JSON views are built from the published metadata once per repository change (keyed by the
//! `timestamp.json` file's mtime and length) and shared by all requests, so `resolve` is a map lookup even with
//! thousands of versions.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use x0x_dist_manifests::{PackageName, Platform};

use crate::error::ApiError;
use crate::publish::{self, Published};
use crate::state::AppState;

/// One target of a version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetView {
    /// TUF target path.
    pub path: String,
    /// Path under `/tuf/targets/` (hash-prefixed file name).
    pub hashed_path: String,
    /// Length in bytes.
    pub length: u64,
    /// Hex SHA-256.
    pub sha256: String,
    /// napi platform name.
    pub platform: String,
    /// Rust triple.
    pub target: String,
    /// `native` or `wasm`.
    pub kind: String,
    /// `glibc`, `musl` or `none`.
    pub libc: String,
    /// Highest GLIBC_ version needed (glibc builds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glibc_floor: Option<String>,
}

/// A package with its versions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PackageView {
    /// Package name.
    pub name: String,
    /// Current version of its delegated role (0: nothing published).
    pub role_version: u64,
    /// Versions (ascending) → targets.
    pub versions: BTreeMap<String, Vec<TargetView>>,
    #[serde(skip)]
    by_semver: BTreeMap<semver::Version, Vec<TargetView>>,
}

/// All packages.
#[derive(Debug, Default)]
pub struct RepoView {
    packages: BTreeMap<String, PackageView>,
}

type Stamp = Option<(SystemTime, u64)>;

/// The cached view, rebuilt when `timestamp.json` changes.
#[derive(Debug, Default)]
pub struct ViewCache(std::sync::RwLock<Option<(Stamp, Arc<RepoView>)>>);

fn build(repo: &std::path::Path) -> Result<RepoView, ApiError> {
    let cur = Published::load(repo)?;
    let mut packages = BTreeMap::new();
    for name in cur.packages() {
        let mut pv = PackageView {
            name: name.clone(),
            role_version: cur.role_version(&name),
            ..PackageView::default()
        };
        if let Some((role, _)) = cur.load_role(repo, &name)? {
            for (path, t) in &role.signed().targets {
                let sha = t.sha256()?.to_hex();
                let c = t.x0x_custom();
                let tv = TargetView {
                    path: path.to_string(),
                    hashed_path: format!(
                        "{}/{}/{sha}.{}",
                        path.package(),
                        path.version(),
                        path.file_name()
                    ),
                    length: t.length,
                    sha256: sha,
                    platform: c.as_ref().map(|c| c.platform.clone()).unwrap_or_default(),
                    target: c.as_ref().map(|c| c.target.clone()).unwrap_or_default(),
                    kind: c
                        .as_ref()
                        .map(|c| format!("{:?}", c.kind).to_lowercase())
                        .unwrap_or_default(),
                    libc: c
                        .as_ref()
                        .map(|c| format!("{:?}", c.libc).to_lowercase())
                        .unwrap_or_default(),
                    glibc_floor: c.and_then(|c| c.glibc_floor),
                };
                pv.by_semver
                    .entry(path.version().semver().clone())
                    .or_default()
                    .push(tv);
            }
        }
        pv.versions = pv
            .by_semver
            .iter()
            .map(|(v, t)| (v.to_string(), t.clone()))
            .collect();
        packages.insert(name, pv);
    }
    Ok(RepoView { packages })
}

impl ViewCache {
    /// The current view (rebuilt if the repository changed).
    pub async fn get(&self, st: &AppState) -> Result<Arc<RepoView>, ApiError> {
        let ts = publish::metadata_dir(&st.repo_dir).join("timestamp.json");
        // A plain stat (microseconds on a local disk) instead of a trip through the blocking pool.
        let stamp = std::fs::metadata(&ts)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        if let Ok(g) = self.0.read() {
            if let Some((s, v)) = &*g {
                if *s == stamp && stamp.is_some() {
                    return Ok(v.clone());
                }
            }
        }
        let repo = st.repo_dir.clone();
        let view = Arc::new(publish::blocking(move || build(&repo)).await?);
        if let Ok(mut g) = self.0.write() {
            *g = Some((stamp, view.clone()));
        }
        Ok(view)
    }
}

fn check_name(name: &str) -> Result<PackageName, ApiError> {
    name.parse::<PackageName>()
        .map_err(|e| ApiError::InvalidPath(e.to_string()))
}

/// `GET /api/v1/packages`
pub async fn list(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let view = st.views.get(&st).await?;
    let packages: Vec<_> = view
        .packages
        .values()
        .map(|p| serde_json::json!({"name": p.name, "role_version": p.role_version, "versions": p.versions.keys().collect::<Vec<_>>()}))
        .collect();
    Ok(axum::Json(serde_json::json!({ "packages": packages })).into_response())
}

/// `GET /api/v1/packages/{name}`
pub async fn show(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let view = st.views.get(&st).await?;
    let p = view
        .packages
        .get(&name)
        .ok_or_else(|| ApiError::PackageNotFound(name.clone()))?;
    Ok(axum::Json(p).into_response())
}

/// Query of `resolve`.
#[derive(Debug, Deserialize)]
pub struct ResolveQuery {
    /// semver range (default `*`).
    pub range: Option<String>,
    /// Rust triple or napi platform name; absent: any.
    pub target: Option<String>,
}

/// `GET /api/v1/packages/{name}/resolve?range=…&target=…`: the highest version matching the range that has a
/// target for the platform.
pub async fn resolve(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<ResolveQuery>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let range_s = q.range.as_deref().unwrap_or("*");
    let range = semver::VersionReq::parse(range_s).map_err(|e| ApiError::Metadata {
        code: "package.version_invalid",
        detail: format!("invalid range {range_s:?}: {e}"),
    })?;
    let platform = q
        .target
        .as_deref()
        .map(str::parse::<Platform>)
        .transpose()?;
    let view = st.views.get(&st).await?;
    let p = view
        .packages
        .get(&name)
        .ok_or_else(|| ApiError::PackageNotFound(name.clone()))?;
    for (v, targets) in p.by_semver.iter().rev() {
        if !range.matches(v) {
            continue;
        }
        let matching: Vec<&TargetView> = targets
            .iter()
            .filter(|t| platform.is_none_or(|pl| t.platform == pl.name()))
            .collect();
        if !matching.is_empty() {
            return Ok(axum::Json(
                serde_json::json!({"package": name, "version": v.to_string(), "targets": matching}),
            )
            .into_response());
        }
    }
    Err(ApiError::VersionNotFound(format!(
        "{name}@{range_s}{}",
        q.target.map(|t| format!(" for {t}")).unwrap_or_default()
    )))
}

/// `GET /api/v1/packages/{name}/role`: the current signed role, byte for byte.
pub async fn current_role(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let repo = st.repo_dir.clone();
    let n = name.clone();
    let role = publish::blocking(move || {
        let cur = Published::load(&repo)?;
        cur.delegation(&n)?;
        Ok(cur.load_role(&repo, &n)?.map(|(_, b)| b))
    })
    .await?;
    let bytes =
        role.ok_or_else(|| ApiError::NotFound(format!("nothing published for {name} yet")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `POST /api/v1/packages/{name}/role`: submit the next signed role (see [`crate::publish`]).
pub async fn submit_role(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    use http_body_util::BodyExt as _;
    check_name(&name)?;
    let token = st.tokens.authorize(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        Some(&name),
    )?;
    let max = st.config.limits.max_metadata_bytes;
    let body: Bytes = http_body_util::Limited::new(body, max)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ApiError::TooLarge { max: max as u64 }
            } else {
                ApiError::UploadInterrupted(std::io::Error::other(e.to_string()))
            }
        })?
        .to_bytes();
    let result = publish::publish(&st, &name, body.to_vec()).await;
    match &result {
        Ok(r) => {
            st.metrics.publish(Ok(()));
            tracing::info!(token, package = %name, version = r.version, snapshot = r.snapshot_version, added = r.added.len(), "published");
        }
        Err(e) => {
            st.metrics.publish(Err(e.code()));
            tracing::info!(token, package = %name, code = e.code(), error = %e, "publish rejected");
        }
    }
    Ok(axum::Json(result?).into_response())
}
