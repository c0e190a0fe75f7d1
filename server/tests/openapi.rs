//! The OpenAPI document describes exactly the router's routes, and every described operation is routed.
mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use tower::ServiceExt as _;

#[tokio::test]
async fn openapi_matches_router() {
    let mut table: Vec<(String, String)> = x0x_dist::router::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    table.sort();
    assert_eq!(
        x0x_dist::openapi::operations(),
        table,
        "openapi.json and router::ROUTES differ"
    );

    let fx = repo(1);
    let st = fx.state().await;
    for (method, path) in &table {
        let uri = path
            .replace("{file}", "1.root.json")
            .replace("{path}", "x0x/1.0.0/f")
            .replace("{digest}", &"0".repeat(64))
            .replace("{name}", "x0x");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = x0x_dist::router::router(st.clone())
            .oneshot(
                Request::builder()
                    .method(m)
                    .uri(&uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(
            resp.extensions()
                .get::<x0x_dist::router::NoRoute>()
                .is_none(),
            "{method} {uri} is documented but not routed ({})",
            resp.status()
        );
    }
    // And the fallback does mark unrouted requests (so the check above can fail).
    let resp = x0x_dist::router::router(st.clone())
        .oneshot(Request::get("/api/v1/nothing").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp
        .extensions()
        .get::<x0x_dist::router::NoRoute>()
        .is_some());
    let resp = x0x_dist::router::router(st.clone())
        .oneshot(Request::delete("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp
        .extensions()
        .get::<x0x_dist::router::NoRoute>()
        .is_some());

    let doc = get(&st, "/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn ops_endpoints() {
    let fx = repo(1);
    let st = fx.state().await;
    assert_eq!(get(&st, "/healthz").await.json()["status"], "ok");
    assert_eq!(get(&st, "/readyz").await.json()["status"], "ready");
    let _ = get(&st, "/tuf/metadata/1.root.json").await;
    let m = get(&st, "/metrics").await;
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8_lossy(&m.body);
    assert!(
        text.contains("x0x_dist_http_requests_total{route=\"metadata\",status=\"2xx\"} 1"),
        "{text}"
    );
    assert!(text.contains("# TYPE x0x_dist_http_request_duration_seconds histogram"));
    assert!(text.contains("x0x_dist_timestamp_expires_seconds "));
    assert!(!text.contains("x0x_dist_timestamp_expires_seconds 0\n"));
}
