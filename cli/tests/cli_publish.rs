//! End to end with the real binary: `init`, `keygen`, `package add`, `token create`, `serve`, `publish` (with a
//! real ELF so the glibc floor is read), then a full verification of the repository.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use common::cli::{bin, fails, free_port, publish, run_ok, setup_repo, start_server};

#[test]
fn publish_with_the_cli_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    assert!(token.starts_with("x0xd_"), "{token}");
    let port = free_port();
    let mut server = start_server(&repo, port);
    let files = tmp.path().join("dist");
    std::fs::create_dir_all(&files).unwrap();
    // A real glibc ELF stands in for the native addon; a minimal WASM module (no imports) for the WASM build.
    std::fs::copy("/bin/true", files.join("x0x.linux-x64-gnu.node")).unwrap();
    std::fs::write(
        files.join("x0x.wasm32-wasip1.wasm"),
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b" not really",
        ),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let out = run_ok(
        publish(&url, &token, &key, "0.3.1")
            .arg(files.join("x0x.linux-x64-gnu.node"))
            .arg(files.join("x0x.wasm32-wasip1.wasm")),
    );
    assert!(out.contains("published x0x 0.3.1"), "{out}");
    assert!(
        out.contains("x86_64-unknown-linux-gnu") && out.contains("glibc>=2."),
        "{out}"
    );
    // Publishing the same version again is refused with its code and exit status 6 (conflict).
    fails(
        publish(&url, &token, &key, "0.3.1").arg(files.join("x0x.wasm32-wasip1.wasm")),
        6,
        "version.exists",
    );
    // A wrong token: exit status 9 (auth).
    fails(
        publish(&url, "x0xd_nope", &key, "0.3.2").arg(files.join("x0x.wasm32-wasip1.wasm")),
        9,
        "auth.invalid",
    );
    // The JSON API sees the release with the glibc floor.
    let body = reqwest::blocking_get(&format!(
        "{url}/api/v1/packages/x0x/resolve?range=%5E0.3&target=linux-x64-gnu"
    ));
    assert!(
        body.contains("\"version\":\"0.3.1\"") && body.contains("glibc_floor"),
        "{body}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    assert_eq!(common::verify_repo(&repo), 2);
}

mod reqwest {
    /// A tiny blocking GET over a raw socket (keeps the test free of a blocking HTTP client).
    pub fn blocking_get(url: &str) -> String {
        use std::io::{Read as _, Write as _};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }
}

/// `token list` shows ids (never tokens), `token revoke` removes one, and the running server refuses it on the
/// very next request (the token file's identity changes even within one mtime tick) while the others still work.
#[test]
fn a_revoked_token_is_refused_at_once_and_the_others_keep_working() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, first) = setup_repo(&repo);
    let second = run_ok(
        bin()
            .args(["token", "create", "--repo"])
            .arg(&repo)
            .args(["--package", "x0x"]),
    )
    .trim()
    .to_owned();
    let list = |repo: &std::path::Path| -> Vec<serde_json::Value> {
        serde_json::from_str(&run_ok(
            bin().args(["token", "list", "--json", "--repo"]).arg(repo),
        ))
        .unwrap()
    };
    let before = list(&repo);
    assert_eq!(before.len(), 2, "{before:?}");
    let listed = serde_json::to_string(&before).unwrap();
    assert!(
        !listed.contains(&first) && !listed.contains(&second) && !listed.contains("sha256"),
        "token list must not show tokens or hashes: {listed}"
    );
    let port = free_port();
    let mut server = start_server(&repo, port);
    let url = format!("http://127.0.0.1:{port}");
    let wasm = tmp.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(
        &wasm,
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b" not really",
        ),
    )
    .unwrap();
    run_ok(publish(&url, &first, &key, "0.1.0").arg(&wasm));
    // Revoke the first token (created first: listed first) and use it at once.
    let id = before[0]["id"].as_str().unwrap().to_owned();
    run_ok(
        bin()
            .args(["token", "revoke", "--repo"])
            .arg(&repo)
            .arg(&id),
    );
    fails(
        publish(&url, &first, &key, "0.2.0").arg(&wasm),
        9,
        "auth.invalid",
    );
    run_ok(publish(&url, &second, &key, "0.2.0").arg(&wasm));
    let after = list(&repo);
    assert_eq!(after.len(), 1);
    assert_ne!(after[0]["id"].as_str(), Some(id.as_str()));
    // An id that does not exist is a usage error naming `token list`.
    let err = fails(
        bin()
            .args(["token", "revoke", "--repo"])
            .arg(&repo)
            .arg(&id),
        2,
        "usage.invalid",
    );
    assert!(err.contains("token list"), "{err}");
    server.kill().unwrap();
    server.wait().unwrap();
}
