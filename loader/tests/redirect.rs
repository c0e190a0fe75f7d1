//! Redirects: a repository that offloads targets to another host (302) is followed and the bytes verified
//! there; a redirect loop stops after `MAX_REDIRECTS` hops with `network.http_status`, without retries and
//! without caching anything. (The https → http downgrade is refused: `tls_ca.rs`, which has certificates.)
use x0x_dist_test_support::loader as common;

use common::{any, client, host, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::{NoProgress, MAX_REDIRECTS};
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

#[tokio::test]
async fn targets_redirected_to_a_cdn_are_fetched_there_and_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let data = payload(11, 200_000);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, data.clone(), None)]);
    let cdn = StaticServer::start(&repo.dir);
    let origin = StaticServer::start(&repo.dir);
    *origin.faults.redirect_targets_to.lock().unwrap() = Some(cdn.url());
    let c = client(&origin.url(), &tmp.path().join("cache"), &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let (_, _, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
    assert_eq!(
        origin.requests_for("/tuf/targets/").len(),
        1,
        "origin redirected"
    );
    assert_eq!(cdn.requests_for("/tuf/targets/").len(), 1, "cdn served");
    assert!(!origin.requests_for("/tuf/metadata/").is_empty());
    assert!(cdn.requests_for("/tuf/metadata/").is_empty());
}

#[tokio::test]
async fn a_redirect_loop_stops_at_the_hop_limit_and_is_not_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    repo.publish(
        "1.0.0",
        &[(Platform::Wasm32Wasip1, payload(12, 1000), None)],
    );
    let server = StaticServer::start(&repo.dir);
    server
        .faults
        .redirect_loop
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let cache = tmp.path().join("cache");
    let c = client(&server.url(), &cache, &repo.root_bytes);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "network.http_status", "{err}");
    assert!(
        common::chain(&err).contains("more than 5 redirects"),
        "{}",
        common::chain(&err)
    );
    // One request per hop for the first file asked for (the root probe), then nothing: no retries.
    let all = server.log.lock().unwrap().len();
    assert_eq!(all, MAX_REDIRECTS + 1, "{:?}", server.log.lock().unwrap());
    let blobs = std::fs::read_dir(cache.join("blobs")).expect("cache opened");
    assert_eq!(blobs.count(), 0, "nothing cached");
}
