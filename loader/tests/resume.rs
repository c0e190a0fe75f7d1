//! Interrupted downloads resume with `Range: bytes=N-` (in the same call after a retry, or in a later process
//! from the kept partial file); servers that ignore `Range` or fail transiently still end in verified bytes.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::loader as common;

use std::sync::atomic::Ordering;

use std::path::{Path, PathBuf};

use common::{any, host, payload, serve, StaticServer};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_loader::Client;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

const SIZE: usize = 3_000_000;

/// One release with a `SIZE`-byte WASM build served on loopback, a client of it (cache `tmp/cache`), and the
/// build's bytes.
fn setup(tmp: &Path) -> (StaticServer, Client, Vec<u8>) {
    let data = payload(7, SIZE);
    let (_repo, server, c) = serve(
        tmp,
        &[("1.0.0", &[(Platform::Wasm32Wasip1, data.clone(), None)])],
    );
    (server, c, data)
}

/// Where the cache at `tmp/cache` keeps a partial download of `data`.
fn partial_file(tmp: &Path, data: &[u8]) -> PathBuf {
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data));
    tmp.join("cache").join(format!("tmp/{sha}.part"))
}

#[tokio::test]
async fn cut_connection_resumes_with_range() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, c, data) = setup(tmp.path());
    server.faults.cut_targets.store(1, Ordering::SeqCst);
    let (_, _, sel) = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
    let reqs = server.requests_for("/tuf/targets/");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].range, None);
    let second = reqs[1].range.as_deref().expect("second request resumes");
    let offset: usize = second
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(offset > 0 && offset <= SIZE / 2, "{second}");
}

#[tokio::test]
async fn partial_file_from_an_earlier_process_is_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, c, data) = setup(tmp.path());
    std::fs::write(partial_file(tmp.path(), &data), &data[..1_000_000]).unwrap();
    let (_, _, sel) = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
    let reqs = server.requests_for("/tuf/targets/");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].range.as_deref(), Some("bytes=1000000-"));
}

#[tokio::test]
async fn corrupt_partial_file_is_caught_and_discarded() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, c, data) = setup(tmp.path());
    let part = partial_file(tmp.path(), &data);
    std::fs::write(&part, vec![0u8; 1000]).unwrap();
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert!(err.to_string().contains("digest_mismatch"), "{err}");
    assert!(
        !part.exists(),
        "a partial file that failed verification is deleted"
    );
    let (_, _, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
}

#[tokio::test]
async fn server_ignoring_range_and_transient_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, c, data) = setup(tmp.path());
    server.faults.ignore_range.store(true, Ordering::SeqCst);
    server.faults.cut_targets.store(1, Ordering::SeqCst);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let (_, _, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
    assert_eq!(server.requests_for("/tuf/targets/").len(), 2);

    // Two 503s are retried with backoff: a refresh asks for 2.root.json (404) and timestamp.json, plus 2 retries.
    let before = server.requests_for("/tuf/metadata/").len();
    server.faults.unavailable.store(2, Ordering::SeqCst);
    c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(server.requests_for("/tuf/metadata/").len(), before + 2 + 2);
    // More failures than retries: a network code, not a trust one.
    server.faults.unavailable.store(10, Ordering::SeqCst);
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "network.http_status");
}

#[tokio::test]
async fn complete_partial_file_is_verified_without_a_request() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, c, data) = setup(tmp.path());
    // A download that was killed after its last byte was written, before the rename.
    std::fs::write(partial_file(tmp.path(), &data), &data).unwrap();
    let (_, _, sel) = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
    assert_eq!(server.requests_for("/tuf/targets/").len(), 0);

    // The same, with one byte changed: refused, deleted, then downloaded whole.
    let tmp = tempfile::tempdir().unwrap();
    let (server, c, data) = setup(tmp.path());
    let mut bad = data.clone();
    bad[SIZE / 2] ^= 1;
    let part = partial_file(tmp.path(), &data);
    std::fs::write(&part, &bad).unwrap();
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert!(err.to_string().contains("digest_mismatch"), "{err}");
    assert!(!part.exists());
    assert_eq!(server.requests_for("/tuf/targets/").len(), 0);
    let (_, _, sel) = c.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);
}
