//! Issue 21 (demo logs): a `HEAD` answered 404 — `x0x-dist publish` asking "do you have this blob?" before each
//! upload — is a probe, logged at debug, not as "request rejected"; the request duration is logged rounded to
//! the microsecond (`ms=0.113`, not `ms=0.11298699999999999`). In-process server, real repository.
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;
use x0x_dist_server::config::Config;
use x0x_dist_server::state::AppState;

#[tokio::test(flavor = "current_thread")]
async fn a_head_probe_for_a_missing_blob_is_not_a_rejection() {
    let (buf, _guard) = x0x_dist_test_support::logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    x0x_dist_repository::repo::init(
        dir.path(),
        now,
        &x0x_dist_repository::repo::Expiry::default(),
    )
    .unwrap();
    let (token, _) = x0x_dist_repository::tokens::create(dir.path(), &["x0x".into()]).unwrap();
    let mut c = Config::default();
    c.storage.repo = dir.path().to_owned();
    let st = Arc::new(AppState::new(c).unwrap());
    x0x_dist_server::server::startup_check(&st).await.unwrap();
    let call = |req: Request<Body>| {
        let st = st.clone();
        async move {
            x0x_dist_server::router::router(st)
                .oneshot(req)
                .await
                .unwrap()
                .status()
        }
    };
    let blob = format!("/api/v1/blobs/sha256/{}", "ab".repeat(32));
    let head = Request::head(&blob)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(head).await, StatusCode::NOT_FOUND);
    // A real rejection still is one.
    let get = Request::get("/tuf/metadata/9.snapshot.json")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(get).await, StatusCode::NOT_FOUND);
    let logs = buf.text();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["fields"]["status"].is_number())
        .collect();
    let probe = lines
        .iter()
        .find(|l| l["fields"]["path"] == blob.as_str())
        .unwrap_or_else(|| panic!("{logs}"));
    assert_eq!(probe["level"], "DEBUG", "{logs}");
    assert_eq!(probe["fields"]["message"], "request", "{logs}");
    let rejected = lines
        .iter()
        .find(|l| l["fields"]["path"] == "/tuf/metadata/9.snapshot.json")
        .unwrap();
    assert_eq!(rejected["fields"]["message"], "request rejected", "{logs}");
    for l in &lines {
        let ms = l["fields"]["ms"].to_string();
        let decimals = ms.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 3, "ms not rounded to the microsecond: {l}");
    }
}
