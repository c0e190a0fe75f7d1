//! The happy path over HTTP and over a `file://` directory: resolve the newest matching release, rank the host's
//! native build first, download it once, serve it from the cache afterwards, and follow a new release.
use x0x_dist_test_support::loader as common;

use common::{any, client, host, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

#[tokio::test]
async fn resolves_downloads_and_caches_over_http() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let gnu = payload(1, 200_000);
    let wasm = payload(2, 100_000);
    repo.publish(
        "0.3.0",
        &[(Platform::LinuxX64Gnu, payload(9, 10), Some("2.17"))],
    );
    repo.publish(
        "0.3.1",
        &[
            (Platform::LinuxX64Gnu, gnu.clone(), Some("2.17")),
            (Platform::DarwinArm64, payload(3, 1000), None),
            (Platform::Wasm32Wasip1, wasm.clone(), None),
        ],
    );
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));

    let (_, res, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(res.version, "0.3.1");
    assert_eq!(
        sel.candidate.path.as_str(),
        "x0x/0.3.1/x0x.linux-x64-gnu.node"
    );
    assert_eq!(std::fs::read(&sel.path).unwrap(), gnu);
    let ranks: Vec<_> = res
        .candidates
        .iter()
        .map(|c| (c.platform_name(), c.rank))
        .collect();
    assert_eq!(
        ranks,
        [
            ("linux-x64-gnu", Some(0)),
            ("wasm32-wasip1", Some(2)),
            ("darwin-arm64", None)
        ],
        "{res:#?}"
    );
    assert!(
        res.candidates[2]
            .reason
            .contains("built for aarch64-apple-darwin"),
        "{}",
        res.candidates[2].reason
    );

    // A range pins the older release.
    let (_, res, _) = c
        .best(
            "x0x",
            &semver::VersionReq::parse("=0.3.0").unwrap(),
            &h,
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(res.version, "0.3.0");

    // Second resolution: served from the cache, no target download.
    let before = server.requests_for("/tuf/targets/").len();
    let (_, _, again) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(again.path, sel.path);
    assert_eq!(server.requests_for("/tuf/targets/").len(), before);

    // No matching version.
    let err = c
        .best(
            "x0x",
            &semver::VersionReq::parse("^1").unwrap(),
            &h,
            &NoProgress,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "version.not_found");
    assert!(err.to_string().contains("0.3.0, 0.3.1"), "{err}");
    // Unknown package.
    let err = c.best("nope", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "package.not_found");

    // A new release is picked up through timestamp → snapshot → x0x role.
    let newer = payload(4, 5000);
    repo.publish(
        "0.4.0",
        &[(Platform::LinuxX64Gnu, newer.clone(), Some("2.17"))],
    );
    let (_, res, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(res.version, "0.4.0");
    assert_eq!(std::fs::read(&sel.path).unwrap(), newer);
    // Only versioned (immutable) metadata names plus timestamp.json were requested.
    for l in server.requests_for("/tuf/metadata/") {
        let name = l.path.rsplit('/').next().unwrap();
        assert!(
            name == "timestamp.json" || name.split('.').next().unwrap().parse::<u64>().is_ok(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn file_url_repository_and_wasm_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let threads = payload(5, 3000);
    repo.publish(
        "1.0.0",
        &[
            (Platform::LinuxArm64Gnu, payload(6, 100), Some("2.17")),
            (Platform::Wasm32Wasip1, payload(7, 100), None),
            (Platform::Wasm32Wasip1Threads, threads.clone(), None),
        ],
    );
    let url = format!("file://{}", repo.dir.display());
    let c = client(&url, &tmp.path().join("cache"), &repo.root_bytes);
    // An x86_64 musl host has no native build here: WASM with threads first.
    let (_, res, sel) = common::best_on(&c, "x86_64-unknown-linux-musl", None)
        .await
        .unwrap();
    assert_eq!(sel.candidate.platform_name(), "wasm32-wasip1-threads");
    assert_eq!(std::fs::read(&sel.path).unwrap(), threads);
    let usable: Vec<_> = res
        .usable()
        .map(x0x_dist_loader::resolve::Candidate::platform_name)
        .collect();
    assert_eq!(usable, ["wasm32-wasip1-threads", "wasm32-wasip1"]);
}
