//! HTTPS repositories with a private CA: trusted only when its certificate is given as an extra CA
//! (`X0X_DIST_CA_CERTS` / `NODE_EXTRA_CA_CERTS` → `FetchOptions::extra_ca_certs`); without it the TLS handshake
//! fails with a network code, never a silent downgrade. Certificates are made by the openssl CLI.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::loader as common;

use std::path::Path;
use std::process::Command;

use common::{any, host, payload, StaticServer, TestRepo};
use x0x_dist_loader::cache::Cache;
use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location, NoProgress};
use x0x_dist_loader::tuf::ClientOptions;
use x0x_dist_loader::Client;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl CLI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_certs(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=x0x-dist test CA",
    ]);
    ca.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn client(url: &str, cache: &Path, root: &[u8], ca: Option<&Path>) -> Client {
    let options = FetchOptions {
        retries: 0,
        extra_ca_certs: ca.map(Path::to_path_buf).into_iter().collect(),
        ..FetchOptions::default()
    };
    let fetcher = Fetcher::new(Location::parse(url).unwrap(), options).unwrap();
    Client::new(
        fetcher,
        Cache::open(cache).unwrap(),
        root.to_vec(),
        ClientOptions::default(),
    )
}

/// A repository under `tmp/repo` holding one WASM build (`data`), served over https by a server whose
/// certificate a private CA (`tmp/ca.pem`) signed, and its `https://localhost:PORT` URL.
fn tls_repo(tmp: &Path, data: &[u8]) -> (TestRepo, StaticServer, String) {
    make_certs(tmp);
    let mut repo = TestRepo::new(&tmp.join("repo"));
    repo.publish("1.0.0", &[(Platform::Wasm32Wasip1, data.to_vec(), None)]);
    let server = StaticServer::start_tls(&repo.dir, &tmp.join("srv.pem"), &tmp.join("srv.key"));
    let url = format!("https://localhost:{}", server.addr.port());
    (repo, server, url)
}

#[tokio::test]
async fn private_ca_must_be_configured() {
    let tmp = tempfile::tempdir().unwrap();
    let data = payload(4, 50_000);
    let (repo, _server, url) = tls_repo(tmp.path(), &data);
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));

    let untrusted = client(&url, &tmp.path().join("c1"), &repo.root_bytes, None);
    let err = untrusted
        .best("x0x", &any(), &h, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "network.unreachable", "{err}");

    let trusted = client(
        &url,
        &tmp.path().join("c2"),
        &repo.root_bytes,
        Some(&tmp.path().join("ca.pem")),
    );
    let (_, _, sel) = trusted.best("x0x", &any(), &h, &NoProgress).await.unwrap();
    assert_eq!(std::fs::read(&sel.path).unwrap(), data);

    // A CA file that is not PEM is a configuration error, not a silent fallback to the default roots.
    std::fs::write(tmp.path().join("bad.pem"), "not a certificate").unwrap();
    let options = FetchOptions {
        extra_ca_certs: vec![tmp.path().join("bad.pem")],
        ..FetchOptions::default()
    };
    let err = Fetcher::new(Location::parse(&url).unwrap(), options).unwrap_err();
    assert_eq!(err.code(), "config.invalid", "{err}");
}

#[tokio::test]
async fn redirect_from_https_to_http_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, server, url) = tls_repo(tmp.path(), &payload(5, 10_000));
    let plain = StaticServer::start(&repo.dir);
    *server.faults.redirect_targets_to.lock().unwrap() = Some(plain.url());
    let h = host("x86_64-unknown-linux-gnu", Some("2.36"));
    let c = client(
        &url,
        &tmp.path().join("c"),
        &repo.root_bytes,
        Some(&tmp.path().join("ca.pem")),
    );
    // The metadata came over https; the one candidate's target redirect is refused, so nothing loads.
    let err = c.best("x0x", &any(), &h, &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "loader.no_candidate", "{err}");
    assert!(
        err.to_string().contains("rejected: network.http_status"),
        "{err}"
    );
    assert!(
        common::chain(&err).contains("downgrade"),
        "{}",
        common::chain(&err)
    );
    assert!(
        plain.requests_for("/tuf/targets/").is_empty(),
        "no request went out over plain http"
    );
}
