//! A repository built with the manifests crate in the server's layout, an in-process server, and helpers to
//! build signed releases.

pub use crate::cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use x0x_dist::client::{next_role, ReleaseFile};
use x0x_dist_manifests::metadata::{DelegatedRole, Delegations, MetaFile, NewRole as _};
use x0x_dist_manifests::{
    PackageName, Platform, Root, Sha256, Signed, SigningKey, Snapshot, Targets, Timestamp, Version,
};
use x0x_dist_server::config::Config;
use x0x_dist_server::state::AppState;

pub const PKG: &str = "x0x";

/// A repository on disk plus its keys.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root_key: SigningKey,
    pub targets_key: SigningKey,
    pub publishers: Vec<SigningKey>,
    pub token: String,
    pub other_token: String,
}

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_seed(&[n; 32])
}

pub fn far_future() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(365)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A repository with package `x0x` delegated to `publishers` keys with `threshold`, and tokens for `x0x` and
/// for another package.
pub fn repo_in(dir: tempfile::TempDir, threshold: u64) -> Fixture {
    let (root_key, targets_key, snap_key, ts_key) = (key(1), key(2), key(3), key(4));
    let publishers = vec![key(10), key(11)];
    let exp = far_future();
    let mut root = Root::empty(1, exp);
    root.add_key("root", root_key.public()).unwrap();
    root.add_key("targets", targets_key.public()).unwrap();
    root.add_key("snapshot", snap_key.public()).unwrap();
    root.add_key("timestamp", ts_key.public()).unwrap();
    let root = Signed::new(root, &[&root_key]).unwrap();
    let mut targets = Targets::empty(1, exp);
    let pubs: Vec<_> = publishers.iter().map(SigningKey::public).collect();
    let pkg: PackageName = PKG.parse().unwrap();
    let other: PackageName = "other".parse().unwrap();
    targets.delegations = Some(Delegations {
        keys: pubs
            .iter()
            .map(|k| (k.key_id().unwrap(), (*k).clone()))
            .collect(),
        roles: vec![
            DelegatedRole::for_package(&pkg, &pubs, threshold).unwrap(),
            DelegatedRole::for_package(&other, &pubs[..1], 1).unwrap(),
        ],
        extra: BTreeMap::new(),
    });
    let targets = Signed::new(targets, &[&targets_key]).unwrap();
    let mut snap = Snapshot::empty(1, exp);
    snap.meta
        .insert("targets.json".into(), MetaFile::version(1));
    let snap = Signed::new(snap, &[&snap_key]).unwrap();
    let mut ts = Timestamp::empty(1, exp);
    ts.meta.insert("snapshot.json".into(), MetaFile::version(1));
    let ts = Signed::new(ts, &[&ts_key]).unwrap();
    let md = dir.path().join("metadata");
    std::fs::create_dir_all(&md).unwrap();
    write(&md, "1.root.json", &root.to_bytes());
    write(&md, "root.json", &root.to_bytes());
    write(&md, "1.targets.json", &targets.to_bytes());
    write(&md, "1.snapshot.json", &snap.to_bytes());
    write(&md, "timestamp.json", &ts.to_bytes());
    let online = dir.path().join("online");
    std::fs::create_dir_all(&online).unwrap();
    write(&online, "snapshot.key", &snap_key.to_secret_file().unwrap());
    write(&online, "timestamp.key", &ts_key.to_secret_file().unwrap());
    let (token, _) = x0x_dist_repository::tokens::create(dir.path(), &[PKG.into()]).unwrap();
    let (other_token, _) =
        x0x_dist_repository::tokens::create(dir.path(), &["other".into()]).unwrap();
    Fixture {
        dir,
        root_key,
        targets_key,
        publishers,
        token,
        other_token,
    }
}

pub fn repo(threshold: u64) -> Fixture {
    repo_in(tempfile::tempdir().unwrap(), threshold)
}

impl Fixture {
    pub fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    pub fn config(&self) -> Config {
        let mut c = Config::default();
        c.storage.repo = self.path();
        c.storage.max_blob_bytes = 8 << 20;
        c.limits.upload_idle_timeout_secs = 2;
        c.limits.header_read_timeout_secs = 2;
        c
    }

    pub async fn state(&self) -> Arc<AppState> {
        state_for(self.config()).await
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

pub async fn state_for(config: Config) -> Arc<AppState> {
    let st = Arc::new(AppState::new(config).unwrap());
    x0x_dist_server::server::startup_check(&st).await.unwrap();
    st
}

/// Response parts.
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the status is `status` (the body in the message otherwise).
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }
}

/// Uploads the blobs of `files` through `st` with `auth`, each accepted.
pub async fn upload(st: &Arc<AppState>, auth: &str, files: &[(Platform, Vec<u8>)]) {
    for (_, d) in files {
        let r = put_blob(st, Some(auth), d).await;
        assert!(
            r.status.is_success(),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
    }
}

pub async fn call(st: &Arc<AppState>, req: Request<Body>) -> Resp {
    let resp = x0x_dist_server::router::router(st.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body,
    }
}

pub async fn get(st: &Arc<AppState>, uri: &str) -> Resp {
    call(st, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn put_blob(st: &Arc<AppState>, auth: Option<&str>, data: &[u8]) -> Resp {
    let mut b = Request::put(format!(
        "/api/v1/blobs/sha256/{}",
        Sha256::digest(data).to_hex()
    ));
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    call(st, b.body(Body::from(data.to_vec())).unwrap()).await
}

pub async fn submit(st: &Arc<AppState>, auth: Option<&str>, package: &str, role: &[u8]) -> Resp {
    let mut b = Request::post(format!("/api/v1/packages/{package}/role"))
        .header("content-type", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    call(st, b.body(Body::from(role.to_vec())).unwrap()).await
}

/// A release file from bytes (no file on disk needed to build a role).
pub fn rfile(platform: Platform, data: &[u8]) -> ReleaseFile {
    rfile_for(PKG, platform, data)
}

/// [`rfile`] for package `package`.
pub fn rfile_for(package: &str, platform: Platform, data: &[u8]) -> ReleaseFile {
    let pkg: PackageName = package.parse().unwrap();
    ReleaseFile {
        source: PathBuf::new(),
        file_name: platform.file_name(&pkg),
        platform,
        length: data.len() as u64,
        sha256: Sha256::digest(data),
        glibc_floor: (platform.info().libc == x0x_dist_manifests::Libc::Glibc)
            .then(|| "2.17".to_owned()),
    }
}

/// Two artifacts of a release `version`: a linux-x64-gnu binary and the wasm32-wasip1 build (real headers,
/// [`x0x_dist_loader::artifact::minimal_build`], so the server's content check passes; distinct per version).
pub fn artifacts(version: &str) -> Vec<(Platform, Vec<u8>)> {
    let build = |name: &str, payload: String| {
        let p = Platform::from_name(name).unwrap();
        (
            p,
            x0x_dist_loader::artifact::minimal_build(p, payload.as_bytes()),
        )
    };
    vec![
        build("linux-x64-gnu", format!("native {version} ").repeat(500)),
        build("wasm32-wasip1", format!("wasm {version} ").repeat(300)),
    ]
}

/// The next role adding `files` as release `version`, signed by `signers`.
pub fn role(
    current: Option<&Targets>,
    version: &str,
    files: &[(Platform, Vec<u8>)],
    signers: &[&SigningKey],
) -> Signed<Targets> {
    role_for(PKG, current, version, files, signers)
}

/// [`role`] for package `package`.
pub fn role_for(
    package: &str,
    current: Option<&Targets>,
    version: &str,
    files: &[(Platform, Vec<u8>)],
    signers: &[&SigningKey],
) -> Signed<Targets> {
    let pkg: PackageName = package.parse().unwrap();
    let v: Version = version.parse().unwrap();
    let rf: Vec<_> = files
        .iter()
        .map(|(p, d)| rfile_for(package, *p, d))
        .collect();
    let mut s = next_role(current, &pkg, &v, &rf, far_future(), signers[0]).unwrap();
    for k in &signers[1..] {
        s.add_signature(k).unwrap();
    }
    s
}

/// Uploads `files` and publishes them as `version` on top of the current role; returns the new role.
pub async fn release(
    fx: &Fixture,
    st: &Arc<AppState>,
    current: Option<&Targets>,
    version: &str,
) -> Signed<Targets> {
    let files = artifacts(version);
    for (_, d) in &files {
        let r = put_blob(st, Some(&fx.bearer()), d).await;
        assert!(
            r.status.is_success(),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let signers: Vec<&SigningKey> = fx.publishers.iter().collect();
    let r = role(current, version, &files, &signers);
    let resp = submit(st, Some(&fx.bearer()), PKG, &r.to_bytes()).await;
    assert_eq!(
        resp.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    r
}

/// Verifies the whole repository on disk like a TUF client would (root, timestamp, snapshot, targets, every
/// delegated role, every target file's bytes under its hash-prefixed name); returns the number of targets.
pub fn verify_repo(dir: &Path) -> usize {
    use x0x_dist_manifests::verify::TrustedSet;
    let md = dir.join("metadata");
    let read = |n: &str| std::fs::read(md.join(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
    let mut t = TrustedSet::new(&read("1.root.json"), time::OffsetDateTime::now_utc()).unwrap();
    let mut n = 2;
    while md.join(format!("{n}.root.json")).exists() {
        t.update_root(&read(&format!("{n}.root.json"))).unwrap();
        n += 1;
    }
    t.update_timestamp(&read("timestamp.json")).unwrap();
    let sv = t.timestamp().unwrap().signed().snapshot_meta().version;
    t.update_snapshot(&read(&format!("{sv}.snapshot.json")))
        .unwrap();
    let snap = t.snapshot().unwrap().signed().clone();
    t.update_targets(&read(&format!(
        "{}.targets.json",
        snap.meta["targets.json"].version
    )))
    .unwrap();
    let mut count = 0;
    for (name, m) in &snap.meta {
        let role = name.trim_end_matches(".json");
        if role == "targets" {
            continue;
        }
        t.update_delegated(
            &read(&format!("{}.{role}.json", m.version)),
            role,
            "targets",
        )
        .unwrap();
        for (name, tf) in &t.targets(role).unwrap().signed().targets {
            let path = name.package_target().unwrap();
            let sha = tf.sha256().unwrap().to_hex();
            let file = dir.join("targets").join(format!(
                "{}/{}/{sha}.{}",
                path.package(),
                path.version(),
                path.file_name()
            ));
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            t.verify_target(path.as_str(), &data).unwrap();
            count += 1;
        }
    }
    count
}

/// Every file under `dir` (relative path → bytes), to assert that a refused command changed nothing.
pub fn tree_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
