//! The registry's state and answers: which npm packages a repository hosts, their release records, packuments
//! and tarballs (see `mod.rs` for the layout, `record.rs` for why records exist).
//!
//! - Hosted packages: for every delegated package `P` with a signed release, the loader package `P` and
//!   `@P/core-<platform>` for every platform some release of `P` has a target for.
//! - Every tarball is rebuilt from the record and the target bytes read from the store, which must match the
//!   record's verified target entry (`npm.tarball_unverified` otherwise, nothing cached), and must hash to the
//!   record's `dist.integrity` (the same check: bytes that differ are not the ones clients pinned).
//! - Packuments are cached per package and base URL until `timestamp.json` changes.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::Bytes;
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::metadata::{Revocation, RevocationState, Revocations, REVOCATIONS_ROLE};
use x0x_dist_manifests::platform::Kind;
use x0x_dist_manifests::Platform;

use super::contents::{self, ReleaseTarget};
use super::record::{self, Record, Verified};
use super::tarball::{self, Dist};
use super::NpmName;
use crate::error::ApiError;
use crate::files::CachedFile;
use crate::storage::{ETag, ObjectKey, ObjectPath};

/// What a hosted npm name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosted {
    /// The loader package of a repository package.
    Loader,
    /// The platform package of a platform.
    Platform(Platform),
}

/// Whether a release version is current, yanked or revoked, the npm way (from the signed `revocations` role,
/// [`Withdrawn`]): a yanked or revoked version's document carries `deprecated` ([`Lifecycle::deprecated`]) and
/// is never `dist-tags.latest`; a revoked one is also listed by `npm audit`'s bulk advisories answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// Installable, eligible for `latest`.
    Active,
    /// Yanked: installable with a warning (the reason); not `latest`.
    Yanked(String),
    /// Revoked: deprecated, never `latest`, an advisory.
    Revoked {
        /// Why.
        reason: String,
        /// The advisory URL, if any.
        advisory: Option<String>,
    },
}

impl Lifecycle {
    /// The version document's `deprecated` message, if any.
    pub fn deprecated(&self) -> Option<String> {
        match self {
            Lifecycle::Active => None,
            Lifecycle::Yanked(reason) => Some(reason.clone()),
            Lifecycle::Revoked {
                reason,
                advisory: Some(a),
            } => Some(format!("revoked: {reason} (advisory: {a})")),
            Lifecycle::Revoked {
                reason,
                advisory: None,
            } => Some(format!("revoked: {reason}")),
        }
    }
}

/// The withdrawn releases of the published state: its `revocations` role, verified from the trust anchor
/// through the timestamp and snapshot that pin it (empty when the snapshot lists none).
#[derive(Debug, Default)]
pub struct Withdrawn(Option<Revocations>);

impl From<Option<Revocations>> for Withdrawn {
    fn from(r: Option<Revocations>) -> Self {
        Withdrawn(r)
    }
}

impl Withdrawn {
    /// The lifecycle of `package` `version`.
    pub fn lifecycle(&self, package: &str, version: &str) -> Lifecycle {
        match self.0.as_ref().and_then(|r| r.get(package, version)) {
            None => Lifecycle::Active,
            Some(r) => match r.state {
                RevocationState::Yanked => Lifecycle::Yanked(r.reason.clone()),
                RevocationState::Revoked => Lifecycle::Revoked {
                    reason: r.reason.clone(),
                    advisory: r.advisory.clone(),
                },
            },
        }
    }

    /// The revoked versions of `package`: version → (reason, advisory, when).
    pub fn revoked(&self, package: &str) -> Vec<(String, &Revocation)> {
        self.0
            .as_ref()
            .and_then(|r| r.releases.get(package))
            .map(|m| {
                m.iter()
                    .filter(|(_, r)| r.state == RevocationState::Revoked)
                    .map(|(v, r)| (v.clone(), r))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What the registry reads: the server's state implements it (`crate::state`), so this module does not depend
/// on the state that holds it (like [`crate::views::ViewSource`]).
pub trait Source: Sync {
    /// The store holding the repository.
    fn store(&self) -> &dyn crate::storage::Store;
    /// The repository directory when the store is a local directory (a mirror's trusted root lives there).
    fn local_dir(&self) -> Option<&std::path::Path>;
    /// The current package view.
    fn view(
        &self,
    ) -> impl std::future::Future<Output = Result<Arc<crate::views::RepoView>, ApiError>> + Send;
}

/// How a pull-through mirror brings a target into its store (`crate::mirror::pull` implements it).
pub trait Puller: Send + Sync + std::fmt::Debug {
    /// Makes sure the target stored at `stored` (relative to `targets/`) is in the store, verified.
    fn pull<'a>(
        &'a self,
        stored: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<(), String>>;
}

/// Largest total of tarball bytes kept in memory.
const TARBALL_CACHE_BYTES: usize = 512 * 1024 * 1024;

/// Largest (estimated) total of verified release records kept in memory by default (a server sets it to
/// `[cache] memory_bytes` / 8). Each record holds the metadata chain of its version, which grows with the
/// package's history, and one is made for every publish: unbounded, a replica grew by the square of the number
/// of releases (the soak, BENCHMARKS.md). An evicted record is read back from the store when asked for.
const RECORD_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// A map bounded by the total weight of its values: the oldest inserted go first once over the bound (the
/// newest entry always stays).
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, (V, usize)>,
    order: std::collections::VecDeque<K>,
    weight: usize,
    bound: usize,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Bounded<K, V> {
    fn new(bound: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: std::collections::VecDeque::new(),
            weight: 0,
            bound,
        }
    }

    fn get(&self, k: &K) -> Option<V> {
        self.map.get(k).map(|(v, _)| v.clone())
    }

    fn insert(&mut self, k: K, v: V, weight: usize) {
        match self.map.insert(k.clone(), (v, weight)) {
            Some((_, old)) => self.weight -= old,
            None => self.order.push_back(k),
        }
        self.weight += weight;
        while self.weight > self.bound && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front() {
                if let Some((_, w)) = self.map.remove(&old) {
                    self.weight -= w;
                }
            }
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Default for Bounded<K, V> {
    fn default() -> Self {
        Self::new(RECORD_CACHE_BYTES)
    }
}

/// The memory a loaded record takes, estimated: its metadata text, the same parsed, and the rest.
fn record_weight(l: &Loaded) -> usize {
    let text: usize = l.record.metadata.values().map(String::len).sum();
    3 * text + 4096
}

/// A verified record.
#[derive(Debug)]
pub struct Loaded {
    /// The record.
    pub record: Record,
    /// Its metadata, verified.
    pub verified: Verified,
}

/// The registry's state (one per server, in `AppState::npm`).
#[derive(Debug, Default)]
pub struct Registry {
    records: RwLock<Bounded<(String, String), Arc<Loaded>>>,
    making: tokio::sync::Mutex<()>,
    tarballs: Mutex<(usize, HashMap<String, Bytes>)>,
    packuments: RwLock<HashMap<String, (Option<ETag>, CachedFile)>>,
    withdrawn: RwLock<Option<(Vec<u8>, Arc<Withdrawn>)>>,
    upstream: OnceLock<Upstream>,
    http: OnceLock<reqwest::Client>,
}

/// Where a pull-through mirror gets records and target bytes.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The upstream repository URL (its `/npm/` serves records).
    pub url: String,
    /// The mirror's pull-through (fetches and verifies targets).
    pub pull: Arc<dyn Puller>,
}

fn not_hosted(what: impl std::fmt::Display) -> ApiError {
    ApiError::Npm {
        code: Code::NpmNotHosted,
        detail: format!("{what} is not hosted by this registry"),
    }
}

fn unverified(detail: String) -> ApiError {
    ApiError::Npm {
        code: Code::NpmTarballUnverified,
        detail,
    }
}

impl Registry {
    /// A registry keeping at most about `bytes` of verified release records in memory.
    pub fn with_record_bytes(bytes: usize) -> Self {
        Self {
            records: RwLock::new(Bounded::new(bytes)),
            ..Self::default()
        }
    }

    /// Makes this a pull-through mirror's registry: records come from `upstream`'s `/npm/` when it has them.
    pub fn set_upstream(&self, up: Upstream) {
        let _ = self.upstream.set(up);
    }

    /// The HTTP client for the upstream registry and records.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap_or_default()
        })
    }

    /// What `name` is, and of which repository package, if this repository hosts it.
    pub async fn hosted(
        &self,
        st: &impl Source,
        name: &NpmName,
    ) -> Result<Option<(String, Hosted, Vec<String>)>, ApiError> {
        let view = st.view().await?;
        let (package, hosted) = match name.scope() {
            None => (name.bare().to_owned(), Hosted::Loader),
            Some(scope) => {
                let Some(plat) = name
                    .bare()
                    .strip_prefix("core-")
                    .and_then(|p| Platform::from_name(p).ok())
                else {
                    return Ok(None);
                };
                (scope.to_owned(), Hosted::Platform(plat))
            }
        };
        let Some(pv) = view.packages.get(&package) else {
            return Ok(None);
        };
        let versions: Vec<String> = pv
            .by_semver
            .iter()
            .filter(|(_, ts)| match hosted {
                Hosted::Loader => ts.iter().any(|t| Platform::from_name(&t.platform).is_ok()),
                Hosted::Platform(p) => ts.iter().any(|t| t.platform == p.name()),
            })
            .map(|(v, _)| v.to_string())
            .collect();
        if versions.is_empty() {
            return Ok(None);
        }
        Ok(Some((package, hosted, versions)))
    }

    /// The trust anchor records verify from: a mirror's pinned upstream root, else the repository's first root.
    async fn anchor(st: &impl Source) -> Result<Vec<u8>, ApiError> {
        if let Some(dir) = st.local_dir() {
            if x0x_dist_repository::mirror::is_mirror(dir) {
                let dir = dir.to_owned();
                return crate::published::blocking(move || {
                    x0x_dist_repository::mirror::Settings::load(&dir)
                        .map(|s| s.root)
                        .map_err(|e| ApiError::Internal(format!("mirror settings: {e}")))
                })
                .await;
            }
        }
        let key = ObjectKey::metadata("1.root.json")?;
        Ok(st
            .store()
            .get_object(&key)
            .await?
            .ok_or_else(|| ApiError::Internal("repository has no 1.root.json".into()))?
            .bytes
            .to_vec())
    }

    /// The withdrawn releases of the published state (`timestamp.json` as the store has it), verified from the
    /// trust anchor; cached until `timestamp.json` changes (every revocation writes a new one). A snapshot that
    /// lists a revocations role the store lacks (a mirror that does not carry it yet) counts as none withdrawn,
    /// with a warning; one that does not verify is an error (nothing is served as if it were active).
    pub async fn withdrawn(&self, st: &impl Source) -> Result<Arc<Withdrawn>, ApiError> {
        let ts = st
            .store()
            .get_object(&ObjectKey::metadata("timestamp.json")?)
            .await?
            .ok_or_else(|| ApiError::Internal("repository has no timestamp.json".into()))?
            .bytes
            .to_vec();
        if let Some((cached, w)) = self.withdrawn.read().ok().and_then(|g| g.clone()) {
            if cached == ts {
                return Ok(w);
            }
        }
        let cur = crate::published::Published::load_at(st.store(), &ts).await?;
        let Some(m) = cur
            .snapshot
            .signed()
            .meta
            .get(&format!("{REVOCATIONS_ROLE}.json"))
        else {
            let w = Arc::new(Withdrawn::default());
            if let Ok(mut g) = self.withdrawn.write() {
                *g = Some((ts, w.clone()));
            }
            return Ok(w);
        };
        let name = format!("{}.{REVOCATIONS_ROLE}.json", m.version);
        let Some(rev) = st.store().get_object(&ObjectKey::metadata(&name)?).await? else {
            tracing::warn!(file = %name, "npm: the snapshot lists revocations this store lacks; none reflected");
            return Ok(Arc::new(Withdrawn::default()));
        };
        let mut files = head_files(st, &cur).await?;
        files.insert("timestamp.json".into(), ts.clone());
        let anchor = Self::anchor(st).await?;
        let rev = rev.bytes.to_vec();
        let r = crate::published::blocking(move || {
            record::verify_revocations(&files, Some(&rev), &anchor)
        })
        .await?;
        let w = Arc::new(Withdrawn(r));
        if let Ok(mut g) = self.withdrawn.write() {
            *g = Some((ts, w.clone()));
        }
        Ok(w)
    }

    /// The verified record of `package` `version`: from memory, the store, the upstream (a mirror), or made now.
    pub async fn record(
        &self,
        st: &impl Source,
        package: &str,
        version: &str,
    ) -> Result<Arc<Loaded>, ApiError> {
        let key = (package.to_owned(), version.to_owned());
        if let Some(r) = self.records.read().ok().and_then(|m| m.get(&key)) {
            return Ok(r);
        }
        let _one = self.making.lock().await;
        if let Some(r) = self.records.read().ok().and_then(|m| m.get(&key)) {
            return Ok(r);
        }
        let anchor = Self::anchor(st).await?;
        let object = ObjectKey::npm(&record::object_name(package, version))?;
        let loaded = if let Some(o) = st.store().get_object(&object).await? {
            let rec: Record = serde_json::from_slice(&o.bytes)
                .map_err(|e| ApiError::Internal(format!("{object}: {e}")))?;
            Self::check(rec, package, version, anchor).await?
        } else {
            let from_upstream = match self.upstream.get() {
                Some(up) => match self.fetch_record(up, package, version).await {
                    Ok(rec) => Some(Self::check(rec, package, version, anchor.clone()).await?),
                    Err(e) => {
                        tracing::warn!(package, version, error = %e, "npm: no release record from the upstream; making one here");
                        None
                    }
                },
                None => None,
            };
            let loaded = match from_upstream {
                Some(l) => l,
                None => self.make(st, package, version, anchor.clone()).await?,
            };
            let bytes = serde_json::to_vec_pretty(&loaded.record)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            st.store()
                .put_object(&object, Bytes::from(bytes.clone()))
                .await?;
            // Another replica on the same store may have written its record at the same moment (each makes one
            // only when none is stored): whatever the store holds now is the record, for every replica.
            match st.store().get_object(&object).await? {
                Some(o) if o.bytes != bytes => {
                    let rec: Record = serde_json::from_slice(&o.bytes)
                        .map_err(|e| ApiError::Internal(format!("{object}: {e}")))?;
                    Self::check(rec, package, version, anchor).await?
                }
                _ => loaded,
            }
        };
        let loaded = Arc::new(loaded);
        if let Ok(mut m) = self.records.write() {
            m.insert(key, loaded.clone(), record_weight(&loaded));
        }
        Ok(loaded)
    }

    async fn fetch_record(
        &self,
        up: &Upstream,
        package: &str,
        version: &str,
    ) -> Result<Record, String> {
        let url = format!(
            "{}/npm/-/x0x-dist/record/{package}/{version}",
            up.url.trim_end_matches('/')
        );
        let r = self
            .http()
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("{url}: HTTP {}", r.status()));
        }
        let b = r.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if b.len() > 64 * 1024 * 1024 {
            return Err(format!("{url}: record too large"));
        }
        serde_json::from_slice(&b).map_err(|e| format!("{url}: {e}"))
    }

    /// Verifies a record read from the store or an upstream.
    async fn check(
        rec: Record,
        package: &str,
        version: &str,
        anchor: Vec<u8>,
    ) -> Result<Loaded, ApiError> {
        if rec.format != record::FORMAT || rec.package != package || rec.version != version {
            return Err(ApiError::Internal(format!(
                "the release record of {package} {version} names another release"
            )));
        }
        let (package, version) = (package.to_owned(), version.to_owned());
        crate::published::blocking(move || {
            let files = rec.files()?;
            let verified = record::verify(&package, &version, &files, &anchor)?;
            Ok(Loaded {
                record: rec,
                verified,
            })
        })
        .await
    }

    /// Makes the record of a release from the repository's current verified chain: builds every tarball
    /// (checking every target's bytes) and records their `dist`.
    async fn make(
        &self,
        st: &impl Source,
        package: &str,
        version: &str,
        anchor: Vec<u8>,
    ) -> Result<Loaded, ApiError> {
        let files = current_chain(st, package).await?;
        let (p, v, a) = (package.to_owned(), version.to_owned(), anchor);
        let verified =
            crate::published::blocking(move || record::verify(&p, &v, &files, &a)).await?;
        let mut dist = BTreeMap::new();
        for (t, _) in &verified.targets {
            let name = contents::platform_package(package, t.platform)?;
            let tgz = self
                .build_platform(st, package, version, &verified, t.platform)
                .await?;
            dist.insert(name.to_string(), tgz.dist);
        }
        let tgz = build_loader(package, version, &verified)?;
        dist.insert(package.to_owned(), tgz.dist);
        let files: BTreeMap<String, Vec<u8>> = verified.files.iter().cloned().collect();
        let record = Record {
            format: record::FORMAT.to_owned(),
            package: package.to_owned(),
            version: version.to_owned(),
            created: crate::published::fmt_time(time::OffsetDateTime::now_utc()),
            metadata: Record::encode_files(&files),
            dist,
        };
        tracing::info!(package, version, "npm: release record made");
        Ok(Loaded { record, verified })
    }

    /// Builds the platform package of `platform` from the target bytes in the store (pulled first on a
    /// pull-through mirror), refusing bytes that do not match the verified entry.
    async fn build_platform(
        &self,
        st: &impl Source,
        package: &str,
        version: &str,
        verified: &Verified,
        platform: Platform,
    ) -> Result<tarball::Tarball, ApiError> {
        let (t, entry) = verified
            .targets
            .iter()
            .find(|(t, _)| t.platform == platform)
            .ok_or_else(|| not_hosted(format!("{package} {version} for {platform}")))?;
        let sha = entry.sha256()?.to_hex();
        let stored = format!("{package}/{version}/{sha}.{}", t.file);
        if let Some(up) = self.upstream.get() {
            if let Err(e) = up.pull.pull(&stored).await {
                return Err(ApiError::Npm {
                    code: Code::NetworkHttpStatus,
                    detail: format!("mirror upstream: {e}"),
                });
            }
        }
        let path = ObjectPath::parse(&stored)?;
        let bytes = match st.store().read_target_all(&path).await {
            Ok(b) => b,
            Err(e) => {
                return Err(unverified(format!(
                    "target {stored} could not be read: {e}"
                )))
            }
        };
        let target_path = format!("{package}/{version}/{}", t.file);
        let (entry, t, package, version) = (
            entry.clone(),
            t.clone(),
            package.to_owned(),
            version.to_owned(),
        );
        crate::published::blocking(move || {
            if let Err(e) = entry.verify(&target_path, &bytes) {
                return Err(unverified(format!("{target_path}: the stored bytes do not match the signed target ({e}); the npm tarball is not served")));
            }
            let files = contents::platform_files(&package, &package, &version, &t, bytes.to_vec())?;
            tarball::build(&files).map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await
    }

    /// The bytes of a tarball: `name` at `version`, checked against the record's integrity.
    pub async fn tarball(
        &self,
        st: &impl Source,
        name: &NpmName,
        package: &str,
        hosted: Hosted,
        version: &str,
    ) -> Result<(Bytes, Dist), ApiError> {
        let loaded = self.record(st, package, version).await?;
        let dist = loaded
            .record
            .dist
            .get(&name.to_string())
            .cloned()
            .ok_or_else(|| not_hosted(format!("{name}@{version}")))?;
        let key = format!("{name}@{version}");
        if let Some(b) = self
            .tarballs
            .lock()
            .ok()
            .and_then(|c| c.1.get(&key).cloned())
        {
            return Ok((b, dist));
        }
        let tgz = match hosted {
            Hosted::Loader => {
                let l = loaded.clone();
                let (p, v) = (package.to_owned(), version.to_owned());
                crate::published::blocking(move || build_loader(&p, &v, &l.verified)).await?
            }
            Hosted::Platform(p) => {
                self.build_platform(st, package, version, &loaded.verified, p)
                    .await?
            }
        };
        if tgz.dist.integrity != dist.integrity {
            return Err(unverified(format!(
                "{name}@{version}: the rebuilt tarball ({}) differs from the recorded one ({}); not served",
                tgz.dist.integrity, dist.integrity
            )));
        }
        if let Ok(mut c) = self.tarballs.lock() {
            if c.0 + tgz.bytes.len() > TARBALL_CACHE_BYTES {
                *c = (0, HashMap::new());
            }
            c.0 += tgz.bytes.len();
            c.1.insert(key, tgz.bytes.clone());
        }
        Ok((tgz.bytes, dist))
    }

    /// A cached packument (keyed by what it is for and the base URL), if still current.
    pub fn cached_packument(&self, key: &str, stamp: &Option<ETag>) -> Option<CachedFile> {
        let g = self.packuments.read().ok()?;
        match g.get(key) {
            Some((s, f)) if stamp.is_some() && s == stamp => Some(f.clone()),
            _ => None,
        }
    }

    /// Caches a packument.
    pub fn cache_packument(&self, key: String, stamp: Option<ETag>, f: CachedFile) {
        if let Ok(mut g) = self.packuments.write() {
            if g.len() > 4096 {
                g.clear();
            }
            g.insert(key, (stamp, f));
        }
    }
}

/// Builds the loader package of a verified record.
pub fn build_loader(
    package: &str,
    version: &str,
    v: &Verified,
) -> Result<tarball::Tarball, ApiError> {
    let targets: Vec<ReleaseTarget> = v.targets.iter().map(|(t, _)| t.clone()).collect();
    let files = contents::loader_files(package, version, &targets, &v.files, &v.first_root)?;
    tarball::build(&files).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The package.json of `hosted` at a verified version (for version documents).
pub fn manifest(
    package: &str,
    version: &str,
    hosted: Hosted,
    v: &Verified,
) -> Result<serde_json::Value, ApiError> {
    match hosted {
        Hosted::Loader => {
            let targets: Vec<ReleaseTarget> = v.targets.iter().map(|(t, _)| t.clone()).collect();
            let files = contents::loader_files(package, version, &targets, &[], &[])?;
            Ok(contents::manifest_of(&files[..1]))
        }
        Hosted::Platform(p) => {
            let (t, _) = v
                .targets
                .iter()
                .find(|(t, _)| t.platform == p)
                .ok_or_else(|| not_hosted(format!("{package} {version} for {p}")))?;
            let pj = contents::platform_package_json(package, package, version, t)?.pretty();
            let mut m: serde_json::Value = serde_json::from_str(&pj).unwrap_or_default();
            if let Some(o) = m.as_object_mut() {
                o.remove("files");
                o.remove("publishConfig");
            }
            Ok(m)
        }
    }
}

/// Whether a platform runs anywhere (a WASM build), for the packument's description.
pub fn is_wasm(p: Platform) -> bool {
    p.kind() == Kind::Wasm
}

/// `N.root.json` for every N up to `latest` that the store holds, from the first one present (a mirror keeps only
/// the roots that chain to its own; a gap after the first is an error).
async fn root_chain(st: &impl Source, latest: u64) -> Result<BTreeMap<String, Vec<u8>>, ApiError> {
    let mut files = BTreeMap::new();
    for v in 1..=latest {
        let name = format!("{v}.root.json");
        match st.store().get_object(&ObjectKey::metadata(&name)?).await? {
            Some(o) => {
                files.insert(name, o.bytes.to_vec());
            }
            None if !files.is_empty() => {
                return Err(ApiError::Internal(format!("repository lacks {name}")));
            }
            None => {}
        }
    }
    Ok(files)
}

/// The roots from the first one present and the snapshot `cur` pins, as the store has them (the caller adds
/// the `timestamp.json` it read `cur` from).
async fn head_files(
    st: &impl Source,
    cur: &crate::published::Published,
) -> Result<BTreeMap<String, Vec<u8>>, ApiError> {
    let mut files = root_chain(st, cur.root.signed().version).await?;
    let sv = cur.timestamp.signed().snapshot_meta().version;
    let name = format!("{sv}.snapshot.json");
    let o = st
        .store()
        .get_object(&ObjectKey::metadata(&name)?)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("repository lacks {name}")))?;
    files.insert(name, o.bytes.to_vec());
    Ok(files)
}

/// The current chain of `package` as the store has it: roots from the first one present, `timestamp.json`,
/// and the snapshot, top-level targets and package role it pins (verified by [`record::verify`]).
async fn current_chain(
    st: &impl Source,
    package: &str,
) -> Result<BTreeMap<String, Vec<u8>>, ApiError> {
    let cur = crate::published::Published::load(st.store()).await?;
    let mut files = root_chain(st, cur.root.signed().version).await?;
    let get = |n: String| async move {
        st.store()
            .get_object(&ObjectKey::metadata(&n)?)
            .await?
            .map(|o| (n.clone(), o.bytes.to_vec()))
            .ok_or_else(|| ApiError::Internal(format!("repository lacks {n}")))
    };
    let sv = cur.timestamp.signed().snapshot_meta().version;
    let tv = cur
        .snapshot
        .signed()
        .meta
        .get("targets.json")
        .map_or(0, |m| m.version);
    let rv = cur.role_version(package);
    for n in [
        "timestamp.json".to_owned(),
        format!("{sv}.snapshot.json"),
        format!("{tv}.targets.json"),
        format!("{rv}.{package}.json"),
    ] {
        let (n, b) = get(n).await?;
        files.insert(n, b);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn bounded_map_evicts_the_oldest_past_its_bound_and_keeps_the_newest() {
        let mut m: Bounded<u32, &str> = Bounded::new(100);
        for k in 0..10 {
            m.insert(k, "v", 30);
        }
        // 3 entries of 30 fit in 100: the three newest.
        assert_eq!(m.map.len(), 3);
        assert_eq!(m.weight, 90);
        assert!(m.get(&6).is_none());
        assert_eq!(m.get(&9), Some("v"));
        // Replacing an entry re-weighs it without a second place in the order.
        m.insert(9, "w", 10);
        assert_eq!((m.weight, m.order.len(), m.get(&9)), (70, 3, Some("w")));
        // One entry heavier than the bound still stays (it was just asked for), alone.
        m.insert(42, "big", 500);
        assert_eq!((m.map.len(), m.get(&42), m.weight), (1, Some("big"), 500));
    }
}
