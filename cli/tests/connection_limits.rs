//! Issue 25, finding 2: idle connections cannot exhaust the server's descriptors. The real `x0x-dist serve`
//! runs under `prlimit --nofile=N`; hundreds of connections that send nothing (or only the h2c preface) are
//! answered `503 server.overloaded` over the cap and closed at the first-request deadline, `/healthz` keeps
//! answering, and a server that does run out of descriptors backs off instead of logging every failed accept.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::cli;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cli::{bin, free_port, run_ok, wait_healthy};

/// The HTTP/2 connection preface and an empty SETTINGS frame: what an h2c client sends before its first request.
const H2C_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `x0x-dist serve` under `prlimit --nofile=<nofile>` with `limits` as its `[limits]` section.
fn serve_limited(dir: &Path, nofile: u32, limits: &str, extra: &[&str]) -> Server {
    let repo = dir.join("repo");
    run_ok(bin().args(["init", "--repo"]).arg(&repo));
    let config = dir.join("server.toml");
    std::fs::write(&config, format!("[limits]\n{limits}\n")).unwrap();
    let port = free_port();
    let log = dir.join("server.log");
    let mut child = std::process::Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_x0x-dist"))
        .args(["serve", "--repo"])
        .arg(&repo)
        .arg("--config")
        .arg(&config)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "info"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("prlimit (util-linux) runs");
    let l = log.clone();
    wait_healthy(&mut child, port, || {
        std::fs::read_to_string(&l).unwrap_or_default()
    });
    Server { child, port, log }
}

/// One `GET /healthz` on a new connection: (status, body), or the I/O error (connect refused, reset, timeout).
fn healthz(port: u16) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Reads `s` until the server closes it; returns what it sent (a reset counts as closed).
fn read_until_closed(s: &mut TcpStream, until: Instant) -> Result<Vec<u8>, String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "still open; it sent {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(got),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[test]
fn idle_and_h2c_preface_connections_cannot_exhaust_descriptors() {
    let tmp = tempfile::tempdir().unwrap();
    // Default cap under nofile=300: (300 - 64) / 2 = 118 connections.
    // Only a setting main already had: on main this runs and fails on the behaviour.
    let server = serve_limited(tmp.path(), 300, "header_read_timeout_secs = 2", &[]);
    let port = server.port;
    let opened = Instant::now();
    let mut idle: Vec<TcpStream> = (0..350)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    for _ in 0..50 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(H2C_PREFACE).unwrap();
        idle.push(s);
    }
    // /healthz answers at once: 200, or 503 server.overloaded while the idle connections hold the cap (a
    // turned-away attempt may also just be closed); 200 again once they were closed at their first-request
    // deadline (2 s). No attempt hangs.
    let mut overloaded = 0;
    loop {
        let t = Instant::now();
        let answer = healthz(port);
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "/healthz took {:?}: {answer:?}",
            t.elapsed()
        );
        match answer {
            Ok((200, _)) => break,
            Ok((status, body)) => {
                assert_eq!(status, 503, "{body}");
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["code"], "server.overloaded", "{body}");
                overloaded += 1;
            }
            // Turned away without an answer (reset, or closed before the request was read); never a hang,
            // never refused.
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::ConnectionRefused
                ),
                "/healthz: {e}"
            ),
        }
        assert!(
            opened.elapsed() < Duration::from_secs(8),
            "/healthz still not answering 200 after {:?}: {}",
            opened.elapsed(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every idle connection is closed within the deadline (plus slack for a loaded machine): those over the
    // cap at once with a 503, the others after 2 s.
    let until = opened + Duration::from_secs(2 + 5);
    let mut answered_503 = 0;
    for (i, s) in idle.iter_mut().enumerate() {
        let got = read_until_closed(s, until)
            .unwrap_or_else(|e| panic!("idle connection {i}: {e} after {:?}", opened.elapsed()));
        if got.starts_with(b"HTTP/1.1 503") {
            assert!(String::from_utf8_lossy(&got).contains("\"server.overloaded\""));
            answered_503 += 1;
        }
    }
    // Over the cap: answered 503 while at most 32 answers are in progress, closed without one beyond that.
    assert!(
        answered_503 >= 32,
        "only {answered_503} connections over the cap were answered 503"
    );
    // The server never ran out of descriptors, and its log stayed short.
    let log = server.log();
    assert!(!log.contains("accept failed"), "{log}");
    assert!(
        log.lines().count() < 20,
        "{} log lines: {log}",
        log.lines().count()
    );
    assert!(overloaded < 100);
}

#[test]
fn out_of_descriptors_the_accept_loop_backs_off_and_logs_rarely() {
    let tmp = tempfile::tempdir().unwrap();
    // A cap above what the descriptor limit allows (a misconfiguration): accept fails with EMFILE.
    let server = serve_limited(
        tmp.path(),
        100,
        "header_read_timeout_secs = 4",
        &["--max-connections", "1000"],
    );
    let port = server.port;
    let opened = Instant::now();
    let mut idle: Vec<TcpStream> = (0..120)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let log = server.log();
    let failures = log.matches("accept failed").count();
    assert!(failures >= 1, "the descriptor limit was never hit: {log}");
    assert!(
        failures <= 2,
        "{failures} 'accept failed' lines in 3 s: {log}"
    );
    // The idle connections are closed at their deadline; then the server accepts and answers again.
    for s in &mut idle {
        read_until_closed(s, opened + Duration::from_secs(4 + 8))
            .unwrap_or_else(|e| panic!("idle connection: {e}"));
    }
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match healthz(port) {
            Ok((200, _)) => break,
            other => assert!(
                Instant::now() < deadline,
                "/healthz: {other:?}: {}",
                server.log()
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = server.log();
    assert!(log.matches("accept failed").count() <= 3, "{log}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve_limited(tmp.path(), 1024, "idle_timeout_secs = 2", &[]);
    let mut kept = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let answered = Instant::now();
    read_until_closed(&mut kept, answered + Duration::from_secs(2 + 4))
        .unwrap_or_else(|e| panic!("idle keep-alive connection: {e}"));
    assert!(
        answered.elapsed() >= Duration::from_millis(1500),
        "closed early: {:?}",
        answered.elapsed()
    );
}
