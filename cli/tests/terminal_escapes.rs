//! Issue 25, finding 6: what the CLI prints that came from outside — a file name, a server's error detail — has
//! its control characters escaped, so a newline or an ANSI escape sequence cannot forge output lines or
//! recolour the terminal. The real binary, a real (hostile) HTTP peer on loopback.
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::cli;

use std::io::{Read as _, Write as _};

use cli::{bin, run, run_ok};

/// Stderr of a failed run: one `error[...]` line (plus the optional `help:` line), no ESC anywhere.
fn assert_escaped(stderr: &str, code: &str) {
    assert!(!stderr.contains('\u{1b}'), "raw ESC printed: {stderr:?}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with(&format!("error[{code}]: "))),
        "{stderr:?}"
    );
    assert!(
        lines.iter().skip(1).all(|l| l.starts_with("  help: ")),
        "a forged line: {stderr:?}"
    );
    assert!(
        lines[0].contains("\\n") && lines[0].contains("\\u{1b}"),
        "{stderr:?}"
    );
}

#[test]
fn a_file_name_with_a_newline_and_an_escape_is_printed_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("publisher.key");
    run_ok(bin().args(["keygen", "--out"]).arg(&key));
    let evil = tmp
        .path()
        .join("x0x.linux\nerror[ok]: fine\u{1b}[31m-x64-gnu.node");
    std::fs::write(&evil, b"not a binary").unwrap();
    let out = run(bin()
        .args([
            "publish",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--key",
        ])
        .arg(&key)
        .args(["--package", "x0x", "--version", "1.0.0"])
        .arg(&evil));
    assert!(!out.status.success());
    assert_escaped(&String::from_utf8_lossy(&out.stderr), "platform.unknown");
}

#[test]
fn a_server_detail_with_a_newline_and_an_escape_is_printed_escaped() {
    // A peer that answers every request with a coded error whose detail carries a newline and ANSI escapes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = vec![0u8; 65536];
            let n = s.read(&mut buf).unwrap_or(0);
            if buf[..n].starts_with(b"HEAD ") {
                // "No such blob": the client uploads it next, and gets the detail below.
                let _ = s.write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                continue;
            }
            let body = r#"{"code":"auth.invalid","detail":"bad token\nerror[ok]: all good\u001b[2J\u001b[31m"}"#;
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("publisher.key");
    run_ok(bin().args(["keygen", "--out"]).arg(&key));
    let file = tmp.path().join("x0x.wasm32-wasip1.wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let out = run(bin()
        .args([
            "publish",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--token",
            "t",
            "--key",
        ])
        .arg(&key)
        .args(["--package", "x0x", "--version", "1.0.0"])
        .arg(&file));
    assert!(!out.status.success());
    assert_escaped(&String::from_utf8_lossy(&out.stderr), "auth.invalid");
}
