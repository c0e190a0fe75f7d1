//! A real server on a loopback port, in this process, over a repository made by
//! `x0x_dist_repository::repo::init`, and raw HTTP/1.1 requests (bytes as given, so a test can send what no HTTP
//! client library would).

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use x0x_dist_server::config::Config;

/// A running server; shut down when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Owns the server's threads: dropped (and so stopped) with the server.
    _rt: tokio::runtime::Runtime,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl TestServer {
    /// `init` a repository and serve it; `tweak` edits the configuration first.
    pub fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        x0x_dist_repository::repo::init(
            &repo,
            time::OffsetDateTime::now_utc(),
            &x0x_dist_repository::repo::Expiry::default(),
        )
        .unwrap();
        let mut config = Config::default();
        config.storage.repo = repo;
        tweak(&mut config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (running, _task) = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            x0x_dist_server::server::serve_on(listener, config, async {
                let _ = rx.await;
            })
            .await
            .unwrap()
        });
        Self {
            addr: running.addr,
            dir,
            stop: Some(tx),
            _rt: rt,
        }
    }

    /// Sends `request` (raw bytes) on a new connection and reads the answer until the server closes it.
    pub fn raw(&self, request: &[u8]) -> Answer {
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        Answer::parse(&out)
    }

    /// `GET <target>` (the request target exactly as given) with `Connection: close`.
    pub fn get(&self, target: &str) -> Answer {
        self.raw(
            format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    }
}

/// A parsed HTTP/1.1 answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    fn parse(raw: &[u8]) -> Self {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head[9..12].parse().unwrap();
        Self {
            status,
            head,
            body: raw[split + 4..].to_vec(),
        }
    }

    /// The header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body as the `{code, detail}` of an error; panics if it is anything else.
    pub fn error(&self) -> (String, String) {
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "not JSON: {}\n{}",
            self.head,
            String::from_utf8_lossy(&self.body)
        );
        let v: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)));
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 2, "{v}");
        (
            obj["code"].as_str().unwrap().to_owned(),
            obj["detail"].as_str().unwrap().to_owned(),
        )
    }
}
