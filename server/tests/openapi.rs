//! The OpenAPI document describes exactly the router's routes, and every described operation is routed.
use x0x_dist_test_support::fixture as common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use tower::ServiceExt as _;

/// A concrete URI for a route pattern.
fn example_uri(path: &str) -> String {
    path.replace("{file}", "1.root.json")
        .replace("{*path}", "x0x/1.0.0/f")
        .replace("{digest}", &"0".repeat(64))
        .replace("{name}", "x0x")
}

#[tokio::test]
async fn openapi_matches_router() {
    use std::collections::BTreeSet;
    let table: BTreeSet<(String, String)> = x0x_dist_server::router::ROUTES
        .iter()
        .flat_map(|r| {
            r.methods
                .iter()
                .map(|m| ((*m).to_owned(), r.openapi_path()))
        })
        .collect();
    let documented: BTreeSet<(String, String)> =
        x0x_dist_server::openapi::operations().into_iter().collect();
    let undocumented: Vec<_> = table.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&table).collect();
    assert!(
        undocumented.is_empty(),
        "routed but not in openapi.json: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "in openapi.json but not in router::ROUTES: {unrouted:?}"
    );

    // The router is what ROUTES says: each listed method is routed, every other method answers 405 (NoRoute).
    let fx = repo(1);
    let st = fx.state().await;
    for r in x0x_dist_server::router::ROUTES {
        let uri = example_uri(r.path);
        for method in ["get", "head", "put", "post", "delete", "patch"] {
            let listed = r.methods.contains(&method);
            // axum answers HEAD wherever it answers GET.
            let implied = method == "head" && r.methods.contains(&"get");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = x0x_dist_server::router::router(st.clone())
                .oneshot(
                    Request::builder()
                        .method(m)
                        .uri(&uri)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let routed = resp
                .extensions()
                .get::<x0x_dist_server::router::NoRoute>()
                .is_none();
            assert_eq!(
                routed,
                listed || implied,
                "{method} {uri}: routed={routed}, listed in ROUTES={listed} ({})",
                resp.status()
            );
        }
    }
    // And the fallback does mark unrouted requests (so the check above can fail).
    let resp = x0x_dist_server::router::router(st.clone())
        .oneshot(Request::get("/api/v1/nothing").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp
        .extensions()
        .get::<x0x_dist_server::router::NoRoute>()
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
    let _ = get(&st, "/api/v1/packages").await;
    let _ = get(&st, "/api/v1/packages/x0x/role").await;
    let _ = get(&st, "/api/v1/nothing").await;
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
    // Labels come from the matched route (router::ROUTES), an unrouted request counts as "other".
    for line in [
        "x0x_dist_http_requests_total{route=\"api\",status=\"2xx\"} 1",
        "x0x_dist_http_requests_total{route=\"publish\",status=\"4xx\"} 1",
        "x0x_dist_http_requests_total{route=\"other\",status=\"4xx\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
    assert!(text.contains("# TYPE x0x_dist_http_request_duration_seconds histogram"));
    assert!(text.contains("x0x_dist_timestamp_expires_seconds "));
    assert!(!text.contains("x0x_dist_timestamp_expires_seconds 0\n"));
}
