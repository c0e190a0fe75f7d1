//! Issue 25, finding 5: a package with a large role stays publishable. The CLI submits roles as compact JSON
//! (a 10,000-target role is ~3 MB, under the server's default 4 MiB metadata limit; pretty-printed it was
//! ~5.6 MB and the next publish failed), and a role over the limit is refused with `metadata.too_large` naming
//! the limit, the size and the setting that raises it. The real binary and server on loopback.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use common::cli::{bin, fails, free_port, run_ok, setup_repo, wait_healthy};
use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::{
    PackageName, Platform, Sha256, Signed, SigningKey, TargetCustom, TargetFile, TargetPath,
    Targets, Version,
};
use x0x_dist_server::publish::{commit, OnlineKeys, Published};
use x0x_dist_server::storage::{local::LocalStore, ObjectKey, Store as _};

/// Publishes, offline, role version 1 of `x0x` with `versions` versions × 10 platforms (synthetic blobs:
/// publishing on top of it checks only the new targets' blobs), compact as the CLI writes it.
fn seed_role(repo: &Path, key: &Path, versions: u64) -> usize {
    let key = SigningKey::from_secret_file(&std::fs::read(key).unwrap()).unwrap();
    let pkg: PackageName = "x0x".parse().unwrap();
    // The 10 platforms a release of x0x ships (the table's every row but win32-x64-gnu).
    let platforms: Vec<Platform> = Platform::ALL
        .iter()
        .copied()
        .filter(|p| *p != Platform::Win32X64Gnu)
        .collect();
    let mut t = Targets::empty(
        1,
        time::OffsetDateTime::now_utc() + time::Duration::days(30),
    );
    for i in 0..versions {
        let v: Version = format!("{}.{}.0", i / 100, i % 100).parse().unwrap();
        for p in &platforms {
            let floor =
                (p.info().libc == x0x_dist_manifests::Libc::Glibc).then(|| "2.17".to_owned());
            let mut f = TargetFile::for_bytes(&[], Some(&TargetCustom::new(&pkg, &v, *p, floor)));
            f.length = 10_000_000 + i;
            f.hashes.insert(
                "sha256".into(),
                Sha256::digest(format!("{v} {p}").as_bytes()).to_hex(),
            );
            t.targets.insert(
                TargetPath::new(&pkg, &v, &p.file_name(&pkg))
                    .unwrap()
                    .name(),
                f,
            );
        }
    }
    let bytes = Signed::new(t, &[&key]).unwrap().to_compact_bytes();
    let len = bytes.len();
    let store = LocalStore::open(repo).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        store
            .put_object(&ObjectKey::metadata("1.x0x.json").unwrap(), bytes.into())
            .await
            .unwrap();
        let cur = Published::load(&store).await.unwrap();
        let keys = OnlineKeys::load(&repo.join("online"), cur.root.signed()).unwrap();
        commit(
            &store,
            &cur,
            &[("x0x".to_owned(), 1)],
            &keys,
            &x0x_dist_server::config::TimestampConfig::default(),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    });
    len
}

/// `serve` with `[limits] max_metadata_bytes = max` (default when `None`).
fn serve(dir: &Path, repo: &Path, max: Option<usize>) -> (std::process::Child, String) {
    let config = dir.join("server.toml");
    let limits = max
        .map(|m| format!("[limits]\nmax_metadata_bytes = {m}\n"))
        .unwrap_or_default();
    std::fs::write(&config, limits).unwrap();
    let port = free_port();
    let mut child = bin()
        .args(["serve", "--repo"])
        .arg(repo)
        .arg("--config")
        .arg(&config)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(&mut child, port, String::new);
    (child, format!("http://127.0.0.1:{port}"))
}

fn publish(
    url: &str,
    token: &str,
    key: &Path,
    version: &str,
    file: &Path,
) -> std::process::Command {
    let mut c = common::cli::publish(url, token, key, version);
    c.arg(file);
    c
}

#[test]
fn a_10k_target_role_publishes_and_the_next_publish_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let seeded = seed_role(&repo, &key, 1_000);
    assert!(
        seeded < 4 << 20,
        "the compact 10k-target role is {seeded} bytes"
    );
    let (mut server, url) = serve(tmp.path(), &repo, None);
    for (n, version) in ["1000.0.0", "1000.0.1"].into_iter().enumerate() {
        let wasm = tmp.path().join(format!("{n}/x0x.wasm32-wasip1.wasm"));
        std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
        std::fs::write(
            &wasm,
            x0x_dist_loader::artifact::minimal_build(
                x0x_dist_manifests::Platform::Wasm32Wasip1,
                version.as_bytes(),
            ),
        )
        .unwrap();
        let t = Instant::now();
        let out = run_ok(&mut publish(&url, &token, &key, version, &wasm));
        assert!(out.contains(&format!("published x0x {version}")), "{out}");
        eprintln!(
            "publish {version} into a 10k-target role: {:?}",
            t.elapsed()
        );
    }
    // What the server stored is what the CLI sent: compact, 10,002 targets, under the default limit.
    let role = std::fs::read(repo.join("metadata/3.x0x.json")).unwrap();
    assert!(role.len() < 4 << 20, "{} bytes", role.len());
    assert!(
        !role.windows(3).any(|w| w == b"\n  "),
        "the role was pretty-printed"
    );
    let v: serde_json::Value = serde_json::from_slice(&role).unwrap();
    assert_eq!(v["signed"]["targets"].as_object().unwrap().len(), 10_002);
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn a_role_over_the_limit_is_metadata_too_large_naming_limit_size_and_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let (mut server, url) = serve(tmp.path(), &repo, Some(300));
    let wasm = tmp.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(
        &wasm,
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b"big",
        ),
    )
    .unwrap();
    let err = fails(
        &mut publish(&url, &token, &key, "1.0.0", &wasm),
        3,
        "metadata.too_large",
    );
    assert!(err.contains("limit of 300 bytes"), "{err}");
    assert!(err.contains("max_metadata_bytes"), "{err}");
    let size: String = err
        .split("the submitted role is ")
        .nth(1)
        .unwrap_or_else(|| panic!("no size in {err}"))
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(size.parse::<u64>().unwrap() > 300, "{err}");
    assert!(!err.contains("maximum blob size"), "{err}");
    let _ = server.kill();
    let _ = server.wait();
}
