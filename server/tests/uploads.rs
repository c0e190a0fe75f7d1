//! Blob uploads: digest/length/size checks leave nothing behind; idempotence; and on a real socket: truncated
//! bodies, stalled uploads (idle timeout) and slowloris headers are cut off.
use x0x_dist_test_support::fixture as common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use x0x_dist_manifests::Sha256;

fn blob_count(fx: &Fixture) -> usize {
    std::fs::read_dir(fx.path().join("blobs/sha256"))
        .unwrap()
        .count()
}

fn tmp_count(fx: &Fixture) -> usize {
    std::fs::read_dir(fx.path().join("tmp")).unwrap().count()
}

#[tokio::test]
async fn bad_uploads_store_nothing() {
    let fx = repo(1);
    let st = fx.state().await;
    let data = vec![7u8; 100_000];
    let digest = Sha256::digest(&data).to_hex();
    let put = |body: Vec<u8>, digest: String| {
        Request::put(format!("/api/v1/blobs/sha256/{digest}"))
            .header("authorization", fx.bearer())
            .body(Body::from(body))
            .unwrap()
    };

    let r = call(&st, put(b"not the data".to_vec(), digest.clone())).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "blob.digest_mismatch")
    );
    // Oversized (limit is 8 MiB in the fixture): rejected from Content-Length before reading, and while streaming.
    let big = vec![1u8; 9 << 20];
    let r = call(&st, put(big.clone(), Sha256::digest(&big).to_hex())).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "request.too_large")
    );
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = big
        .chunks(1 << 20)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let req = Request::put(format!(
        "/api/v1/blobs/sha256/{}",
        Sha256::digest(&big).to_hex()
    ))
    .header("authorization", fx.bearer())
    .body(Body::from_stream(futures_util::stream::iter(chunks)))
    .unwrap();
    let r = call(&st, req).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "request.too_large")
    );
    assert_eq!((blob_count(&fx), tmp_count(&fx)), (0, 0));

    let r = call(&st, put(data.clone(), digest.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["length"], 100_000);
    let r = call(&st, put(data.clone(), digest.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "idempotent");
    assert_eq!(r.json()["created"], false);
    assert_eq!((blob_count(&fx), tmp_count(&fx)), (1, 0));
    let r = call(
        &st,
        Request::head(format!("/api/v1/blobs/sha256/{digest}"))
            .header("authorization", fx.bearer())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-length"), Some("100000"));
    let r = call(
        &st,
        Request::head(format!("/api/v1/blobs/sha256/{}", "0".repeat(64)))
            .header("authorization", fx.bearer())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Sends raw bytes on a real socket and returns what the server answered (empty if it just closed).
fn raw(addr: std::net::SocketAddr, bytes: &[u8], then_wait: Duration) -> (String, Duration) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(bytes).unwrap();
    let t = Instant::now();
    std::thread::sleep(then_wait);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (String::from_utf8_lossy(&out).into_owned(), t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_socket_truncated_stalled_and_slowloris() {
    let fx = repo(1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (running, task) = x0x_dist_server::server::serve_on(listener, fx.config(), async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let addr = running.addr;
    let data = vec![3u8; 50_000];
    let digest = Sha256::digest(&data).to_hex();
    let head = |len: usize| {
        format!("PUT /api/v1/blobs/sha256/{digest} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: {len}\r\n\r\n", fx.token)
    };

    // Truncated: Content-Length promises more than is sent, then the client half-closes.
    let fxp = fx.path();
    let resp = tokio::task::spawn_blocking({
        let req = [head(data.len()).as_bytes(), &data[..20_000]].concat();
        move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            s.write_all(&req).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
    })
    .await
    .unwrap();
    assert!(
        !resp.starts_with("HTTP/1.1 2"),
        "truncated upload accepted: {resp}"
    );

    // Stalled: headers and part of the body, then silence: the idle timeout (2 s) answers 408.
    let (resp, waited) = tokio::task::spawn_blocking({
        let req = [head(data.len()).as_bytes(), &data[..1000]].concat();
        move || raw(addr, &req, Duration::from_millis(0))
    })
    .await
    .unwrap();
    assert!(resp.starts_with("HTTP/1.1 408"), "stalled upload: {resp:?}");
    assert!(resp.contains("request.timeout"));
    assert!(waited < Duration::from_secs(10), "{waited:?}");

    // Slowloris: headers never finish; the connection is closed after the header read timeout (2 s).
    let (resp, waited) = tokio::task::spawn_blocking(move || {
        raw(
            addr,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            Duration::from_millis(0),
        )
    })
    .await
    .unwrap();
    assert!(!resp.contains("200 OK"), "{resp}");
    assert!(
        waited < Duration::from_secs(10),
        "slow headers kept the connection {waited:?}"
    );

    // Nothing stored, no temp files left; the server still serves and accepts a good upload.
    assert_eq!(
        std::fs::read_dir(fxp.join("blobs/sha256")).unwrap().count(),
        0
    );
    // The aborted uploads' temp files go when their tasks notice the closed connection: allow a loaded machine
    // time for that, but they must go.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(fxp.join("tmp")).unwrap().count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(std::fs::read_dir(fxp.join("tmp")).unwrap().count(), 0);
    let (resp, _) = tokio::task::spawn_blocking({
        let req = [
            head(data.len())
                .replace("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n")
                .as_bytes(),
            &data[..],
        ]
        .concat();
        move || raw(addr, &req, Duration::from_millis(0))
    })
    .await
    .unwrap();
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}
