//! The repository writer lock (`repository/src/lock.rs`): the server's publish and the offline CLI
//! (`package add`) serialise on `DIR/metadata.lock`, so neither can read snapshot N while the other writes
//! N + 1. Real processes: the `x0x-dist` binary for the CLI, the real router for publishes.
use x0x_dist_test_support::fixture as common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::cli::{await_stderr, bin, run_ok, setup_repo};
use x0x_dist_manifests::{Signed, Targets};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_waits_while_an_offline_writer_holds_the_lock() {
    let fx = Arc::new(common::repo(1));
    let st = fx.state().await;
    let held = x0x_dist_repository::lock::try_lock(&fx.path())
        .unwrap()
        .expect("free at first");
    let before = std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap();
    let task = tokio::spawn({
        let (fx, st) = (fx.clone(), st.clone());
        async move { common::release(&fx, &st, None, "1.0.0").await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!task.is_finished(), "the publish went ahead of the lock");
    let now = std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap();
    assert_eq!(before, now, "nothing committed while the lock is held");
    drop(held);
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("publish finished after the lock was released")
        .unwrap();
    assert_eq!(common::verify_repo(&fx.path()), 2);
}

#[test]
fn package_add_waits_for_the_lock_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, _token) = setup_repo(&repo);
    let held = x0x_dist_repository::lock::try_lock(&repo)
        .unwrap()
        .expect("free");
    let mut child = bin()
        .args(["package", "add", "--repo"])
        .arg(&repo)
        .arg("later")
        .arg("--publisher-key")
        .arg(key.with_extension("key.pub"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says it waits (polled, not a fixed sleep: a loaded machine may take seconds to get it there).
    let stderr = await_stderr(&mut child, "waiting for");
    // And it does wait: still running a while later (a sleep that can only make this check stricter).
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "package add finished while the lock was held"
    );
    drop(held);
    let out = child.wait_with_output().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("delegated later/*/*"));
    run_ok(bin().args(["verify", "--repo"]).arg(&repo));
}

/// Eight `package add` processes race six server publishes on one repository: every delegation and every
/// release survives, and the repository verifies (without the lock, two writers could both commit snapshot
/// N + 1 and one change would be lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_package_adds_racing_server_publishes_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let publisher = x0x_dist_repository::repo::read_secret_key(&key).unwrap();
    let mut config = x0x_dist_server::config::Config::default();
    config.storage.repo.clone_from(&repo);
    let st = common::state_for(config).await;
    let adds: Vec<_> = (0..8)
        .map(|i| {
            let (repo, key) = (repo.clone(), key.clone());
            std::thread::spawn(move || {
                bin()
                    .args(["package", "add", "--repo"])
                    .arg(&repo)
                    .arg(format!("pkg{i}"))
                    .arg("--publisher-key")
                    .arg(key.with_extension("key.pub"))
                    .output()
                    .unwrap()
            })
        })
        .collect();
    let bearer = format!("Bearer {token}");
    let mut current: Option<Signed<Targets>> = None;
    for v in 0..6 {
        let version = format!("1.0.{v}");
        let files = common::artifacts(&version);
        for (_, d) in &files {
            let r = common::put_blob(&st, Some(&bearer), d).await;
            assert!(
                r.status.is_success(),
                "{}",
                String::from_utf8_lossy(&r.body)
            );
        }
        let role = common::role(
            current.as_ref().map(Signed::signed),
            &version,
            &files,
            &[&publisher],
        );
        let r = common::submit(&st, Some(&bearer), common::PKG, &role.to_bytes()).await;
        assert!(
            r.status.is_success(),
            "{version}: {}",
            String::from_utf8_lossy(&r.body)
        );
        current = Some(role);
    }
    for a in adds {
        let out = a.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        common::verify_repo(&repo),
        12,
        "six releases of two files each"
    );
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/timestamp.json")).unwrap())
            .unwrap();
    let sv = ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snap: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo.join(format!("metadata/{sv}.snapshot.json"))).unwrap(),
    )
    .unwrap();
    let meta = snap["signed"]["meta"].as_object().unwrap();
    for i in 0..8 {
        assert!(
            meta.contains_key(&format!("pkg{i}.json")) || {
                // A delegated role appears in snapshot once published; a bare delegation lives in targets.json.
                let tv = meta["targets.json"]["version"].as_u64().unwrap();
                let t = std::fs::read_to_string(repo.join(format!("metadata/{tv}.targets.json")))
                    .unwrap();
                t.contains(&format!("\"pkg{i}\""))
            },
            "pkg{i} delegation lost"
        );
    }
    assert_eq!(
        meta["x0x.json"]["version"].as_u64(),
        Some(6),
        "a release was lost"
    );
    // 1 (init) + 1 (setup's package add) + 8 adds + 6 publishes.
    assert_eq!(sv, 16, "every writer committed its own snapshot version");
}
