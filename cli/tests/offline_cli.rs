//! The offline commands driven through the real `x0x-dist` binary: init, keygen, package add/release, verify,
//! their exit statuses and error codes.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]

use x0x_dist_test_support::cli;

use std::ffi::OsStr;
use std::path::Path;

use cli::{bin, run_ok};

fn ok(args: &[impl AsRef<OsStr>]) -> String {
    run_ok(bin().args(args))
}

/// Asserts failure with `code` in stderr and the codes table's exit status.
fn fails(args: &[impl AsRef<OsStr>], code: &str) {
    let status = i32::from(x0x_dist_manifests::codes::exit_status(code));
    cli::fails(bin().args(args), status, code);
}

/// `package add --repo REPO NAME --publisher-key KEY EXTRA...`
fn package_add<'a>(
    repo: &'a Path,
    name: &'a str,
    key: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    [
        &[
            "package",
            "add",
            "--repo",
            s(repo),
            name,
            "--publisher-key",
            s(key),
        ][..],
        extra,
    ]
    .concat()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_keygen_add_release_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let out = ok(&["init", "--repo", s(&repo)]);
    assert!(out.contains("root") && out.contains("timestamp"), "{out}");
    for f in [
        "keys/root.key",
        "keys/targets.key",
        "online/snapshot.key",
        "online/timestamp.key",
    ] {
        assert!(repo.join(f).is_file(), "{f}");
        #[cfg(unix)]
        assert_eq!(mode(&repo.join(f)), 0o600, "{f}");
    }
    for f in [
        "1.root.json",
        "root.json",
        "1.targets.json",
        "1.snapshot.json",
        "timestamp.json",
    ] {
        assert!(repo.join("metadata").join(f).is_file(), "{f}");
    }
    fails(&["init", "--repo", s(&repo)], "repo.exists");
    assert!(ok(&["verify", "--repo", s(&repo)]).starts_with("ok: root v1"));

    let key = tmp.path().join("publisher.key");
    let keyid = ok(&["keygen", "--out", s(&key)]);
    assert_eq!(keyid.trim().len(), 64);
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
    fails(&["keygen", "--out", s(&key)], "usage.invalid");
    let public = tmp.path().join("publisher.key.pub");

    fails(&package_add(&repo, "x0x", &key, &[]), "key.file_invalid");
    fails(
        &package_add(&repo, "x0x", &public, &["--threshold", "2"]),
        "usage.invalid",
    );
    fails(
        &package_add(&repo, "X0X", &public, &[]),
        "package.name_invalid",
    );
    ok(&package_add(&repo, "x0x", &public, &[]));
    fails(&package_add(&repo, "x0x", &public, &[]), "package.exists");

    let files = tmp.path().join("dist");
    std::fs::create_dir(&files).unwrap();
    let native = files.join("x0x.linux-x64-gnu.node");
    let wasm = files.join("x0x.wasm32-wasip1.wasm");
    // Real headers (the release checks each file's content against its platform: issue 21).
    let wasm_bytes = x0x_dist_loader::artifact::minimal_build(
        x0x_dist_manifests::Platform::Wasm32Wasip1,
        b"wasm bytes",
    );
    std::fs::write(
        &native,
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::LinuxX64Gnu,
            b"native bytes",
        ),
    )
    .unwrap();
    std::fs::write(&wasm, &wasm_bytes).unwrap();
    let bad = files.join("x0x.freebsd-x64.node");
    std::fs::write(&bad, b"?").unwrap();
    let release = |version: &'static str, files: &[&Path]| {
        let mut args = vec![
            "package",
            "release",
            "--repo",
            s(&repo),
            "x0x",
            "--version",
            version,
            "--key",
            s(&key),
            "--glibc-floor",
            "2.17",
        ];
        args.extend(files.iter().map(|f| s(f)));
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    ok(&release("0.3.1", &[&native, &wasm]));
    fails(&release("0.3.1", &[&native, &wasm]), "version.exists");
    fails(&release("0.3.2", &[&bad]), "platform.unknown");

    let json = ok(&["verify", "--repo", s(&repo), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["targets"], 2);
    let on_disk =
        std::fs::metadata(&native).unwrap().len() + std::fs::metadata(&wasm).unwrap().len();
    assert_eq!(v["target_bytes"], on_disk);

    // The released role carries the custom fields of SPEC.md.
    let role: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/1.x0x.json")).unwrap()).unwrap();
    let custom = &role["signed"]["targets"]["x0x/0.3.1/x0x.linux-x64-gnu.node"]["custom"];
    assert_eq!(custom["target"], "x86_64-unknown-linux-gnu");
    assert_eq!(custom["libc"], "glibc");
    assert_eq!(custom["kind"], "native");
    assert_eq!(custom["glibc_floor"], "2.17");
    let wcustom = &role["signed"]["targets"]["x0x/0.3.1/x0x.wasm32-wasip1.wasm"]["custom"];
    assert_eq!(wcustom["kind"], "wasm");
    assert!(wcustom.get("glibc_floor").is_none());

    // Verification time in the future: the timestamp (1 day) has expired.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    fails(
        &["verify", "--repo", s(&repo), "--at", &later],
        "metadata.expired",
    );
    fails(
        &["verify", "--repo", s(&repo), "--at", "yesterday"],
        "usage.invalid",
    );

    // A tampered target.
    let sha = x0x_dist_manifests::Sha256::digest(&wasm_bytes);
    let stored = repo.join(format!("targets/x0x/0.3.1/{sha}.x0x.wasm32-wasip1.wasm"));
    let mut tampered = wasm_bytes.clone();
    *tampered.last_mut().unwrap() ^= 1;
    std::fs::write(&stored, &tampered).unwrap();
    fails(&["verify", "--repo", s(&repo)], "target.digest_mismatch");
    tampered.push(b'!');
    std::fs::write(&stored, &tampered).unwrap();
    fails(&["verify", "--repo", s(&repo)], "target.length_mismatch");
    std::fs::write(&stored, &wasm_bytes).unwrap();
    ok(&["verify", "--repo", s(&repo)]);

    // A tampered signature on the published role.
    let role_path = repo.join("metadata/1.x0x.json");
    let text = std::fs::read_to_string(&role_path).unwrap();
    let len = wasm_bytes.len();
    let tampered = text.replace(
        &format!("\"length\": {len}"),
        &format!("\"length\": {}", len + 1),
    );
    assert_ne!(tampered, text);
    std::fs::write(&role_path, tampered).unwrap();
    fails(
        &["verify", "--repo", s(&repo)],
        "metadata.signature_invalid",
    );
}

#[test]
fn verify_reports_missing_repository() {
    let tmp = tempfile::tempdir().unwrap();
    fails(
        &["verify", "--repo", s(&tmp.path().join("nope"))],
        "repo.not_found",
    );
}

#[test]
fn verify_accepts_the_shared_vector_repository() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/vectors/repo");
    let out = ok(&["verify", "--repo", s(&repo), "--at", "2030-01-01T00:00:00Z"]);
    assert!(out.starts_with("ok: root v2"), "{out}");
    assert!(out.contains("2 targets"), "{out}");
}

#[test]
fn help_explains_every_command() {
    let out = ok(&["--help"]);
    for cmd in ["init", "keygen", "package", "verify"] {
        assert!(out.contains(cmd), "{cmd} missing from --help");
    }
    let out = ok(&["package", "add", "--help"]);
    assert!(
        out.contains("--publisher-key") && out.contains("--threshold"),
        "{out}"
    );
}

/// Regression: `init --repo repo` (a bare relative name, whose parent is the empty path) used to fail with
/// "syncing directory : No such file". Relative paths work like absolute ones for init, keygen and package add.
#[test]
fn relative_repo_and_key_paths() {
    let d = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_ok(bin().current_dir(d.path()).args(args));
    run(&["init", "--repo", "repo"]);
    run(&["keygen", "--out", "ci.key"]);
    run(&package_add(
        Path::new("repo"),
        "x0x",
        Path::new("ci.key.pub"),
        &[],
    ));
    run(&["verify", "--repo", "repo"]);
    assert!(d.path().join("repo/metadata/1.root.json").is_file());
    assert!(d.path().join("ci.key.pub").is_file());
}
