//! `kill -9` of a real `serve --database` replica at each commit point of a publish (issue 20), twice per point:
//! the victim is started with `X0X_DIST_TEST_CRASH_AT=POINT` (`x0x_dist_server::crash_point`: it `SIGKILL`s
//! itself there) next to a healthy replica on the same repository and database. After every kill the
//! repository verifies, the healthy replica serves a chain `fetch` verifies, and the publisher's retry through the
//! healthy replica lands (after `committed` the publish had landed: the retry answers `version.exists` and the version
//! is served).
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::Command;

use common::cli::{bin, free_port, publish, run_ok, serve_with, setup_repo, At, Server};
use x0x_dist_server::crash_point;
use x0x_dist_test_support::postgres::Postgres;

fn serve(repo: &Path, port: u16, db: &str, id: &str, log: &Path, crash_at: Option<&str>) -> Server {
    serve_with(port, log, |c| {
        c.arg("--repo")
            .arg(repo)
            .args(["--database", db, "--replica-id", id, "--poll-secs", "1"]);
        if let Some(p) = crash_at {
            c.env(crash_point::ENV, p);
        }
    })
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A retry lands at once because it signs the same role bytes as the killed attempt (the role's expiry is
/// rounded to the hour, `x0x_dist::client::role_expiry`, and the targets' publish time to the minute,
/// `x0x_dist::client::publish_time`): a round that would straddle a whole minute starts after it (across one, the
/// retry waits out the reservation's lease instead; docs/coordinator.md).
fn avoid_minute_boundary() {
    let now = time::OffsetDateTime::now_utc();
    let left = 60 - u64::from(now.second());
    if left < 25 {
        std::thread::sleep(std::time::Duration::from_secs(left + 1));
    }
}

#[test]
fn kill_9_at_each_commit_point_then_the_retry_lands() {
    const ROUNDS: usize = 2;
    let pg = Postgres::start();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let pb = free_port();
    let _healthy = serve(
        &repo,
        pb,
        &pg.url(),
        "replica-b",
        &tmp.path().join("b.log"),
        None,
    );
    let b = format!("http://127.0.0.1:{pb}");
    let root = repo.join("metadata/1.root.json");
    let mut n = 0u32;
    for point in crash_point::POINTS {
        for round in 0..ROUNDS {
            n += 1;
            let version = format!("1.0.{n}");
            let wasm = tmp.path().join(format!("{n}/x0x.wasm32-wasip1.wasm"));
            std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
            std::fs::write(
                &wasm,
                x0x_dist_loader::artifact::minimal_build(
                    x0x_dist_manifests::Platform::Wasm32Wasip1,
                    format!("build {n}").repeat(1000).as_bytes(),
                ),
            )
            .unwrap();
            avoid_minute_boundary();
            let pa = free_port();
            let log = tmp.path().join(format!("a-{point}-{round}.log"));
            let mut victim = serve(&repo, pa, &pg.url(), "replica-a", &log, Some(point));
            let (ok, out) = output(
                publish(&format!("http://127.0.0.1:{pa}"), &token, &key, &version).arg(&wasm),
            );
            assert!(
                !ok,
                "{point}: the publish through the victim got an answer: {out}"
            );
            let status = victim.0.wait().unwrap();
            assert_eq!(
                status.signal(),
                Some(9),
                "{point}: the victim did not die at the crash point ({status:?}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            // No corrupt state: the store verifies; the healthy replica serves a chain a client verifies.
            run_ok(bin().args(["verify", "--repo"]).arg(&repo));
            // The publisher retries through the healthy replica.
            let (ok, out) = output(publish(&b, &token, &key, &version).arg(&wasm));
            if point == "committed" {
                assert!(
                    !ok && (out.contains("error[version.exists]")
                        || out.contains("metadata.rollback")),
                    "{point}: the publish had committed; the retry says so: {out}"
                );
            } else {
                assert!(ok, "{point} round {round}: the retry did not land: {out}");
            }
            let fetched = tmp.path().join(format!("fetched-{n}"));
            run_ok(
                bin()
                    .args(["fetch", "--server", &b, "--root"])
                    .arg(&root)
                    .args([
                        "--package",
                        "x0x",
                        "--version",
                        &version,
                        "--all-targets",
                        "--out",
                    ])
                    .arg(&fetched)
                    .arg("--cache")
                    .arg(tmp.path().join("cache")),
            );
            assert_eq!(
                std::fs::read(fetched.join("x0x.wasm32-wasip1.wasm")).unwrap(),
                std::fs::read(&wasm).unwrap(),
                "{point}: version {version} is served whole"
            );
        }
    }
    // Every version is in the final signed state; the healthy replica's package view follows within its poll
    // (the victim of `committed` died before writing the store's copy of the timestamp: the poll repairs it).
    run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let body = run_ok(Command::new("curl").args(["-fsS", &format!("{b}/api/v1/packages/x0x")]));
        let missing: Vec<u32> = (1..=n)
            .filter(|i| !body.contains(&format!("\"1.0.{i}\"")))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "versions {missing:?} missing from {b}: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/timestamp.json")).unwrap())
            .unwrap();
    assert!(ts["signed"]["version"].as_u64().unwrap() > u64::from(n));
}

/// A replica `kill -9`ed while it holds a reservation (after `reserved`) loses it at once: its liveness lock (a
/// session-level advisory lock, `x0x_dist_server::coordinator::postgres::LIVENESS_LOCK`) went with its
/// connection, so a publish of the same version with OTHER bytes through another replica lands within seconds
/// instead of waiting out the 120 s lease.
#[test]
fn a_killed_replicas_reservation_is_taken_at_once() {
    let pg = Postgres::start();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let pb = free_port();
    let _healthy = serve(
        &repo,
        pb,
        &pg.url(),
        "replica-b",
        &tmp.path().join("b.log"),
        None,
    );
    let build = |name: &str| {
        let wasm = tmp.path().join(format!("{name}/x0x.wasm32-wasip1.wasm"));
        std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
        std::fs::write(
            &wasm,
            x0x_dist_loader::artifact::minimal_build(
                x0x_dist_manifests::Platform::Wasm32Wasip1,
                name.repeat(1000).as_bytes(),
            ),
        )
        .unwrap();
        wasm
    };
    let pa = free_port();
    let log = tmp.path().join("a.log");
    let mut victim = serve(&repo, pa, &pg.url(), "replica-a", &log, Some("reserved"));
    let (ok, out) = output(
        publish(&format!("http://127.0.0.1:{pa}"), &token, &key, "1.0.0").arg(build("first")),
    );
    assert!(!ok, "the publish through the victim got an answer: {out}");
    assert_eq!(victim.0.wait().unwrap().signal(), Some(9));
    // Other bytes for the same version (another build), through the healthy replica.
    let t = std::time::Instant::now();
    let (ok, out) = output(
        publish(&format!("http://127.0.0.1:{pb}"), &token, &key, "1.0.0").arg(build("second")),
    );
    let took = t.elapsed();
    assert!(
        ok,
        "the reservation of the killed replica still blocks: {out}"
    );
    assert!(
        took < std::time::Duration::from_secs(10),
        "took {took:?}: waited for the lease"
    );
    eprintln!("publish over a killed replica's reservation: {took:?}");
    run_ok(bin().args(["verify", "--repo"]).arg(&repo));
}

/// On a real object store (Garage, `X0X_S3_ENV`) with the database: three replicas; ten times, a random replica is
/// restarted to `kill -9` itself at a commit point (each point in turn) during a publish through it. After every
/// kill the repository verifies (`verify --storage --database`), and the publisher's retry through another
/// replica lands (after `committed`: the publish had landed). Finally every replica serves every version.
#[test]
fn kill_9_of_a_random_replica_at_each_commit_point_on_s3() {
    const KILLS: u32 = 10;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let Some(at) = At::new(true, &repo) else {
        return;
    };
    let pg = Postgres::start();
    let db = pg.url();
    let start = |i: usize, port: u16, crash_at: Option<&str>, log: &str| {
        serve_with(port, &tmp.path().join(log), |c| {
            at.env(c);
            c.args(at.args())
                .arg("--keys")
                .arg(repo.join("online"))
                .args(["--database", &db, "--poll-secs", "1"])
                .args(["--replica-id", &format!("replica-{i}")]);
            if let Some(p) = crash_at {
                c.env(crash_point::ENV, p);
            }
        })
    };
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut replicas: Vec<Option<Server>> = (0..3)
        .map(|i| Some(start(i, ports[i], None, &format!("r{i}.log"))))
        .collect();
    let url = |i: usize| format!("http://127.0.0.1:{}", ports[i]);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let t0 = std::time::Instant::now();
    for k in 1..=KILLS {
        let point = crash_point::POINTS[(k as usize - 1) % crash_point::POINTS.len()];
        let victim = random(3);
        let other = (victim + 1 + random(2)) % 3;
        let version = format!("1.0.{k}");
        let wasm = tmp.path().join(format!("{k}/x0x.wasm32-wasip1.wasm"));
        std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
        std::fs::write(
            &wasm,
            x0x_dist_loader::artifact::minimal_build(
                x0x_dist_manifests::Platform::Wasm32Wasip1,
                format!("build {k}").repeat(1000).as_bytes(),
            ),
        )
        .unwrap();
        replicas[victim] = None;
        let log = format!("victim-{k}-{point}.log");
        let mut v = start(victim, ports[victim], Some(point), &log);
        let (ok, out) = output(publish(&url(victim), &token, &key, &version).arg(&wasm));
        assert!(
            !ok,
            "{point}: the publish through the victim got an answer: {out}"
        );
        let status = v.0.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "{point}: replica-{victim} did not die at the crash point: {}",
            std::fs::read_to_string(tmp.path().join(&log)).unwrap_or_default()
        );
        drop(v);
        run_ok(&mut at.verb(&["verify"], &repo, Some(&db)));
        let (ok, out) = output(publish(&url(other), &token, &key, &version).arg(&wasm));
        if point == "committed" {
            assert!(
                !ok && (out.contains("error[version.exists]") || out.contains("metadata.rollback")),
                "{point}: the publish had committed; the retry says so: {out}"
            );
        } else {
            assert!(ok, "{point} (kill {k}, replica-{victim}): the retry through replica-{other} did not land: {out}");
        }
        replicas[victim] = Some(start(
            victim,
            ports[victim],
            None,
            &format!("r{victim}-{k}.log"),
        ));
    }
    eprintln!(
        "{KILLS} kills on S3 + PostgreSQL in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let report: serde_json::Value = serde_json::from_str(&run_ok(
        at.verb(&["verify"], &repo, Some(&db)).arg("--json"),
    ))
    .unwrap();
    assert_eq!(report["targets"], u64::from(KILLS), "{report}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for i in 0..3 {
        loop {
            let body = run_ok(
                Command::new("curl").args(["-fsS", &format!("{}/api/v1/packages/x0x", url(i))]),
            );
            let missing: Vec<u32> = (1..=KILLS)
                .filter(|k| !body.contains(&format!("\"1.0.{k}\"")))
                .collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "replica-{i} misses {missing:?}: {body}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}
