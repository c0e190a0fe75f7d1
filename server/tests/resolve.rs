//! `GET /api/v1/packages/{name}/resolve`: the highest matching version over many releases and ranges (the
//! handler starts below the range's upper bound instead of scanning down from the newest version: the answers
//! must equal a plain scan's), the view rebuilt after each publish, and small API answers sent without gzip
//! even when the client asks for it (bigger ones still compressed).
use x0x_dist_test_support::fixture as common;

use axum::body::Body;
use axum::http::Request;
use common::*;

#[tokio::test]
async fn resolve_over_many_releases_equals_a_plain_scan() {
    let fx = repo(1);
    let st = fx.state().await;
    let versions = [
        "0.0.3",
        "0.1.0",
        "0.1.7",
        "0.2.0",
        "1.0.0",
        "1.2.0",
        "1.2.9",
        "1.10.0",
        "2.0.0-rc.1",
        "2.0.0",
        "2.5.1",
        "3.0.0",
    ];
    let mut cur = None;
    for (i, v) in versions.iter().enumerate() {
        let r = release(&fx, &st, cur.as_ref(), v).await;
        cur = Some(r.signed().clone());
        // Rebuilt after every publish: the new release is visible at once.
        let got = get(&st, "/api/v1/packages/x0x/resolve?range=*")
            .await
            .json();
        let newest = versions[..=i]
            .iter()
            .map(|s| semver::Version::parse(s).unwrap())
            .filter(|v| v.pre.is_empty())
            .max();
        assert_eq!(
            got["version"].as_str().map(str::to_owned),
            newest.map(|v| v.to_string()),
            "after publishing {v}"
        );
    }
    let all: Vec<semver::Version> = versions
        .iter()
        .map(|s| semver::Version::parse(s).unwrap())
        .collect();
    for range in [
        "^0.1",
        "^0.0.3",
        "^1",
        "^1.2",
        "~1.2",
        "=1.2.0",
        "<1.2.9",
        "<=1.2.9",
        "1.*",
        ">=1, <2",
        "^2",
        ">=2.0.0-rc.1",
        "^2.0.0-rc.1",
        "<0.1",
        "^4",
        "~0.1.3",
    ] {
        let req = semver::VersionReq::parse(range).unwrap();
        let expected = all.iter().filter(|v| req.matches(v)).max();
        let uri = format!(
            "/api/v1/packages/x0x/resolve?range={}&target=wasm32-wasip1",
            range
                .replace('^', "%5E")
                .replace(' ', "%20")
                .replace(',', "%2C")
                .replace('<', "%3C")
                .replace('>', "%3E")
                .replace('=', "%3D")
        );
        let r = get(&st, &uri).await;
        match expected {
            Some(v) => {
                assert_eq!(
                    r.status,
                    200,
                    "{range}: {}",
                    String::from_utf8_lossy(&r.body)
                );
                assert_eq!(r.json()["version"], v.to_string(), "{range}");
            }
            None => assert_eq!(r.code(), "version.not_found", "{range}"),
        }
    }
}

#[tokio::test]
async fn small_api_answers_are_not_gzipped_big_ones_are() {
    let fx = repo(1);
    let st = fx.state().await;
    let mut cur = None;
    for v in ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0"] {
        cur = Some(release(&fx, &st, cur.as_ref(), v).await.signed().clone());
    }
    let gz = |uri: &str| {
        Request::get(uri)
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap()
    };
    let small = call(
        &st,
        gz("/api/v1/packages/x0x/resolve?range=%5E1&target=linux-x64-gnu"),
    )
    .await;
    assert_eq!(small.status, 200);
    assert!(small.body.len() < usize::from(x0x_dist_server::router::MIN_GZIP_BYTES));
    assert_eq!(small.header("content-encoding"), None);
    assert_eq!(small.json()["version"], "1.5.0");
    // The whole package (6 releases x 2 targets) is several KiB: compressed.
    let big = call(&st, gz("/api/v1/packages/x0x")).await;
    assert_eq!(big.header("content-encoding"), Some("gzip"));
    let plain = get(&st, "/api/v1/packages/x0x").await;
    assert!(plain.body.len() > usize::from(x0x_dist_server::router::MIN_GZIP_BYTES));
    assert!(big.body.len() < plain.body.len());
}

/// `[resolve] min_release_age`: resolve never answers with a release younger than the age, by the signed
/// `custom.published` of its targets (the newest of them); without the setting the newest release is the answer.
#[tokio::test]
async fn min_release_age_holds_back_young_releases_by_their_signed_publish_time() {
    use x0x_dist_manifests::Signed;
    let fx = repo(1);
    let st = fx.state().await;
    let now = time::OffsetDateTime::now_utc();
    // 1.0.0 published 50 minutes ago (the server accepts up to an hour back), 1.1.0 now.
    let mut cur: Option<x0x_dist_manifests::Targets> = None;
    for (v, ago) in [("1.0.0", 50), ("1.1.0", 0)] {
        let files = artifacts(v);
        for (_, d) in &files {
            assert!(put_blob(&st, Some(&fx.bearer()), d)
                .await
                .status
                .is_success());
        }
        let signers: Vec<&x0x_dist_manifests::SigningKey> = fx.publishers.iter().collect();
        let mut r = role(cur.as_ref(), v, &files, &signers).signed().clone();
        for (path, t) in &mut r.targets {
            if path.as_str().starts_with(&format!("x0x/{v}/")) {
                t.set_published(now - time::Duration::minutes(ago));
            }
        }
        let signed = Signed::new(r, &signers).unwrap();
        let resp = submit(&st, Some(&fx.bearer()), "x0x", &signed.to_bytes()).await;
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        cur = Some(signed.signed().clone());
    }
    let answer = |st: std::sync::Arc<x0x_dist_server::state::AppState>, range: &'static str| async move {
        get(&st, &format!("/api/v1/packages/x0x/resolve?range={range}")).await
    };
    assert_eq!(answer(st.clone(), "*").await.json()["version"], "1.1.0");

    let mut config = fx.config();
    config.resolve.min_release_age = Some("30m".into());
    let st = state_for(config).await;
    assert_eq!(answer(st.clone(), "*").await.json()["version"], "1.0.0");
    // A range only the young release matches: not found, naming why.
    let r = answer(st.clone(), "%3E%3D1.1.0").await;
    assert_eq!(r.code(), "version.not_found");
    assert!(
        String::from_utf8_lossy(&r.body).contains("younger than [resolve] min_release_age: 1.1.0"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // 10 minutes holds back 1.1.0 only, two hours both, 0 nothing (off).
    let mut config = fx.config();
    config.resolve.min_release_age = Some("10m".into());
    assert_eq!(
        answer(state_for(config).await, "*").await.json()["version"],
        "1.0.0"
    );
    let mut config = fx.config();
    config.resolve.min_release_age = Some("2h".into());
    assert_eq!(
        answer(state_for(config).await, "*").await.code(),
        "version.not_found"
    );
    let mut config = fx.config();
    config.resolve.min_release_age = Some("0".into());
    assert_eq!(
        answer(state_for(config).await, "*").await.json()["version"],
        "1.1.0"
    );
}
