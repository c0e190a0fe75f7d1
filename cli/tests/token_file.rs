//! Issue 25, finding 8: the upload token stays off the command line. `publish --token-file FILE` works, and
//! the docs show it (or `X0X_DIST_TOKEN`), never `--token "$(cat token)"`.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use common::cli::{bin, fails, free_port, run_ok, setup_repo, start_server};

#[test]
fn publish_reads_the_token_from_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let port = free_port();
    let mut server = start_server(&repo, port);
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let wasm = tmp.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(
        &wasm,
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b"token-file",
        ),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let publish = |version: &str| {
        let mut c = bin();
        c.args(["publish", "--server", &url, "--key"])
            .arg(&key)
            .args(["--package", "x0x", "--version", version])
            .env_remove("X0X_DIST_TOKEN");
        c
    };
    let out = run_ok(
        publish("1.0.0")
            .arg("--token-file")
            .arg(&token_file)
            .arg(&wasm),
    );
    assert!(out.contains("published x0x 1.0.0"), "{out}");
    // No token at all: auth.missing naming both ways to pass it, before any upload.
    let err = fails(publish("1.0.1").arg(&wasm), 9, "auth.missing");
    assert!(
        err.contains("--token-file") && err.contains("X0X_DIST_TOKEN"),
        "{err}"
    );
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn the_docs_never_put_the_token_on_the_command_line() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pages = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    for p in pages {
        let text = std::fs::read_to_string(&p).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !(line.contains("--token \"$(")
                    || line.contains("--token $(")
                    || line.contains("--token \"$TOKEN")),
                "{}:{}: shows the token on the command line: {line}",
                p.display(),
                n + 1
            );
        }
    }
}
