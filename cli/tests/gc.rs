//! `x0x-dist gc`: a dry run by default (lists what and the bytes, changes nothing), a grace period that keeps
//! young objects, and `--apply` that removes only unreferenced objects (the repository still verifies).
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use common::cli::{bin, free_port, publish, run, run_ok, setup_repo, start_server};

#[test]
fn gc_removes_only_what_no_current_role_references() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let port = free_port();
    let mut server = start_server(&repo, port);
    let url = format!("http://127.0.0.1:{port}");
    let wasm = tmp.path().join("x0x.wasm32-wasip1.wasm");
    for (n, version) in [(1u8, "0.1.0"), (2, "0.2.0")] {
        std::fs::write(
            &wasm,
            x0x_dist_loader::artifact::minimal_build(
                x0x_dist_manifests::Platform::Wasm32Wasip1,
                &vec![n; 10_000],
            ),
        )
        .unwrap();
        run_ok(publish(&url, &token, &key, version).arg(&wasm));
    }
    let _ = server.kill();
    let _ = server.wait();
    // Garbage: an upload never published, and an orphan snapshot of a failed commit.
    let stray = b"never published";
    let hex = x0x_dist_manifests::Sha256::digest(stray).to_hex();
    std::fs::write(repo.join("blobs/sha256").join(&hex), stray).unwrap();
    let md = repo.join("metadata");
    std::fs::copy(md.join("1.snapshot.json"), md.join("99.snapshot.json")).unwrap();
    let before = run_ok(bin().args(["verify", "--repo"]).arg(&repo));

    // A dry run lists them (and the superseded role and snapshots), removes nothing.
    let out = run(bin()
        .args(["gc", "--repo"])
        .arg(&repo)
        .args(["--grace-secs", "0"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    for want in [
        format!("would remove blobs/sha256/{hex} (15 bytes)"),
        "would remove metadata/99.snapshot.json".into(),
        "would remove metadata/1.x0x.json".into(),
        "would remove metadata/1.snapshot.json".into(),
    ] {
        assert!(listed.contains(&want), "{want} not in:\n{listed}");
    }
    for keep in [
        "2.x0x.json",
        "root.json",
        "timestamp.json",
        "2.targets.json",
        "4.snapshot.json",
        "1.root.json",
    ] {
        assert!(
            !listed.contains(&format!("metadata/{keep} ")),
            "{keep}: {listed}"
        );
    }
    assert!(
        !listed.contains("targets/"),
        "a published target listed: {listed}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("dry run"));
    assert!(md.join("99.snapshot.json").exists() && repo.join("blobs/sha256").join(&hex).exists());

    // The default grace period keeps everything this young.
    let out = run(bin().args(["gc", "--repo"]).arg(&repo));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // --apply removes exactly the listed objects; the repository still verifies with every target.
    let out = run(bin()
        .args(["gc", "--repo"])
        .arg(&repo)
        .args(["--grace-secs", "0", "--apply"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!md.join("99.snapshot.json").exists() && !md.join("1.x0x.json").exists());
    assert!(!repo.join("blobs/sha256").join(&hex).exists());
    assert_eq!(run_ok(bin().args(["verify", "--repo"]).arg(&repo)), before);
    let again = run(bin()
        .args(["gc", "--repo"])
        .arg(&repo)
        .args(["--grace-secs", "0"]));
    assert!(
        again.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}
