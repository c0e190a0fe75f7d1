//! Issue 21, defect 3 on the server side: a pull-through mirror that refuses tampered upstream bytes counts it
//! per target in its metrics (`x0x_dist_target_verify_failures_total{target, code}`), so a dashboard sees the
//! security event, not only a 502 in the request counts. Real upstream and mirror servers on loopback.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::mirror as mirror_support;

use mirror_support::{bin, fake_release, get, run_ok, tamper, Origin, Server};

#[test]
fn a_mirror_counts_tampered_upstream_targets_in_its_metrics() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(7));
    let bad = origin.stored("0.1.0", "x0x.linux-arm64-gnu.node");
    tamper(&bad);
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let m = t.path().join("mirror");
    run_ok(
        bin()
            .args(["mirror", "init", "--repo"])
            .arg(&m)
            .args(["--upstream", &up.url, "--root"])
            .arg(&origin.root),
    );
    let mir = Server::start(&m, Some(&up.url), &t.path().join("mirror.log"));
    let rel = bad
        .strip_prefix(origin.dir.join("targets"))
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
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
