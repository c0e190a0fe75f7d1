//! Issue 23, the OIDC exchange's memory with the real binary on loopback and a real OpenID provider
//! (`oidc-provider`, test-support/oidc-issuer.mjs) as the CI issuer:
//! - JWKS rotation: the issuer rotates its signing key; a token under the new `kid` is accepted once the
//!   server re-reads the JWKS on the unknown `kid`, which it does at most once per `[oidc] jwks_refresh_secs`
//!   (cached otherwise: the issuer counts its JWKS fetches); a forged `kid` is refused (`oidc.kid`) and a
//!   stream of them costs at most one fetch per interval;
//! - clock skew edges with the provider's own tokens: expired 30 s ago (within the 60 s skew) accepted, 90 s ago
//!   refused (`oidc.exp`);
//! - replay memory survives a restart: a token exchanged, the server restarted, the same token refused
//!   (`oidc.jti`), both with the store's `oidc-jti.json` (no database) and with PostgreSQL (`--database`).
//!
//! Needs node and `.toolchains/oidc-provider` (and PostgreSQL for the database case), so it is ignored by a
//! plain `cargo test` and run by `.ci/stages/40-server.sh` like trusted_publishing.
#![allow(clippy::disallowed_methods)] // tests write fixtures directly
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use x0x_dist_test_support::cli::{bin, free_port, request, run_ok, setup_repo, start_server_with};
use x0x_dist_test_support::oidc::Issuer;

const REPO: &str = "x0x-org/x0x";

fn trust(repo: &Path, issuer: &str) {
    run_ok(
        bin()
            .args(["package", "trust", "--repo"])
            .arg(repo)
            .args(["x0x", "--issuer", issuer, "--audience", "x0x-ci"])
            .args(["--claim", &format!("repository={REPO}")]),
    );
}

/// `POST /api/v1/oidc/token` for x0x: the status and the stable code (or `ok`).
fn exchange(port: u16, id_token: &str) -> (u16, String) {
    let body = json!({"package": "x0x", "token": id_token}).to_string();
    let (status, answer) = request(port, "POST", "/api/v1/oidc/token", &body);
    let v: serde_json::Value = serde_json::from_str(&answer)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {status} {answer}"));
    let code = v["code"].as_str().map_or_else(
        || {
            assert!(
                v["token"].as_str().is_some_and(|t| t.starts_with("x0xo_")),
                "{answer}"
            );
            "ok".to_owned()
        },
        str::to_owned,
    );
    (status, code)
}

fn good(issuer: &str) -> String {
    Issuer::id_token(issuer, &json!({"repository": REPO}), None)
}

#[test]
#[ignore = "needs node and .toolchains/oidc-provider: run by .ci/stages/40-server.sh"]
fn jwks_rotation_refreshes_on_an_unknown_kid_at_most_once_per_interval() {
    let issuer = Issuer::start();
    let ci = issuer.ci.as_str();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    setup_repo(&repo);
    trust(&repo, ci);
    let config = dir.path().join("server.toml");
    let refresh = 3;
    std::fs::write(&config, format!("[oidc]\njwks_refresh_secs = {refresh}\n")).unwrap();
    let port = free_port();
    let mut server = start_server_with(&repo, port, &[OsStr::new("--config"), config.as_os_str()]);

    assert_eq!(exchange(port, &good(ci)), (200, "ok".into()));
    assert_eq!(
        Issuer::jwks_fetches(ci),
        1,
        "the first token reads the JWKS"
    );
    assert_eq!(exchange(port, &good(ci)), (200, "ok".into()));
    assert_eq!(
        Issuer::jwks_fetches(ci),
        1,
        "a known kid is served from the cache"
    );

    // The issuer rotates its key. Right after the last read, an unknown kid does not make the server re-read
    // (rate limit): the new key's token and forged kids are refused, and the issuer sees no fetch.
    let kid = Issuer::rotate(ci);
    assert_eq!(kid, "ci-key-2");
    let rotated = good(ci);
    let header: serde_json::Value = {
        use base64::Engine as _;
        let h = rotated.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["kid"], "ci-key-2", "the rotated key signs: {header}");
    assert_eq!(exchange(port, &rotated), (401, "oidc.kid".into()));
    for _ in 0..5 {
        let forged = Issuer::forged(ci, "unknown_kid", &json!({"repository": REPO}));
        assert_eq!(exchange(port, &forged), (401, "oidc.kid".into()));
    }
    assert_eq!(
        Issuer::jwks_fetches(ci),
        1,
        "unknown kids within the interval"
    );

    // After the interval the unknown kid makes the server re-read the JWKS once: the rotated key's token is
    // accepted (it was refused before the jti check, so it was never remembered).
    std::thread::sleep(Duration::from_secs(refresh) + Duration::from_millis(200));
    assert_eq!(exchange(port, &rotated), (200, "ok".into()));
    assert_eq!(Issuer::jwks_fetches(ci), 2);
    assert_eq!(exchange(port, &good(ci)), (200, "ok".into()));
    // A forged kid (in no JWKS, even the refreshed one) is refused; right after a read it costs no fetch, after
    // the interval exactly one.
    let forged = Issuer::forged(ci, "unknown_kid", &json!({"repository": REPO}));
    assert_eq!(exchange(port, &forged), (401, "oidc.kid".into()));
    assert_eq!(Issuer::jwks_fetches(ci), 2);
    std::thread::sleep(Duration::from_secs(refresh) + Duration::from_millis(200));
    for _ in 0..3 {
        let forged = Issuer::forged(ci, "unknown_kid", &json!({"repository": REPO}));
        assert_eq!(exchange(port, &forged), (401, "oidc.kid".into()));
    }
    assert_eq!(Issuer::jwks_fetches(ci), 3);
    // The real kid with another key is still a signature failure, not a refresh.
    let wrong_key = Issuer::forged(ci, "real_kid", &json!({"repository": REPO}));
    assert_eq!(exchange(port, &wrong_key), (401, "oidc.signature".into()));
    let _ = server.kill();
    let _ = server.wait();
}

/// Exchange, restart, replay: refused after the restart too.
fn replay_after_restart(extra: &[&OsStr], db: bool) {
    let issuer = Issuer::start();
    let ci = issuer.ci.as_str();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    setup_repo(&repo);
    trust(&repo, ci);
    let port = free_port();
    let mut server = start_server_with(&repo, port, extra);
    let token = good(ci);
    assert_eq!(exchange(port, &token), (200, "ok".into()));
    assert_eq!(exchange(port, &token), (401, "oidc.jti".into()));
    let _ = server.kill();
    let _ = server.wait();
    // Where it was remembered: the store's private object without a database, the database's table with one.
    assert_eq!(
        repo.join("oidc-jti.json").is_file(),
        !db,
        "oidc-jti.json in the store exactly when there is no database"
    );

    let mut server = start_server_with(&repo, port, extra);
    let (status, answer) = request(
        port,
        "POST",
        "/api/v1/oidc/token",
        &json!({"package": "x0x", "token": token}).to_string(),
    );
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer.contains("oidc.jti") && answer.contains("across restarts"),
        "{answer}"
    );
    // Another token is still exchanged.
    assert_eq!(exchange(port, &good(ci)), (200, "ok".into()));
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
#[ignore = "needs node and .toolchains/oidc-provider: run by .ci/stages/40-server.sh"]
fn a_replayed_token_is_refused_after_a_restart_without_a_database() {
    replay_after_restart(&[], false);
}

#[test]
#[ignore = "needs node, .toolchains/oidc-provider and PostgreSQL: run by .ci/stages/40-server.sh"]
fn a_replayed_token_is_refused_after_a_restart_with_a_database() {
    let pg = x0x_dist_test_support::postgres::Postgres::start();
    let url = pg.url();
    replay_after_restart(&[OsStr::new("--database"), OsStr::new(&url)], true);
}

#[test]
#[ignore = "needs node and .toolchains/oidc-provider: run by .ci/stages/40-server.sh"]
fn clock_skew_edges_with_real_tokens() {
    let issuer = Issuer::start();
    let ci = issuer.ci.as_str();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    setup_repo(&repo);
    trust(&repo, ci);
    let port = free_port();
    let mut server = start_server_with(&repo, port, &[]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({"repository": REPO});
    // Expired 30 s ago: within the skew the server allows an issuer's clock.
    let t = Issuer::id_token(ci, &claims, Some(now - 30));
    assert_eq!(exchange(port, &t), (200, "ok".into()));
    // Expired 90 s ago: beyond it.
    let t = Issuer::id_token(ci, &claims, Some(now - 90));
    assert_eq!(exchange(port, &t), (401, "oidc.exp".into()));
    let _ = server.kill();
    let _ = server.wait();
}
