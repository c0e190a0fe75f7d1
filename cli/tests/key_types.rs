//! Every key type through the real binary (issue 22, item 2): `init --key-type`, `keygen --type`, `package add`,
//! `package release`, `verify`; then a real server on loopback whose online keys are ECDSA P-384 (timestamp and
//! snapshot re-signed by the server) taking a `publish` signed with an RSA publisher key; and secret keys made
//! elsewhere (PKCS#8 PEM from `openssl genpkey`) accepted wherever a key file is.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]

use std::path::Path;

use serde_json::Value;
use x0x_dist_test_support::fixture as common;

use common::cli::{bin, free_port, package_add, publish, run_ok, start_server};

fn keytype_of(public_file: &Path) -> (String, String) {
    let v: Value = serde_json::from_slice(&std::fs::read(public_file).unwrap()).unwrap();
    (
        v["keytype"].as_str().unwrap().to_owned(),
        v["scheme"].as_str().unwrap().to_owned(),
    )
}

fn wasm(dir: &Path, body: &[u8]) -> std::path::PathBuf {
    let f = dir.join("x0x.wasm32-wasip1.wasm");
    std::fs::write(
        &f,
        x0x_dist_loader::artifact::minimal_build(x0x_dist_manifests::Platform::Wasm32Wasip1, body),
    )
    .unwrap();
    f
}

#[test]
fn every_key_type_inits_signs_releases_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let file = wasm(&dist, b"payload");
    for (ty, keytype, scheme) in [
        ("ed25519", "ed25519", "ed25519"),
        ("ecdsa-p256", "ecdsa", "ecdsa-sha2-nistp256"),
        ("ecdsa-p384", "ecdsa", "ecdsa-sha2-nistp384"),
        ("rsa", "rsa", "rsassa-pss-sha256"),
    ] {
        let repo = tmp.path().join(format!("repo-{ty}"));
        run_ok(bin().args(["init", "--key-type", ty, "--repo"]).arg(&repo));
        assert_eq!(
            keytype_of(&repo.join("online/timestamp.key.pub")),
            (keytype.to_owned(), scheme.to_owned()),
            "{ty}"
        );
        let key = tmp.path().join(format!("{ty}.key"));
        let keyid = run_ok(bin().args(["keygen", "--type", ty, "--out"]).arg(&key));
        assert_eq!(keyid.trim().len(), 64);
        let secret = std::fs::read_to_string(&key).unwrap();
        assert_eq!(
            secret.starts_with("-----BEGIN PRIVATE KEY-----"),
            ty != "ed25519",
            "{ty}: secret key format"
        );
        run_ok(&mut package_add(
            &repo,
            "x0x",
            &key.with_extension("key.pub"),
        ));
        let out = run_ok(
            bin()
                .args(["package", "release", "--repo"])
                .arg(&repo)
                .args(["x0x", "--version", "0.3.1", "--key"])
                .arg(&key)
                .arg(&file),
        );
        assert!(out.contains("released x0x 0.3.1"), "{ty}: {out}");
        let out = run_ok(bin().args(["verify", "--repo"]).arg(&repo));
        assert!(out.starts_with("ok: root v1"), "{ty}: {out}");
        // The role is signed by the publisher key of this type.
        let role: Value =
            serde_json::from_slice(&std::fs::read(repo.join("metadata/1.x0x.json")).unwrap())
                .unwrap();
        assert_eq!(role["signatures"][0]["keyid"], keyid.trim(), "{ty}");
    }
}

#[test]
fn server_with_ecdsa_online_keys_takes_an_rsa_signed_publish() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    run_ok(
        bin()
            .args(["init", "--key-type", "ecdsa-p384", "--repo"])
            .arg(&repo),
    );
    let key = tmp.path().join("ci.key");
    run_ok(bin().args(["keygen", "--type", "rsa", "--out"]).arg(&key));
    run_ok(&mut package_add(
        &repo,
        "x0x",
        &key.with_extension("key.pub"),
    ));
    let token = run_ok(
        bin()
            .args(["token", "create", "--repo"])
            .arg(&repo)
            .args(["--package", "x0x"]),
    )
    .trim()
    .to_owned();
    let port = free_port();
    let mut server = start_server(&repo, port);
    let dist = tmp.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let out = run_ok(publish(&url, &token, &key, "0.3.1").arg(wasm(&dist, b"one")));
    assert!(out.contains("published x0x 0.3.1"), "{out}");
    server.kill().unwrap();
    let _ = server.wait();
    let out = run_ok(bin().args(["verify", "--repo"]).arg(&repo));
    assert!(out.starts_with("ok: root v1"), "{out}");
    let ts: Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/timestamp.json")).unwrap())
            .unwrap();
    assert!(
        ts["signed"]["version"].as_u64().unwrap() >= 3,
        "the server re-signed: {ts}"
    );
    // The timestamp the server signed carries a DER ECDSA signature (P-384: 0x30 ...).
    assert!(ts["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .starts_with("30"));
}

#[test]
fn pkcs8_keys_made_by_openssl_are_accepted_as_key_files() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no openssl");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pem = tmp.path().join("ossl.pem");
    let st = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&pem)
        .status()
        .unwrap();
    assert!(st.success());
    let repo = tmp.path().join("repo");
    run_ok(bin().args(["init", "--repo"]).arg(&repo));
    // package release with an openssl key the role does not delegate to: refused as unauthorized, which
    // shows the PEM parsed (a key file it could not read fails with key.file_invalid instead).
    let dist = tmp.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let other = tmp.path().join("ci.key");
    run_ok(bin().args(["keygen", "--out"]).arg(&other));
    run_ok(&mut package_add(
        &repo,
        "x0x",
        &other.with_extension("key.pub"),
    ));
    let out = bin()
        .args(["package", "release", "--repo"])
        .arg(&repo)
        .args(["x0x", "--version", "0.3.1", "--key"])
        .arg(&pem)
        .arg(wasm(&dist, b"x"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("key.not_authorized"), "{err}");
}
