//! A newcomer's common mistakes, driven through the real `x0x-dist` binary: each ends with its stable code, the
//! codes table's exit status and, where the message alone does not say it, a `help:` line with the next step.
//! And every command's `--help` carries examples whose flags exist.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]

use x0x_dist_test_support::cli;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cli::{bin, free_port, run_ok, setup_repo, start_server};

/// Runs `cmd`, expects `code` with its exit status and a `help:` line containing `help`; returns stderr.
fn mistake(cmd: &mut Command, code: &str, help: &str) -> String {
    let status = i32::from(x0x_dist_manifests::codes::exit_status(code));
    let err = cli::fails(cmd, status, code);
    let line = err
        .lines()
        .find(|l| l.trim_start().starts_with("help: "))
        .unwrap_or_else(|| panic!("{cmd:?}: no help line: {err}"));
    assert!(
        line.contains(help),
        "{cmd:?}: help should mention {help:?}: {err}"
    );
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Regression: these were `error[internal]` (exit 1, "this is a bug") or a clap-style doubled `error: error:`.
#[test]
fn local_mistakes() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let (key, _token) = setup_repo(&repo);
    let missing = t.path().join("nope");
    let root = repo.join("metadata/1.root.json");

    // A --repo that holds no repository: repo.not_found (the message names `x0x-dist init`).
    let err = cli::fails(
        bin()
            .args(["package", "add", "--repo", s(&missing), "y0y"])
            .arg("--publisher-key")
            .arg(key.with_extension("key.pub")),
        5,
        "repo.not_found",
    );
    assert!(err.contains("x0x-dist init --repo"), "{err}");
    let err = cli::fails(
        bin().args(["serve", "--repo", s(&missing), "--listen", "127.0.0.1:0"]),
        5,
        "repo.not_found",
    );
    assert!(err.contains("x0x-dist init --repo"), "{err}");
    assert!(
        !missing.exists(),
        "serve must not create a directory it refuses"
    );
    let err = cli::fails(
        bin().args([
            "bundle",
            "export",
            "--repo",
            s(&missing),
            "--out",
            s(&t.path().join("x.bundle")),
        ]),
        5,
        "repo.not_found",
    );
    assert!(err.contains("--from URL"), "{err}");
    // A --target typo is platform.unknown listing the names that exist (was target.not_found after a resolve).
    let err = cli::fails(
        bin().args([
            "fetch",
            "--server",
            "http://127.0.0.1:9",
            "--root",
            s(&root),
            "--package",
            "x0x",
            "--target",
            "beos",
            "--out",
            s(&t.path().join("o")),
        ]),
        2,
        "platform.unknown",
    );
    assert!(
        err.contains("linux-x64-gnu") && err.contains("wasm32-wasip1"),
        "{err}"
    );

    // Clap's own errors (a missing required flag, an unknown one) carry the stable code too, and still say
    // what is missing and where to look.
    let err = cli::fails(
        bin().args([
            "fetch",
            "--server",
            "http://127.0.0.1:9",
            "--package",
            "x0x",
            "--out",
            "o",
        ]),
        2,
        "usage.invalid",
    );
    assert!(
        err.starts_with("error[usage.invalid]: the following required arguments were not provided")
    );
    assert!(
        err.contains("--root <ROOT>") && err.contains("--help"),
        "{err}"
    );
    cli::fails(bin().args(["verify", "--rpeo", "x"]), 2, "usage.invalid");
    let help = run_ok(bin().args(["fetch", "--help"]));
    assert!(
        help.contains("1.root.json"),
        "--root says where a root comes from: {help}"
    );

    // A --root that does not exist is the user's path (io.error, exit 8), not a bug.
    let err = cli::fails(
        bin().args([
            "fetch",
            "--server",
            &format!("file://{}", repo.display()),
            "--root",
            s(&t.path().join("missing-root.json")),
            "--package",
            "x0x",
            "--out",
            s(&t.path().join("out")),
        ]),
        8,
        "io.error",
    );
    assert!(err.contains("missing-root.json"), "{err}");

    // A secret key where a trusted root is expected: metadata.malformed, pointing at the right file.
    mistake(
        bin()
            .args(["fetch", "--server", &format!("file://{}", repo.display())])
            .arg("--root")
            .arg(key.with_extension("key.pub"))
            .args(["--package", "x0x", "--out", s(&t.path().join("out"))]),
        "metadata.malformed",
        "1.root.json",
    );

    // A server address without a scheme was read as a directory named `127.0.0.1:…`.
    let err = cli::fails(
        bin().args([
            "fetch",
            "--server",
            "127.0.0.1:9",
            "--root",
            s(&root),
            "--package",
            "x0x",
            "--out",
            s(&t.path().join("out")),
        ]),
        2,
        "usage.invalid",
    );
    assert!(err.contains("did you mean http://127.0.0.1:9?"), "{err}");

    // Bad version range and bad --at: one `error[usage.invalid]`, no clap `error:` inside it.
    for args in [
        vec![
            "fetch",
            "--server",
            "http://127.0.0.1:9",
            "--root",
            s(&root),
            "--package",
            "x0x",
            "--version",
            "banana",
            "--out",
            "out",
        ],
        vec!["verify", "--repo", s(&repo), "--at", "tomorrow"],
    ] {
        let err = cli::fails(bin().args(&args), 2, "usage.invalid");
        assert_eq!(err.matches("error").count(), 1, "{err}");
    }

    // A token for a package the repository does not delegate (a typo): created, with a warning.
    let out = cli::run(bin().args(["token", "create", "--repo", s(&repo), "--package", "xox"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: package xox is not delegated"),
        "{err}"
    );
    let out = cli::run(bin().args(["token", "create", "--repo", s(&repo), "--package", "x0x"]));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));

    // A config file that does not parse is config.invalid (it was error[internal], "a bug").
    let bad = t.path().join("bad.toml");
    std::fs::write(&bad, "[bind]\nlisten = 8096\n").unwrap();
    let err = cli::fails(
        bin().args(["serve", "--config", s(&bad), "--repo", s(&repo)]),
        2,
        "config.invalid",
    );
    assert!(err.contains("docs/server.md"), "{err}");

    // Expired metadata says what the operator can do.
    mistake(
        bin().args(["verify", "--repo", s(&repo), "--at", "2099-01-01T00:00:00Z"]),
        "metadata.expired",
        "X0X_DIST_ALLOW_EXPIRED_AFTER",
    );

    // A file that is not a bundle.
    let not_bundle = t.path().join("notes.txt");
    std::fs::write(
        &not_bundle,
        "these are not the bytes you are looking for\n".repeat(40),
    )
    .unwrap();
    mistake(
        bin()
            .args([
                "bundle",
                "import",
                s(&not_bundle),
                "--repo",
                s(&t.path().join("m")),
            ])
            .args(["--root", s(&root)]),
        "bundle.invalid",
        "tar tvf",
    );
    mistake(
        bin()
            .args(["fetch", "--bundle", s(&not_bundle), "--root", s(&root)])
            .args(["--package", "x0x", "--out", s(&t.path().join("out"))]),
        "bundle.invalid",
        "bundle export",
    );

    // A misspelt --targets selected nothing and succeeded (an empty mirror); now it is refused up front.
    for verb in [
        &["mirror", "sync"][..],
        &["bundle", "export", "--out", "x.bundle"],
    ] {
        let mut cmd = bin();
        cmd.args(verb).args([
            "--repo",
            s(&repo),
            "--root",
            s(&root),
            "--targets",
            "linux-x64-gnu,beos",
        ]);
        if verb[0] == "mirror" {
            cmd.args(["--from", "http://127.0.0.1:9"]);
        }
        let err = mistake(&mut cmd, "platform.unknown", "linux-x64-gnu");
        assert!(err.contains("\"beos\""), "{err}");
    }
}

/// A repository `dir/repo` with package `x0x` (publisher key, upload token) and a WASM file holding `bytes`:
/// `(repo, key, token, wasm)`.
fn repo_and_wasm(dir: &Path, bytes: &[u8]) -> (PathBuf, PathBuf, String, PathBuf) {
    let repo = dir.join("repo");
    let (key, token) = setup_repo(&repo);
    let wasm = dir.join("x0x.wasm32-wasip1.wasm");
    std::fs::write(&wasm, bytes).unwrap();
    (repo, key, token, wasm)
}

/// Publishing against a server: down, no scheme, a path instead of the base URL, a wrong token.
#[test]
fn publish_mistakes() {
    let t = tempfile::tempdir().unwrap();
    let (repo, key, token, wasm) = repo_and_wasm(
        t.path(),
        &x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b"not really",
        ),
    );
    let publish_with = |server: &str, token: &str, key: &Path| {
        let mut c = cli::publish(server, token, key, "0.1.0");
        c.arg(&wasm).env_remove("X0X_DIST_TOKEN");
        c
    };
    let publish = |server: &str, token: &str| publish_with(server, token, &key);

    // No scheme: refused at once (it used to retry a "builder error" as if the network were down).
    let started = Instant::now();
    let err = cli::fails(&mut publish("127.0.0.1:9", &token), 2, "usage.invalid");
    assert!(err.contains("did you mean http://127.0.0.1:9?"), "{err}");
    assert!(!err.contains("retrying"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Server down: network.unreachable, and how to check the server.
    let down = format!("http://127.0.0.1:{}", free_port());
    mistake(
        &mut publish(&down, &token),
        "network.unreachable",
        "/healthz",
    );

    let port = free_port();
    let mut server = start_server(&repo, port);
    let url = format!("http://127.0.0.1:{port}");
    let result = std::panic::catch_unwind(|| {
        mistake(
            &mut publish(&format!("{url}/tuf"), &token),
            "request.not_found",
            "base URL",
        );
        mistake(
            &mut publish(&url, "x0xd_wrong"),
            "auth.invalid",
            "x0x-dist token create",
        );
        let other = t.path().join("other.key");
        run_ok(bin().args(["keygen", "--out", s(&other)]));
        mistake(
            &mut publish_with(&url, &token, &other),
            "key.not_authorized",
            "package add",
        );
        // And the right command still works, then a second publish of the version says why it cannot.
        run_ok(&mut publish(&url, &token));
        mistake(&mut publish(&url, &token), "version.exists", "new version");
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Every command's `--help` has examples, and every flag an example uses is one the command has.
#[test]
fn help_has_examples_with_real_flags() {
    let commands: &[&[&str]] = &[
        &["init"],
        &["keygen"],
        &["package", "add"],
        &["package", "release"],
        &["token", "create"],
        &["verify"],
        &["serve"],
        &["publish"],
        &["fetch"],
        &["doctor"],
        &["mirror", "init"],
        &["mirror", "sync"],
        &["bundle", "export"],
        &["bundle", "import"],
        &["migrate"],
    ];
    for cmd in commands {
        let help = run_ok(bin().args(*cmd).arg("--help"));
        let (options, examples) = help
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("{cmd:?}: no examples in --help:\n{help}"));
        let examples = examples.split("\n\n").next().unwrap();
        let invocation = format!("x0x-dist {}", cmd.join(" "));
        assert!(examples.contains(&invocation), "{cmd:?}: {examples}");
        for flag in examples
            .lines()
            .map(|l| l.split(" #").next().unwrap()) // a comment may name another command's flags
            .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == '='))
            .filter(|w| w.starts_with("--") && w.len() > 2)
        {
            assert!(
                options.contains(&format!("{flag} ")) || options.contains(&format!("{flag}\n")),
                "{cmd:?}: example uses {flag}, which --help does not list:\n{help}"
            );
        }
    }
    // The long descriptions reach `--help` (the subcommand's one-line summary used to replace them).
    let fetch = run_ok(bin().args(["fetch", "--help"]));
    assert!(fetch.contains("glibc needs"), "{fetch}");
    let top = run_ok(bin().arg("--help"));
    assert!(top.contains("x0x-dist <COMMAND> --help"), "{top}");
}

/// docs/air-gapped.md: `bundle import --cache DIR`, then `fetch --offline` with no repository at all (it used
/// to demand --server or --bundle although nothing is contacted). Without --offline, a missing source is a
/// usage error that says what to pass.
#[test]
fn offline_fetch_from_an_imported_cache_needs_no_server() {
    let t = tempfile::tempdir().unwrap();
    let (repo, key, _token, wasm) = repo_and_wasm(
        t.path(),
        &x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b"offline bytes",
        ),
    );
    run_ok(
        bin()
            .args([
                "package",
                "release",
                "--repo",
                s(&repo),
                "x0x",
                "--version",
                "0.1.0",
            ])
            .args(["--key", s(&key), s(&wasm)]),
    );
    let bundle = t.path().join("x0x.bundle");
    run_ok(bin().args(["bundle", "export", "--repo", s(&repo), "--out", s(&bundle)]));
    let cache = t.path().join("cache");
    let root = repo.join("metadata/1.root.json");
    run_ok(
        bin()
            .args(["bundle", "import", s(&bundle), "--cache", s(&cache)])
            .args(["--root", s(&root)]),
    );
    let fetch = |extra: &[&str]| {
        let mut c = bin();
        c.args([
            "fetch",
            "--cache",
            s(&cache),
            "--root",
            s(&root),
            "--package",
            "x0x",
        ])
        .args(["--all-targets", "--out", s(&t.path().join("out"))])
        .args(extra)
        .env_remove("X0X_DIST_URL")
        .env_remove("X0X_DIST_OFFLINE");
        c
    };
    let err = cli::fails(&mut fetch(&[]), 2, "usage.invalid");
    assert!(err.contains("--offline"), "{err}");
    run_ok(&mut fetch(&["--offline"]));
    assert_eq!(
        std::fs::read(t.path().join("out/x0x.wasm32-wasip1.wasm")).unwrap(),
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b"offline bytes"
        )
    );
}
