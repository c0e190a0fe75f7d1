//! The Rust loader and the release lifecycle (issue 23): `x0x-dist fetch --version RANGE` never resolves to a
//! yanked or revoked version, an exact pin of a yanked one loads with a `release.yanked` warning, a revoked one
//! is `loader.revoked` (also from a warm cache, also offline once the revocation was verified), `doctor` says
//! why and where to move; `X0X_DIST_MIN_RELEASE_AGE` against the signed `custom.published`.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use std::path::Path;
use std::process::Command;

use x0x_dist_test_support::lifecycle::LifecycleOrigin;
use x0x_dist_test_support::mirror::{bin, fails, run, run_ok};

fn fetch(o: &LifecycleOrigin, version: &str, cache: &Path, out: &Path) -> Command {
    let mut c = bin();
    c.args(["fetch", "--json", "--server", &o.server.url, "--root"])
        .arg(&o.root)
        .args(["--package", "x0x", "--version", version, "--all-targets"])
        .arg("--out")
        .arg(out)
        .arg("--cache")
        .arg(cache)
        .env_remove("X0X_DIST_MIN_RELEASE_AGE")
        .env_remove("X0X_DIST_OFFLINE");
    c
}

fn fetched_version(out: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(out).unwrap();
    v["version"].as_str().unwrap().to_owned()
}

#[test]
fn fetch_skips_yanked_and_revoked_refuses_revoked_and_doctor_says_why() {
    let t = tempfile::tempdir().unwrap();
    let o = LifecycleOrigin::new(t.path());
    for v in ["1.0.0", "1.1.0", "1.2.0", "1.3.0"] {
        o.release(v);
    }
    let out = t.path().join("out");
    // A warm cache that loaded 1.2.0 before it was revoked.
    let warm = t.path().join("warm");
    run_ok(&mut fetch(&o, "1.2.0", &warm, &out));

    o.withdraw("yank", "1.3.0", "crashes on musl", &[]);
    o.withdraw(
        "revoke",
        "1.2.0",
        "CVE-2026-0001",
        &["--advisory", "https://example.com/adv/1"],
    );
    let cold = t.path().join("cold");
    // A range skips both.
    assert_eq!(
        fetched_version(&run_ok(&mut fetch(&o, "*", &cold, &out))),
        "1.1.0"
    );
    // A range whose matches are all withdrawn: nothing, saying why.
    let err = fails(&mut fetch(&o, "^1.2", &cold, &out), 5, "version.not_found");
    assert!(
        err.contains("1.3.0 yanked") && err.contains("1.2.0 revoked"),
        "{err}"
    );
    // An exact pin of the yanked one loads, with the warning naming the reason and where to move.
    let pinned = run(&mut fetch(&o, "1.3.0", &cold, &out));
    let stderr = String::from_utf8_lossy(&pinned.stderr);
    assert!(pinned.status.success(), "{stderr}");
    assert_eq!(
        fetched_version(&String::from_utf8_lossy(&pinned.stdout)),
        "1.3.0"
    );
    assert!(
        stderr.contains("release.yanked")
            && stderr.contains("crashes on musl")
            && stderr.contains("x0x@1.1.0"),
        "{stderr}"
    );
    // The revoked one is refused, cold and from the warm cache that loaded it before.
    for cache in [&cold, &warm] {
        let err = fails(&mut fetch(&o, "1.2.0", cache, &out), 6, "loader.revoked");
        assert!(
            err.contains("CVE-2026-0001")
                && err.contains("https://example.com/adv/1")
                && err.contains("x0x@1.1.0"),
            "{err}"
        );
    }
    // Offline, the warm cache follows the revocation it verified.
    fails(
        fetch(&o, "1.2.0", &warm, &out).env("X0X_DIST_OFFLINE", "1"),
        6,
        "loader.revoked",
    );
    // The revocations role is kept with the trusted metadata of the cache.
    let kept = walk(&warm)
        .into_iter()
        .any(|p| p.file_name().is_some_and(|n| n == "revocations.json"));
    assert!(kept, "revocations.json not persisted in the cache");

    // doctor: the lifecycle and the refusal.
    let mut doctor = bin();
    doctor
        .args(["doctor", "--json", "--server", &o.server.url, "--root"])
        .arg(&o.root)
        .args(["--version", "=1.2.0", "--cache"])
        .arg(&cold);
    let d = run(&mut doctor);
    assert!(!d.status.success());
    let report: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(report["error"]["code"], "loader.revoked", "{report}");
    assert_eq!(report["lifecycle"]["move_to"], "1.1.0", "{report}");
    let w = report["lifecycle"]["withdrawn"].as_array().unwrap();
    assert_eq!(w.len(), 2, "{report}");
    assert!(w.iter().any(|r| r["version"] == "1.2.0"
        && r["state"] == "revoked"
        && r["advisory"] == "https://example.com/adv/1"));
    let mut text = bin();
    text.args(["doctor", "--server", &o.server.url, "--root"])
        .arg(&o.root)
        .arg("--cache")
        .arg(&cold);
    let text = run(&mut text);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("1.3.0") && text.contains("yanked") && text.contains("move to:     1.1.0"),
        "{text}"
    );
}

#[test]
fn min_release_age_skips_and_refuses_young_releases_by_their_signed_publish_time() {
    let t = tempfile::tempdir().unwrap();
    let o = LifecycleOrigin::new(t.path());
    o.release("1.0.0");
    // Every target carries the signed publish time.
    let role = std::fs::read_dir(o.repo.join("metadata"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".x0x.json"))
        .unwrap();
    let role: serde_json::Value =
        serde_json::from_slice(&std::fs::read(role.path()).unwrap()).unwrap();
    for (name, t) in role["signed"]["targets"].as_object().unwrap() {
        assert!(t["custom"]["published"].is_string(), "{name}: {t}");
    }
    let out = t.path().join("out");
    let c = t.path().join("c");
    let err = fails(
        fetch(&o, "1.0.0", &c, &out).env("X0X_DIST_MIN_RELEASE_AGE", "1d"),
        6,
        "loader.too_young",
    );
    assert!(
        err.contains("becomes eligible at") && err.contains("X0X_DIST_MIN_RELEASE_AGE"),
        "{err}"
    );
    let err = fails(
        fetch(&o, "*", &c, &out).env("X0X_DIST_MIN_RELEASE_AGE", "1d"),
        5,
        "version.not_found",
    );
    assert!(err.contains("1.0.0 too young until"), "{err}");
    fails(
        fetch(&o, "*", &c, &out).env("X0X_DIST_MIN_RELEASE_AGE", "1w"),
        2,
        "config.invalid",
    );
    run_ok(fetch(&o, "*", &c, &out).env("X0X_DIST_MIN_RELEASE_AGE", "0"));

    // The mirror's equivalent: `mirror sync --min-release-age` leaves young releases' targets upstream
    // (the signed metadata is mirrored unchanged), and takes them once old enough (here: without the age).
    let m = t.path().join("m");
    let sync = |extra: &[&str]| {
        run_ok(
            bin()
                .args(["mirror", "sync", "--from", &o.server.url, "--repo"])
                .arg(&m)
                .arg("--root")
                .arg(&o.root)
                .args(extra),
        )
    };
    let targets = || walk(&m.join("targets")).len();
    sync(&["--min-release-age", "1d"]);
    assert_eq!(targets(), 0, "a young release was mirrored");
    assert!(m.join("metadata/timestamp.json").is_file());
    sync(&[]);
    assert_eq!(targets(), 1);
    fails(
        bin()
            .args(["mirror", "sync", "--repo"])
            .arg(&m)
            .args(["--min-release-age", "soon"]),
        2,
        "usage.invalid",
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
