//! Publishing: tokens, the role checks (signatures, threshold, versions, immutability, blobs, custom fields,
//! expiry), the snapshot/timestamp the server writes, concurrency, and the convenience JSON.
use x0x_dist_test_support::fixture as common;

use axum::http::StatusCode;
use common::*;
use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::{Platform, Sha256, Signed, SigningKey, TargetFile, Targets};

fn signers(fx: &Fixture) -> Vec<&SigningKey> {
    fx.publishers.iter().collect()
}

/// `t` signed by `keys`, as the bytes a publisher submits.
fn resign<T: x0x_dist_manifests::Role>(t: T, keys: &[&SigningKey]) -> Vec<u8> {
    Signed::new(t, keys).unwrap().to_bytes()
}

async fn upload_all(
    fx: &Fixture,
    st: &std::sync::Arc<x0x_dist_server::state::AppState>,
    files: &[(Platform, Vec<u8>)],
) {
    for (_, d) in files {
        assert!(put_blob(st, Some(&fx.bearer()), d)
            .await
            .status
            .is_success());
    }
}

#[tokio::test]
async fn publish_two_releases_and_verify_like_a_client() {
    let fx = repo(1);
    let st = fx.state().await;
    let r1 = release(&fx, &st, None, "1.0.0").await;
    assert_eq!(verify_repo(&fx.path()), 2);
    let r2 = release(&fx, &st, Some(r1.signed()), "1.1.0").await;
    assert_eq!(r2.signed().version, 2);
    assert_eq!(verify_repo(&fx.path()), 4);
    // snapshot 1 (init) → 2 → 3; timestamp version 3.
    let ts = Signed::<x0x_dist_manifests::Timestamp>::from_slice(
        &std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(ts.signed().snapshot_meta().version, 3);
    assert_eq!(ts.signed().version, 3);
    // Served bytes are the stored role, byte for byte.
    assert_eq!(
        get(&st, "/tuf/metadata/2.x0x.json").await.body,
        r2.to_bytes()
    );
    assert_eq!(
        get(&st, "/api/v1/packages/x0x/role").await.body,
        r2.to_bytes()
    );

    let list = get(&st, "/api/v1/packages").await.json();
    let x0x = list["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "x0x")
        .unwrap();
    assert_eq!(x0x["versions"], serde_json::json!(["1.0.0", "1.1.0"]));
    assert_eq!(x0x["role_version"], 2);
    let pkg = get(&st, "/api/v1/packages/x0x").await.json();
    let t = &pkg["versions"]["1.1.0"][0];
    assert!(
        t["length"].as_u64().unwrap() > 0 && t["sha256"].as_str().unwrap().len() == 64,
        "{pkg}"
    );
    let res = get(
        &st,
        "/api/v1/packages/x0x/resolve?range=%5E1&target=x86_64-unknown-linux-gnu",
    )
    .await
    .json();
    assert_eq!(res["version"], "1.1.0");
    assert_eq!(res["targets"].as_array().unwrap().len(), 1);
    assert_eq!(res["targets"][0]["platform"], "linux-x64-gnu");
    let res = get(
        &st,
        "/api/v1/packages/x0x/resolve?range=~1.0&target=wasm32-wasip1",
    )
    .await
    .json();
    assert_eq!(res["version"], "1.0.0");
    let r = get(&st, "/api/v1/packages/x0x/resolve?range=%5E2").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "version.not_found")
    );
    let r = get(&st, "/api/v1/packages/x0x/resolve?range=bogus").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "package.version_invalid")
    );
    let r = get(&st, "/api/v1/packages/x0x/resolve?target=sparc-sun-solaris").await;
    assert_eq!(r.code(), "platform.unknown");
    let r = get(&st, "/api/v1/packages/nope").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "package.not_found")
    );

    let m = get(&st, "/metrics").await;
    let text = String::from_utf8_lossy(&m.body);
    assert!(
        text.contains("x0x_dist_publishes_total{result=\"ok\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn tokens_are_required_and_scoped() {
    let fx = repo(1);
    let st = fx.state().await;
    let data = b"some bytes";
    let r = put_blob(&st, None, data).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNAUTHORIZED, "auth.missing")
    );
    let r = put_blob(&st, Some("Bearer x0xd_wrong"), data).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNAUTHORIZED, "auth.invalid")
    );
    let files = artifacts("1.0.0");
    upload_all(&fx, &st, &files).await;
    let role = role(None, "1.0.0", &files, &signers(&fx)).to_bytes();
    let r = submit(&st, None, PKG, &role).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNAUTHORIZED, "auth.missing")
    );
    let r = submit(&st, Some(&format!("Bearer {}", fx.other_token)), PKG, &role).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "auth.forbidden")
    );
    let r = submit(&st, Some(&format!("Bearer {}x", fx.token)), PKG, &role).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNAUTHORIZED, "auth.invalid")
    );
    // Nothing was published by the rejected attempts.
    assert_eq!(
        get(&st, "/api/v1/packages/x0x/role").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        submit(&st, Some(&fx.bearer()), PKG, &role).await.status,
        StatusCode::OK
    );
    // A token for a package not delegated here: its own package is unknown.
    let r = submit(&st, Some(&fx.bearer()), "nope", &role).await;
    assert_eq!(r.code(), "auth.forbidden");
}

/// Submits `role` and expects it refused with `code`, answered with the HTTP status the codes table gives that
/// code, and the repository unchanged.
async fn expect_rejected(
    fx: &Fixture,
    st: &std::sync::Arc<x0x_dist_server::state::AppState>,
    role: &[u8],
    code: &str,
) {
    let status = x0x_dist_manifests::codes::info(code)
        .expect("a code of the table")
        .http;
    let before = std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap();
    let r = submit(st, Some(&fx.bearer()), PKG, role).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (status, code),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap(),
        before,
        "rejected publish changed the repository"
    );
}

#[tokio::test]
async fn version_rules_and_immutability() {
    let fx = repo(1);
    let st = fx.state().await;
    let s = signers(&fx);
    let r1 = release(&fx, &st, None, "1.0.0").await;
    let files2 = artifacts("2.0.0");
    upload_all(&fx, &st, &files2).await;

    // Replay of the accepted role.
    expect_rejected(&fx, &st, &r1.to_bytes(), "metadata.rollback").await;
    // Version skip.
    let mut t = role(Some(r1.signed()), "2.0.0", &files2, &s)
        .signed()
        .clone();
    t.version = 3;
    expect_rejected(&fx, &st, &resign(t, &s), "metadata.version_mismatch").await;
    // Changing a published target.
    let mut t = role(Some(r1.signed()), "2.0.0", &files2, &s)
        .signed()
        .clone();
    let (p, tf) = t
        .targets
        .iter_mut()
        .find(|(p, _)| p.package_target().unwrap().version().to_string() == "1.0.0")
        .unwrap();
    let p = p.clone();
    tf.length += 1;
    expect_rejected(&fx, &st, &resign(t.clone(), &s), "target.changed").await;
    // Removing a published target.
    t.targets.remove(&p);
    expect_rejected(&fx, &st, &resign(t, &s), "target.changed").await;
    // Adding a file to an already published version.
    let extra = vec![(
        Platform::from_name("darwin-arm64").unwrap(),
        b"late".to_vec(),
    )];
    upload_all(&fx, &st, &extra).await;
    let mut t = r1.signed().clone();
    t.version = 2;
    let late = role(None, "1.0.0", &extra, &s);
    t.targets.extend(late.signed().targets.clone());
    expect_rejected(&fx, &st, &resign(t, &s), "version.exists").await;
    // The honest next release still goes through.
    assert_eq!(
        submit(
            &st,
            Some(&fx.bearer()),
            PKG,
            &role(Some(r1.signed()), "2.0.0", &files2, &s).to_bytes()
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(verify_repo(&fx.path()), 4);
}

#[tokio::test]
async fn signatures_threshold_and_expiry() {
    let fx = repo(2);
    let st = fx.state().await;
    let files = artifacts("1.0.0");
    upload_all(&fx, &st, &files).await;
    let both = signers(&fx);
    // One of two required signatures.
    let one = role(None, "1.0.0", &files, &both[..1]);
    expect_rejected(&fx, &st, &one.to_bytes(), "metadata.threshold_not_met").await;
    // The same key twice never counts twice: the list is malformed (key ids MUST be unique in signatures).
    let mut dup = one.clone();
    let sig = dup.signatures()[0].clone();
    dup.signatures_mut().push(sig);
    expect_rejected(&fx, &st, &dup.to_bytes(), "metadata.malformed").await;
    // A stranger's key does not count.
    let mut stranger = one.clone();
    stranger.add_signature(&key(99)).unwrap();
    expect_rejected(&fx, &st, &stranger.to_bytes(), "metadata.threshold_not_met").await;
    // A corrupted signature by an authorized key.
    let mut bad = role(None, "1.0.0", &files, &both);
    let s0 = &mut bad.signatures_mut()[1];
    let mut sig = s0.sig.clone().into_bytes();
    sig[5] = if sig[5] == b'0' { b'1' } else { b'0' };
    s0.sig = String::from_utf8(sig).unwrap();
    expect_rejected(&fx, &st, &bad.to_bytes(), "metadata.signature_invalid").await;
    // Content changed after signing.
    let good = role(None, "1.0.0", &files, &both);
    let tampered = String::from_utf8(good.to_bytes())
        .unwrap()
        .replace("\"version\": 1,", "\"version\": 1 ,");
    let tampered = tampered.replacen("\"length\": ", "\"length\": 1", 1);
    expect_rejected(&fx, &st, tampered.as_bytes(), "metadata.signature_invalid").await;
    // Expired.
    let mut t = good.signed().clone();
    t.expires = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    expect_rejected(&fx, &st, &resign(t, &both), "metadata.expired").await;
    // Wrong role type and garbage.
    let mut ts = x0x_dist_manifests::Timestamp::empty(1, far_future());
    ts.meta.insert(
        "snapshot.json".into(),
        x0x_dist_manifests::metadata::MetaFile::version(1),
    );
    expect_rejected(&fx, &st, &resign(ts, &both), "metadata.wrong_type").await;
    expect_rejected(&fx, &st, b"{\"signed\": [", "metadata.malformed").await;
    assert_eq!(
        submit(&st, Some(&fx.bearer()), PKG, &good.to_bytes())
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn targets_must_match_blobs_paths_and_platform_table() {
    let fx = repo(1);
    let st = fx.state().await;
    let s = signers(&fx);
    let files = artifacts("1.0.0");
    // Blob not uploaded.
    let r = role(None, "1.0.0", &files, &s);
    expect_rejected(&fx, &st, &r.to_bytes(), "target.blob_missing").await;
    upload_all(&fx, &st, &files).await;
    // The role with `change` made to every target, re-signed.
    let every_target = |change: &dyn Fn(&mut TargetFile)| {
        let mut t = r.signed().clone();
        t.targets.values_mut().for_each(change);
        resign(t, &s)
    };
    // Length disagrees with the blob.
    let longer = every_target(&|tf| tf.length += 7);
    expect_rejected(&fx, &st, &longer, "target.length_mismatch").await;
    // Custom fields that disagree with the platform table.
    let other_triple = every_target(&|tf| {
        tf.custom.as_mut().unwrap()["target"] = "aarch64-apple-darwin".into();
    });
    expect_rejected(&fx, &st, &other_triple, "target.custom_invalid").await;
    let no_custom = every_target(&|tf| tf.custom = None);
    expect_rejected(&fx, &st, &no_custom, "target.custom_invalid").await;
    // A file name that is not a napi artifact name.
    let mut t = Targets::empty(1, far_future());
    let tf: TargetFile = r.signed().targets.values().next().unwrap().clone();
    t.targets
        .insert("x0x/1.0.0/readme.txt".parse().unwrap(), tf.clone());
    expect_rejected(&fx, &st, &resign(t, &s), "platform.unknown").await;
    // A path outside the package (the manifests crate rejects traversal while parsing).
    let mut t = Targets::empty(1, far_future());
    t.targets.insert(
        "other/1.0.0/other.linux-x64-gnu.node".parse().unwrap(),
        tf.clone(),
    );
    expect_rejected(&fx, &st, &resign(t, &s), "target.path_invalid").await;
    let traversal = String::from_utf8(r.to_bytes()).unwrap().replace(
        "x0x/1.0.0/x0x.linux-x64-gnu.node",
        "x0x/1.0.0/../../etc/passwd",
    );
    expect_rejected(&fx, &st, traversal.as_bytes(), "target.path_invalid").await;
    // Safe paths that are valid TUF but not package artifacts: the role parses, publishing refuses them.
    for other in [
        "x0x/docs/README.md",
        "README.md",
        "x0x/1.0.0/sub/x0x.linux-x64-gnu.node",
    ] {
        let mut t = Targets::empty(1, far_future());
        t.targets.insert(other.parse().unwrap(), tf.clone());
        expect_rejected(&fx, &st, &resign(t, &s), "target.path_invalid").await;
    }
    // Extra hash algorithms are refused.
    let sha512 = every_target(&|tf| {
        tf.hashes.insert("sha512".into(), "00".repeat(64));
    });
    expect_rejected(&fx, &st, &sha512, "target.custom_invalid").await;
    // Nothing got linked by the rejections.
    assert!(std::fs::read_dir(fx.path().join("targets"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(
        submit(&st, Some(&fx.bearer()), PKG, &r.to_bytes())
            .await
            .status,
        StatusCode::OK
    );
    let sha = Sha256::digest(&files[0].1).to_hex();
    assert!(fx
        .path()
        .join(format!("targets/x0x/1.0.0/{sha}.x0x.linux-x64-gnu.node"))
        .exists());
}

#[tokio::test]
async fn concurrent_publishes_one_wins_the_other_gets_409() {
    let fx = repo(1);
    let st = fx.state().await;
    let keys = signers(&fx);
    let first = artifacts("1.0.0");
    let second = artifacts("1.0.1");
    upload_all(&fx, &st, &first).await;
    upload_all(&fx, &st, &second).await;
    let ra = role(None, "1.0.0", &first, &keys).to_bytes();
    let rb = role(None, "1.0.1", &second, &keys).to_bytes();
    let auth = fx.bearer();
    let (x, y) = tokio::join!(
        submit(&st, Some(&auth), PKG, &ra),
        submit(&st, Some(&auth), PKG, &rb)
    );
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{:?} {:?}",
        x.json(),
        y.json()
    );
    let loser = if x.status == StatusCode::CONFLICT {
        x
    } else {
        y
    };
    assert!(["publish.conflict", "metadata.rollback"].contains(&loser.code().as_str()));
    assert_eq!(verify_repo(&fx.path()), 2);
}
