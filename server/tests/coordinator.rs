//! The commit coordinator (server/src/coordinator/) with a real PostgreSQL (a private cluster per test,
//! `x0x_dist_test_support::postgres`) and, without a database, the single writer of an object store.
//!
//! - three replicas on one store and one database publish at once: every 200 is in the final signed state, every
//!   race for one version has exactly one winner and clear codes for the others, no versioned object is ever
//!   written twice, a replica learns another's commit through `LISTEN/NOTIFY` and never serves a timestamp going
//!   backwards; python-tuf verifies the final state through each replica;
//! - the database stopped mid-run: publishes fail with `database.unavailable` (503) and change nothing, reads go
//!   on, and publishes succeed once it is back;
//! - a token revoked through replica A is refused by replica C at once;
//! - without a database: a second writer on the same object store refuses to start (`repo.concurrent_writer`),
//!   and an out-of-band change of `timestamp.json` stops publishing with that code instead of overwriting it.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;
use x0x_dist_manifests::{Signed, Targets, Timestamp};
use x0x_dist_server::config::{Config, StorageConfig};
use x0x_dist_server::state::AppState;
use x0x_dist_server::storage::local::LocalStore;
use x0x_dist_server::storage::s3::S3Store;
use x0x_dist_server::storage::{ObjectKey, Store};
use x0x_dist_test_support::postgres::Postgres;
use x0x_dist_test_support::store::{rewritten, Hook, Watched, Writes};

/// A replica: its state, served on a loopback port (so the database watcher runs, and python-tuf can read it).
struct Replica {
    st: Arc<AppState>,
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn config(fx: &Fixture, db: Option<&str>, id: &str) -> Config {
    let mut c = fx.config();
    c.database.url = db.map(str::to_owned);
    c.replica.id = Some(id.to_owned());
    c.storage.poll_secs = 1;
    c
}

/// Where the replicas' repository lives: the fixture's directory, or a prefix of a real S3 bucket.
#[derive(Clone)]
enum Where {
    Dir,
    S3(Box<StorageConfig>),
}

impl Where {
    fn open(&self, fx: &Fixture) -> (Arc<dyn Store>, Option<PathBuf>) {
        match self {
            Self::Dir => (
                Arc::new(LocalStore::open(fx.path()).unwrap()),
                Some(fx.path()),
            ),
            Self::S3(c) => (Arc::new(S3Store::open(c).unwrap()), None),
        }
    }
}

/// The fixture's repository copied into a fresh prefix of the engine's bucket (`None`: no engine; skipped).
async fn s3_repo(fx: &Fixture) -> Option<StorageConfig> {
    let (env, endpoints) = x0x_dist_test_support::s3::engine()?;
    let bucket = env
        .get("X0X_S3_BUCKET")
        .cloned()
        .unwrap_or_else(|| "x0x".into());
    let url = format!(
        "s3://{bucket}/{}",
        x0x_dist_test_support::s3::unique_prefix("test-coordinator")
    );
    let c = x0x_dist_test_support::s3::s3_config(&env, &endpoints[0], &url);
    let s3 = S3Store::open(&c).unwrap();
    for e in std::fs::read_dir(fx.path().join("metadata")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        s3.put_object(
            &ObjectKey::metadata(&name).unwrap(),
            std::fs::read(e.path()).unwrap().into(),
        )
        .await
        .unwrap();
    }
    s3.put_object(
        &ObjectKey::Tokens,
        std::fs::read(fx.path().join("tokens.json")).unwrap().into(),
    )
    .await
    .unwrap();
    Some(c)
}

async fn replica(fx: &Fixture, db: &str, id: &str, writes: &Writes) -> Replica {
    replica_with_hook(fx, &Where::Dir, db, id, writes, &Arc::default()).await
}

async fn replica_with_hook(
    fx: &Fixture,
    at: &Where,
    db: &str,
    id: &str,
    writes: &Writes,
    before_snapshot: &Hook,
) -> Replica {
    let mut c = config(fx, Some(db), id);
    let (inner, local_dir) = at.open(fx);
    if let Where::S3(s3) = at {
        c.storage.url.clone_from(&s3.url);
        c.storage.s3 = s3.s3.clone();
        c.storage.keys = Some(fx.path().join("online"));
    }
    let store: Arc<dyn Store> = Watched::new(inner, writes.clone(), before_snapshot.clone());
    let coord = x0x_dist_server::coordinator::build(&c, local_dir.clone()).unwrap();
    let st = Arc::new(AppState::with_parts(c, store, local_dir, coord));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (running, _task) = x0x_dist_server::server::serve_state_on(listener, st.clone(), async {
        let _ = rx.await;
    })
    .await
    .unwrap();
    Replica {
        st,
        url: format!("http://{}", running.addr),
        _stop: tx,
    }
}

async fn current_role(st: &Arc<AppState>, package: &str) -> Option<Signed<Targets>> {
    let r = get(st, &format!("/api/v1/packages/{package}/role")).await;
    (r.status == StatusCode::OK).then(|| Signed::from_slice(&r.body).unwrap())
}

fn served_version(r: &Resp) -> u64 {
    r.expect(StatusCode::OK);
    Signed::<Timestamp>::from_slice(&r.body)
        .unwrap()
        .signed()
        .version
}

/// Uploads release `version` of `package` through `st` and submits it on top of `base`.
async fn publish(
    fx: &Fixture,
    st: &Arc<AppState>,
    package: &str,
    base: Option<&Targets>,
    version: &str,
) -> Resp {
    let token = if package == PKG {
        fx.bearer()
    } else {
        format!("Bearer {}", fx.other_token)
    };
    let files = artifacts(&format!("{package}-{version}"));
    for (_, d) in &files {
        let r = put_blob(st, Some(&token), d).await;
        if !r.status.is_success() {
            return r;
        }
    }
    let signers: Vec<_> = if package == PKG {
        fx.publishers.iter().collect()
    } else {
        vec![&fx.publishers[0]]
    };
    let role = role_for(package, base, version, &files, &signers);
    submit(st, Some(&token), package, &role.to_bytes()).await
}

fn python() -> PathBuf {
    let venv = std::env::var("X0X_TOOLCHAINS").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.toolchains"),
        PathBuf::from,
    );
    venv.join("venv/bin/python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_publish_at_once() {
    let fx = repo(1);
    three_replicas_publish_at_once_on(&fx, &Where::Dir).await;
}

/// The same on a real S3 engine (Garage: no conditional writes) when `X0X_S3_ENV` names one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_publish_at_once_on_s3() {
    let fx = repo(1);
    let Some(c) = s3_repo(&fx).await else {
        return;
    };
    three_replicas_publish_at_once_on(&fx, &Where::S3(Box::new(c))).await;
}

async fn three_replicas_publish_at_once_on(fx: &Fixture, at: &Where) {
    let pg = Postgres::start();
    let writes = Writes::default();
    let mut reps = Vec::new();
    for id in ["replica-a", "replica-b", "replica-c"] {
        reps.push(replica_with_hook(fx, at, &pg.url(), id, &writes, &Arc::default()).await);
    }
    let sts: Vec<Arc<AppState>> = reps.iter().map(|r| r.st.clone()).collect();

    // A reader alternating between replicas while publishes go on: the timestamp never goes backwards.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (sts, stop) = (sts.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut last, mut reads) = (0u64, 0u32);
            while reads < 200 || !stop.load(std::sync::atomic::Ordering::SeqCst) {
                for st in &sts {
                    let v = served_version(&get(st, "/tuf/metadata/timestamp.json").await);
                    assert!(v >= last, "timestamp went backwards: {v} after {last}");
                    last = v;
                    reads += 1;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            reads
        })
    };

    // Rounds: in each, all three replicas race to publish the next version of x0x (one version each, built on
    // the same current role) while package `other` publishes through one replica at the same moment (a
    // different role: it must land too, rebuilt on whichever commit won first).
    let mut expect: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..5u32 {
        let base_x = current_role(&sts[0], PKG).await;
        let base_o = current_role(&sts[0], "other").await;
        let mut tasks = Vec::new();
        for (i, st) in sts.iter().enumerate() {
            let (fx, st, base) = (&fx, st.clone(), base_x.clone());
            let version = format!("1.{round}.{i}");
            tasks.push(async move {
                let r = publish(fx, &st, PKG, base.as_ref().map(Signed::signed), &version).await;
                (PKG, version, r)
            });
        }
        let other = {
            let (fx, st, base) = (&fx, sts[(round as usize) % 3].clone(), base_o.clone());
            let version = format!("2.{round}.0");
            async move {
                let r = publish(
                    fx,
                    &st,
                    "other",
                    base.as_ref().map(Signed::signed),
                    &version,
                )
                .await;
                ("other", version, r)
            }
        };
        let (mut results, o) = tokio::join!(futures_util::future::join_all(tasks), other);
        results.push(o);
        let mut winners = 0;
        for (pkg, version, r) in results {
            if r.status == StatusCode::OK {
                expect.entry(pkg).or_default().push(version);
                if pkg == PKG {
                    winners += 1;
                }
            } else {
                assert_eq!(
                    pkg,
                    PKG,
                    "other {version}: {}",
                    String::from_utf8_lossy(&r.body)
                );
                let code = r.code();
                assert!(
                    ["publish.conflict", "metadata.rollback"].contains(&code.as_str()),
                    "race loser: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
                *codes.entry(code).or_default() += 1;
            }
        }
        assert_eq!(
            winners, 1,
            "round {round}: exactly one winner of the race for one version"
        );
    }
    assert_eq!(codes.values().sum::<usize>(), 10, "{codes:?}");

    // Every replica serves the final state (the others learnt it through NOTIFY or the poll).
    let head = sts[0].coordinator.head(&*sts[0].store).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    for st in &sts {
        loop {
            let v = served_version(&get(st, "/tuf/metadata/timestamp.json").await);
            if v == head.version {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "a replica still serves {v}, not {}",
                head.version
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let reads = reader.await.unwrap();
    assert!(reads >= 200, "{reads}");

    // Every 200 is in the final signed state.
    for (pkg, versions) in &expect {
        let role = current_role(&sts[2], pkg).await.unwrap();
        for v in versions {
            assert!(
                role.signed()
                    .targets
                    .keys()
                    .any(|p| p.as_str().starts_with(&format!("{pkg}/{v}/"))),
                "{pkg} {v} acknowledged but not published"
            );
        }
    }
    assert_eq!(expect["x0x"].len(), 5);
    assert_eq!(expect["other"].len(), 5);
    // No versioned name was written twice (with different bytes).
    let twice = rewritten(&writes);
    assert!(twice.is_empty(), "versioned objects rewritten: {twice:?}");
    assert!(writes.lock().unwrap().len() >= 20);
    // The store's copy of timestamp.json is the database's; the repository verifies as a client sees it.
    let copy = sts[0]
        .store
        .get_object(&ObjectKey::timestamp())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.bytes, head.bytes);
    if matches!(at, Where::Dir) {
        assert_eq!(verify_repo(&fx.path()), 20);
    }
    // The audit log has every publish, with who and which replica.
    let audit = sts[1]
        .coordinator
        .database()
        .unwrap()
        .audit(100)
        .await
        .unwrap();
    let publishes: Vec<_> = audit.iter().filter(|a| a.3 == "publish").collect();
    assert_eq!(publishes.len(), 10);
    let replicas: std::collections::BTreeSet<_> = publishes.iter().map(|a| a.1.as_str()).collect();
    assert!(replicas.len() >= 2, "{replicas:?}");
    assert!(publishes.iter().all(|a| a.2.starts_with("token:")));
    // The other replicas learnt commits by notice.
    let metrics = get(&sts[1], "/metrics").await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(text.contains("x0x_dist_db_calls_total"), "{text}");
    let notices: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("x0x_dist_notify_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(notices > 0, "{text}");

    // python-tuf refreshes and downloads every target through each replica.
    let py = python();
    if py.exists() {
        let last_x = expect["x0x"].last().unwrap();
        for r in &reps {
            let out = tokio::process::Command::new(&py)
                .arg(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../interop/python_client.py"),
                )
                .args(["--url", &r.url, "--root"])
                .arg(fx.path().join("metadata/1.root.json"))
                .arg("--target")
                .arg(format!("x0x/{last_x}/x0x.wasm32-wasip1.wasm"))
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "python-tuf through {}: {}{}",
                r.url,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    } else {
        assert!(
            std::env::var("X0X_REQUIRE_PYTHON_TUF").as_deref() != Ok("1"),
            "{} missing",
            py.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_stopped_mid_run() {
    let mut pg = Postgres::start();
    let fx = repo(1);
    let writes = Writes::default();
    let a = replica(&fx, &pg.url(), "replica-a", &writes).await;
    let r = publish(&fx, &a.st, PKG, None, "1.0.0").await;
    r.expect(StatusCode::OK);
    let role1 = current_role(&a.st, PKG).await.unwrap();
    let before = std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap();
    let served = served_version(&get(&a.st, "/tuf/metadata/timestamp.json").await);

    // The blobs are up before the database goes: the role submission itself meets the outage.
    let files = artifacts(&format!("{PKG}-1.1.0"));
    upload(&a.st, &fx.bearer(), &files).await;
    let signers: Vec<_> = fx.publishers.iter().collect();
    let role2 = role_for(PKG, Some(role1.signed()), "1.1.0", &files, &signers);
    pg.stop();
    let r = submit(&a.st, Some(&fx.bearer()), PKG, &role2.to_bytes()).await;
    r.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "database.unavailable");
    // Nothing changed, and reads go on.
    assert_eq!(
        std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap(),
        before
    );
    assert_eq!(
        served_version(&get(&a.st, "/tuf/metadata/timestamp.json").await),
        served
    );
    assert_eq!(
        get(&a.st, "/tuf/metadata/1.root.json").await.status,
        StatusCode::OK
    );
    assert_eq!(verify_repo(&fx.path()), 2);
    let ready = get(&a.st, "/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["code"], "database.unavailable");
    assert_eq!(get(&a.st, "/livez").await.status, StatusCode::OK);

    pg.restart();
    let r = publish(&fx, &a.st, PKG, Some(role1.signed()), "1.1.0").await;
    r.expect(StatusCode::OK);
    assert_eq!(verify_repo(&fx.path()), 4);
    assert_eq!(get(&a.st, "/readyz").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_revoked_through_one_replica_is_refused_by_another_at_once() {
    let pg = Postgres::start();
    let fx = repo(1);
    let writes = Writes::default();
    let a = replica(&fx, &pg.url(), "replica-a", &writes).await;
    let c = replica(&fx, &pg.url(), "replica-c", &writes).await;
    // tokens.json was imported when the database was seeded.
    assert!(put_blob(&c.st, Some(&fx.bearer()), b"seeded")
        .await
        .status
        .is_success());
    let db_a = a.st.coordinator.database().unwrap();
    let (token, rec) = db_a.create_token(&[PKG.into()], "test").await.unwrap();
    let bearer = format!("Bearer {token}");
    assert!(put_blob(&c.st, Some(&bearer), b"one")
        .await
        .status
        .is_success());
    assert!(db_a.revoke_token(&rec.id, "test").await.unwrap());
    let r = put_blob(&c.st, Some(&bearer), b"two").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "auth.invalid");
    let listed =
        c.st.coordinator
            .database()
            .unwrap()
            .list_tokens()
            .await
            .unwrap();
    let t = listed.iter().find(|t| t.record.id == rec.id).unwrap();
    assert!(t.revoked_at.is_some() && t.last_used_at.is_some());
    let audit = db_a.audit(10).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.3 == "token.revoke" && e.1 == "replica-a"));
}

/// An object store without a database (a local directory standing in: no directory lock is taken when the
/// state is built without `local_dir`).
async fn single_writer(
    fx: &Fixture,
    at: &Where,
    id: &str,
    take_over: bool,
) -> Result<Arc<AppState>, String> {
    let mut c = config(fx, None, id);
    c.writer.take_over = take_over;
    let (store, _) = at.open(fx);
    let st = Arc::new(AppState::with_store(c, store, None));
    x0x_dist_server::server::startup_check(&st)
        .await
        .map(|()| st)
        .map_err(|e| format!("{e:#}"))
}

#[tokio::test]
async fn without_database_a_second_writer_refuses_and_an_out_of_band_timestamp_stops_publishing() {
    let fx = repo(1);
    single_writer_on(&fx, &Where::Dir).await;
}

/// The same on a real S3 engine when `X0X_S3_ENV` names one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_database_on_s3() {
    let fx = repo(1);
    let Some(c) = s3_repo(&fx).await else {
        return;
    };
    single_writer_on(&fx, &Where::S3(Box::new(c))).await;
}

async fn single_writer_on(fx: &Fixture, at: &Where) {
    let a = single_writer(fx, at, "writer-a", false).await.unwrap();
    let err = single_writer(fx, at, "writer-b", false).await.unwrap_err();
    assert!(
        err.contains("writer \"writer-a\" claims this object store"),
        "{err}"
    );
    assert!(err.contains("--take-over"), "{err}");
    let r = publish(fx, &a, PKG, None, "1.0.0").await;
    r.expect(StatusCode::OK);
    let role1 = current_role(&a, PKG).await.unwrap();

    // Someone re-signs timestamp.json behind the writer's back.
    let (store, _) = at.open(fx);
    let ts_key = ObjectKey::timestamp();
    let ts = store.get_object(&ts_key).await.unwrap().unwrap().bytes;
    let mut t = Signed::<Timestamp>::from_slice(&ts)
        .unwrap()
        .signed()
        .clone();
    t.version += 1;
    let theirs = Signed::new(t, &[&key(4)]).unwrap().to_bytes();
    store
        .put_object(&ts_key, theirs.clone().into())
        .await
        .unwrap();
    let r = publish(fx, &a, PKG, Some(role1.signed()), "1.1.0").await;
    r.expect(StatusCode::CONFLICT);
    assert_eq!(r.code(), "repo.concurrent_writer");
    assert_eq!(
        store
            .get_object(&ts_key)
            .await
            .unwrap()
            .unwrap()
            .bytes
            .to_vec(),
        theirs,
        "the other writer's timestamp was overwritten"
    );

    // --take-over starts once the operator says the other writer is gone.
    single_writer(fx, at, "writer-b", true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_lost_between_the_versioned_writes_and_the_commit() {
    let pg = Arc::new(Mutex::new(Postgres::start()));
    let url = pg.lock().unwrap().url();
    let fx = repo(1);
    let writes = Writes::default();
    let hook: Hook = Arc::default();
    let a = replica_with_hook(&fx, &Where::Dir, &url, "replica-a", &writes, &hook).await;
    let before = std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap();
    let files = artifacts("1.0.0");
    upload(&a.st, &fx.bearer(), &files).await;
    let signers: Vec<_> = fx.publishers.iter().collect();
    let role1 = role_for(PKG, None, "1.0.0", &files, &signers);
    // The role is reserved and written; the database dies as the snapshot is written, before the commit.
    let pg2 = pg.clone();
    *hook.lock().unwrap() = Some(Box::new(move || pg2.lock().unwrap().stop()));
    let r = submit(&a.st, Some(&fx.bearer()), PKG, &role1.to_bytes()).await;
    r.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "database.unavailable");
    assert!(
        fx.path().join("metadata/1.x0x.json").exists(),
        "the fault hit before the role was written"
    );
    // No partial state: the timestamp clients see is the old one, and the repository verifies.
    assert_eq!(
        std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap(),
        before
    );
    assert_eq!(verify_repo(&fx.path()), 0);
    let served = get(&a.st, "/tuf/metadata/timestamp.json").await;
    assert_eq!(served.body.to_vec(), before);

    // Back: the same submission (the client's retry) lands; its reserved role number is taken again by the same
    // bytes, the snapshot gets a new number (the one written before the fault is never reused).
    pg.lock().unwrap().restart();
    let r = submit(&a.st, Some(&fx.bearer()), PKG, &role1.to_bytes()).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.json()["snapshot_version"], 3);
    assert_eq!(verify_repo(&fx.path()), 2);
    assert!(rewritten(&writes).is_empty(), "{:?}", rewritten(&writes));
}
