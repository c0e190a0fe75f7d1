//! `HTTP_PROXY`/`NO_PROXY` from the environment are honoured: a repository whose host name does not even resolve
//! is reached through the proxy, and `NO_PROXY` sends it direct (and so fails with a network code). One test in
//! this file: it changes the process environment.
use x0x_dist_test_support::loader as common;

use common::{any, client, host, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

#[tokio::test]
async fn proxy_from_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let data = payload(1, 10_000);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, data.clone(), None)]);
    // The static server doubles as a forward proxy (it serves the path of absolute-URI requests).
    let proxy = StaticServer::start(&repo.dir);
    for k in [
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "http_proxy",
    ] {
        std::env::remove_var(k);
    }
    std::env::set_var("HTTP_PROXY", proxy.url());
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let unreachable = "http://x0x-repo.invalid:9";

    let c = client(unreachable, &tmp.path().join("cache"), &repo.root_bytes);
    let (_, _, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
    let via_proxy = proxy.requests_for("http://x0x-repo.invalid:9/tuf/");
    assert!(via_proxy.len() >= 5, "{via_proxy:?}");

    std::env::set_var("NO_PROXY", "x0x-repo.invalid");
    let c = client(unreachable, &tmp.path().join("cache2"), &repo.root_bytes);
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "network.unreachable", "{err}");
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("NO_PROXY");
}
