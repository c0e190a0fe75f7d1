//! Logging policy: client errors (4xx) are logged at `info`, never `error`; server errors (5xx) are logged at
//! `error` with their cause; every logged request carries its request id.
use x0x_dist_test_support::fixture as common;

use axum::http::StatusCode;
use common::*;

#[tokio::test(flavor = "current_thread")]
async fn client_errors_are_not_logged_as_errors_server_errors_are() {
    let (buf, _guard) = x0x_dist_test_support::logs::capture();
    let fx = repo(1);
    let st = fx.state().await;
    // 4xx: unknown file, bad name, missing token.
    assert_eq!(
        get(&st, "/tuf/metadata/9.snapshot.json").await.status,
        StatusCode::NOT_FOUND
    );
    // Every client's probe for the next root is a normal 404: logged at debug, not as a rejection.
    assert_eq!(
        get(&st, "/tuf/metadata/2.root.json").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&st, "/tuf/metadata/..json").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        put_blob(&st, None, b"x").await.status,
        StatusCode::UNAUTHORIZED
    );
    let logs = buf.text();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rejected: Vec<_> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request rejected")
        .collect();
    assert_eq!(rejected.len(), 3, "{logs}");
    assert!(
        rejected.iter().all(|l| l["level"] == "INFO"
            && l["fields"]["request_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty())),
        "{logs}"
    );
    assert!(
        !lines.iter().any(|l| l["level"] == "ERROR"),
        "4xx logged as error: {logs}"
    );
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"
            && l["fields"]["path"] == "/tuf/metadata/2.root.json"
            && l["fields"]["status"] == 404),
        "root probe logged at debug: {logs}"
    );

    // 5xx: the repository lost its timestamp under the server.
    std::fs::remove_file(fx.path().join("metadata/timestamp.json")).unwrap();
    let r = get(&st, "/api/v1/packages").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    let logs = buf.text();
    let errors: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "{logs}");
    assert_eq!(errors[0]["fields"]["status"], 500);
    assert_eq!(errors[0]["fields"]["path"], "/api/v1/packages");
    // The cause goes to the log, not to the client.
    assert!(
        errors[0]["fields"]["cause"]
            .as_str()
            .unwrap()
            .contains("timestamp.json"),
        "{logs}"
    );
    assert!(!r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("timestamp.json"));
}
