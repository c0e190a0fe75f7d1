//! For the Rust loader's tests: a real TUF repository written to a directory with the manifests crate (real ed25519 keys and
//! signatures, consistent snapshots, the `x0x` package delegated as `x0x/*/*`), and a small static HTTP/1.1
//! server on 127.0.0.1 serving that directory with `Range` support, a request log and fault injection
//! (drop the connection mid-body, ignore `Range`). Each test file uses what it needs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::Digest;
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use x0x_dist_loader::elf::{GlibcVersion, HostLibc, Libc};
use x0x_dist_loader::host::Host;
use x0x_dist_manifests::metadata::{DelegatedRole, Delegations, MetaFile, NewRole};
use x0x_dist_manifests::{
    PackageName, Platform, Root, Signed, SigningKey, Snapshot, TargetCustom, TargetFile, Targets,
    Timestamp, Version,
};

pub fn key(name: &str) -> SigningKey {
    let seed: [u8; 32] = sha2::Sha256::digest(format!("x0x-dist loader test key: {name}")).into();
    SigningKey::from_seed(&seed)
}

pub fn in_days(d: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(d)
}

/// A repository on disk under `<dir>/tuf/{metadata,targets}` (the layout `x0x-dist serve` exposes).
pub struct TestRepo {
    pub dir: PathBuf,
    pub root_key: SigningKey,
    pub targets_key: SigningKey,
    pub snapshot_key: SigningKey,
    pub timestamp_key: SigningKey,
    pub publisher: SigningKey,
    pub root_version: u64,
    pub root_bytes: Vec<u8>,
    pub x0x: Targets,
    pub top_version: u64,
    pub snapshot_version: u64,
    pub timestamp_version: u64,
    pub expires: OffsetDateTime,
    pub timestamp_expires: OffsetDateTime,
}

fn sign<T: x0x_dist_manifests::Role>(t: T, keys: &[&SigningKey]) -> Vec<u8> {
    Signed::new(t, keys).unwrap().to_bytes()
}

impl TestRepo {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("tuf/metadata")).unwrap();
        std::fs::create_dir_all(dir.join("tuf/targets")).unwrap();
        let mut r = TestRepo {
            dir: dir.to_path_buf(),
            root_key: key("root-1"),
            targets_key: key("targets"),
            snapshot_key: key("snapshot"),
            timestamp_key: key("timestamp"),
            publisher: key("publisher"),
            root_version: 0,
            root_bytes: Vec::new(),
            x0x: Targets::empty(1, in_days(30)),
            top_version: 1,
            snapshot_version: 0,
            timestamp_version: 0,
            expires: in_days(30),
            timestamp_expires: in_days(1),
        };
        r.x0x.version = 0;
        let root_key = key("root-1");
        r.write_root(&root_key, &[&root_key]);
        r.write_top_targets();
        r
    }

    fn meta(&self, name: &str) -> PathBuf {
        self.dir.join("tuf/metadata").join(name)
    }

    /// Writes the next root version with `new_root_key` as the root key, signed by `signers`.
    pub fn write_root(&mut self, new_root_key: &SigningKey, signers: &[&SigningKey]) {
        self.root_version += 1;
        let mut root = Root::empty(self.root_version, in_days(365));
        root.add_key("root", new_root_key.public()).unwrap();
        root.add_key("targets", self.targets_key.public()).unwrap();
        root.add_key("snapshot", self.snapshot_key.public())
            .unwrap();
        root.add_key("timestamp", self.timestamp_key.public())
            .unwrap();
        let bytes = sign(root, signers);
        std::fs::write(
            self.meta(&format!("{}.root.json", self.root_version)),
            &bytes,
        )
        .unwrap();
        std::fs::write(self.meta("root.json"), &bytes).unwrap();
        if self.root_version == 1 {
            self.root_bytes.clone_from(&bytes);
        }
        self.root_key = new_root_key.clone();
    }

    fn write_top_targets(&self) {
        let mut t = Targets::empty(self.top_version, in_days(365));
        let d = DelegatedRole::for_package(&"x0x".parse().unwrap(), &[self.publisher.public()], 1)
            .unwrap();
        t.delegations = Some(Delegations {
            keys: BTreeMap::from([(
                self.publisher.public().key_id().unwrap(),
                self.publisher.public().clone(),
            )]),
            roles: vec![d],
            extra: BTreeMap::new(),
        });
        let bytes = sign(t, &[&self.targets_key]);
        std::fs::write(
            self.meta(&format!("{}.targets.json", self.top_version)),
            bytes,
        )
        .unwrap();
    }

    /// Adds a release: `files` are `(platform, bytes, glibc_floor)`. Writes the blobs (consistent-snapshot
    /// names), the next `x0x` role, snapshot and timestamp.
    pub fn publish(&mut self, version: &str, files: &[(Platform, Vec<u8>, Option<&str>)]) {
        let pkg: PackageName = "x0x".parse().unwrap();
        let ver: Version = version.parse().unwrap();
        for (p, data, floor) in files {
            let custom = TargetCustom::new(&pkg, &ver, *p, floor.map(str::to_owned));
            let file = p.file_name(&pkg);
            let path = format!("x0x/{version}/{file}");
            let sha = hex::encode(sha2::Sha256::digest(data));
            let blob = self
                .dir
                .join(format!("tuf/targets/x0x/{version}/{sha}.{file}"));
            std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
            std::fs::write(blob, data).unwrap();
            self.x0x.targets.insert(
                path.parse().unwrap(),
                TargetFile::for_bytes(data, Some(&custom)),
            );
        }
        self.write_x0x_and_snapshot();
    }

    pub fn write_x0x_and_snapshot(&mut self) {
        self.x0x.version += 1;
        self.x0x.expires = self.expires.replace_nanosecond(0).unwrap();
        let bytes = sign(self.x0x.clone(), &[&self.publisher]);
        std::fs::write(self.meta(&format!("{}.x0x.json", self.x0x.version)), bytes).unwrap();
        self.write_snapshot();
    }

    pub fn write_snapshot(&mut self) {
        self.snapshot_version += 1;
        let mut s = Snapshot::empty(self.snapshot_version, self.expires);
        s.meta
            .insert("targets.json".into(), MetaFile::version(self.top_version));
        s.meta
            .insert("x0x.json".into(), MetaFile::version(self.x0x.version));
        let bytes = sign(s, &[&self.snapshot_key]);
        std::fs::write(
            self.meta(&format!("{}.snapshot.json", self.snapshot_version)),
            &bytes,
        )
        .unwrap();
        self.write_timestamp(&bytes);
    }

    pub fn write_timestamp(&mut self, snapshot_bytes: &[u8]) {
        self.timestamp_version += 1;
        let t = timestamp_pinning(
            self.timestamp_version,
            self.timestamp_expires,
            self.snapshot_version,
            snapshot_bytes,
        );
        std::fs::write(self.meta("timestamp.json"), sign(t, &[&self.timestamp_key])).unwrap();
    }

    pub fn timestamp_bytes(&self) -> Vec<u8> {
        std::fs::read(self.meta("timestamp.json")).unwrap()
    }

    pub fn set_timestamp_bytes(&self, b: &[u8]) {
        std::fs::write(self.meta("timestamp.json"), b).unwrap();
    }

    /// The stored blob path of a published target.
    pub fn blob(&self, version: &str, p: Platform, data: &[u8]) -> PathBuf {
        let file = p.file_name(&"x0x".parse().unwrap());
        let sha = hex::encode(sha2::Sha256::digest(data));
        self.dir
            .join(format!("tuf/targets/x0x/{version}/{sha}.{file}"))
    }
}

/// Timestamp `version` expiring at `expires`, pinning snapshot `snapshot_version` by its length and SHA-256.
pub fn timestamp_pinning(
    version: u64,
    expires: OffsetDateTime,
    snapshot_version: u64,
    snapshot_bytes: &[u8],
) -> Timestamp {
    let mut t = Timestamp::empty(version, expires);
    let mut m = MetaFile::version(snapshot_version);
    m.length = Some(snapshot_bytes.len() as u64);
    m.hashes = Some(BTreeMap::from([(
        "sha256".to_owned(),
        hex::encode(sha2::Sha256::digest(snapshot_bytes)),
    )]));
    t.meta.insert("snapshot.json".into(), m);
    t
}

/// A host with the given triple and glibc (for ranking tests independent of the machine).
pub fn host(triple: &str, glibc: Option<&str>) -> Host {
    Host {
        triple: triple.to_owned(),
        compiled_triple: triple.to_owned(),
        libc: HostLibc {
            libc: if triple.ends_with("musl") {
                Libc::Musl
            } else {
                Libc::Glibc
            },
            interpreter: None,
            libc_path: None,
            glibc_release: glibc.map(|g| g.parse::<GlibcVersion>().unwrap()),
            glibc_abi: glibc.map(|g| g.parse::<GlibcVersion>().unwrap()),
            evidence: vec!["test host".into()],
        },
    }
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
}

/// Fault injection knobs, changeable while the server runs.
#[derive(Default)]
pub struct Faults {
    /// Number of upcoming target responses to cut after half their body.
    pub cut_targets: AtomicUsize,
    /// Answer every request with 200 and the full body, ignoring `Range`.
    pub ignore_range: AtomicBool,
    /// Number of upcoming requests to answer with 503.
    pub unavailable: AtomicUsize,
    /// Answer every target request with `302 Location: <this base><path>` (a CDN offload).
    pub redirect_targets_to: Mutex<Option<String>>,
    /// Answer every request with `307 Location: <the same path>`.
    pub redirect_loop: AtomicBool,
}

/// A static HTTP/1.1 file server for `<root>` on 127.0.0.1 (one request per connection).
pub struct StaticServer {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<Logged>>>,
    pub faults: Arc<Faults>,
}

impl StaticServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests_for(&self, needle: &str) -> Vec<Logged> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.path.contains(needle))
            .cloned()
            .collect()
    }

    /// Starts serving `root` on a background runtime thread.
    pub fn start(root: &Path) -> Self {
        Self::start_inner(root, None)
    }

    /// Starts serving `root` over HTTPS with the given PEM certificate chain and key.
    pub fn start_tls(root: &Path, cert_pem: &Path, key_pem: &Path) -> Self {
        use tokio_rustls::rustls::pki_types::pem::PemObject as _;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(key_pem).unwrap();
        let config = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        Self::start_inner(
            root,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
    }

    fn start_inner(root: &Path, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let root = root.to_path_buf();
        let log = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Faults::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let (log2, faults2) = (log.clone(), faults.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (sock, _) = listener.accept().await.unwrap();
                    let (root, log, faults, tls) =
                        (root.clone(), log2.clone(), faults2.clone(), tls.clone());
                    tokio::spawn(async move {
                        let _ = match tls {
                            Some(acceptor) => match acceptor.accept(sock).await {
                                Ok(stream) => serve_one(stream, &root, &log, &faults).await,
                                Err(_) => Ok(()),
                            },
                            None => serve_one(sock, &root, &log, &faults).await,
                        };
                    });
                }
            });
        });
        let addr = rx.recv().unwrap();
        StaticServer { addr, log, faults }
    }
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

async fn serve_one<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut sock: S,
    root: &Path,
    log: &Mutex<Vec<Logged>>,
    faults: &Faults,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.lines();
    let path = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let range = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("range"))
        .map(|(_, v)| v.trim().to_owned());
    log.lock().unwrap().push(Logged {
        path: path.clone(),
        range: range.clone(),
    });
    if take(&faults.unavailable) {
        sock.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await?;
        return Ok(());
    }
    let redirect_to = if faults.redirect_loop.load(Ordering::SeqCst) {
        Some(path.clone())
    } else {
        let cdn = faults.redirect_targets_to.lock().unwrap().clone();
        cdn.filter(|_| path.starts_with("/tuf/targets/"))
            .map(|base| format!("{base}{path}"))
    };
    if let Some(location) = redirect_to {
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        sock.write_all(head.as_bytes()).await?;
        return Ok(());
    }
    // As a forward proxy the request line carries an absolute URI: serve its path.
    let local = match path.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path.as_str(),
    };
    let rel = local.trim_start_matches('/');
    if rel.split('/').any(|s| s == "..") {
        sock.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await?;
        return Ok(());
    }
    let Ok(body) = std::fs::read(root.join(rel)) else {
        sock.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(());
    };
    let total = body.len();
    let start = range
        .as_deref()
        .filter(|_| !faults.ignore_range.load(Ordering::SeqCst))
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.parse::<usize>().ok());
    let (status, slice, extra) = match start {
        Some(s) if s < total => (
            "206 Partial Content",
            &body[s..],
            format!("Content-Range: bytes {s}-{}/{total}\r\n", total - 1),
        ),
        Some(_) => (
            "416 Range Not Satisfiable",
            &body[..0],
            format!("Content-Range: bytes */{total}\r\n"),
        ),
        None => ("200 OK", &body[..], String::new()),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\n{extra}Connection: close\r\n\r\n",
        slice.len()
    );
    sock.write_all(header.as_bytes()).await?;
    if rel.starts_with("tuf/targets/") && slice.len() > 1 && take(&faults.cut_targets) {
        sock.write_all(&slice[..slice.len() / 2]).await?;
        sock.flush().await?;
        // Drop mid-body: the client sees a truncated response.
        return Ok(());
    }
    sock.write_all(slice).await?;
    sock.flush().await?;
    sock.shutdown().await
}

/// A payload of `n` pseudo-random bytes (distinct per `seed`).
pub fn payload(seed: u8, n: usize) -> Vec<u8> {
    let mut x = u64::from(seed) | 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A loader client for `location` with its cache at `cache`, trusting `root`.
pub fn client(location: &str, cache: &Path, root: &[u8]) -> x0x_dist_loader::Client {
    use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location};
    let options = FetchOptions {
        backoff: std::time::Duration::from_millis(20),
        ..FetchOptions::default()
    };
    let fetcher = Fetcher::new(Location::parse(location).unwrap(), options).unwrap();
    let cache = x0x_dist_loader::cache::Cache::open(cache).unwrap();
    x0x_dist_loader::Client::new(
        fetcher,
        cache,
        root.to_vec(),
        x0x_dist_loader::tuf::ClientOptions::default(),
    )
}

/// `^0` as a version requirement.
pub fn any() -> semver::VersionReq {
    semver::VersionReq::parse(">=0.0.0").unwrap()
}

/// An error and its whole `source()` chain on one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        s.push_str(": ");
        s.push_str(&e.to_string());
        cur = e.source();
    }
    s
}

/// `c.best("x0x", ^0, host(triple, glibc))` without progress output: the question most tests ask.
pub async fn best_on(
    c: &x0x_dist_loader::Client,
    triple: &str,
    glibc: Option<&str>,
) -> Result<
    (
        x0x_dist_loader::tuf::Repository,
        x0x_dist_loader::resolve::Resolution,
        x0x_dist_loader::Selected,
    ),
    x0x_dist_loader::Error,
> {
    c.best(
        "x0x",
        &any(),
        &host(triple, glibc),
        &x0x_dist_loader::fetch::NoProgress,
    )
    .await
}

/// A release for [`serve`]: its version and its files (platform, bytes, glibc floor written to the metadata).
pub type Release<'a> = (&'a str, &'a [(Platform, Vec<u8>, Option<&'a str>)]);

/// A repository under `tmp/repo` with `releases` published, served on loopback, and a client of it with an
/// empty cache at `tmp/cache`: the setup most tests start from.
pub fn serve(
    tmp: &Path,
    releases: &[Release<'_>],
) -> (TestRepo, StaticServer, x0x_dist_loader::Client) {
    let mut repo = TestRepo::new(&tmp.join("repo"));
    for (version, files) in releases {
        repo.publish(version, files);
    }
    let server = StaticServer::start(&repo.dir);
    let c = client(&server.url(), &tmp.join("cache"), &repo.root_bytes);
    (repo, server, c)
}

/// The candidate for `platform` in a resolution (panics if there is none).
pub fn candidate<'a>(
    res: &'a x0x_dist_loader::resolve::Resolution,
    platform: &str,
) -> &'a x0x_dist_loader::resolve::Candidate {
    res.candidates
        .iter()
        .find(|c| c.platform_name() == platform)
        .unwrap_or_else(|| panic!("no {platform} candidate"))
}
