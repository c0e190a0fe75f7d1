//! Yanks and revocations reach mirrors and air-gap bundles (issue 23): the signed `revocations` role is part
//! of the chain the one walk verifies, so `mirror sync`, the pull-through mirror, `bundle export` and
//! `bundle import` carry it; a tampered one is refused and nothing of that chain is stored.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use std::path::Path;

use x0x_dist_test_support::lifecycle::LifecycleOrigin;
use x0x_dist_test_support::mirror::{bin, fails, get, import, run_ok, Server};

fn sync(m: &Path, from: &str, root: &Path) -> String {
    run_ok(
        bin()
            .args(["mirror", "sync", "--from", from, "--repo"])
            .arg(m)
            .arg("--root")
            .arg(root),
    )
}

fn meta(dir: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join("metadata").join(name)).ok()
}

#[test]
fn yanks_and_revocations_reach_mirrors_and_bundles_and_a_tampered_one_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let o = LifecycleOrigin::new(t.path());
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        o.release(v);
    }
    // A mirror synced before any withdrawal: it has no revocations yet.
    let old = t.path().join("old");
    sync(&old, &o.server.url, &o.root);
    let old_ts = meta(&old, "timestamp.json").unwrap();

    o.withdraw("yank", "1.0.0", "crashes on musl", &[]);
    o.withdraw(
        "revoke",
        "1.1.0",
        "CVE-2026-0001",
        &["--advisory", "https://example.com/adv/1"],
    );
    let rev_name = o.revocations_file();
    let rev = meta(&o.repo, &rev_name).unwrap();

    // `mirror sync`: the revocations role arrives with the chain, byte for byte.
    let m = t.path().join("m");
    sync(&m, &o.server.url, &o.root);
    assert_eq!(meta(&m, &rev_name).as_ref(), Some(&rev), "mirror sync");
    run_ok(bin().args(["verify", "--repo"]).arg(&m));

    // Pull-through: the mirror server pulls it on the first timestamp request and serves it.
    let pulled = t.path().join("p");
    run_ok(
        bin()
            .args(["mirror", "init", "--repo"])
            .arg(&pulled)
            .args(["--upstream", &o.server.url, "--root"])
            .arg(&o.root),
    );
    let pt = Server::start(&pulled, Some(&o.server.url), &t.path().join("p.log"));
    assert_eq!(
        get(&format!("{}/tuf/metadata/timestamp.json", pt.url)).0,
        200
    );
    let (status, body) = get(&format!("{}/tuf/metadata/{rev_name}", pt.url));
    assert_eq!((status, body), (200, rev.clone()), "pull-through");

    // Air gap: a bundle exported from the synced mirror lists it, an import stores it.
    let b = t.path().join("b.tar");
    let out = run_ok(
        bin()
            .args(["bundle", "export", "--json", "--out"])
            .arg(&b)
            .arg("--repo")
            .arg(&m),
    );
    assert!(
        out.contains(&format!("metadata/{rev_name}")),
        "the bundle's TOC lacks {rev_name}: {out}"
    );
    let imported = t.path().join("i");
    run_ok(&mut import(&b, &imported, &o.root));
    assert_eq!(
        meta(&imported, &rev_name).as_ref(),
        Some(&rev),
        "bundle import"
    );

    // A tampered revocations role upstream (same length, one reason changed): refused with its code, and
    // the mirror keeps serving what it had.
    let bad = t.path().join("bad");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(&o.repo)
        .arg(&bad)
        .status()
        .unwrap();
    assert!(st.success());
    let forged = String::from_utf8(rev.clone())
        .unwrap()
        .replace("crashes on musl", "crashes on mips");
    assert_ne!(forged.as_bytes(), rev.as_slice());
    std::fs::write(bad.join("metadata").join(&rev_name), forged).unwrap();
    let err = fails(
        bin()
            .args(["mirror", "sync", "--from"])
            .arg(&bad)
            .arg("--repo")
            .arg(&old)
            .arg("--root")
            .arg(&o.root),
        3,
        "metadata.signature_invalid",
    );
    assert!(err.contains("revocations"), "{err}");
    assert_eq!(meta(&old, &rev_name), None, "a tampered role was stored");
    assert_eq!(
        meta(&old, "timestamp.json").as_ref(),
        Some(&old_ts),
        "the refused chain was committed"
    );
    // The good chain still arrives.
    sync(&old, &o.server.url, &o.root);
    assert_eq!(meta(&old, &rev_name).as_ref(), Some(&rev));
}

/// `[resolve] min_release_age` on a pull-through mirror: its `resolve` answers from the upstream's metadata,
/// pulled before the JSON API answers (at most once per refresh interval), and never with a release younger than
/// its own age (by the signed `custom.published`).
#[test]
fn a_pull_through_mirror_resolves_with_its_own_min_release_age() {
    let t = tempfile::tempdir().unwrap();
    let o = LifecycleOrigin::new(t.path());
    o.release("1.0.0");
    let mirror = |name: &str, config: &str| {
        let dir = t.path().join(name);
        run_ok(
            bin()
                .args(["mirror", "init", "--repo"])
                .arg(&dir)
                .args(["--upstream", &o.server.url, "--root"])
                .arg(&o.root),
        );
        let cfg = t.path().join(format!("{name}.toml"));
        std::fs::write(&cfg, format!("[mirror]\nrefresh_secs = 1\n{config}")).unwrap();
        Server::start_with(
            &dir,
            Some(&o.server.url),
            &t.path().join(format!("{name}.log")),
            &[std::ffi::OsStr::new("--config"), cfg.as_os_str()],
        )
    };
    let cool = mirror("cool", "[resolve]\nmin_release_age = \"1d\"\n");
    let plain = mirror("plain", "");
    let resolve = |s: &Server| {
        let (status, body) = get(&format!("{}/api/v1/packages/x0x/resolve?range=*", s.url));
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    let (status, body) = resolve(&plain);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\":\"1.0.0\""), "{body}");
    let (status, body) = resolve(&cool);
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("version.not_found")
            && body.contains("younger than [resolve] min_release_age: 1.0.0"),
        "{body}"
    );
    // A new upstream release reaches the plain mirror's resolve after its refresh interval (pulled first).
    o.release("1.1.0");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let (status, body) = resolve(&plain);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\":\"1.1.0\""), "{body}");
    let (status, body) = resolve(&cool);
    assert!(
        body.contains("min_release_age: 1.1.0, 1.0.0"),
        "{status} {body}"
    );
}
