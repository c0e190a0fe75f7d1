//! Day-2 operations on a live repository (issue 20): `package add`, `package resign` and `verify` take the same
//! storage settings as `serve` (`--repo DIR` or `--storage s3://…` with `--s3-endpoint`, `--keys`, `--database`)
//! and commit through the same protocol as a publish (`x0x_dist_server::admin`).
//!
//! - With a database, on a directory and on a real S3 engine (Garage: `X0X_S3_ENV`): the verbs run while a
//!   `serve --database` replica takes a stream of publishes; every publish answered 200 and every verb's change are
//!   in the final signed state (neither side's commit is lost), the re-sign signs past `--past`, the repository
//!   verifies through `verify --storage --database`.
//! - Without a database on an object store: a verb refuses while a server claims the store
//!   (`repo.concurrent_writer`) and changes nothing, `verify` (a reader) goes on, `--take-over` writes once the
//!   server is gone, and the verb leaves no live claim behind (a new server starts at once).
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::{bin, fails, free_port, publish, run_ok, serve_with, setup_repo, At};
use x0x_dist_test_support::postgres::Postgres;

fn wasm(dir: &Path, n: u32) -> PathBuf {
    let f = dir.join(format!("build-{n}/x0x.wasm32-wasip1.wasm"));
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(
        &f,
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            format!("build {n}").repeat(500).as_bytes(),
        ),
    )
    .unwrap();
    f
}

fn curl(url: &str) -> String {
    run_ok(Command::new("curl").args(["-fsS", "-m", "10", url]))
}

fn timestamp_version(base: &str) -> u64 {
    let ts: serde_json::Value =
        serde_json::from_str(&curl(&format!("{base}/tuf/metadata/timestamp.json"))).unwrap();
    ts["signed"]["version"].as_u64().unwrap()
}

#[test]
fn verbs_with_a_database_on_a_directory_never_lose_a_servers_commit() {
    verbs_with_a_database(false);
}

#[test]
fn verbs_with_a_database_on_s3_never_lose_a_servers_commit() {
    verbs_with_a_database(true);
}

fn verbs_with_a_database(s3: bool) {
    const PUBLISHES: u32 = 6;
    const PACKAGES: usize = 4;
    const PAST: u64 = 1000;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let Some(at) = At::new(s3, &repo) else {
        return;
    };
    let mut pg = Postgres::start();
    let db = pg.url();
    let port = free_port();
    let _server = serve_with(port, &tmp.path().join("a.log"), |c| {
        at.env(c);
        c.args(at.args())
            .arg("--keys")
            .arg(repo.join("online"))
            .args(["--database", &db, "--replica-id", "replica-a"]);
    });
    let base = format!("http://127.0.0.1:{port}");

    // A stream of publishes through the server while the verbs commit beside it.
    let publisher = {
        let (base, token, key, dir) = (
            base.clone(),
            token.clone(),
            key.clone(),
            tmp.path().to_owned(),
        );
        std::thread::spawn(move || {
            (1..=PUBLISHES)
                .map(|n| {
                    let f = wasm(&dir, n);
                    let out = publish(&base, &token, &key, &format!("1.0.{n}"))
                        .arg(&f)
                        .output()
                        .unwrap();
                    (n, out)
                })
                .collect::<Vec<_>>()
        })
    };
    let pubkey = key.with_extension("key.pub");
    for i in 0..PACKAGES {
        let out = run_ok(
            at.verb(&["package", "add"], &repo, Some(&db))
                .arg("--targets-key")
                .arg(repo.join("keys/targets.key"))
                .arg(format!("pkg{i}"))
                .arg("--publisher-key")
                .arg(&pubkey),
        );
        assert!(out.contains(&format!("delegated pkg{i}/*/*")), "{out}");
    }
    let out = run_ok(
        at.verb(&["package", "resign"], &repo, Some(&db))
            .args(["--past", &PAST.to_string()]),
    );
    assert!(out.contains("re-signed snapshot version"), "{out}");
    // Root rotation (a second root key) through the same protocol.
    let root2 = tmp.path().join("root2.key");
    run_ok(bin().args(["keygen", "--out"]).arg(&root2));
    let out = run_ok(
        at.verb(&["root", "rotate"], &repo, Some(&db))
            .arg("--add-key")
            .arg(root2.with_extension("key.pub"))
            .arg("--sign-with")
            .arg(repo.join("keys/root.key")),
    );
    assert!(out.contains("wrote root version 2"), "{out}");
    for (n, out) in publisher.join().unwrap() {
        assert!(
            out.status.success(),
            "publish 1.0.{n} beside the verbs: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Everything landed: every publish, every delegation; the re-sign signed past PAST.
    let packages = curl(&format!("{base}/api/v1/packages"));
    for i in 0..PACKAGES {
        assert!(packages.contains(&format!("\"pkg{i}\"")), "{packages}");
    }
    let x0x = curl(&format!("{base}/api/v1/packages/x0x"));
    for n in 1..=PUBLISHES {
        assert!(x0x.contains(&format!("\"1.0.{n}\"")), "1.0.{n} lost: {x0x}");
    }
    assert!(timestamp_version(&base) > PAST);
    let report: serde_json::Value = serde_json::from_str(&run_ok(
        at.verb(&["verify"], &repo, Some(&db)).arg("--json"),
    ))
    .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["targets"], u64::from(PUBLISHES), "{report}");
    assert_eq!(report["root_version"], 2, "{report}");
    assert!(curl(&format!("{base}/tuf/metadata/2.root.json")).contains("\"signed\""));
    // The store's copy of timestamp.json is the database's (the verbs wrote it as a replica does).
    if let At::Dir(d) = &at {
        run_ok(bin().args(["verify", "--repo"]).arg(d));
    }
    // A publish on top of everything still lands (the server saw the verbs' commits).
    let f = wasm(tmp.path(), 99);
    run_ok(publish(&base, &token, &key, "2.0.0").arg(&f));

    // PostgreSQL stopped mid-run: the verbs and publishes fail with the retryable database.unavailable (exit 7)
    // and change nothing; reads go on; once it is back (the pools reconnect) both succeed.
    let served = timestamp_version(&base);
    pg.stop();
    let add = |name: &str| {
        at.verb(&["package", "add"], &repo, Some(&db))
            .arg("--targets-key")
            .arg(repo.join("keys/targets.key"))
            .arg(name)
            .arg("--publisher-key")
            .arg(&pubkey)
            .output()
            .unwrap()
    };
    let out = add("late");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("error[database.unavailable]"), "{err}");
    let f = wasm(tmp.path(), 100);
    let t = std::time::Instant::now();
    let out = publish(&base, &token, &key, "3.0.0")
        .arg(&f)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("database.unavailable"), "{err}");
    eprintln!(
        "a publish with the database down failed in {:?}",
        t.elapsed()
    );
    assert_eq!(
        timestamp_version(&base),
        served,
        "reads go on, nothing changed"
    );
    assert!(curl(&format!("{base}/tuf/metadata/1.root.json")).contains("\"signed\""));
    pg.restart();
    let out = add("late");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run_ok(publish(&base, &token, &key, "3.0.0").arg(&f));
    let report: serde_json::Value = serde_json::from_str(&run_ok(
        at.verb(&["verify"], &repo, Some(&db)).arg("--json"),
    ))
    .unwrap();
    assert_eq!(report["targets"], u64::from(PUBLISHES) + 2, "{report}");
}

#[test]
fn without_a_database_a_verb_refuses_a_claimed_store_on_s3() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (_key, _token) = setup_repo(&repo);
    let Some(at) = At::new(true, &repo) else {
        return;
    };
    let serve = |id: &str, log: &str| {
        let port = free_port();
        let server = serve_with(port, &tmp.path().join(log), |c| {
            at.env(c);
            c.args(at.args())
                .arg("--keys")
                .arg(repo.join("online"))
                .args(["--replica-id", id]);
        });
        (server, format!("http://127.0.0.1:{port}"))
    };
    // Tokens of an object store (tokens.json there), changed as its writer while no server claims it.
    let token = |verb: &str| {
        let mut c = at.cmd();
        c.args(["token", verb]).args(at.args());
        c
    };
    let tok = run_ok(token("create").args(["--package", "x0x"]))
        .trim()
        .to_owned();
    let listed: serde_json::Value =
        serde_json::from_str(&run_ok(token("list").arg("--json"))).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let (server, base) = serve("writer-a", "a.log");
    // The server accepts the token the verb wrote into the store.
    let blob = tmp.path().join("blob");
    std::fs::write(&blob, b"a blob").unwrap();
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(b"a blob"))
    };
    let code = run_ok(Command::new("curl").args([
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "PUT",
        "-H",
        &format!("Authorization: Bearer {tok}"),
        "--data-binary",
        &format!("@{}", blob.display()),
        &format!("{base}/api/v1/blobs/sha256/{sha}?package=x0x"),
    ]));
    assert!(
        code.starts_with('2'),
        "upload with the store's new token: {code}"
    );
    let out = token("create").args(["--package", "x0x"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[repo.concurrent_writer]"), "{err}");
    let add = |name: &str, take_over: bool| {
        let mut c = at.verb(&["package", "add"], &repo, None);
        c.arg("--targets-key")
            .arg(repo.join("keys/targets.key"))
            .arg(name)
            .arg("--publisher-key")
            .arg(repo.parent().unwrap().join("publisher.key.pub"));
        if take_over {
            c.arg("--take-over");
        }
        c.output().unwrap()
    };
    let before = run_ok(at.verb(&["verify"], &repo, None).arg("--json"));
    let out = add("late", false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("error[repo.concurrent_writer]"), "{err}");
    assert!(err.contains("writer-a"), "{err}");
    // A reader goes on while the server holds the store; nothing changed.
    assert_eq!(
        run_ok(at.verb(&["verify"], &repo, None).arg("--json")),
        before
    );
    // The server is gone (its claim still live): --take-over, then a new server starts at once.
    drop(server);
    let out = add("late", true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _b = serve("writer-b", "b.log");
    let report: serde_json::Value =
        serde_json::from_str(&run_ok(at.verb(&["verify"], &repo, None).arg("--json"))).unwrap();
    assert_eq!(report["ok"], true, "{report}");
}

/// `init --storage`: the repository is made in DIR (which keeps the keys) and copied, verified, into an empty
/// prefix of the bucket, from which `verify --storage` and a server read it; a prefix that holds a repository is
/// refused before anything is made, and `--storage` that is not s3:// is a usage error.
#[test]
fn init_straight_into_an_empty_bucket_prefix_on_s3() {
    let Some((env, endpoints)) = x0x_dist_test_support::s3::engine() else {
        return;
    };
    let bucket = env
        .get("X0X_S3_BUCKET")
        .cloned()
        .unwrap_or_else(|| "x0x".into());
    let url = format!(
        "s3://{bucket}/{}",
        x0x_dist_test_support::s3::unique_prefix("init")
    );
    let endpoint = endpoints[0].as_str();
    let tmp = tempfile::tempdir().unwrap();
    let cmd = || {
        let mut c = bin();
        c.envs(env.iter().filter(|(k, _)| k.starts_with("AWS_")));
        c
    };
    let init = |dir: &Path, storage: &str| {
        let mut c = cmd();
        c.args(["init", "--repo"])
            .arg(dir)
            .args(["--storage", storage, "--s3-endpoint", endpoint]);
        c
    };
    let out = run_ok(&mut init(&tmp.path().join("a"), &url));
    assert!(
        out.contains("copied into") && out.contains("verified"),
        "{out}"
    );
    assert!(tmp.path().join("a/online/timestamp.key").is_file());
    let out = run_ok(cmd().args(["verify", "--storage", &url, "--s3-endpoint", endpoint]));
    assert!(out.starts_with("ok: root v1"), "{out}");
    // A server on the store serves the directory's root.
    let port = free_port();
    let _server = serve_with(port, &tmp.path().join("serve.log"), |c| {
        c.envs(env.iter().filter(|(k, _)| k.starts_with("AWS_")))
            .args(["--storage", &url, "--s3-endpoint", endpoint, "--keys"])
            .arg(tmp.path().join("a/online"));
    });
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/tuf/metadata/1.root.json")),
        std::fs::read_to_string(tmp.path().join("a/metadata/1.root.json")).unwrap()
    );

    let err = fails(&mut init(&tmp.path().join("b"), &url), 6, "repo.exists");
    assert!(err.contains("already holds a repository"), "{err}");
    assert!(!tmp.path().join("b").exists(), "nothing was made");
    fails(
        &mut init(&tmp.path().join("c"), "/srv/elsewhere"),
        2,
        "usage.invalid",
    );
    assert!(!tmp.path().join("c").exists(), "nothing was made");
}
