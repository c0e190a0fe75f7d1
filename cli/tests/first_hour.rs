//! Issue 21 (what a new user hits in the first hour), driving the real binary against a real server on
//! loopback: `publish` checks content and authorization before anything is uploaded, `token create` keeps
//! the token private, broken pipes end quietly, `fetch` says when a build failed verification.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::cli::{bin, fails, free_port, publish, run_ok, setup_repo, start_server};
use x0x_dist_loader::artifact::minimal_build;
use x0x_dist_manifests::Platform;

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .flat_map(|e| {
            if e.path().is_dir() {
                files_under(&e.path())
            } else {
                vec![e.path()]
            }
        })
        .collect()
}

fn blobs(repo: &Path) -> Vec<PathBuf> {
    files_under(&repo.join("blobs"))
}

struct Running {
    child: std::process::Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(repo: &Path) -> Running {
    let port = free_port();
    Running {
        child: start_server(repo, port),
        url: format!("http://127.0.0.1:{port}"),
    }
}

#[test]
fn publish_refuses_a_file_whose_bytes_are_another_platform_before_uploading() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let srv = serve(&repo);
    // The case: an x86-64 .node renamed for arm64.
    let arm = t.path().join("x0x.linux-arm64-gnu.node");
    std::fs::copy("/bin/true", &arm).unwrap();
    let err = fails(
        publish(&srv.url, &token, &key, "0.1.0").arg(&arm),
        4,
        "target.platform_mismatch",
    );
    assert!(
        err.contains("is not a linux-arm64-gnu build")
            && err.contains(
                "found a 64-bit x86_64 ELF file, expected a 64-bit little-endian aarch64"
            ),
        "{err}"
    );
    assert!(
        err.contains("nothing was uploaded") && err.contains("help: "),
        "{err}"
    );
    // And 4,000 random bytes named as the WASM build.
    let wasm = t.path().join("x0x.wasm32-wasip1.wasm");
    let random: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&wasm, &random).unwrap();
    let err = fails(
        publish(&srv.url, &token, &key, "0.1.0").arg(&wasm),
        4,
        "target.platform_mismatch",
    );
    assert!(err.contains("is not a wasm32-wasip1 build"), "{err}");
    assert_eq!(blobs(&repo), Vec::<PathBuf>::new(), "a blob was uploaded");
    // A musl build named as glibc: the offline release refuses it too (the interpreter says musl).
    let musl = t.path().join("musl");
    std::fs::create_dir(&musl).unwrap();
    let gnu = musl.join("x0x.linux-x64-gnu.node");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../loader/tests/data/musl-interp.bin"),
        &gnu,
    )
    .unwrap();
    let err = fails(
        bin()
            .args(["package", "release", "--repo"])
            .arg(&repo)
            .args(["x0x", "--version", "0.1.0", "--key"])
            .arg(&key)
            .arg(&gnu),
        4,
        "target.platform_mismatch",
    );
    assert!(err.contains("ld-musl-x86_64.so.1 is musl's"), "{err}");
    assert!(!repo.join("metadata/1.x0x.json").exists());
    // What the name says is published.
    let ok = t.path().join("ok");
    std::fs::create_dir(&ok).unwrap();
    std::fs::copy("/bin/true", ok.join("x0x.linux-x64-gnu.node")).unwrap();
    std::fs::write(
        ok.join("x0x.wasm32-wasip1.wasm"),
        minimal_build(Platform::Wasm32Wasip1, b"ok"),
    )
    .unwrap();
    run_ok(
        publish(&srv.url, &token, &key, "0.1.0")
            .arg(ok.join("x0x.linux-x64-gnu.node"))
            .arg(ok.join("x0x.wasm32-wasip1.wasm")),
    );
    assert_eq!(blobs(&repo).len(), 2);
}

#[test]
fn an_unauthorised_key_or_token_scope_uploads_nothing() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let srv = serve(&repo);
    let wasm = t.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(
        &wasm,
        minimal_build(Platform::Wasm32Wasip1, b"unauthorised"),
    )
    .unwrap();
    // A key that is not a publisher key of x0x.
    let stranger = t.path().join("stranger.key");
    run_ok(bin().args(["keygen", "--out"]).arg(&stranger));
    fails(
        publish(&srv.url, &token, &stranger, "0.1.0").arg(&wasm),
        3,
        "key.not_authorized",
    );
    assert_eq!(
        blobs(&repo),
        Vec::<PathBuf>::new(),
        "a blob was stored before key.not_authorized"
    );
    // A token scoped to another package (created ahead of its delegation: only a warning).
    let other = run_ok(
        bin()
            .args(["token", "create", "--repo"])
            .arg(&repo)
            .args(["--package", "other"]),
    )
    .trim()
    .to_owned();
    fails(
        publish(&srv.url, &other, &key, "0.1.0").arg(&wasm),
        9,
        "auth.forbidden",
    );
    assert_eq!(
        blobs(&repo),
        Vec::<PathBuf>::new(),
        "a blob was stored with a token for another package"
    );
    run_ok(publish(&srv.url, &token, &key, "0.1.0").arg(&wasm));
    assert_eq!(blobs(&repo).len(), 1);
}

#[cfg(unix)]
#[test]
fn token_create_out_writes_0600_and_a_readable_stdout_file_is_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    setup_repo(&repo);
    let out = t.path().join("token");
    let out_put = bin()
        .args(["token", "create", "--repo"])
        .arg(&repo)
        .args(["--package", "x0x", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(out_put.status.success());
    assert!(out_put.stdout.is_empty(), "the token went to stdout too");
    let token = std::fs::read_to_string(&out).unwrap();
    assert!(token.starts_with("x0xd_"), "{token}");
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // `token create > token` under umask 022: the README's old example.
    let redirected = t.path().join("redirected");
    let f = std::fs::File::create(&redirected).unwrap();
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
        .unwrap();
    let r = bin()
        .args(["token", "create", "--repo"])
        .arg(&repo)
        .args(["--package", "x0x"])
        .stdout(f)
        .output()
        .unwrap();
    assert!(r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("warning: stdout is a file with mode 644") && err.contains("--out FILE"),
        "{err}"
    );
    // A pipe (the usual `$(...)`) is not warned about.
    let piped = bin()
        .args(["token", "create", "--repo"])
        .arg(&repo)
        .args(["--package", "x0x"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("warning: stdout"));
}

/// Runs `cmd` with stdout on a pipe whose read end is already closed (`... | true` after `true` exited):
/// it must not panic (exit 101).
#[cfg(unix)]
#[allow(clippy::incompatible_msrv)] // std::io::pipe (1.87): test only.
fn into_closed_pipe(cmd: &mut std::process::Command) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{cmd:?} panicked: {err}");
    assert!(!err.contains("panicked"), "{cmd:?}: {err}");
    out
}

#[cfg(unix)]
#[test]
fn broken_pipes_end_quietly() {
    use std::os::unix::process::ExitStatusExt as _;
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let srv = serve(&repo);
    let wasm = t.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(&wasm, minimal_build(Platform::Wasm32Wasip1, b"pipes")).unwrap();
    run_ok(publish(&srv.url, &token, &key, "0.1.0").arg(&wasm));
    let root = repo.join("metadata/1.root.json");
    let out = into_closed_pipe(
        bin()
            .args(["doctor", "--json", "--server", &srv.url, "--root"])
            .arg(&root)
            .args(["--cache"])
            .arg(t.path().join("c1")),
    );
    // Ended by SIGPIPE, like any Unix filter writing into a closed pipe.
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
    let out = into_closed_pipe(bin().args(["token", "list", "--repo"]).arg(&repo));
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
    into_closed_pipe(
        bin()
            .args(["fetch", "--json", "--server", &srv.url, "--root"])
            .arg(&root)
            .args(["--package", "x0x", "--all-targets", "--out"])
            .arg(t.path().join("out"))
            .arg("--cache")
            .arg(t.path().join("c2")),
    );
}

#[test]
fn fetch_warns_when_a_native_build_fails_verification_and_wasm_is_used() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let srv = serve(&repo);
    let dist = t.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let host = x0x_dist_loader::host::Host::detect();
    let Some(native) = Platform::ALL
        .iter()
        .copied()
        .find(|p| p.triple() == host.triple && p.kind() == x0x_dist_manifests::Kind::Native)
    else {
        eprintln!(
            "no native platform for {}: nothing to tamper with",
            host.triple
        );
        return;
    };
    let pkg = "x0x".parse().unwrap();
    // /bin/true is a real build for this host (not an addon, but fetch only verifies).
    let native_file = dist.join(native.file_name(&pkg));
    std::fs::copy("/bin/true", &native_file).unwrap();
    let wasm = dist.join("x0x.wasm32-wasip1.wasm");
    std::fs::write(&wasm, minimal_build(Platform::Wasm32Wasip1, b"fallback")).unwrap();
    run_ok(
        publish(&srv.url, &token, &key, "0.1.0")
            .arg(&native_file)
            .arg(&wasm),
    );
    // Tamper with the stored native target (the server's copy), keeping its length.
    let stored = files_under(&repo.join("targets"))
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".node"))
        .unwrap();
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&stored, &bytes).unwrap();
    let out = bin()
        .args(["fetch", "--server", &srv.url, "--root"])
        .arg(repo.join("metadata/1.root.json"))
        .args(["--package", "x0x", "--out"])
        .arg(t.path().join("out"))
        .arg("--cache")
        .arg(t.path().join("cache"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning[target.digest_mismatch]")
            && err.contains(&format!("x0x/0.1.0/{}", native.file_name(&pkg)))
            && err.contains("fetched wasm32-wasip1 instead")
            && err.contains("security event"),
        "{err}"
    );
}

#[test]
fn a_server_that_is_down_is_named_as_refusing_the_connection() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let wasm = t.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(&wasm, minimal_build(Platform::Wasm32Wasip1, b"down")).unwrap();
    let down = format!("http://127.0.0.1:{}", free_port());
    let err = fails(
        publish(&down, &token, &key, "0.1.0").arg(&wasm),
        7,
        "network.unreachable",
    );
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
}

#[test]
fn verify_on_the_metadata_folder_names_the_repository_not_init() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    run_ok(bin().args(["init", "--repo"]).arg(&repo));
    let err = fails(
        bin().args(["verify", "--repo"]).arg(repo.join("metadata")),
        2,
        "usage.invalid",
    );
    assert!(
        err.contains("is the metadata folder of a repository")
            && err.contains(&format!("--repo {}", repo.display()))
            && !err.contains("x0x-dist init"),
        "{err}"
    );
}
