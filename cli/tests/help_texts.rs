//! Issue 21's CLI friction, pinned: the help and error texts a new user reads (snapshots in
//! `tests/snapshots/`, regenerated with `UPDATE_SNAPSHOTS=1 cargo test -p x0x-dist --test help_texts`), and
//! rules over every command's help: lines of at most 100 columns (the `Usage:` line excepted: clap does not
//! wrap it), no `[env: NAME=]` with an empty value.
use x0x_dist_test_support::fixture as common;

use common::cli::{bin, free_port};

/// Every subcommand path (`["token", "create"]`, ...), from the top-level help's command list.
fn commands() -> Vec<Vec<String>> {
    fn list(path: &[String]) -> Vec<String> {
        let out = bin().args(path).arg("--help").output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let Some(section) = text.split("Commands:\n").nth(1) else {
            return Vec::new();
        };
        section
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.strip_prefix("  "))
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(str::to_owned)
            .collect()
    }
    let mut all = vec![Vec::new()];
    let mut i = 0;
    while i < all.len() {
        let path = all[i].clone();
        for c in list(&path) {
            let mut p = path.clone();
            p.push(c);
            all.push(p);
        }
        i += 1;
    }
    all
}

fn help(path: &[String]) -> String {
    let out = bin()
        .args(path)
        .arg("--help")
        .env_remove("X0X_DIST_TOKEN")
        // clap wraps at min(COLUMNS, 100) when stdout is not a terminal.
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{path:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// Compares `actual` with `tests/snapshots/<name>.txt` (or writes it under UPDATE_SNAPSHOTS=1).
fn snapshot(name: &str, actual: &str) {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        #[allow(clippy::disallowed_methods)] // a checked-in fixture
        std::fs::write(&file, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", file.display()));
    assert_eq!(
        actual, want,
        "{name} changed (UPDATE_SNAPSHOTS=1 to accept)"
    );
}

#[test]
fn every_help_line_fits_100_columns_and_names_env_vars_cleanly() {
    let cmds = commands();
    assert!(cmds.len() > 15, "{cmds:?}");
    for path in cmds {
        let text = help(&path);
        // Usage lines are generated from the required arguments and are not wrapped by clap.
        for line in text.lines().filter(|l| !l.starts_with("Usage:")) {
            assert!(
                line.chars().count() <= 100,
                "`x0x-dist {} --help`: a line of {} columns:\n{line}",
                path.join(" "),
                line.chars().count()
            );
        }
        assert!(
            !text.contains("=]"),
            "`x0x-dist {} --help` shows an empty env value:\n{text}",
            path.join(" ")
        );
    }
}

#[test]
fn a_bare_command_prints_the_help_and_succeeds() {
    let out = bin().output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Usage: x0x-dist <COMMAND>"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn publish_help_and_a_missing_token() {
    let text = help(&["publish".into()]);
    let usage = text.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert!(
        !usage.contains("--token"),
        "--token is shown as required (X0X_DIST_TOKEN works too): {usage}"
    );
    snapshot("publish-help", &text);
    let t = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["publish", "--server", "http://127.0.0.1:9", "--key"])
        .arg(t.path().join("k"))
        .args([
            "--package",
            "x0x",
            "--version",
            "0.1.0",
            "x0x.wasm32-wasip1.wasm",
        ])
        .env_remove("X0X_DIST_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9));
    snapshot("publish-no-token", &String::from_utf8(out.stderr).unwrap());
}

#[test]
fn token_create_and_fetch_help() {
    snapshot(
        "token-create-help",
        &help(&["token".into(), "create".into()]),
    );
    let fetch = help(&["fetch".into()]);
    assert!(fetch.contains("exact (`0.3.1`)"), "{fetch}");
}

#[test]
fn serve_listen_accepts_localhost_and_says_when_the_port_is_taken() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    common::cli::run_ok(bin().args(["init", "--repo"]).arg(&repo));
    // Taken: a listener of ours holds the port.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = bin()
        .args(["serve", "--repo"])
        .arg(&repo)
        .args(["--listen", &format!("localhost:{port}")])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(8), "{err}");
    let err = err.replace(&port.to_string(), "PORT");
    let last: String = err
        .lines()
        .filter(|l| l.starts_with("error[") || l.starts_with("  help"))
        .collect::<Vec<_>>()
        .join("\n");
    snapshot("serve-port-in-use", &last);
    // A bad --listen names both accepted forms.
    let out = bin()
        .args(["serve", "--repo"])
        .arg(&repo)
        .args(["--listen", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("or localhost:PORT"), "{err}");
    // localhost:PORT serves on the loopback address.
    let port = free_port();
    let mut child = bin()
        .args(["serve", "--repo"])
        .arg(&repo)
        .args(["--listen", &format!("localhost:{port}"), "--log", "warn"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::cli::wait_healthy(&mut child, port, || "serve --listen localhost:PORT".into());
    let _ = child.kill();
    let _ = child.wait();
}

/// `verify` checks a repository on this disk: a target that does not hash to what its role pins is a damaged
/// or changed file in DIR, and the help names only what `verify` has (not a server, not `--root` as the fix).
#[test]
#[allow(clippy::disallowed_methods)] // test fixtures, and a tampered target file
fn verify_digest_mismatch_help_speaks_of_the_repository() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let (key, _token) = common::cli::setup_repo(&repo);
    let wasm = t.path().join("x0x.wasm32-wasip1.wasm");
    let bytes =
        x0x_dist_loader::artifact::minimal_build(x0x_dist_manifests::Platform::Wasm32Wasip1, b"w");
    std::fs::write(&wasm, &bytes).unwrap();
    common::cli::run_ok(
        bin()
            .args(["package", "release", "--repo"])
            .arg(&repo)
            .args(["x0x", "--version", "0.1.0", "--key"])
            .arg(&key)
            .arg(&wasm),
    );
    common::cli::run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    let sha = x0x_dist_manifests::Sha256::digest(&bytes);
    let stored = repo.join(format!("targets/x0x/0.1.0/{sha}.x0x.wasm32-wasip1.wasm"));
    let mut tampered = bytes.clone();
    *tampered.last_mut().unwrap() ^= 1;
    std::fs::write(&stored, &tampered).unwrap();
    let out = bin()
        .args(["verify", "--repo"])
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error[target.digest_mismatch]"), "{err}");
    let help: String = err
        .lines()
        .filter(|l| l.starts_with("  help"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!help.contains("--root"), "{help}");
    snapshot("verify-digest-mismatch-help", &help);
}
