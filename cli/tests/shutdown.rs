//! SIGTERM: the server stops accepting, lets an in-flight download finish, and exits 0.
use x0x_dist_test_support::fixture as common;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use common::cli::{free_port, setup_repo, start_server};

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    setup_repo(&repo);
    let port = free_port();
    let mut server = start_server(&repo, port);
    // An in-flight request: a keep-alive connection that has sent one request and read the response.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let t = Instant::now();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = loop {
        if let Some(st) = server.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    // The idle keep-alive connection was closed, and nothing listens any more.
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
