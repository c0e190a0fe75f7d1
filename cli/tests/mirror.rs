//! Self-hosted mirror, end to end with the real programs on loopback: upstream server → mirror server →
//! loader fetch; a tampering upstream; a tampered mirror; an upstream that is down; `mirror sync` filters,
//! idempotence, resume; rollback.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::mirror as mirror_support;

use mirror_support::{
    assert_files, bin, fails, fake_release, fetch, get, run_ok, tamper, Origin, Server,
};
use std::path::Path;
use x0x_dist_repository::repo::Artifact;

fn init_mirror(dir: &Path, upstream: &str, root: &Path) {
    run_ok(
        bin()
            .args(["mirror", "init", "--repo"])
            .arg(dir)
            .args(["--upstream", upstream, "--root"])
            .arg(root),
    );
}

fn sync(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let out = run_ok(
        bin()
            .args(["mirror", "sync", "--json", "--repo"])
            .arg(dir)
            .args(extra),
    );
    serde_json::from_str(&out).unwrap()
}

/// `x0x-dist fetch --server URL` of every target into `dir/out` (fresh cache `dir/c`): exactly `arts` arrive.
fn fetch_all(url: &str, root: &Path, dir: &Path, arts: &[Artifact]) {
    run_ok(&mut fetch(
        &["--server", url],
        root,
        None,
        &dir.join("out"),
        &dir.join("c"),
    ));
    assert_files(&dir.join("out"), arts);
}

#[test]
fn pull_through_serves_the_upstreams_signed_bytes_after_verifying_them() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    let arts = fake_release(1);
    origin.release("0.1.0", &arts);
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    init_mirror(&m, &up.url, &origin.root);
    let mir = Server::start(&m, Some(&up.url), &t.path().join("mirror.log"));
    // Nothing pulled yet but metadata.
    assert!(!m.join("targets/x0x").exists());

    fetch_all(&mir.url, &origin.root, t.path(), &arts);
    // The mirror stored exactly the upstream's files and serves the upstream's bytes unchanged.
    for name in ["timestamp.json", "1.root.json", "2.targets.json"] {
        let (s1, b1) = get(&format!("{}/tuf/metadata/{name}", up.url));
        let (s2, b2) = get(&format!("{}/tuf/metadata/{name}", mir.url));
        assert_eq!((s1, s2), (200, 200), "{name}");
        assert_eq!(b1, b2, "{name} differs");
    }
    let stored = origin.stored("0.1.0", "x0x.darwin-arm64.node");
    let rel = stored
        .strip_prefix(origin.dir.join("targets"))
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        std::fs::read(m.join("targets").join(&rel)).unwrap(),
        std::fs::read(&stored).unwrap()
    );
    // A stored path no verified metadata lists is a 404, not a blind pass-through to the upstream.
    let bogus = format!("x0x/0.1.0/{}.x0x.darwin-arm64.node", "0".repeat(64));
    assert_eq!(get(&format!("{}/tuf/targets/{bogus}", mir.url)).0, 404);
    // The mirror holds no keys and signs nothing.
    assert!(!m.join("online").exists() && !m.join("keys").exists());
}

/// An origin whose linux-arm64-gnu target was tampered with after it was signed, served, and a pull-through
/// mirror of it, served.
struct TamperedUpstream {
    t: tempfile::TempDir,
    origin: Origin,
    up: Server,
    m: std::path::PathBuf,
    mir: Server,
    /// The tampered target's path under `targets/` (hash-prefixed name).
    rel: String,
}

fn tampered_upstream(seed: u64) -> TamperedUpstream {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(seed));
    let bad = origin.stored("0.1.0", "x0x.linux-arm64-gnu.node");
    tamper(&bad);
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    init_mirror(&m, &up.url, &origin.root);
    let mir = Server::start(&m, Some(&up.url), &t.path().join("mirror.log"));
    let rel = bad
        .strip_prefix(origin.dir.join("targets"))
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    TamperedUpstream {
        t,
        origin,
        up,
        m,
        mir,
        rel,
    }
}

#[test]
fn a_tampering_upstream_gets_nothing_stored_or_served() {
    let TamperedUpstream {
        t,
        origin,
        up,
        m,
        mir,
        rel,
    } = tampered_upstream(2);
    let (status, body) = get(&format!("{}/tuf/targets/{rel}", mir.url));
    assert_eq!(status, 502);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "target.digest_mismatch", "{body}");
    assert!(
        !m.join("targets").join(&rel).exists(),
        "tampered bytes were stored"
    );
    let partial = m.join("mirror/partial");
    assert!(
        std::fs::read_dir(&partial).map_or(0, Iterator::count) == 0,
        "partial left behind"
    );
    // The loader gets no bytes either; the untampered targets still work.
    let out = t.path().join("out");
    let st = mirror_support::run(&mut fetch(
        &["--server", &mir.url],
        &origin.root,
        Some("linux-arm64-gnu"),
        &out,
        &t.path().join("c"),
    ));
    assert!(!st.status.success());
    assert!(!out.join("x0x.linux-arm64-gnu.node").exists());
    run_ok(&mut fetch(
        &["--server", &mir.url],
        &origin.root,
        Some("darwin-arm64"),
        &out,
        &t.path().join("c"),
    ));
    // `mirror sync` refuses it too, with the code, and stores nothing wrong.
    let m2 = t.path().join("m2");
    let err = fails(
        bin()
            .args(["mirror", "sync", "--from", &up.url, "--repo"])
            .arg(&m2)
            .arg("--root")
            .arg(&origin.root),
        4,
        "target.digest_mismatch",
    );
    assert!(err.contains("linux-arm64-gnu"), "{err}");
    assert!(!m2.join("targets").join(&rel).exists());
}

#[test]
fn the_loader_refuses_a_tampered_mirror_blob() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(3));
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    init_mirror(&m, &up.url, &origin.root);
    assert_eq!(sync(&m, &[])["downloaded"], 4);
    let stored = origin.stored("0.1.0", "x0x.linux-x64-gnu.node");
    let rel = stored.strip_prefix(origin.dir.join("targets")).unwrap();
    tamper(&m.join("targets").join(rel));
    let mir = Server::start(&m, Some(&up.url), &t.path().join("mirror.log"));
    let out = t.path().join("out");
    fails(
        &mut fetch(
            &["--server", &mir.url],
            &origin.root,
            Some("linux-x64-gnu"),
            &out,
            &t.path().join("c"),
        ),
        4,
        "target.digest_mismatch",
    );
    assert!(!out.join("x0x.linux-x64-gnu.node").exists());
}

#[test]
fn with_the_upstream_down_the_mirror_serves_what_it_synced() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    let arts = fake_release(4);
    origin.release("0.1.0", &arts);
    let mut up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    init_mirror(&m, &up.url, &origin.root);
    sync(&m, &[]);
    let url = up.url.clone();
    up.stop();
    // Started while the upstream is down (logged), and serving throughout.
    let mir = Server::start(&m, Some(&url), &t.path().join("mirror.log"));
    fetch_all(&mir.url, &origin.root, t.path(), &arts);
    let log = std::fs::read_to_string(&mir.log).unwrap();
    assert!(log.contains("upstream metadata pull failed"), "{log}");
}

#[test]
fn sync_filters_is_idempotent_and_resumes() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(5));
    origin.release("0.2.0", &fake_release(50));
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    let root = origin.root.to_str().unwrap();
    let r = sync(
        &m,
        &[
            "--from",
            &up.url,
            "--root",
            root,
            "--versions",
            "^0.2",
            "--targets",
            "linux-x64-gnu,wasm32-wasip1",
        ],
    );
    assert_eq!(
        (r["selected"].as_u64(), r["downloaded"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    assert!(!m.join("targets/x0x/0.1.0").exists());
    // The upstream and root were recorded: later syncs need neither.
    let r = sync(&m, &[]);
    assert_eq!(
        (
            r["selected"].as_u64(),
            r["downloaded"].as_u64(),
            r["present"].as_u64()
        ),
        (Some(8), Some(6), Some(2)),
        "{r}"
    );
    let r = sync(&m, &[]);
    assert_eq!(
        (r["downloaded"].as_u64(), r["present"].as_u64()),
        (Some(0), Some(8)),
        "{r}"
    );
    // An interrupted download (half a file in mirror/partial) is resumed and verified.
    let stored = origin.stored("0.1.0", "x0x.linux-x64-gnu.node");
    let rel = stored.strip_prefix(origin.dir.join("targets")).unwrap();
    let data = std::fs::read(&stored).unwrap();
    std::fs::remove_file(m.join("targets").join(rel)).unwrap();
    let sha = rel
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(
        m.join(format!("mirror/partial/{sha}.part")),
        &data[..data.len() / 2],
    )
    .unwrap();
    let r = sync(&m, &[]);
    assert_eq!(r["downloaded"].as_u64(), Some(1), "{r}");
    assert_eq!(std::fs::read(m.join("targets").join(rel)).unwrap(), data);
    // The synced mirror verifies as a whole with the repository verifier.
    origin.verify(&m);
}

#[test]
fn an_upstream_rolling_back_its_timestamp_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(6));
    let old_ts = std::fs::read(origin.dir.join("metadata/timestamp.json")).unwrap();
    origin.release("0.2.0", &fake_release(60));
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    init_mirror(&m, &up.url, &origin.root);
    let before = std::fs::read(m.join("metadata/timestamp.json")).unwrap();
    // Replay the older, validly signed timestamp.
    std::fs::write(origin.dir.join("metadata/timestamp.json"), &old_ts).unwrap();
    fails(
        bin().args(["mirror", "sync", "--repo"]).arg(&m),
        3,
        "metadata.rollback",
    );
    assert_eq!(
        std::fs::read(m.join("metadata/timestamp.json")).unwrap(),
        before
    );
}

/// `mirror sync` stores metadata under the repository writer lock (`repository/src/lock.rs`), like bundle import
/// and publishing: while another writer holds it, the sync waits and commits nothing.
#[test]
fn sync_waits_while_another_writer_holds_the_lock() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(5));
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    sync(
        &m,
        &["--from", &up.url, "--root", origin.root.to_str().unwrap()],
    );
    origin.release("0.2.0", &fake_release(6));
    let before = std::fs::read(m.join("metadata/timestamp.json")).unwrap();
    let held = x0x_dist_repository::lock::try_lock(&m)
        .unwrap()
        .expect("free");
    let mut child = bin()
        .args(["mirror", "sync", "--json", "--repo"])
        .arg(&m)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It reaches the lock and says it waits (polled: a loaded machine may take seconds to get it there) ...
    let stderr = mirror_support::await_stderr(&mut child, "waiting for another writer");
    // ... and commits nothing while it waits (a sleep that can only make this stricter).
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        std::fs::read(m.join("metadata/timestamp.json")).unwrap(),
        before,
        "the sync committed while another writer held the lock"
    );
    drop(held);
    let out = child.wait_with_output().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(out.status.success(), "{stderr}");
    assert_ne!(
        std::fs::read(m.join("metadata/timestamp.json")).unwrap(),
        before
    );
    assert!(m.join("targets/x0x/0.2.0").is_dir());
}

/// The mirror counts each verification failure per target and code in `/metrics`
/// (`x0x_dist_target_verify_failures_total`); an untampered target is not counted.
#[test]
fn a_mirror_counts_tampered_upstream_targets_in_its_metrics() {
    // Every field bound: one left to `..` would be dropped here (the upstream stopped, the directory gone).
    let TamperedUpstream {
        t: _t,
        origin,
        up: _up,
        m: _m,
        mir,
        rel,
    } = tampered_upstream(7);
    let (_, metrics) = get(&format!("{}/metrics", mir.url));
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        !metrics.contains("x0x_dist_target_verify_failures_total{"),
        "{metrics}"
    );
    for _ in 0..2 {
        let (status, _) = get(&format!("{}/tuf/targets/{rel}", mir.url));
        assert_eq!(status, 502);
    }
    // An untampered target is not counted.
    let good = origin.stored("0.1.0", "x0x.darwin-arm64.node");
    let good = good.strip_prefix(origin.dir.join("targets")).unwrap();
    assert_eq!(
        get(&format!("{}/tuf/targets/{}", mir.url, good.display())).0,
        200
    );
    let (_, metrics) = get(&format!("{}/metrics", mir.url));
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(
            "x0x_dist_target_verify_failures_total{target=\"x0x/0.1.0/x0x.linux-arm64-gnu.node\",code=\"target.digest_mismatch\"} 2"
        ),
        "{metrics}"
    );
    assert_eq!(
        metrics
            .matches("x0x_dist_target_verify_failures_total{")
            .count(),
        1,
        "{metrics}"
    );
}
