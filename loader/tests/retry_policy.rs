//! One retry policy (issue 11): the loader's fetcher, and therefore the mirror and `x0x-dist fetch` that use it,
//! retries exactly the statuses of `x0x_dist_manifests::retry` against a real server on loopback, and waits
//! for a `Retry-After`.
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location};
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::retry;

/// A server that answers `status` (with `extra` headers) to the first request and 200 after.
fn flaky(status: u16, extra: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let (code, body) = if n == 0 {
                (
                    status,
                    "{\"code\":\"x\",\"detail\":\"first attempt fails\"}",
                )
            } else {
                (200, "{\"ok\":true}")
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                body.len()
            );
        }
    });
    (url, count)
}

fn fetcher(url: &str) -> Fetcher {
    let options = FetchOptions {
        retries: 1,
        backoff: Duration::from_millis(1),
        ..FetchOptions::default()
    };
    Fetcher::new(Location::parse(url).unwrap(), options).unwrap()
}

#[tokio::test]
async fn the_fetcher_retries_exactly_the_statuses_of_the_policy() {
    for status in [
        400, 401, 403, 408, 409, 410, 413, 416, 425, 429, 500, 501, 502, 503, 504, 505, 507, 511,
        599,
    ] {
        let (url, count) = flaky(status, "");
        let got = fetcher(&url).metadata("timestamp.json", 1000).await;
        if retry::retryable_status(status) {
            assert_eq!(count.load(Ordering::SeqCst), 2, "{status} is retried");
            assert_eq!(got.unwrap().unwrap(), b"{\"ok\":true}", "{status}");
        } else {
            assert_eq!(count.load(Ordering::SeqCst), 1, "{status} is not retried");
            let e = got.unwrap_err();
            assert_eq!(e.code(), "network.http_status", "{status}: {e}");
        }
    }
}

#[tokio::test]
async fn the_fetcher_waits_for_retry_after() {
    let (url, count) = flaky(503, "retry-after: 1\r\n");
    let t0 = Instant::now();
    fetcher(&url)
        .metadata("timestamp.json", 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(
        t0.elapsed() >= Duration::from_millis(990),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn defaults_are_the_shared_policy() {
    let d = FetchOptions::default();
    assert_eq!(d.retries, retry::RETRIES);
    assert_eq!(d.backoff, retry::FIRST_DELAY);
}
