//! The convenience JSON views of the published packages (`/api/v1/packages…`), built from the published metadata
//! read through the store once per repository change, keyed by the store's tag of `timestamp.json`, and shared
//! by all requests, so `resolve` is a map lookup even with thousands of versions. Whoever owns a [`ViewCache`]
//! says where the tag comes from ([`ViewSource`]: the server's state, which knows whether to ask the store per
//! request or what its poller last saw), so this module depends on the store and the published state only.
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::published::{self, Published};
use crate::storage::{ETag, Store};

/// Where a [`ViewCache`] reads from: the store, and the tag of `timestamp.json` the view must match.
pub trait ViewSource {
    /// The store holding the repository.
    fn store(&self) -> &dyn Store;
    /// The current tag of `timestamp.json` (`None`: unknown, never cached).
    fn timestamp_tag(&self) -> impl std::future::Future<Output = Option<ETag>> + Send;
    /// The published state to build the views from (default: the store's `timestamp.json`).
    fn published(&self) -> impl std::future::Future<Output = Result<Published, ApiError>> + Send {
        Published::load(self.store())
    }
}

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
    pub(crate) by_semver: BTreeMap<semver::Version, Vec<TargetView>>,
    /// Each version's signed publish time: the newest `custom.published` of its targets (none: old).
    #[serde(skip)]
    pub(crate) published: BTreeMap<semver::Version, time::OffsetDateTime>,
}

/// All packages.
#[derive(Debug, Default)]
pub struct RepoView {
    pub(crate) packages: BTreeMap<String, PackageView>,
}

type Stamp = Option<ETag>;

/// The cached view, rebuilt when `timestamp.json` changes.
///
/// A rebuild parses every delegated role (hundreds of milliseconds with 1,000 versions x 10 targets), so it
/// runs once per change, never once per waiting request: requests that find the view stale queue behind a
/// single rebuild (single flight) and then share its result. The server also rebuilds in the background at
/// startup and right after it publishes or re-signs the timestamp
/// ([`crate::state::AppState::refresh_views_in_background`]), so
/// readers normally never wait for one.
#[derive(Debug, Default)]
pub struct ViewCache {
    current: std::sync::RwLock<Option<(Stamp, Arc<RepoView>)>>,
    building: tokio::sync::Mutex<()>,
}

/// Reads the published state and every package's role through the store, then parses them off the async workers.
async fn build(src: &impl ViewSource) -> Result<RepoView, ApiError> {
    let store = src.store();
    let cur = src.published().await?;
    let mut roles = Vec::new();
    for name in cur.packages() {
        let bytes = cur.load_role_bytes(store, &name).await?;
        roles.push((name, bytes));
    }
    published::blocking(move || build_from(&cur, roles)).await
}

fn build_from(
    cur: &Published,
    roles: Vec<(String, Option<Vec<u8>>)>,
) -> Result<RepoView, ApiError> {
    let mut packages = BTreeMap::new();
    for (name, role) in roles {
        let mut pv = PackageView {
            name: name.clone(),
            role_version: cur.role_version(&name),
            ..PackageView::default()
        };
        let role = role
            .map(|b| x0x_dist_manifests::Signed::<x0x_dist_manifests::Targets>::from_slice(&b))
            .transpose()?;
        if let Some(role) = role {
            for (name, t) in &role.signed().targets {
                // Our roles list package artifacts only (publishing refuses any other path).
                let path = name.package_target()?;
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
                if let Some(at) = t.published() {
                    let e = pv
                        .published
                        .entry(path.version().semver().clone())
                        .or_insert(at);
                    *e = (*e).max(at);
                }
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
    fn fresh(&self, stamp: &Stamp) -> Option<Arc<RepoView>> {
        let g = self.current.read().ok()?;
        match &*g {
            Some((s, v)) if s == stamp && stamp.is_some() => Some(v.clone()),
            _ => None,
        }
    }

    /// The current view (rebuilt if the repository changed; one rebuild at a time, shared by every waiter).
    pub async fn get(&self, src: &impl ViewSource) -> Result<Arc<RepoView>, ApiError> {
        if let Some(v) = self.fresh(&src.timestamp_tag().await) {
            return Ok(v);
        }
        let _one = self.building.lock().await;
        // Whoever held the lock may just have built the view this request needs.
        let stamp = src.timestamp_tag().await;
        if let Some(v) = self.fresh(&stamp) {
            return Ok(v);
        }
        let view = Arc::new(build(src).await?);
        if let Ok(mut g) = self.current.write() {
            *g = Some((stamp, view.clone()));
        }
        Ok(view)
    }
}
