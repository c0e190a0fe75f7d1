//! The npm registry view under `/npm/` (issue 24), driven in process: packuments (full and abbreviated),
//! version documents, dist-tags, tarballs that are byte-for-byte the same on two servers, a tampered blob never
//! served (and nothing cached or recorded), bad names with stable codes, `304`, audit.
// Tests damage files on purpose (plain writes), and read JSON documents with short names.
#![allow(clippy::disallowed_methods, clippy::many_single_char_names)]
use x0x_dist_test_support::fixture as common;

use std::io::Read as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use common::*;
use sha2::Digest as _;
use x0x_dist_server::state::AppState;

const ABBR: &str = "application/vnd.npm.install-v1+json";

async fn get_with(st: &Arc<AppState>, uri: &str, headers: &[(&str, &str)]) -> Resp {
    let mut b = Request::get(uri).header("host", "registry.test");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    call(st, b.body(Body::empty()).unwrap()).await
}

/// Each of `uris` is answered `status` with the error code `code`.
async fn expect_codes(st: &Arc<AppState>, uris: &[&str], status: StatusCode, code: &str) {
    for uri in uris {
        let r = get_with(st, uri, &[]).await;
        assert_eq!((r.status, r.code().as_str()), (status, code), "{uri}");
    }
}

/// A repository with releases 1.0.0 and 2.0.0-rc.1; its state.
async fn published() -> (Fixture, Arc<AppState>) {
    let fx = repo(1);
    let st = fx.state().await;
    let r1 = release(&fx, &st, None, "1.0.0").await;
    release(&fx, &st, Some(r1.signed()), "2.0.0-rc.1").await;
    (fx, st)
}

/// The files of a `.tgz`: (name, bytes), in archive order.
fn untar(tgz: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(tgz)
        .read_to_end(&mut raw)
        .unwrap();
    let mut out = Vec::new();
    let mut off = 0;
    while off + 512 <= raw.len() && raw[off] != 0 {
        let h = &raw[off..off + 512];
        let name =
            String::from_utf8(h[..100].iter().take_while(|b| **b != 0).copied().collect()).unwrap();
        let prefix = String::from_utf8(
            h[345..500]
                .iter()
                .take_while(|b| **b != 0)
                .copied()
                .collect(),
        )
        .unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&h[124..135]).unwrap(), 8).unwrap();
        let full = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        out.push((full, raw[off + 512..off + 512 + size].to_vec()));
        off += 512 + size.div_ceil(512) * 512;
    }
    out
}

#[tokio::test]
async fn packuments_versions_and_tags() {
    let (_fx, st) = published().await;
    let full = get_with(&st, "/npm/x0x", &[]).await;
    assert_eq!(
        full.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&full.body)
    );
    let j = full.json();
    assert_eq!(j["name"], "x0x");
    assert_eq!(j["dist-tags"]["latest"], "1.0.0");
    assert_eq!(j["dist-tags"]["next"], "2.0.0-rc.1");
    let v = &j["versions"]["1.0.0"];
    assert_eq!(
        v["optionalDependencies"],
        serde_json::json!({"@x0x/core-linux-x64-gnu": "1.0.0"}),
        "native only, never WASM"
    );
    assert_eq!(
        v["dist"]["tarball"],
        "http://registry.test/npm/x0x/-/x0x-1.0.0.tgz"
    );
    assert!(v["dist"]["integrity"]
        .as_str()
        .unwrap()
        .starts_with("sha512-"));
    assert!(j["time"]["1.0.0"].is_string());

    let abbr = get_with(
        &st,
        "/npm/x0x",
        &[(
            "accept",
            "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
        )],
    )
    .await;
    assert_eq!(abbr.header("content-type"), Some(ABBR));
    assert!(abbr.header("vary").unwrap().contains("Accept"));
    let a = abbr.json();
    assert!(a.get("time").is_none() && a.get("readme").is_none());
    assert_eq!(a["versions"]["1.0.0"]["dist"], v["dist"]);

    // Platform packages: os/cpu/libc; scoped names both ways.
    for uri in [
        "/npm/@x0x%2fcore-linux-x64-gnu",
        "/npm/@x0x/core-linux-x64-gnu",
        "/npm/@x0x%2Fcore-linux-x64-gnu",
    ] {
        let p = get_with(&st, uri, &[]).await;
        assert_eq!(p.status, StatusCode::OK, "{uri}");
        let d = &p.json()["versions"]["1.0.0"];
        assert_eq!(d["os"], serde_json::json!(["linux"]));
        assert_eq!(d["cpu"], serde_json::json!(["x64"]));
        assert_eq!(d["libc"], serde_json::json!(["glibc"]));
    }
    let w = get_with(&st, "/npm/@x0x%2fcore-wasm32-wasip1", &[])
        .await
        .json();
    assert!(w["versions"]["1.0.0"].get("os").is_none());
    assert_eq!(
        w["versions"]["1.0.0"]["dependencies"]["@napi-rs/wasm-runtime"],
        "1.2.7"
    );

    let doc = get_with(&st, "/npm/x0x/latest", &[]).await;
    assert_eq!(doc.json()["version"], "1.0.0");
    let doc = get_with(&st, "/npm/x0x/2.0.0-rc.1", &[]).await;
    assert_eq!(doc.json()["_id"], "x0x@2.0.0-rc.1");
    let tags = get_with(&st, "/npm/-/package/x0x/dist-tags", &[]).await;
    assert_eq!(
        tags.json(),
        serde_json::json!({"latest": "1.0.0", "next": "2.0.0-rc.1"})
    );

    // ETag / 304.
    let etag = full.header("etag").unwrap().to_owned();
    let again = get_with(&st, "/npm/x0x", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(full.header("cache-control"), Some("public, max-age=300"));
}

#[tokio::test]
async fn tarballs_are_what_the_packument_says_and_the_signed_bytes() {
    let (_fx, st) = published().await;
    let pk = get_with(&st, "/npm/@x0x%2fcore-linux-x64-gnu", &[])
        .await
        .json();
    let dist = &pk["versions"]["1.0.0"]["dist"];
    let t = get_with(
        &st,
        "/npm/@x0x/core-linux-x64-gnu/-/core-linux-x64-gnu-1.0.0.tgz",
        &[],
    )
    .await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(
        t.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&t.body))
    );
    assert_eq!(dist["integrity"], integrity.as_str());
    let files = untar(&t.body);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "package/package.json",
            "package/README.md",
            "package/x0x.linux-x64-gnu.node"
        ]
    );
    let native = artifacts("1.0.0")
        .into_iter()
        .find(|(p, _)| p.name() == "linux-x64-gnu")
        .unwrap()
        .1;
    assert_eq!(
        files[2].1, native,
        "the tarball holds exactly the signed binary"
    );
    let etag = t.header("etag").unwrap().to_owned();
    let nm = get_with(
        &st,
        "/npm/@x0x/core-linux-x64-gnu/-/core-linux-x64-gnu-1.0.0.tgz",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(nm.status, StatusCode::NOT_MODIFIED);

    // The loader package embeds the chain that verifies it, and the loader.
    let x = get_with(&st, "/npm/x0x/-/x0x-1.0.0.tgz", &[]).await;
    assert_eq!(x.status, StatusCode::OK);
    let files = untar(&x.body);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names[0], "package/package.json");
    for want in [
        "package/index.js",
        "package/lib/loader.js",
        "package/bin/x0x.js",
        "package/root.json",
        "package/metadata/timestamp.json",
        "package/metadata/1.root.json",
        "package/platforms.json",
        "package/release.json",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(names
        .iter()
        .any(|n| n.starts_with("package/metadata/") && n.ends_with(".x0x.json")));
    let pj: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    assert_eq!(
        pj["optionalDependencies"]["@x0x/core-linux-x64-gnu"],
        "1.0.0"
    );

    // Unknown version, unknown tarball name.
    expect_codes(
        &st,
        &[
            "/npm/x0x/-/x0x-9.9.9.tgz",
            "/npm/x0x/-/other-1.0.0.tgz",
            "/npm/x0x/9.9.9",
        ],
        StatusCode::NOT_FOUND,
        "npm.not_hosted",
    )
    .await;
}

/// Two servers over two copies of the same repository (taken before either served npm): the same tarball
/// bytes, integrity and shasum; and the record the first one froze keeps its tarball stable after a new
/// publish changed the chain.
#[tokio::test]
async fn two_servers_serve_identical_bytes_and_records_freeze_them() {
    let (fx, st) = published().await;
    // Replicas share one store: the copy is taken once the records made after each publish are in it.
    records_made(&fx.path(), &["1.0.0", "2.0.0-rc.1"]).await;
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", fx.path().display()))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mut c2 = fx.config();
    c2.storage.repo = copy.path().to_owned();
    let st2 = state_for(c2).await;
    for uri in [
        "/npm/x0x/-/x0x-1.0.0.tgz",
        "/npm/@x0x/core-linux-x64-gnu/-/core-linux-x64-gnu-1.0.0.tgz",
        "/npm/@x0x/core-wasm32-wasip1/-/core-wasm32-wasip1-1.0.0.tgz",
    ] {
        let a = get_with(&st, uri, &[]).await;
        let b = get_with(&st2, uri, &[]).await;
        assert_eq!(
            a.status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert!(a.body == b.body, "{uri}: two servers, different bytes");
    }
    let a = get_with(&st, "/npm/x0x", &[]).await.json();
    let b = get_with(&st2, "/npm/x0x", &[]).await.json();
    assert_eq!(
        a["versions"]["1.0.0"]["dist"],
        b["versions"]["1.0.0"]["dist"]
    );
    let before = get_with(&st, "/npm/x0x/-/x0x-1.0.0.tgz", &[]).await.body;
    // A new release changes timestamp, snapshot and role: 1.0.0's tarball does not change (its record froze the
    // chain), even on a fresh process over the same store.
    let r = x0x_dist_manifests::Signed::<x0x_dist_manifests::Targets>::from_slice(
        &std::fs::read(fx.path().join("metadata/2.x0x.json")).unwrap(),
    )
    .unwrap();
    release(&fx, &st, Some(r.signed()), "3.0.0").await;
    let st3 = fx.state().await;
    let after = get_with(&st3, "/npm/x0x/-/x0x-1.0.0.tgz", &[]).await.body;
    assert!(
        before == after,
        "a published version's tarball changed after a new release"
    );
    let p = get_with(&st3, "/npm/x0x", &[]).await.json();
    assert_eq!(p["dist-tags"]["latest"], "3.0.0");
}

/// Waits for the records the server makes in the background after each publish.
async fn records_made(dir: &std::path::Path, versions: &[&str]) {
    for _ in 0..200 {
        if versions.iter().all(|v| {
            dir.join("npm")
                .join(format!("x0x-{v}.record.json"))
                .is_file()
        }) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no release records for {versions:?} after publishing");
}

/// A blob changed on disk after publishing: its platform tarball is refused with a stable code — after the
/// record was made at publish time, and on a server that must make the record itself — and nothing (record,
/// tarball) is kept from a failed attempt.
#[tokio::test]
async fn tampered_blob_is_never_served() {
    let (fx, st) = published().await;
    records_made(&fx.path(), &["1.0.0", "2.0.0-rc.1"]).await;
    let native = artifacts("1.0.0")
        .into_iter()
        .find(|(p, _)| p.name() == "linux-x64-gnu")
        .unwrap()
        .1;
    let blob = fx
        .path()
        .join("blobs/sha256")
        .join(hex::encode(sha2::Sha256::digest(&native)));
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    // The blob may be hard-linked from targets/: rewrite it in place so every name sees the change.
    let write = |b: &[u8]| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&blob)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b))
            .unwrap();
    };
    write(&bytes);
    let uri = "/npm/@x0x/core-linux-x64-gnu/-/core-linux-x64-gnu-1.0.0.tgz";
    let r = get_with(&st, uri, &[]).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "npm.tarball_unverified"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // Without a record: a fresh server must make one, and does not (nor serve a packument advertising it).
    let record = fx.path().join("npm").join("x0x-1.0.0.record.json");
    std::fs::remove_file(&record).unwrap();
    let fresh = fx.state().await;
    let p = get_with(&fresh, "/npm/x0x", &[]).await;
    assert_eq!(
        p.code(),
        "npm.tarball_unverified",
        "no packument advertises a tarball that cannot be built"
    );
    assert_eq!(
        get_with(&fresh, uri, &[]).await.code(),
        "npm.tarball_unverified"
    );
    assert!(
        !record.exists(),
        "a record was written for a tampered release"
    );
    // Repaired: served, and the record is made.
    write(&native);
    assert_eq!(get_with(&fresh, uri, &[]).await.status, StatusCode::OK);
    assert!(record.exists());
}

/// A record in the store that does not verify (its metadata changed) is refused, not served from.
#[tokio::test]
async fn forged_record_is_refused() {
    let (fx, st) = published().await;
    records_made(&fx.path(), &["1.0.0"]).await;
    drop(st);
    let record = fx.path().join("npm").join("x0x-1.0.0.record.json");
    let mut j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let ts = j["metadata"]["timestamp.json"].as_str().unwrap().to_owned();
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(ts)
        .unwrap();
    let at = raw.windows(9).position(|w| w == b"\"version\"").unwrap();
    raw[at + 10] = if raw[at + 10] == b'9' { b'8' } else { b'9' };
    j["metadata"]["timestamp.json"] = base64::engine::general_purpose::STANDARD
        .encode(&raw)
        .into();
    std::fs::write(&record, serde_json::to_vec(&j).unwrap()).unwrap();
    let fresh = fx.state().await;
    let r = get_with(&fresh, "/npm/x0x/-/x0x-1.0.0.tgz", &[]).await;
    assert!(
        r.code().starts_with("metadata."),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

#[tokio::test]
async fn bad_input_gets_stable_codes() {
    let (_fx, st) = published().await;
    expect_codes(
        &st,
        &[
            "/npm/@x0x%2f..",
            "/npm/@x0x%2f..%2f..%2fmetadata%2froot.json",
            "/npm/@x0x%252fcore-linux-x64-gnu",
            "/npm/x0x/-/..%2f..%2fmetadata%2f1.root.json",
            "/npm/x0x%2f..%2f..%2ftokens.json",
            "/npm/.x0x",
            "/npm/x0x/-/x0x-1.0.0.tgz/extra",
            "/npm/-/not-an-endpoint",
        ],
        StatusCode::BAD_REQUEST,
        "npm.invalid_name",
    )
    .await;
    let long = format!("/npm/{}", "a".repeat(300));
    assert_eq!(get_with(&st, &long, &[]).await.code(), "npm.invalid_name");
    expect_codes(
        &st,
        &[
            "/npm/left-pad",
            "/npm/@x0x%2fcore-beos-x64",
            "/npm/@other%2fcore-linux-x64-gnu",
        ],
        StatusCode::NOT_FOUND,
        "npm.not_hosted",
    )
    .await;
    let huge = "application/json,".repeat(1000);
    let r = get_with(&st, "/npm/x0x", &[("accept", &huge)]).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "usage.invalid")
    );
    let r = call(&st, Request::post("/npm/x0x").body(Body::empty()).unwrap()).await;
    assert_eq!(r.code(), "usage.invalid");
}

#[tokio::test]
async fn audit_and_ping_answer() {
    let (_fx, st) = published().await;
    let r = call(
        &st,
        Request::post("/npm/-/npm/v1/security/advisories/bulk")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"x0x":["1.0.0"]}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), serde_json::json!({}));
    assert_eq!(
        get_with(&st, "/npm/-/ping", &[]).await.status,
        StatusCode::OK
    );
}

/// `[npm] upstream`: a package this registry does not host is answered by the upstream registry (here another
/// x0x-dist server on a loopback port, hosting x0x), bytes unchanged; without one it is `npm.not_hosted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_packages_go_to_the_npm_upstream() {
    let (_fx, up) = published().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (running, _task) =
        x0x_dist_server::server::serve_state_on(listener, up.clone(), std::future::pending())
            .await
            .unwrap();
    let upstream = format!("http://{}/npm/", running.addr);
    let empty = repo(1);
    let mut c = empty.config();
    c.npm.upstream = Some(upstream.clone());
    let st = state_for(c).await;
    let p = get_with(&st, "/npm/x0x", &[("accept", ABBR)]).await;
    assert_eq!(
        p.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&p.body)
    );
    assert_eq!(p.header("content-type"), Some(ABBR));
    let tarball = p.json()["versions"]["1.0.0"]["dist"]["tarball"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tarball.starts_with(&format!("http://{}/npm/", running.addr)),
        "{tarball}"
    );
    let via = get_with(
        &st,
        "/npm/@x0x%2fcore-linux-x64-gnu/-/core-linux-x64-gnu-1.0.0.tgz",
        &[],
    )
    .await;
    let direct = get_with(
        &up,
        "/npm/@x0x%2fcore-linux-x64-gnu/-/core-linux-x64-gnu-1.0.0.tgz",
        &[],
    )
    .await;
    assert_eq!(via.status, StatusCode::OK);
    assert!(via.body == direct.body);
    let missing = get_with(&st, "/npm/left-pad", &[]).await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (StatusCode::NOT_FOUND, "npm.not_hosted"),
        "the upstream's own answer"
    );
    // Bad names never reach the upstream.
    assert_eq!(
        get_with(&st, "/npm/@x0x%2f..", &[]).await.code(),
        "npm.invalid_name"
    );
}

/// Yanks and revocations (the signed `revocations` role) reflected the npm way: a yanked version is deprecated
/// with its reason and not `latest`; a revoked one is deprecated naming its advisory, never `latest`, and
/// listed by `npm audit`'s bulk answer; packuments served before change (new ETag, no stale cache).
#[tokio::test]
async fn yanked_and_revoked_releases() {
    let fx = repo(1);
    let st = fx.state().await;
    let r1 = release(&fx, &st, None, "1.0.0").await;
    release(&fx, &st, Some(r1.signed()), "1.1.0").await;
    let withdraw = |body: serde_json::Value| {
        let st = st.clone();
        let auth = fx.bearer();
        async move {
            let r = call(
                &st,
                Request::post("/api/v1/packages/x0x/revocations")
                    .header("authorization", auth)
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&r.body)
            );
        }
    };
    let audit = |versions: &[&str]| {
        let st = st.clone();
        let body = serde_json::json!({
            "x0x": versions,
            "@x0x/core-linux-x64-gnu": versions,
            "left-pad": ["1.0.0"],
        });
        async move {
            let r = call(
                &st,
                Request::post("/npm/-/npm/v1/security/advisories/bulk")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK);
            r.json()
        }
    };

    let before = get_with(&st, "/npm/x0x", &[]).await;
    let j = before.json();
    assert_eq!(j["dist-tags"]["latest"], "1.1.0");
    assert!(j["versions"]["1.1.0"].get("deprecated").is_none());
    let etag = before.header("etag").unwrap().to_owned();
    assert_eq!(
        get_with(&st, "/npm/x0x", &[("if-none-match", &etag)])
            .await
            .status,
        StatusCode::NOT_MODIFIED
    );
    let abbr_before = get_with(&st, "/npm/x0x", &[("accept", ABBR)]).await;
    assert_eq!(audit(&["1.0.0", "1.1.0"]).await, serde_json::json!({}));

    withdraw(
        serde_json::json!({"version": "1.1.0", "state": "yanked", "reason": "crashes on musl"}),
    )
    .await;
    let after = get_with(&st, "/npm/x0x", &[("if-none-match", &etag)]).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "the old ETag no longer matches"
    );
    assert_ne!(after.header("etag").unwrap(), etag);
    let j = after.json();
    assert_eq!(
        j["dist-tags"]["latest"], "1.0.0",
        "latest is the highest active"
    );
    assert_eq!(j["versions"]["1.1.0"]["deprecated"], "crashes on musl");
    assert!(j["versions"]["1.0.0"].get("deprecated").is_none());
    let a = get_with(&st, "/npm/x0x", &[("accept", ABBR)]).await;
    assert_ne!(a.header("etag"), abbr_before.header("etag"));
    assert_eq!(
        a.json()["versions"]["1.1.0"]["deprecated"],
        "crashes on musl"
    );
    assert_eq!(a.json()["dist-tags"]["latest"], "1.0.0");
    let p = get_with(&st, "/npm/@x0x%2fcore-linux-x64-gnu", &[])
        .await
        .json();
    assert_eq!(p["dist-tags"]["latest"], "1.0.0");
    assert_eq!(p["versions"]["1.1.0"]["deprecated"], "crashes on musl");
    assert_eq!(
        get_with(&st, "/npm/x0x/latest", &[]).await.json()["version"],
        "1.0.0"
    );
    assert_eq!(
        get_with(&st, "/npm/-/package/x0x/dist-tags", &[])
            .await
            .json()["latest"],
        "1.0.0"
    );
    // Still installable where pinned.
    assert_eq!(
        get_with(&st, "/npm/x0x/-/x0x-1.1.0.tgz", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        audit(&["1.0.0", "1.1.0"]).await,
        serde_json::json!({}),
        "a yank is no advisory"
    );

    withdraw(
        serde_json::json!({"version": "1.1.0", "state": "revoked", "reason": "CVE-2026-0001",
        "advisory": "https://example.com/adv/1"}),
    )
    .await;
    let j = get_with(&st, "/npm/x0x", &[]).await.json();
    assert_eq!(j["dist-tags"]["latest"], "1.0.0");
    assert_eq!(
        j["versions"]["1.1.0"]["deprecated"],
        "revoked: CVE-2026-0001 (advisory: https://example.com/adv/1)"
    );
    let adv = audit(&["1.0.0", "1.1.0"]).await;
    for name in ["x0x", "@x0x/core-linux-x64-gnu"] {
        let list = adv[name]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {adv}"));
        assert_eq!(list.len(), 1, "{adv}");
        assert_eq!(list[0]["severity"], "high");
        assert_eq!(list[0]["url"], "https://example.com/adv/1");
        assert_eq!(list[0]["vulnerable_versions"], "1.1.0");
        assert!(list[0]["id"].is_u64());
    }
    assert!(adv.get("left-pad").is_none());
    assert_eq!(
        audit(&["1.0.0"]).await,
        serde_json::json!({}),
        "only versions the request lists"
    );

    // Every release withdrawn: a revoked one is never latest, a yanked one only as the last resort.
    withdraw(serde_json::json!({"version": "1.0.0", "state": "yanked", "reason": "old"})).await;
    let j = get_with(&st, "/npm/x0x", &[]).await.json();
    assert_eq!(j["dist-tags"]["latest"], "1.0.0");
    assert_eq!(j["versions"]["1.0.0"]["deprecated"], "old");
}

/// A revocations role that does not verify (bytes changed after signing) is never read as "nothing withdrawn":
/// packuments are refused with a metadata code.
#[tokio::test]
async fn tampered_revocations_are_refused() {
    let fx = repo(1);
    let st = fx.state().await;
    let r1 = release(&fx, &st, None, "1.0.0").await;
    release(&fx, &st, Some(r1.signed()), "1.1.0").await;
    let r = call(
        &st,
        Request::post("/api/v1/packages/x0x/revocations")
            .header("authorization", fx.bearer())
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"version":"1.1.0","state":"revoked","reason":"CVE-2026-0001"}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let file = fx.path().join("metadata/1.revocations.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"revoked\"", "\"yanked\"")).unwrap();
    let st = fx.state().await;
    let p = get_with(&st, "/npm/x0x", &[]).await;
    assert!(
        p.code().starts_with("metadata."),
        "{} {}",
        p.status,
        String::from_utf8_lossy(&p.body)
    );
    assert!(call(
        &st,
        Request::post("/npm/-/npm/v1/security/advisories/bulk")
            .body(Body::from(r#"{"x0x":["1.1.0"]}"#))
            .unwrap(),
    )
    .await
    .code()
    .starts_with("metadata."));
}
