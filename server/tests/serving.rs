//! Serving the TUF repository: ETag / 304, Range / 206 / 416, HEAD, Cache-Control, Content-Type, gzip, and
//! path safety on every path parameter.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt as _;
use std::io::Read as _;

#[tokio::test]
async fn metadata_headers_etag_and_gzip() {
    let fx = repo(1);
    let st = fx.state().await;
    let r = get(&st, "/tuf/metadata/1.root.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        std::fs::read(fx.path().join("metadata/1.root.json")).unwrap()
    );
    assert_eq!(
        r.header("content-length").unwrap(),
        r.body.len().to_string()
    );
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));

    let r = call(
        &st,
        Request::get("/tuf/metadata/1.root.json")
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    let r = call(
        &st,
        Request::get("/tuf/metadata/1.root.json")
            .header("if-none-match", "\"nope\"")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = call(
        &st,
        Request::get("/tuf/metadata/1.root.json")
            .header("accept-encoding", "gzip, br")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_ne!(
        r.header("etag").unwrap(),
        etag,
        "gzip variant needs its own ETag"
    );
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(
        plain,
        std::fs::read(fx.path().join("metadata/1.root.json")).unwrap()
    );

    let r = get(&st, "/tuf/metadata/timestamp.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));

    let r = get(&st, "/tuf/metadata/9.root.json").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "request.not_found");
}

#[tokio::test]
async fn head_matches_get_without_body() {
    let fx = repo(1);
    let st = fx.state().await;
    let g = get(&st, "/tuf/metadata/1.root.json").await;
    let h = call(
        &st,
        Request::head("/tuf/metadata/1.root.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(h.status, StatusCode::OK);
    assert!(h.body.is_empty());
    assert_eq!(h.header("content-length"), g.header("content-length"));
    assert_eq!(h.header("etag"), g.header("etag"));
}

#[tokio::test]
async fn timestamp_change_is_visible_at_once() {
    let fx = repo(1);
    let st = fx.state().await;
    let a = get(&st, "/tuf/metadata/timestamp.json").await;
    release(&fx, &st, None, "1.0.0").await;
    let b = get(&st, "/tuf/metadata/timestamp.json").await;
    assert_ne!(a.body, b.body);
    assert_ne!(a.header("etag"), b.header("etag"));
    assert_eq!(
        b.body,
        std::fs::read(fx.path().join("metadata/timestamp.json")).unwrap()
    );
}

/// A replaced `timestamp.json` with the same length and the same mtime (two commits within one coarse mtime
/// tick) is still seen as new: the file's identity includes its inode, which every atomic rename changes.
#[tokio::test]
async fn a_same_length_same_mtime_replacement_is_visible() {
    let fx = repo(1);
    let st = fx.state().await;
    let ts = fx.path().join("metadata/timestamp.json");
    let a = get(&st, "/tuf/metadata/timestamp.json").await;
    assert_eq!(a.body, std::fs::read(&ts).unwrap());
    let old = std::fs::metadata(&ts).unwrap();
    // Same length, other bytes (a different signature would look like this), mtime set back to the old one.
    let mut other = a.body.to_vec();
    let i = other.iter().rposition(u8::is_ascii_hexdigit).unwrap();
    other[i] = if other[i] == b'0' { b'1' } else { b'0' };
    let tmp = fx.path().join("metadata/.next");
    std::fs::write(&tmp, &other).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(old.modified().unwrap())
        .unwrap();
    std::fs::rename(&tmp, &ts).unwrap();
    let new = std::fs::metadata(&ts).unwrap();
    assert_eq!(
        (new.len(), new.modified().unwrap()),
        (old.len(), old.modified().unwrap())
    );
    let b = get(&st, "/tuf/metadata/timestamp.json").await;
    assert_eq!(b.body, other, "the replaced timestamp is served");
    assert_ne!(a.header("etag"), b.header("etag"));
}

#[tokio::test]
async fn targets_ranges_and_immutability() {
    let fx = repo(1);
    let mut cfg = fx.config();
    // Exercise both the in-memory and the streaming path.
    for cache in [true, false] {
        if !cache {
            cfg.cache.memory_bytes = 0;
            cfg.cache.max_file_bytes = 0;
        }
        let st = state_for(cfg.clone()).await;
        if cache {
            release(&fx, &st, None, "1.0.0").await;
        }
        let arts = artifacts("1.0.0");
        let data = &arts[0].1;
        let sha = x0x_dist_manifests::Sha256::digest(data).to_hex();
        let uri = format!("/tuf/targets/x0x/1.0.0/{sha}.x0x.linux-x64-gnu.node");
        let r = get(&st, &uri).await;
        assert_eq!(r.status, StatusCode::OK, "cache={cache}");
        assert_eq!(&r.body[..], &data[..]);
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
        assert_eq!(r.header("content-length").unwrap(), data.len().to_string());
        let etag = r.header("etag").unwrap().to_owned();
        assert!(etag.contains(&sha[..32]));

        let r = call(
            &st,
            Request::get(&uri)
                .header("range", "bytes=10-19")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(&r.body[..], &data[10..20]);
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes 10-19/{}", data.len())
        );
        assert_eq!(r.header("content-length"), Some("10"));
        let r = call(
            &st,
            Request::get(&uri)
                .header("range", "bytes=-5")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(&r.body[..], &data[data.len() - 5..]);
        let r = call(
            &st,
            Request::get(&uri)
                .header("range", format!("bytes={}-", data.len()))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes */{}", data.len())
        );
        assert_eq!(r.code(), "request.range_not_satisfiable");
        let r = call(
            &st,
            Request::get(&uri)
                .header("if-none-match", &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        let r = call(&st, Request::head(&uri).body(Body::empty()).unwrap()).await;
        assert!(r.body.is_empty());
        assert_eq!(r.header("content-length").unwrap(), data.len().to_string());
        // Binary targets are not gzipped.
        let r = call(
            &st,
            Request::get(&uri)
                .header("accept-encoding", "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.header("content-encoding"), None);

        let wasm = format!(
            "/tuf/targets/x0x/1.0.0/{}.x0x.wasm32-wasip1.wasm",
            x0x_dist_manifests::Sha256::digest(&arts[1].1).to_hex()
        );
        assert_eq!(
            get(&st, &wasm).await.header("content-type"),
            Some("application/wasm")
        );
        // Unpublished names are not served, even for an uploaded blob.
        let r = get(
            &st,
            &format!("/tuf/targets/x0x/9.9.9/{sha}.x0x.linux-x64-gnu.node"),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn path_traversal_and_odd_names_are_rejected_everywhere() {
    let fx = repo(1);
    let st = fx.state().await;
    std::fs::write(fx.path().join("secret.json"), b"{}").unwrap();
    let bad_files = [
        "..%2Fsecret.json",
        "%2E%2E",
        ".hidden.json",
        "a%20b.json",
        "root.txt",
        "%00.json",
        "a%5Cb.json",
        "%C3%A9.json",
    ];
    for f in bad_files {
        let r = get(&st, &format!("/tuf/metadata/{f}")).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "metadata {f}: {:?}",
            r.body
        );
        assert_eq!(r.code(), "usage.invalid");
    }
    for p in [
        "../secret.json",
        "x0x/../../secret.json",
        "x0x/%2E%2E/secret.json",
        "x0x//a",
        "x0x/.a",
        "x0x/a%5Cb",
        "x0x/a%00b",
        "x0x/a/",
    ] {
        let r = get(&st, &format!("/tuf/targets/{p}")).await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND,
            "targets {p}: {}",
            r.status
        );
        assert_ne!(r.status, StatusCode::OK);
        if r.status == StatusCode::NOT_FOUND {
            // Only when the router itself normalised the path away (no handler ran).
            assert_eq!(r.code(), "request.not_found");
        }
    }
    for d in [
        "..",
        "abc",
        &"A".repeat(64),
        &format!("{}/..", "a".repeat(64)),
        &"g".repeat(64),
    ] {
        let r = put_blob_raw(&st, &fx.bearer(), d).await;
        assert_ne!(r.status, StatusCode::CREATED, "digest {d}");
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND,
            "digest {d}: {}",
            r.status
        );
    }
    for n in ["..", "X0X", "a%2Fb", "%2E%2E", "a%20b", "-x"] {
        for suffix in ["", "/resolve", "/role"] {
            let r = get(&st, &format!("/api/v1/packages/{n}{suffix}")).await;
            assert!(
                r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND,
                "package {n}{suffix}: {}",
                r.status
            );
            assert_ne!(r.code(), "");
        }
        let r = submit(&st, Some(&fx.bearer()), n, b"{}").await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND,
            "submit {n}: {}",
            r.status
        );
    }
    // The literal percent-decoded traversal must never reach the file system.
    assert!(!get(&st, "/tuf/metadata/..%2Fsecret.json")
        .await
        .body
        .starts_with(b"{}"));
}

async fn put_blob_raw(
    st: &std::sync::Arc<x0x_dist_server::state::AppState>,
    auth: &str,
    digest: &str,
) -> Resp {
    call(
        st,
        Request::put(format!("/api/v1/blobs/sha256/{digest}"))
            .header("authorization", auth)
            .body(Body::from("x"))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let fx = repo(1);
    let st = fx.state().await;
    let r = get(&st, "/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "request.not_found");
    let r = call(
        &st,
        Request::delete("/tuf/metadata/1.root.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "usage.invalid");
    let resp = tower::ServiceExt::oneshot(
        x0x_dist_server::router::router(st.clone()),
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert!(
        resp.headers().get("x-request-id").is_some(),
        "request id echoed"
    );
    let _ = resp.into_body().collect().await;
}
