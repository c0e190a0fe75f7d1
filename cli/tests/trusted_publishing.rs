//! Issue 23, items 1-2, end to end with the real binary on loopback and a real OpenID provider (`oidc-provider`,
//! test-support/oidc-issuer.mjs) as the CI issuer: a good ID token is exchanged and the server signs the release
//! online with the claims as provenance (shown by `verify`, valid for python-tuf); tokens from another issuer,
//! for another repository, expired, replayed, forged (unknown `kid`, or the real `kid` with another key),
//! `alg: none` and malformed are each refused with their code and nothing changes; a staged release is in no
//! signed role until another identity approves it, and self-approval is refused.
//!
//! Needs node and `.toolchains/oidc-provider` (scripts/setup.d/66-oidc-provider.sh), so it is ignored by a plain
//! `cargo test` and run by `.ci/stages/40-server.sh` (like python_tuf).
#![allow(clippy::disallowed_methods)] // tests write fixtures directly
use std::io::{Read as _, Write as _};
use std::path::Path;

use base64::Engine as _;
use serde_json::json;
use x0x_dist_test_support::cli::{bin, fails, free_port, run_ok, setup_repo, start_server};
use x0x_dist_test_support::oidc::Issuer;

const REPO: &str = "x0x-org/x0x";
const WORKFLOW: &str = "x0x-org/x0x/.github/workflows/release.yml@refs/heads/main";

fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Every file under `metadata/` and its bytes: what a refused request must leave unchanged.
fn metadata_state(repo: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(repo.join("metadata"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn good_claims() -> serde_json::Value {
    json!({"repository": REPO, "workflow_ref": WORKFLOW, "ref": "refs/heads/main"})
}

#[test]
#[ignore = "needs node and .toolchains/oidc-provider: run by .ci/stages/40-server.sh"]
fn trusted_publishing_and_staged_releases() {
    let issuer = Issuer::start();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (key, token) = setup_repo(&repo);
    run_ok(
        bin()
            .args(["package", "trust", "--repo"])
            .arg(&repo)
            .args(["x0x", "--issuer", &issuer.ci, "--audience", "x0x-ci"])
            .args(["--claim", &format!("repository={REPO}")])
            .args([
                "--claim",
                &format!("workflow_ref={WORKFLOW}"),
                "--sign-online",
            ]),
    );
    let policy = std::fs::read_to_string(repo.join("trust/x0x.json")).unwrap();
    assert!(
        policy.contains("\"signatures\"") && policy.contains("x0x-trust"),
        "{policy}"
    );
    let port = free_port();
    let mut server = start_server(&repo, port);
    let url = format!("http://127.0.0.1:{port}");
    let (_, wasm) = x0x_dist_test_support::fixture::artifacts("1.0.0")
        .into_iter()
        .find(|(p, _)| p.name() == "wasm32-wasip1")
        .unwrap();
    let file = dir.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(&file, &wasm).unwrap();
    let tok_file = dir.path().join("id-token");
    let publish_oidc = |id_token: &str, version: &str| {
        std::fs::write(&tok_file, id_token).unwrap();
        let mut c = bin();
        c.args(["publish", "--server", &url, "--oidc-token-file"])
            .arg(&tok_file)
            .args(["--package", "x0x", "--version", version])
            .arg(&file);
        c
    };

    // A good token: exchanged, published, signed online, provenance recorded.
    let good = Issuer::id_token(&issuer.ci, &good_claims(), None);
    let out = run_ok(&mut publish_oidc(&good, "1.0.0"));
    assert!(out.contains("signed by the server's online key"), "{out}");
    let verified = run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    assert!(
        verified.contains("provenance x0x/1.0.0/x0x.wasm32-wasip1.wasm")
            && verified.contains(&format!("repository={REPO}"))
            && verified.contains(&format!("workflow_ref={WORKFLOW}"))
            && verified.contains(&format!("issuer={}", issuer.ci)),
        "{verified}"
    );

    // Refusals: each its code, nothing changed.
    let before = metadata_state(&repo);
    let fresh = || Issuer::id_token(&issuer.ci, &good_claims(), None);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = {
        let t = fresh();
        let claims = t.split('.').nth(1).unwrap().to_owned();
        format!(
            "{}.{claims}.",
            b64.encode(br#"{"alg":"none","kid":"ci-key-1"}"#)
        )
    };
    let hs256 = {
        let t = fresh();
        let claims = t.split('.').nth(1).unwrap().to_owned();
        format!(
            "{}.{claims}.AAAA",
            b64.encode(br#"{"alg":"HS256","kid":"ci-key-1"}"#)
        )
    };
    let cases: Vec<(&str, String, i32)> = vec![
        (
            "oidc.iss",
            Issuer::id_token(&issuer.other, &good_claims(), None),
            9,
        ),
        (
            "oidc.claim",
            Issuer::id_token(
                &issuer.ci,
                &json!({"repository": "evil/x0x", "workflow_ref": WORKFLOW}),
                None,
            ),
            9,
        ),
        (
            "oidc.claim",
            Issuer::id_token(
                &issuer.ci,
                &json!({"repository": REPO, "workflow_ref": "x0x-org/x0x/.github/workflows/other.yml@refs/heads/main"}),
                None,
            ),
            9,
        ),
        (
            "oidc.exp",
            Issuer::id_token(&issuer.ci, &good_claims(), Some(now - 600)),
            9,
        ),
        ("oidc.jti", good.clone(), 9),
        (
            "oidc.kid",
            Issuer::forged(&issuer.ci, "unknown_kid", &good_claims()),
            9,
        ),
        (
            "oidc.signature",
            Issuer::forged(&issuer.ci, "real_kid", &good_claims()),
            9,
        ),
        ("oidc.algorithm", alg_none, 9),
        ("oidc.algorithm", hs256, 9),
        ("oidc.malformed", "not-a-jwt".into(), 9),
        ("oidc.malformed", "a.b.c".into(), 9),
        ("oidc.too_large", format!("{}.e30.x", "a".repeat(20_000)), 9),
    ];
    for (code, id_token, exit) in &cases {
        fails(&mut publish_oidc(id_token, "1.0.1"), *exit, code);
    }
    assert_eq!(
        metadata_state(&repo),
        before,
        "a refused token changed the repository"
    );

    // Staged: uploaded and checked, in no signed role, not under /tuf/.
    let stage = |version: &str| {
        let mut c = bin();
        c.args(["publish", "--server", &url, "--token", &token, "--stage"])
            .args(["--package", "x0x", "--version", version])
            .arg(&file);
        c
    };
    run_ok(&mut stage("1.1.0"));
    assert_eq!(
        metadata_state(&repo),
        before,
        "staging changed the signed metadata"
    );
    let (s, staged) = get(port, "/api/v1/packages/x0x/staged");
    assert!(
        s == 200 && staged.contains("x0x/1.1.0/x0x.wasm32-wasip1.wasm"),
        "{staged}"
    );
    let (_, role) = get(port, "/api/v1/packages/x0x/role");
    assert!(
        !role.contains("1.1.0"),
        "a staged release is in the signed role"
    );
    let (_, show) = get(port, "/api/v1/packages/x0x");
    assert!(
        show.contains("\"staged\"") && show.contains("1.1.0"),
        "{show}"
    );
    fails(&mut stage("1.1.0"), 6, "version.exists");

    // Self-approval refused; another token approves; unknown versions are not staged.
    let approve = |tok: &str, version: &str| {
        let mut c = bin();
        c.args([
            "release", "approve", "x0x", version, "--server", &url, "--token", tok,
        ]);
        c
    };
    fails(&mut approve(&token, "1.1.0"), 9, "release.self_approval");
    assert_eq!(metadata_state(&repo), before);
    let reviewer = run_ok(
        bin()
            .args(["token", "create", "--repo"])
            .arg(&repo)
            .args(["--package", "x0x"]),
    )
    .trim()
    .to_owned();
    fails(&mut approve(&reviewer, "9.9.9"), 5, "release.not_staged");
    let out = run_ok(&mut approve(&reviewer, "1.1.0"));
    assert!(out.contains("approved x0x 1.1.0"), "{out}");
    let (_, role) = get(port, "/api/v1/packages/x0x/role");
    assert!(role.contains("x0x/1.1.0/x0x.wasm32-wasip1.wasm"), "{role}");
    let (_, staged) = get(port, "/api/v1/packages/x0x/staged");
    assert!(!staged.contains("1.1.0"), "{staged}");
    let verified = run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    assert!(
        verified.contains("provenance x0x/1.1.0/x0x.wasm32-wasip1.wasm")
            && verified.contains("approved_by=token:"),
        "{verified}"
    );

    // Approval with a publisher key: the approver signs the role (no server provenance in a client-signed one).
    run_ok(&mut stage("1.4.0"));
    let out = run_ok(approve(&reviewer, "1.4.0").arg("--key").arg(&key));
    assert!(
        out.contains("approved x0x 1.4.0") && out.contains("your key"),
        "{out}"
    );
    let (_, role) = get(port, "/api/v1/packages/x0x/role");
    assert!(role.contains("x0x/1.4.0/x0x.wasm32-wasip1.wasm"), "{role}");
    let verified = run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    assert!(!verified.contains("provenance x0x/1.4.0"), "{verified}");

    // Reject: by another identity only.
    run_ok(&mut stage("1.2.0"));
    let reject = |tok: &str| {
        let mut c = bin();
        c.args([
            "release", "reject", "x0x", "1.2.0", "--server", &url, "--token", tok,
        ]);
        c
    };
    fails(&mut reject(&token), 9, "release.self_approval");
    run_ok(&mut reject(&reviewer));
    let (_, staged) = get(port, "/api/v1/packages/x0x/staged");
    assert!(!staged.contains("1.2.0"), "{staged}");

    // Through a follower replica (`serve --publish-via LEADER`): the exchange and the online-signed release are
    // forwarded to the leader, whose replay cache then refuses the same token at the leader too.
    let fport = free_port();
    let mut follower = bin()
        .args(["serve", "--repo"])
        .arg(&repo)
        .args([
            "--listen",
            &format!("127.0.0.1:{fport}"),
            "--publish-via",
            &url,
            "--log",
            "warn",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    x0x_dist_test_support::cli::wait_healthy(&mut follower, fport, || "follower".into());
    let furl = format!("http://127.0.0.1:{fport}");
    let via_follower = fresh();
    std::fs::write(&tok_file, &via_follower).unwrap();
    let out = run_ok(
        bin()
            .args(["publish", "--server", &furl, "--oidc-token-file"])
            .arg(&tok_file)
            .args(["--package", "x0x", "--version", "1.3.0"])
            .arg(&file),
    );
    assert!(out.contains("signed by the server's online key"), "{out}");
    fails(&mut publish_oidc(&via_follower, "1.3.1"), 9, "oidc.jti");
    let _ = follower.kill();
    let _ = follower.wait();

    // Yank and revoke (issue 23 item 3, server side): the signed `revocations` role, listed by the snapshot.
    let withdraw = |verb: &str, version: &str, extra: &[&str]| {
        let mut c = bin();
        c.args([
            "release", verb, "x0x", version, "--server", &url, "--token", &reviewer,
        ])
        .args(extra);
        c
    };
    run_ok(&mut withdraw(
        "yank",
        "1.0.0",
        &["--reason", "crashes on musl"],
    ));
    run_ok(&mut withdraw(
        "revoke",
        "1.1.0",
        &[
            "--reason",
            "CVE-2026-0001",
            "--advisory",
            "https://example.com/adv/1",
        ],
    ));
    let before = metadata_state(&repo);
    fails(
        &mut withdraw("yank", "1.1.0", &["--reason", "again"]),
        6,
        "release.revoked",
    );
    fails(
        &mut withdraw("revoke", "1.1.0", &["--reason", "again"]),
        6,
        "release.revoked",
    );
    fails(
        &mut withdraw("yank", "9.9.9", &["--reason", "none"]),
        5,
        "version.not_found",
    );
    fails(
        &mut withdraw("yank", "1.0.0", &["--reason", ""]),
        2,
        "usage.invalid",
    );
    assert_eq!(
        metadata_state(&repo),
        before,
        "a refused withdrawal changed the repository"
    );
    {
        use x0x_dist_manifests::metadata::{RevocationState, Revocations};
        use x0x_dist_manifests::{Root, Signed, Snapshot, Timestamp};
        let read = |n: &str| std::fs::read(repo.join("metadata").join(n)).unwrap();
        let ts = Signed::<Timestamp>::from_slice(&read("timestamp.json")).unwrap();
        let snap = Signed::<Snapshot>::from_slice(&read(&format!(
            "{}.snapshot.json",
            ts.signed().snapshot_meta().version
        )))
        .unwrap();
        let rv = snap.signed().meta["revocations.json"].version;
        assert_eq!(rv, 2);
        let (_, rev_json) = get(port, &format!("/tuf/metadata/{rv}.revocations.json"));
        let rev = Signed::<Revocations>::from_slice(rev_json.as_bytes()).unwrap();
        let root = Signed::<Root>::from_slice(&read("root.json")).unwrap();
        rev.verify(
            "revocations",
            &root.signed().keys,
            &root.signed().roles["snapshot"],
        )
        .expect("signed by the online snapshot key root names");
        let y = rev.signed().get("x0x", "1.0.0").unwrap();
        assert_eq!(
            (y.state, y.reason.as_str()),
            (RevocationState::Yanked, "crashes on musl")
        );
        let r = rev.signed().get("x0x", "1.1.0").unwrap();
        assert_eq!(r.state, RevocationState::Revoked);
        assert_eq!(r.advisory.as_deref(), Some("https://example.com/adv/1"));
    }
    run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    fails(
        bin()
            .args(["package", "add", "--repo"])
            .arg(&repo)
            .args(["revocations", "--publisher-key"])
            .arg(dir.path().join("publisher.key.pub")),
        2,
        "usage.invalid",
    );

    // python-tuf verifies the repository the server signed online.
    python_tuf_refresh(&url, &repo, dir.path());
    let _ = server.kill();
    let _ = server.wait();
}

/// python-tuf's ngclient refreshes from the server and finds both online-signed targets, their provenance intact.
fn python_tuf_refresh(url: &str, repo: &Path, work: &Path) {
    let tc = std::env::var("X0X_TOOLCHAINS").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.toolchains"),
        std::path::PathBuf::from,
    );
    let python = tc.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup.sh",
        python.display()
    );
    let script = r#"
import os, sys
from tuf.ngclient import Updater
base, root, work = sys.argv[1], sys.argv[2], sys.argv[3]
md, dl = os.path.join(work, "metadata"), os.path.join(work, "dl")
os.makedirs(md); os.makedirs(dl)
u = Updater(metadata_dir=md, metadata_base_url=base + "/tuf/metadata/", target_base_url=base + "/tuf/targets/",
            target_dir=dl, bootstrap=open(root, "rb").read())
u.refresh()
for v, field, want in (("1.0.0", "repository", "x0x-org/x0x"), ("1.1.0", "published_by", "token:")):
    info = u.get_targetinfo(f"x0x/{v}/x0x.wasm32-wasip1.wasm")
    assert info is not None, v
    assert info.custom["provenance"][field].startswith(want), info.custom
    u.download_target(info)
assert u.get_targetinfo("x0x/1.2.0/x0x.wasm32-wasip1.wasm") is None
print("python-tuf ok")
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, url])
        .arg(repo.join("metadata/1.root.json"))
        .arg(work.join("pytuf"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("python-tuf ok"),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
