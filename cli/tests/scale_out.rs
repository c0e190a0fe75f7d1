//! Scale-out with the real binary (issue 13): a publish leader and a follower replica (`serve --publish-via`) on
//! one shared repository directory (standing in for the shared bucket), and `migrate` between two stores.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::cli::{
    bin, fails, free_port, package_add, publish, run_ok, setup_repo, start_server, wait_healthy,
};

/// A follower replica on `repo` forwarding publishes to `leader`; its log goes to `log`.
fn start_follower(repo: &Path, port: u16, leader: &str, log: &Path) -> Child {
    let mut child = bin()
        .args(["serve", "--repo"])
        .arg(repo)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--publish-via", leader, "--log", "info"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(&mut child, port, || {
        std::fs::read_to_string(log).unwrap_or_default()
    });
    child
}

/// One HTTP/1.1 request over a raw socket; returns (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use std::fmt::Write as _;
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn get(port: u16, path: &str) -> (u16, String) {
    http(port, "GET", path, &[], b"")
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// `package add other` with the same publisher key, and a token for it.
fn add_other(repo: &Path, key: &Path) -> String {
    run_ok(&mut package_add(
        repo,
        "other",
        &key.with_extension("key.pub"),
    ));
    run_ok(
        bin()
            .args(["token", "create", "--repo"])
            .arg(repo)
            .args(["--package", "other"]),
    )
    .trim()
    .to_owned()
}

fn wasm(dir: &Path, package: &str, version: &str) -> PathBuf {
    let p = dir.join(format!("{package}-{version}"));
    std::fs::create_dir_all(&p).unwrap();
    let f = p.join(format!("{package}.wasm32-wasip1.wasm"));
    std::fs::write(
        &f,
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            format!("{package} {version}").as_bytes(),
        ),
    )
    .unwrap();
    f
}

#[test]
fn publishes_through_a_follower_are_committed_by_the_leader() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let other_token = add_other(&repo, &key);
    let (lp, fp) = (free_port(), free_port());
    let leader = start_server(&repo, lp);
    let leader_url = format!("http://127.0.0.1:{lp}");
    let follower_log = tmp.path().join("follower.log");
    let follower = start_follower(&repo, fp, &leader_url, &follower_log);
    let follower_url = format!("http://127.0.0.1:{fp}");

    // A publish through the follower lands: the report says so and the leader serves the release.
    let out =
        run_ok(publish(&follower_url, &token, &key, "0.1.0").arg(wasm(tmp.path(), "x0x", "0.1.0")));
    assert!(out.contains("published x0x 0.1.0"), "{out}");
    let (status, body) = get(lp, "/api/v1/packages/x0x");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"0.1.0\""), "{body}");
    let (status, body) = get(fp, "/api/v1/packages/x0x");
    assert!(status == 200 && body.contains("\"0.1.0\""), "{body}");
    let log = std::fs::read_to_string(&follower_log).unwrap();
    assert!(log.contains("publish forwarded to the leader"), "{log}");

    // The leader's codes pass through unchanged: the same version again is version.exists (exit 6).
    fails(
        publish(&follower_url, &token, &key, "0.1.0").arg(wasm(tmp.path(), "x0x", "0.1.0")),
        6,
        "version.exists",
    );
    // A bad token is refused by the leader, relayed as auth.invalid; no token at all by the follower itself.
    fails(
        publish(&follower_url, "x0xd_nope", &key, "0.1.1").arg(wasm(tmp.path(), "x0x", "0.1.1")),
        9,
        "auth.invalid",
    );
    let (status, body) = http(fp, "POST", "/api/v1/packages/x0x/role", &[], b"{}");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("auth.missing"), "{body}");

    // Two concurrent publishes of different packages, one through each replica: both land.
    let a = {
        let (url, token, key, f) = (
            leader_url.clone(),
            token.clone(),
            key.clone(),
            wasm(tmp.path(), "x0x", "0.2.0"),
        );
        std::thread::spawn(move || run_ok(publish(&url, &token, &key, "0.2.0").arg(f)))
    };
    let b = {
        let (url, token, key, f) = (
            follower_url.clone(),
            other_token.clone(),
            key.clone(),
            wasm(tmp.path(), "other", "1.0.0"),
        );
        std::thread::spawn(move || {
            run_ok(
                bin()
                    .args(["publish", "--server", &url, "--token", &token, "--key"])
                    .arg(&key)
                    .args(["--package", "other", "--version", "1.0.0"])
                    .arg(f),
            )
        })
    };
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert!(a.contains("published x0x 0.2.0"), "{a}");
    assert!(b.contains("published other 1.0.0"), "{b}");
    // The snapshot the timestamp names lists both roles at their new versions.
    let md = repo.join("metadata");
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(md.join("timestamp.json")).unwrap()).unwrap();
    let sv = ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snap: serde_json::Value =
        serde_json::from_slice(&std::fs::read(md.join(format!("{sv}.snapshot.json"))).unwrap())
            .unwrap();
    assert_eq!(snap["signed"]["meta"]["x0x.json"]["version"], 2, "{snap}");
    assert_eq!(snap["signed"]["meta"]["other.json"]["version"], 1, "{snap}");
    for port in [lp, fp] {
        let (_, body) = get(port, "/api/v1/packages");
        assert!(
            body.contains("\"0.2.0\"") && body.contains("\"1.0.0\""),
            "{port}: {body}"
        );
    }

    // The leader goes away: publishes through the follower get 503 publish.leader_unavailable, reads still work.
    stop(leader);
    let auth = format!("Bearer {token}");
    let (status, body) = http(
        fp,
        "POST",
        "/api/v1/packages/x0x/role",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        b"{}",
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"publish.leader_unavailable\""), "{body}");
    assert!(
        !body.contains(&leader_url),
        "the leader's address stays in the log: {body}"
    );
    let (status, body) = get(fp, "/tuf/metadata/timestamp.json");
    assert_eq!(status, 200, "{body}");
    let (status, _) = get(fp, "/api/v1/packages/x0x/role");
    assert_eq!(status, 200);
    let (status, body) = get(fp, "/api/v1/packages/x0x/resolve?range=%5E0.2");
    assert!(status == 200 && body.contains("\"0.2.0\""), "{body}");
    stop(follower);

    run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    assert_eq!(common::verify_repo(&repo), 3);
}

/// A repository published through a server, plus a release made offline (a target without a blob).
fn published_repo(tmp: &Path) -> (PathBuf, PathBuf) {
    let repo = tmp.join("repo");
    let (key, token) = setup_repo(&repo);
    let port = free_port();
    let server = start_server(&repo, port);
    let url = format!("http://127.0.0.1:{port}");
    let dist = tmp.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::copy("/bin/true", dist.join("x0x.linux-x64-gnu.node")).unwrap();
    std::fs::write(
        dist.join("x0x.wasm32-wasip1.wasm"),
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            b"0.1.0",
        ),
    )
    .unwrap();
    run_ok(
        publish(&url, &token, &key, "0.1.0")
            .arg(dist.join("x0x.linux-x64-gnu.node"))
            .arg(dist.join("x0x.wasm32-wasip1.wasm")),
    );
    stop(server);
    run_ok(
        bin()
            .args(["package", "release", "--repo"])
            .arg(&repo)
            .args(["x0x", "--version", "0.2.0", "--key"])
            .arg(&key)
            .arg(wasm(tmp, "x0x", "0.2.0")),
    );
    (repo, key)
}

fn migrate(from: &Path, to: &Path) -> std::process::Command {
    let mut c = bin();
    c.arg("migrate").arg("--from").arg(from).arg("--to").arg(to);
    c
}

#[test]
fn migrate_copies_a_repository_that_then_serves_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _key) = published_repo(tmp.path());
    let dst = tmp.path().join("copy");
    let out = run_ok(&mut migrate(&repo, &dst));
    assert!(
        out.contains("3 blobs") && out.contains("3 targets linked"),
        "{out}"
    );
    assert!(out.contains("online keys were not copied"), "{out}");
    assert!(
        !dst.join("online").exists(),
        "online keys must never be copied"
    );
    // Resumable: a second run copies nothing.
    let out = run_ok(&mut migrate(&repo, &dst));
    assert!(
        out.contains("0 blobs (0 bytes) copied, 2 already there")
            && out.contains("0 targets linked, 3 already there")
            && out.contains(" 0 metadata objects written"),
        "{out}"
    );
    run_ok(bin().args(["verify", "--repo"]).arg(&dst));
    assert_eq!(common::verify_repo(&dst), 3);

    // The copy serves (with the online keys copied by hand, as the summary says) and fetches verify.
    common_copy_dir(&repo.join("online"), &dst.join("online"));
    let port = free_port();
    let server = start_server(&dst, port);
    let fetched = tmp.path().join("fetched");
    run_ok(
        bin()
            .args([
                "fetch",
                "--server",
                &format!("http://127.0.0.1:{port}"),
                "--root",
            ])
            .arg(repo.join("metadata/1.root.json"))
            .args([
                "--package",
                "x0x",
                "--version",
                "0.2.0",
                "--all-targets",
                "--out",
            ])
            .arg(&fetched)
            .arg("--cache")
            .arg(tmp.path().join("cache")),
    );
    assert!(fetched.join("x0x.wasm32-wasip1.wasm").is_file());
    stop(server);

    // A blob damaged in the destination (same length, other bytes): --verify-only fails with repo.corrupt.
    let blobs = dst.join("blobs/sha256");
    let victim = std::fs::read_dir(&blobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let len = std::fs::metadata(&victim).unwrap().len();
    std::fs::write(&victim, vec![b'x'; usize::try_from(len).unwrap()]).unwrap();
    let err = fails(migrate(&repo, &dst).arg("--verify-only"), 3, "repo.corrupt");
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(err.contains(&format!("blob {name} hashes to")), "{err}");

    // A destination holding another repository is refused before anything is copied.
    let other = tmp.path().join("other");
    run_ok(bin().args(["init", "--repo"]).arg(&other));
    let before = std::fs::read_dir(other.join("metadata")).unwrap().count();
    fails(&mut migrate(&repo, &other), 6, "repo.different");
    assert_eq!(
        std::fs::read_dir(other.join("metadata")).unwrap().count(),
        before
    );
    assert_eq!(
        std::fs::read_dir(other.join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
    // A source that is not a repository, and an object store that does not answer: clear errors, nothing done.
    fails(
        &mut migrate(&tmp.path().join("nope"), &dst),
        5,
        "repo.not_found",
    );
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let out = bin()
        .args(["migrate", "--from"])
        .arg(&repo)
        .args(["--to", "s3://bucket/prefix", "--s3-endpoint", &endpoint])
        .env("AWS_ACCESS_KEY_ID", "GKtest")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("error[io.error]"), "{err}");
    assert!(err.contains(&endpoint) && err.contains("bucket"), "{err}");
}

fn common_copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// `migrate` never rolls a repository back (issue 20): into a destination that moved on after the copy (a newer
/// release, a token created there) or that a live writer claims, it is refused with a stable code and the
/// destination stays byte for byte as it was; a re-run after new publishes on the *source* still copies.
#[test]
fn migrate_never_rolls_a_destination_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, key) = published_repo(tmp.path());
    let copy = |name: &str| {
        let dst = tmp.path().join(name);
        run_ok(&mut migrate(&repo, &dst));
        common_copy_dir(&repo.join("online"), &dst.join("online"));
        dst
    };
    let refused = |dst: &Path, code: &str, says: &str| {
        let before = common::tree_bytes(dst);
        let err = fails(&mut migrate(&repo, dst), 6, code);
        assert!(err.contains(says), "{err}");
        assert!(
            err.contains("nothing was copied"),
            "the refusal says what happened: {err}"
        );
        assert!(
            common::tree_bytes(dst) == before,
            "a refused migrate changed {}",
            dst.display()
        );
        err
    };

    // `package release` of x0x VERSION into the repository DIR.
    let release = |dir: &Path, version: &str| {
        run_ok(
            bin()
                .args(["package", "release", "--repo"])
                .arg(dir)
                .args(["x0x", "--version", version, "--key"])
                .arg(&key)
                .arg(wasm(tmp.path(), "x0x", version)),
        )
    };
    // A newer release published on the destination (its timestamp and x0x role are above the source's).
    let newer = copy("newer");
    release(&newer, "0.3.0");
    let err = refused(&newer, "repo.newer", "its timestamp is version");
    assert!(
        err.contains("Restore from backup"),
        "says what to do: {err}"
    );
    run_ok(bin().args(["verify", "--repo"]).arg(&newer));

    // Only the versioned role is newer (the timestamp copy lags, as on a store whose authority is a database).
    let lagging = copy("lagging");
    let ts = std::fs::read(lagging.join("metadata/timestamp.json")).unwrap();
    release(&lagging, "0.3.0");
    std::fs::write(lagging.join("metadata/timestamp.json"), ts).unwrap();
    refused(&lagging, "repo.newer", "the source's newest");

    // A token created on the destination after the copy would vanish (a revoked one would come back).
    let tokens = copy("tokens");
    run_ok(
        bin()
            .args(["token", "create", "--repo"])
            .arg(&tokens)
            .args(["--package", "x0x"]),
    );
    refused(&tokens, "repo.newer", "tokens.json differs");

    // A live single writer claims the destination.
    let live = copy("live");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    std::fs::write(
        live.join("writer.json"),
        format!(r#"{{"id":"replica-7","nonce":"00","heartbeat":{now},"ttl_secs":30}}"#),
    )
    .unwrap();
    refused(&live, "repo.concurrent_writer", "\"replica-7\"");
    // An expired claim (the writer is gone) does not block.
    std::fs::write(
        live.join("writer.json"),
        format!(
            r#"{{"id":"replica-7","nonce":"00","heartbeat":{},"ttl_secs":30}}"#,
            now - 120
        ),
    )
    .unwrap();
    run_ok(&mut migrate(&repo, &live));

    // New publishes on the source are still copied over an older copy (the normal resumed migration).
    let older = copy("older");
    release(&repo, "0.4.0");
    let out = run_ok(&mut migrate(&repo, &older));
    assert!(out.contains("verified"), "{out}");
    assert_eq!(
        std::fs::read(older.join("metadata/timestamp.json")).unwrap(),
        std::fs::read(repo.join("metadata/timestamp.json")).unwrap()
    );
}

fn signed_version(path: &Path) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["signed"]["version"].as_u64().unwrap()
}

/// Restore from backup (docs/server.md, "Restore from backup"): a backup older than what clients already trust
/// is refused by them (and `migrate` refuses to copy it over the live repository) until `package resign --past`
/// signs a snapshot and timestamp above every version served before; then the same clients accept it.
#[test]
fn restore_from_backup_signs_past_the_versions_clients_trust() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _key) = published_repo(tmp.path());
    let backup = tmp.path().join("backup");
    run_ok(&mut migrate(&repo, &backup));
    common_copy_dir(&repo.join("online"), &backup.join("online"));
    // The live repository moves on after the backup (here: re-signs, as a server does every day).
    for _ in 0..3 {
        run_ok(bin().args(["package", "resign", "--repo"]).arg(&repo));
    }
    let live_ts = signed_version(&repo.join("metadata/timestamp.json"));
    assert!(live_ts > signed_version(&backup.join("metadata/timestamp.json")));
    let root = repo.join("metadata/1.root.json");
    let cache = tmp.path().join("client-cache");
    let fetch = |dir: &Path| {
        let port = free_port();
        let server = start_server(dir, port);
        let mut c = bin();
        c.args([
            "fetch",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--root",
        ])
        .arg(&root)
        .args([
            "--package",
            "x0x",
            "--version",
            "0.2.0",
            "--all-targets",
            "--out",
        ])
        .arg(tmp.path().join("out"))
        .arg("--cache")
        .arg(&cache);
        let out = c.output().unwrap();
        stop(server);
        out
    };
    let ok = fetch(&repo);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // Restoring the backup over the live repository with migrate is refused; served as is, it is refused by the
    // client that trusts the newer timestamp.
    let err = fails(&mut migrate(&backup, &repo), 6, "repo.newer");
    assert!(err.contains("Restore from backup"), "{err}");
    let refused = fetch(&backup);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("metadata.rollback"), "{stderr}");

    // Signing past the live versions makes the restored repository acceptable to that client again.
    let out = run_ok(
        bin()
            .args(["package", "resign", "--repo"])
            .arg(&backup)
            .args(["--past", &live_ts.to_string()]),
    );
    let ts = signed_version(&backup.join("metadata/timestamp.json"));
    assert!(ts > live_ts, "{out}");
    assert!(out.contains(&format!("timestamp version {ts}")), "{out}");
    run_ok(bin().args(["verify", "--repo"]).arg(&backup));
    let ok = fetch(&backup);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
