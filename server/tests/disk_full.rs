//! A full disk (an 8 MiB tmpfs): uploads and publishes fail cleanly with `storage.full` (507), nothing partial is
//! left, the server keeps serving, and publishing works again once space is freed. Needs `mount` (root); the
//! test says so and passes vacuously only when the sandbox forbids mounting.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use common::*;

struct Mount(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn tmpfs(size: &str) -> Option<Mount> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mnt");
    std::fs::create_dir(&p).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&p)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(p, dir))
}

fn fill(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let p = dir.join("filler");
    let mut f = std::fs::File::create(&p).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    p
}

#[tokio::test]
#[ignore = "needs root to mount a tmpfs: run by .ci/stages/40-server.sh with --include-ignored"]
async fn full_disk_fails_cleanly_and_server_keeps_serving() {
    let Some(mnt) = tmpfs("8m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)");
        return;
    };
    let fx = repo_in(tempfile::tempdir_in(&mnt.0).unwrap(), 1);
    let st = fx.state().await;
    // A 5 MiB blob fits; a second one does not: 507, and neither a blob nor a temp file remains.
    let a = vec![1u8; 5 << 20];
    assert_eq!(
        put_blob(&st, Some(&fx.bearer()), &a).await.status,
        StatusCode::CREATED
    );
    let b = vec![2u8; 5 << 20];
    let r = put_blob(&st, Some(&fx.bearer()), &b).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::INSUFFICIENT_STORAGE, "storage.full")
    );
    assert_eq!(
        std::fs::read_dir(fx.path().join("blobs/sha256"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(std::fs::read_dir(fx.path().join("tmp")).unwrap().count(), 0);

    // Upload the release's blobs, then fill the disk completely and publish: 507, repository unchanged.
    let files = artifacts("1.0.0");
    for (_, d) in &files {
        assert!(put_blob(&st, Some(&fx.bearer()), d)
            .await
            .status
            .is_success());
    }
    let filler = fill(&fx.path());
    let signers: Vec<_> = fx.publishers.iter().collect();
    let role = role(None, "1.0.0", &files, &signers).to_bytes();
    let before = std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap();
    let r = submit(&st, Some(&fx.bearer()), PKG, &role).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::INSUFFICIENT_STORAGE, "storage.full"),
        "{:?}",
        r.json()
    );
    assert_eq!(
        std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap(),
        before
    );
    assert_eq!(verify_repo(&fx.path()), 0);
    // Still serving.
    assert_eq!(
        get(&st, "/tuf/metadata/timestamp.json").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&st, "/tuf/metadata/1.root.json").await.status,
        StatusCode::OK
    );
    assert_eq!(get(&st, "/healthz").await.status, StatusCode::OK);
    // Free space: the same submission now goes through.
    std::fs::remove_file(filler).unwrap();
    let r = submit(&st, Some(&fx.bearer()), PKG, &role).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    assert_eq!(verify_repo(&fx.path()), 2);
    drop(st);
    drop(fx);
    drop(mnt);
}
