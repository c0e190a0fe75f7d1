//! Issue 25, finding 7: every error answer is `{code, detail}` JSON — an axum extractor's rejection (a
//! percent-encoded path parameter that is not UTF-8, a query that is not UTF-8) and the request timeout's
//! empty 408 included — and a detail quotes untrusted input shortened and escaped. Real requests on a loopback
//! socket, sent as raw bytes.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::live as support;

use std::io::{Read as _, Write as _};
use std::time::Duration;

use support::TestServer;

/// No raw control character, at most a few hundred characters: safe to print and to log.
fn assert_tame(detail: &str) {
    assert!(
        !detail.chars().any(char::is_control),
        "control character in {detail:?}"
    );
    assert!(
        detail.chars().count() <= 400,
        "{} chars: {detail}",
        detail.chars().count()
    );
}

#[test]
fn invalid_utf8_in_a_path_parameter_is_a_coded_json_400() {
    let srv = TestServer::start(|_| {});
    for target in [
        "/tuf/metadata/%FF%FE.json",
        "/api/v1/packages/%C3%28",
        "/api/v1/packages/%FF/resolve",
        "/tuf/targets/x0x/%FF/x0x.wasm32-wasip1.wasm",
    ] {
        let a = srv.get(target);
        assert_eq!(a.status, 400, "{target}: {}", a.head);
        let (code, detail) = a.error();
        assert_eq!(code, "usage.invalid", "{target}: {detail}");
        assert_tame(&detail);
    }
}

#[test]
fn a_query_that_does_not_parse_is_coded_json() {
    let srv = TestServer::start(|_| {});
    for query in ["range=%FF", "range=1&range=2"] {
        let a = srv.get(&format!("/api/v1/packages/x0x/resolve?{query}"));
        assert!(matches!(a.status, 400 | 404), "{query}: {}", a.head);
        let (_, detail) = a.error();
        assert_tame(&detail);
    }
}

#[test]
fn long_and_hostile_paths_are_quoted_short_and_escaped() {
    let srv = TestServer::start(|_| {});
    let long = "a".repeat(5_000);
    for target in [
        format!("/tuf/metadata/{long}.json"),
        format!("/no/such/route/{long}"),
        format!("/tuf/targets/{long}"),
        "/tuf/metadata/a%0Ab%1B%5B31m.json".to_owned(),
        "/no/route/a%0Ab%1B%5B31m".to_owned(),
    ] {
        let a = srv.get(&target);
        assert!(
            matches!(a.status, 400 | 404),
            "{}: {}",
            &target[..40.min(target.len())],
            a.head
        );
        let (_, detail) = a.error();
        assert_tame(&detail);
        if target.starts_with("/no/such") {
            assert!(detail.contains("… (5015 bytes)"), "not shortened: {detail}");
        }
    }
    // A method the route does not answer: the same shape.
    let a = srv.raw(
        format!("DELETE /healthz/{long} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    let (_, detail) = a.error();
    assert_tame(&detail);
}

#[test]
fn the_request_timeout_is_a_coded_json_408() {
    let srv = TestServer::start(|c| c.limits.request_timeout_secs = 1);
    let (token, _) =
        x0x_dist_repository::tokens::create(&srv.dir.path().join("repo"), &["x0x".to_owned()])
            .unwrap();
    let digest = "0".repeat(64);
    // Promises 10 bytes, sends 1, then waits: the upload's idle timeout (30 s) is longer than the request's (1 s).
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        format!(
            "PUT /api/v1/blobs/sha256/{digest} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: 10\r\nConnection: close\r\n\r\nx"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["code"], "request.timeout", "{text}");
}
