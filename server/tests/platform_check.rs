//! Issue 21, defect 1 on the server: a client that skips `x0x-dist publish`'s content check (it uploads the
//! blob and submits a signed role itself) is refused with `target.platform_mismatch`, and nothing is published;
//! a release whose files are what their names say is accepted. In-process server (`oneshot`), a repository
//! made by the offline `init` / `package add`, real signatures.
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use x0x_dist_loader::artifact::minimal_build;
use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::{
    PackageName, Platform, Sha256, Signed, SigningKey, TargetCustom, TargetFile, TargetPath,
    Targets, Version,
};
use x0x_dist_server::config::Config;
use x0x_dist_server::state::AppState;

struct Repo {
    dir: tempfile::TempDir,
    publisher: SigningKey,
    token: String,
}

fn repo() -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let expiry = x0x_dist_repository::repo::Expiry::default();
    x0x_dist_repository::repo::init(dir.path(), now, &expiry).unwrap();
    let publisher = SigningKey::from_seed(&[7; 32]);
    let pkg: PackageName = "x0x".parse().unwrap();
    x0x_dist_repository::repo::add_package(
        dir.path(),
        &pkg,
        &[publisher.public().clone()],
        1,
        now,
        &expiry,
    )
    .unwrap();
    let (token, _) = x0x_dist_repository::tokens::create(dir.path(), &["x0x".into()]).unwrap();
    Repo {
        dir,
        publisher,
        token,
    }
}

async fn state(r: &Repo) -> Arc<AppState> {
    let mut c = Config::default();
    c.storage.repo = r.dir.path().to_owned();
    let st = Arc::new(AppState::new(c).unwrap());
    x0x_dist_server::server::startup_check(&st).await.unwrap();
    st
}

async fn call(st: &Arc<AppState>, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let resp = x0x_dist_server::router::router(st.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// Uploads `data` and submits role version 1 listing it as `platform`'s file of x0x `version`.
async fn publish(
    r: &Repo,
    st: &Arc<AppState>,
    version: &str,
    platform: Platform,
    data: &[u8],
) -> (StatusCode, serde_json::Value) {
    let auth = format!("Bearer {}", r.token);
    let (status, body) = call(
        st,
        Request::put(format!(
            "/api/v1/blobs/sha256/{}",
            Sha256::digest(data).to_hex()
        ))
        .header("authorization", &auth)
        .body(Body::from(data.to_vec()))
        .unwrap(),
    )
    .await;
    assert!(status.is_success(), "{body}");
    let pkg: PackageName = "x0x".parse().unwrap();
    let v: Version = version.parse().unwrap();
    let file = platform.file_name(&pkg);
    let floor =
        (platform.info().libc == x0x_dist_manifests::Libc::Glibc).then(|| "2.17".to_owned());
    let custom = TargetCustom::new(&pkg, &v, platform, floor);
    let mut role = Targets::empty(
        1,
        time::OffsetDateTime::now_utc() + time::Duration::days(30),
    );
    role.targets.insert(
        TargetPath::new(&pkg, &v, &file).unwrap().name(),
        TargetFile::for_bytes(data, Some(&custom)),
    );
    let role = Signed::new(role, &[&r.publisher]).unwrap();
    call(
        st,
        Request::post("/api/v1/packages/x0x/role")
            .header("authorization", &auth)
            .body(Body::from(role.to_bytes()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn an_x86_64_binary_named_for_arm64_is_refused_and_nothing_is_published() {
    let r = repo();
    let st = state(&r).await;
    let x64 = minimal_build(Platform::LinuxX64Gnu, b"an x86-64 build");
    let (status, body) = publish(&r, &st, "0.1.0", Platform::LinuxArm64Gnu, &x64).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "target.platform_mismatch", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("x0x.linux-arm64-gnu.node") && detail.contains("64-bit x86_64 ELF"),
        "{detail}"
    );
    // Nothing published: no role, no target linked.
    assert!(!r.dir.path().join("metadata/1.x0x.json").exists());
    assert!(!r.dir.path().join("targets/x0x").exists());
}

#[tokio::test]
async fn random_bytes_named_as_wasm_are_refused() {
    let r = repo();
    let st = state(&r).await;
    let random: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (status, body) = publish(&r, &st, "0.1.0", Platform::Wasm32Wasip1, &random).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "target.platform_mismatch", "{body}");
    // A threads build named as the plain flavour: its imports give it away.
    let threads = minimal_build(Platform::Wasm32Wasip1Threads, b"threads");
    let (_, body) = publish(&r, &st, "0.1.0", Platform::Wasm32Wasip1, &threads).await;
    assert_eq!(body["code"], "target.platform_mismatch", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("thread-spawn"),
        "{body}"
    );
}

#[tokio::test]
async fn a_file_that_is_what_its_name_says_is_published() {
    let r = repo();
    let st = state(&r).await;
    let arm = minimal_build(Platform::LinuxArm64Gnu, b"an arm64 build");
    let (status, body) = publish(&r, &st, "0.1.0", Platform::LinuxArm64Gnu, &arm).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(r.dir.path().join("metadata/1.x0x.json").exists());
}

#[tokio::test]
async fn a_token_for_another_package_is_refused_before_the_blob_is_stored() {
    let r = repo();
    let (other, _) = x0x_dist_repository::tokens::create(r.dir.path(), &["other".into()]).unwrap();
    let st = state(&r).await;
    let data = minimal_build(Platform::Wasm32Wasip1, b"scoped");
    let digest = Sha256::digest(&data).to_hex();
    let (status, body) = call(
        &st,
        Request::put(format!("/api/v1/blobs/sha256/{digest}?package=x0x"))
            .header("authorization", format!("Bearer {other}"))
            .body(Body::from(data.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "auth.forbidden");
    let blobs = r.dir.path().join("blobs");
    let stored = walk(&blobs);
    assert!(stored.is_empty(), "stored after auth.forbidden: {stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .flat_map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                vec![e.path()]
            }
        })
        .collect()
}
