//! Air-gapped installs: inside a network namespace with only loopback (`ip netns`, when this machine allows it;
//! otherwise the same steps run with `X0X_DIST_OFFLINE=1` and say so), install from a bundle with the real
//! `x0x-dist` and the real JavaScript loader and call the binary; then the same after the metadata expired:
//! refused with `metadata.expired` by default, accepted under the operator's documented policy
//! (`X0X_DIST_ALLOW_EXPIRED_AFTER`), refused again when the metadata expired before the policy's cutoff.
//! Expired metadata here is really expired: the repository is signed three days in the past.
use x0x_dist_test_support::mirror as mirror_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_support::{artifact, bin, bytes, fails, node_package, run, run_ok, Origin};
use time::{Duration, OffsetDateTime};
use x0x_dist_repository::mirror::Selection;

/// A network namespace with only a (down) loopback interface, deleted on drop.
struct Gap(Option<String>);

impl Gap {
    fn new() -> Self {
        let name = format!("x0xgap{}", std::process::id());
        let made = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .is_ok_and(|o| o.status.success());
        if !made {
            assert!(
                std::env::var_os("X0X_REQUIRE_NETNS").is_none(),
                "X0X_REQUIRE_NETNS is set but `ip netns add` failed"
            );
            eprintln!("note: network namespaces unavailable here; running the air-gapped steps with X0X_DIST_OFFLINE=1 only");
            return Self(None);
        }
        let _ = Command::new("ip")
            .args(["netns", "exec", &name, "ip", "link", "set", "lo", "up"])
            .status();
        Self(Some(name))
    }

    /// `program` run inside the namespace (and offline in any case).
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = match &self.0 {
            Some(n) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", n]).arg(program);
                c
            }
            None => Command::new(program),
        };
        c.env("X0X_DIST_OFFLINE", "1").env_remove("X0X_DIST_URL");
        c
    }
}

impl Drop for Gap {
    fn drop(&mut self) {
        if let Some(n) = &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn x0x_dist() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_x0x-dist"))
}

/// Runs the JS loader in `gap` against `bundle`: Ok(value of `call`) or Err((code, candidate codes)).
fn node_install(
    gap: &Gap,
    pkg: &Path,
    bundle: &Path,
    cache: &Path,
    call: &str,
    policy: Option<&str>,
) -> Result<String, (String, Vec<String>)> {
    let script = format!(
        "try {{ const m = require({pkg:?}); console.log(JSON.stringify({{ ok: true, value: String({call}) }})); }} \
         catch (e) {{ console.log(JSON.stringify({{ ok: false, code: e.code, candidates: (e.candidates || []).map((c) => c.code), message: String(e.message) }})); }}",
        pkg = pkg.to_str().unwrap()
    );
    let mut c = gap.cmd("node");
    c.arg("-e")
        .arg(script)
        .env("X0X_DIST_BUNDLE", bundle)
        .env("X0X_DIST_CACHE", cache)
        .env_remove("X0X_DIST_ALLOW_EXPIRED_AFTER");
    if let Some(p) = policy {
        c.env("X0X_DIST_ALLOW_EXPIRED_AFTER", p);
    }
    let out = run(&mut c);
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
        panic!(
            "node said {line:?}; stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    if v["ok"] == true {
        Ok(v["value"].as_str().unwrap().to_owned())
    } else {
        let cands = v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap_or("").to_owned())
            .collect();
        Err((v["code"].as_str().unwrap_or("").to_owned(), cands))
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
#[ignore = "needs ip netns (root), node, and a loadable addon; run by .ci/stages/70-mirror.sh"]
fn air_gapped_install_from_a_bundle_and_after_expiry_only_under_the_policy() {
    let t = tempfile::tempdir().unwrap();
    let Some((addon, call)) = mirror_support::loadable_addon(t.path()) else {
        panic!(
            "no loadable addon: set X0X_CORE_DIR to a core build or install cc and Node's headers"
        );
    };
    let gap = Gap::new();

    // --- Fresh metadata: install from the bundle inside the gap, and prove the gap has no network.
    let origin = Origin::new(&t.path().join("up"), OffsetDateTime::now_utc());
    origin.release(
        "0.1.0",
        &[
            artifact("x0x.linux-x64-gnu.node", addon.clone()),
            artifact("x0x.wasm32-wasip1.wasm", bytes(7, 4096)),
        ],
    );
    let b = t.path().join("fresh.bundle");
    run_ok(
        bin()
            .args(["bundle", "export", "--repo"])
            .arg(&origin.dir)
            .arg("--out")
            .arg(&b),
    );
    if gap.0.is_some() {
        let up = mirror_support::Server::start(&origin.dir, None, &t.path().join("up.log"));
        let port = up.url.rsplit(':').next().unwrap().to_owned();
        let probe = format!("require('net').connect({port}, '127.0.0.1').on('connect', () => process.exit(1)).on('error', () => process.exit(0))");
        let st = gap.cmd("node").arg("-e").arg(probe).status().unwrap();
        assert!(
            st.success(),
            "the namespace reached a server outside it: not air-gapped"
        );
    }
    let pkg =
        node_package(&t.path().join("app"), "0.1.0", &origin.root).expect("node is installed");
    let v = node_install(&gap, &pkg, &b, &t.path().join("jc1"), call, None)
        .expect("install from a fresh bundle");
    assert!(!v.is_empty());
    run_ok(
        gap.cmd(x0x_dist())
            .args(["fetch", "--bundle"])
            .arg(&b)
            .arg("--root")
            .arg(&origin.root)
            .args(["--package", "x0x", "--target", "linux-x64-gnu", "--out"])
            .arg(t.path().join("f1"))
            .arg("--cache")
            .arg(t.path().join("rc1")),
    );
    assert_eq!(
        std::fs::read(t.path().join("f1/x0x.linux-x64-gnu.node")).unwrap(),
        addon
    );

    // --- Expired: signed three days ago (timestamp lifetime 1 day), exported while it was valid.
    let signed = OffsetDateTime::now_utc() - Duration::days(3);
    let old = Origin::new(&t.path().join("old"), signed);
    old.release(
        "0.1.0",
        &[
            artifact("x0x.linux-x64-gnu.node", addon.clone()),
            artifact("x0x.wasm32-wasip1.wasm", bytes(8, 4096)),
        ],
    );
    let eb = t.path().join("expired.bundle");
    let root = std::fs::read(&old.root).unwrap();
    x0x_dist_repository::bundle::export(
        &old.dir,
        &root,
        &Selection::default(),
        &eb,
        signed + Duration::hours(1),
    )
    .unwrap();
    let before_expiry = rfc3339(signed + Duration::hours(2)); // the timestamp was valid then
    let after_expiry = rfc3339(OffsetDateTime::now_utc() - Duration::hours(1)); // it had expired by then

    let import = |dir: &str, policy: Option<&str>| {
        let mut c = gap.cmd(x0x_dist());
        c.args(["bundle", "import"])
            .arg(&eb)
            .arg("--repo")
            .arg(t.path().join(dir))
            .arg("--root")
            .arg(&old.root);
        c.env_remove("X0X_DIST_ALLOW_EXPIRED_AFTER");
        if let Some(p) = policy {
            c.env("X0X_DIST_ALLOW_EXPIRED_AFTER", p);
        }
        c
    };
    // No policy: refused, with the code.
    let err = fails(&mut import("m1", None), 3, "metadata.expired");
    assert!(err.contains("timestamp"), "{err}");
    assert!(!t.path().join("m1/metadata/timestamp.json").exists());
    // A cutoff after the expiry does not help.
    fails(
        &mut import("m1", Some(&after_expiry)),
        3,
        "metadata.expired",
    );
    // A bad value is an error, never ignored.
    fails(&mut import("m1", Some("yesterday")), 2, "config.invalid");
    // The documented policy: accepted, and said so.
    let out = run(&mut import("m1", Some(&before_expiry)));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("X0X_DIST_ALLOW_EXPIRED_AFTER"),
        "the policy was applied silently"
    );

    // The Rust loader straight from the bundle: same rules, same codes.
    let fetch = |dir: &str, policy: Option<&str>| {
        let mut c = gap.cmd(x0x_dist());
        c.args(["fetch", "--bundle"])
            .arg(&eb)
            .arg("--root")
            .arg(&old.root)
            .args(["--package", "x0x", "--target", "linux-x64-gnu", "--out"])
            .arg(t.path().join(dir))
            .arg("--cache")
            .arg(t.path().join(format!("{dir}-cache")));
        c.env_remove("X0X_DIST_ALLOW_EXPIRED_AFTER");
        if let Some(p) = policy {
            c.env("X0X_DIST_ALLOW_EXPIRED_AFTER", p);
        }
        c
    };
    fails(&mut fetch("f2", None), 3, "metadata.expired");
    fails(&mut fetch("f3", Some(&after_expiry)), 3, "metadata.expired");
    let out = run(&mut fetch("f4", Some(&before_expiry)));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning[metadata.expired]"),
        "no warning"
    );
    assert_eq!(
        std::fs::read(t.path().join("f4/x0x.linux-x64-gnu.node")).unwrap(),
        addon
    );

    // The JavaScript loader: same variable, same codes; then it loads and calls the binary.
    let pkg2 = node_package(&t.path().join("app2"), "0.1.0", &old.root).unwrap();
    let (code, cands) =
        node_install(&gap, &pkg2, &eb, &t.path().join("jc2"), call, None).unwrap_err();
    assert_eq!(code, "loader.no_candidate");
    assert!(
        !cands.is_empty() && cands.iter().all(|c| c == "metadata.expired"),
        "{cands:?}"
    );
    let (_, cands) = node_install(
        &gap,
        &pkg2,
        &eb,
        &t.path().join("jc3"),
        call,
        Some(&after_expiry),
    )
    .unwrap_err();
    assert!(cands.iter().all(|c| c == "metadata.expired"), "{cands:?}");
    let v = node_install(
        &gap,
        &pkg2,
        &eb,
        &t.path().join("jc4"),
        call,
        Some(&before_expiry),
    )
    .expect("install under the policy");
    assert!(!v.is_empty());
}
