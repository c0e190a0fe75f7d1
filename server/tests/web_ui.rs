//! The web UI at `/`: trust status, roles with expiry, the platform matrix of a published release with links to
//! the hash-prefixed target URLs; and a repository whose chain does not verify is shown as such, with its code.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use axum::http::StatusCode;
use common::*;

#[tokio::test]
async fn shows_published_release_matrix_and_trust_status() {
    let fx = repo(1);
    let st = fx.state().await;
    let empty = get(&st, "/").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(empty.body.to_vec()).unwrap();
    assert!(html.contains("Signatures and thresholds verify"), "{html}");

    let role = release(&fx, &st, None, "0.3.1").await;
    let html = String::from_utf8(get(&st, "/").await.body.to_vec()).unwrap();
    assert!(html.contains("0.3.1"), "{html}");
    for (name, t) in &role.signed().targets {
        let path = name.package_target().unwrap();
        let sha = t.sha256().unwrap().to_hex();
        let url = format!(
            "/tuf/targets/{}/{}/{sha}.{}",
            path.package(),
            path.version(),
            path.file_name()
        );
        assert!(html.contains(&url), "missing link {url} in {html}");
        // The link serves exactly the published bytes.
        assert_eq!(get(&st, &url).await.status, StatusCode::OK);
    }
    for role in ["root", "timestamp", "snapshot", "targets", "x0x"] {
        assert!(
            html.contains(&format!("<td>{role}</td>")),
            "role {role} missing"
        );
    }
}

#[tokio::test]
async fn tampered_chain_is_shown_as_not_verifying() {
    let fx = repo(1);
    let st = fx.state().await;
    let ts = fx.path().join("metadata/timestamp.json");
    let text = std::fs::read_to_string(&ts).unwrap();
    // Change a signed field without re-signing: the signature no longer verifies.
    let tampered = text.replacen("\"version\":", "\"version\": 1000000 , \"x\":", 1);
    assert_ne!(text, tampered);
    std::fs::write(&ts, tampered).unwrap();
    let html = String::from_utf8(get(&st, "/").await.body.to_vec()).unwrap();
    assert!(html.contains("does NOT verify"), "{html}");
    assert!(!html.contains("Signatures and thresholds verify"), "{html}");
}
