//! The real binary with a coordinator database (a private PostgreSQL, `x0x_dist_test_support::postgres`): two
//! `serve --database` replicas on one repository both take publishes; `token create|list|revoke --database`
//! changes the tokens of every replica at once.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use std::path::Path;

use common::cli::{bin, fails, free_port, publish, run_ok, serve_with, setup_repo, Server};
use x0x_dist_test_support::postgres::Postgres;

fn serve(repo: &Path, port: u16, db: &str, id: &str, log: &Path) -> Server {
    serve_with(port, log, |c| {
        c.arg("--repo")
            .arg(repo)
            .args(["--database", db, "--replica-id", id, "--poll-secs", "1"]);
    })
}

#[test]
fn two_replicas_with_a_database_publish_and_share_tokens() {
    let pg = Postgres::start();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, file_token) = setup_repo(&repo);
    let (pa, pb) = (free_port(), free_port());
    let _a = serve(&repo, pa, &pg.url(), "replica-a", &tmp.path().join("a.log"));
    let _b = serve(&repo, pb, &pg.url(), "replica-b", &tmp.path().join("b.log"));
    let (a, b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    let wasm = tmp.path().join("x0x.wasm32-wasip1.wasm");
    let build = |n: u8| {
        std::fs::write(
            &wasm,
            x0x_dist_loader::artifact::minimal_build(
                x0x_dist_manifests::Platform::Wasm32Wasip1,
                &vec![n; 10_000],
            ),
        )
        .unwrap();
    };
    // tokens.json was imported into the database when the first replica seeded it.
    build(1);
    run_ok(publish(&a, &file_token, &key, "0.1.0").arg(&wasm));
    // A token made with the CLI against the database works on every replica at once.
    let out = tmp.path().join("token");
    run_ok(
        bin()
            .args([
                "token",
                "create",
                "--database",
                &pg.url(),
                "--package",
                "x0x",
                "--out",
            ])
            .arg(&out),
    );
    let token = std::fs::read_to_string(&out).unwrap().trim().to_owned();
    build(2);
    run_ok(publish(&b, &token, &key, "0.2.0").arg(&wasm));
    let list: serde_json::Value = serde_json::from_str(&run_ok(bin().args([
        "token",
        "list",
        "--database",
        &pg.url(),
        "--json",
    ])))
    .unwrap();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    let ours = rows
        .iter()
        .find(|r| r["created_by"] != "tokens.json")
        .unwrap();
    assert!(ours["last_used_at"].is_string(), "{ours}");
    let id = ours["id"].as_str().unwrap().to_owned();
    run_ok(bin().args(["token", "revoke", "--database", &pg.url(), &id]));
    build(3);
    fails(
        publish(&a, &token, &key, "0.3.0").arg(&wasm),
        9,
        "auth.invalid",
    );
    // Both replicas serve the same, complete state; the directory verifies.
    run_ok(publish(&a, &file_token, &key, "0.3.0").arg(&wasm));
    run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let role = |url: &str| {
        let body = rt.block_on(async {
            reqwest::get(format!("{url}/api/v1/packages/x0x/role"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["signed"]["version"].clone()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while role(&b) != role(&a) {
        assert!(std::time::Instant::now() < deadline, "replica b lags");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(role(&a), 3);
}
