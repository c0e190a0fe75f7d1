//! Concurrent cache writers: many loaders (each with its own file handles, as separate processes would have)
//! resolving the same release at once download each blob once, and every one of them gets verified bytes.
use x0x_dist_test_support::loader as common;

use common::{any, client, host, payload, StaticServer, TestRepo};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::Platform;

#[test]
fn eight_writers_one_download() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    let data = payload(9, 4_000_000);
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, data.clone(), None)]);
    let server = StaticServer::start(&repo.dir);
    let cache = tmp.path().join("cache");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (url, cache, root, barrier) = (
                server.url(),
                cache.clone(),
                repo.root_bytes.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let c = client(&url, &cache, &root);
                barrier.wait();
                let (_, _, sel) = rt
                    .block_on(c.best(
                        "x0x",
                        &any(),
                        &host("x86_64-unknown-linux-gnu", Some("2.36")),
                        &NoProgress,
                    ))
                    .unwrap();
                std::fs::read(sel.path).unwrap()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap() == data);
    }
    assert_eq!(
        server.requests_for("/tuf/targets/").len(),
        1,
        "one download for eight writers"
    );
    assert_eq!(std::fs::read_dir(cache.join("tmp")).unwrap().count(), 0);
}
