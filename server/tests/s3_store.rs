//! One set of store-level assertions, run against the local-directory store and against the S3 store on a real
//! engine alike: blob idempotence, every bad upload (small, and large enough to be a multipart upload) leaves
//! nothing visible, a 20 MiB multipart round trip read back in ranges, links (server-side copies), repository
//! objects with changing ETags, listings of every area.
//!
//! The S3 half needs an engine: `X0X_S3_ENV` names the env file `scripts/garage-cluster.sh start DIR` writes
//! (`DIR/env`: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, X0X_S3_ENDPOINTS, X0X_S3_BUCKET). Without it
//! the S3 test prints "skipped: no S3 engine" and passes, unless `X0X_REQUIRE_S3=1` (CI), where it fails. Each
//! run writes under its own prefix of the bucket, so runs never collide.
use std::time::Duration;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_test_support::s3::{engine, s3_config, unique_prefix};

use bytes::Bytes;
use futures_util::StreamExt as _;
use x0x_dist_server::storage::local::LocalStore;
use x0x_dist_server::storage::s3::{S3Store, PART_SIZE, SINGLE_PUT_MAX};
use x0x_dist_server::storage::{
    Area, ByteStream, Digest, ObjectKey, ObjectPath, PutLimits, PutOutcome, Store,
};

const MIB: usize = 1 << 20;

fn limits(max: u64, expected_len: Option<u64>) -> PutLimits {
    PutLimits {
        max_bytes: max,
        expected_len,
        idle_timeout: Duration::from_secs(30),
    }
}

/// Deterministic bytes that differ everywhere (a part put at the wrong offset shows).
fn pattern(len: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v.into()
}

/// `data` in chunks of `size` (no copies), as a request body arrives.
fn chunked(data: &Bytes, size: usize) -> ByteStream {
    let chunks: Vec<_> = (0..data.len())
        .step_by(size)
        .map(|i| Ok(data.slice(i..(i + size).min(data.len()))))
        .collect();
    futures_util::stream::iter(chunks).boxed()
}

/// The first `upto` bytes of `data`, then an error (the client's connection reset).
fn interrupted(data: &Bytes, upto: usize) -> ByteStream {
    chunked(&data.slice(..upto), 1_000_003)
        .chain(futures_util::stream::iter(vec![Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ))]))
        .boxed()
}

/// The first `upto` bytes of `data`, then nothing ever again (a stalled client).
fn stalled(data: &Bytes, upto: usize) -> ByteStream {
    chunked(&data.slice(..upto), 1_000_003)
        .chain(futures_util::stream::pending())
        .boxed()
}

async fn collect(mut s: ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    out
}

async fn sorted_list(s: &dyn Store, area: Area) -> Vec<String> {
    let mut v = s.list(area).await.unwrap();
    v.sort();
    v
}

/// Every store-level assertion; `s` is empty when called.
#[allow(clippy::too_many_lines)]
async fn exercise(s: &dyn Store) {
    let what = s.describe();
    assert!(sorted_list(s, Area::Blobs).await.is_empty(), "{what}");

    // Idempotence: the second put of a blob reads and checks the body but writes nothing.
    let small = Bytes::from_static(b"hello world");
    let ds = Digest::digest(&small);
    assert_eq!(
        s.put_blob(&ds, chunked(&small, 5), limits(100, Some(11)))
            .await
            .unwrap(),
        PutOutcome::Created { len: 11 },
        "{what}"
    );
    assert_eq!(
        s.put_blob(&ds, chunked(&small, 100), limits(100, None))
            .await
            .unwrap(),
        PutOutcome::Existed { len: 11 },
        "{what}"
    );
    let e = s
        .put_blob(
            &ds,
            chunked(&Bytes::from_static(b"hello there"), 100),
            limits(100, None),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        "blob.digest_mismatch",
        "{what}: wrong body for an existing blob"
    );
    assert_eq!(s.blob_len(&ds).await.unwrap(), Some(11), "{what}");

    // Bad uploads, small (buffered) and large (past the single-PUT size: a multipart upload with parts sent):
    // each fails with the local store's code and leaves nothing visible.
    let big = pattern(20 * MIB, 7);
    let db = Digest::digest(&big);
    let over = SINGLE_PUT_MAX + 4 * MIB; // past the single PUT, at least one part sent
    assert!(over > PART_SIZE);
    let quick = |max: u64, len: Option<u64>| PutLimits {
        idle_timeout: Duration::from_millis(300),
        ..limits(max, len)
    };
    let small_bad = Bytes::from_static(b"hello");
    let dx = Digest::digest(b"never uploaded");
    let cases: Vec<(&str, Digest, ByteStream, PutLimits, &str)> = vec![
        (
            "small, wrong digest",
            db,
            chunked(&small, 4),
            limits(100, None),
            "blob.digest_mismatch",
        ),
        (
            "small, short body",
            db,
            chunked(&small_bad, 4),
            limits(100, Some(11)),
            "blob.length_mismatch",
        ),
        (
            "small, long body",
            db,
            chunked(&small, 4),
            limits(100, Some(5)),
            "blob.length_mismatch",
        ),
        (
            "small, over the limit",
            db,
            chunked(&small, 4),
            limits(5, None),
            "request.too_large",
        ),
        (
            "declared over the limit",
            db,
            chunked(&small, 4),
            limits(5, Some(11)),
            "request.too_large",
        ),
        (
            "small, interrupted",
            db,
            interrupted(&small, 5),
            limits(100, None),
            "request.timeout",
        ),
        (
            "small, stalled",
            db,
            stalled(&small, 5),
            quick(100, None),
            "request.timeout",
        ),
        (
            "large, wrong digest",
            dx,
            chunked(&big, 1_000_003),
            limits(1 << 30, None),
            "blob.digest_mismatch",
        ),
        (
            "large, short body",
            db,
            chunked(&big, 1_000_003),
            limits(1 << 30, Some(big.len() as u64 + 1)),
            "blob.length_mismatch",
        ),
        (
            "large, long body",
            db,
            chunked(&big, 1_000_003),
            limits(1 << 30, Some(big.len() as u64 - 1)),
            "blob.length_mismatch",
        ),
        (
            "large, over the limit",
            db,
            chunked(&big, 1_000_003),
            limits(over as u64 + 3 * MIB as u64, None),
            "request.too_large",
        ),
        (
            "large, interrupted",
            db,
            interrupted(&big, over),
            limits(1 << 30, None),
            "request.timeout",
        ),
        (
            "large, stalled",
            db,
            stalled(&big, over),
            quick(1 << 30, None),
            "request.timeout",
        ),
    ];
    for (case, digest, body, lim, code) in cases {
        let e = s.put_blob(&digest, body, lim).await.unwrap_err();
        assert_eq!(e.code(), code, "{what}: {case}: {e}");
        assert_eq!(s.blob_len(&db).await.unwrap(), None, "{what}: {case}");
        assert_eq!(s.blob_len(&dx).await.unwrap(), None, "{what}: {case}");
    }
    // A request dropped mid-upload (client gone, request timeout): nothing visible either.
    let cancelled = tokio::time::timeout(
        Duration::from_secs(3),
        s.put_blob(&db, stalled(&big, over), limits(1 << 30, None)),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "{what}: the stalled upload should still be waiting"
    );
    assert_eq!(
        sorted_list(s, Area::Blobs).await,
        vec![ds.to_string()],
        "{what}: a failed upload became visible"
    );

    // 20 MiB round trip (multipart on S3: parts of 8 MiB), read back whole and in ranges across part borders.
    assert_eq!(
        s.put_blob(
            &db,
            chunked(&big, 1_000_003),
            limits(1 << 30, Some(big.len() as u64))
        )
        .await
        .unwrap(),
        PutOutcome::Created {
            len: big.len() as u64
        },
        "{what}"
    );
    assert_eq!(
        s.put_blob(&db, chunked(&big, 4 * MIB), limits(1 << 30, None))
            .await
            .unwrap(),
        PutOutcome::Existed {
            len: big.len() as u64
        },
        "{what}"
    );
    assert_eq!(
        s.blob_len(&db).await.unwrap(),
        Some(big.len() as u64),
        "{what}"
    );
    assert!(
        collect(s.read_blob(&db).await.unwrap()).await == big,
        "{what}: read_blob"
    );

    // Links: published targets are copies of (local: hard links to) their blobs; linking again is a no-op.
    let pb = ObjectPath::parse(&format!("x0x/1.0.0/{db}.x0x.linux-x64-gnu.node")).unwrap();
    let ps = ObjectPath::parse(&format!("x0x/1.0.0/{ds}.x0x.wasm32-wasi.wasm")).unwrap();
    assert_eq!(s.target_len(&pb).await.unwrap(), None, "{what}");
    for _ in 0..2 {
        s.link_target(&pb, &db).await.unwrap();
        s.link_target(&ps, &ds).await.unwrap();
    }
    assert_eq!(
        s.target_len(&pb).await.unwrap(),
        Some(big.len() as u64),
        "{what}"
    );
    assert_eq!(s.target_len(&ps).await.unwrap(), Some(11), "{what}");
    let len = big.len() as u64;
    let part = PART_SIZE as u64;
    for r in [
        0..1,
        0..len,
        part - 1..part + 1,
        5 * MIB as u64..2 * part + 3,
        len - 1..len,
        12_345..12_345,
    ] {
        let got = collect(s.read_target(&pb, r.clone()).await.unwrap()).await;
        assert!(
            got[..] == big[r.start as usize..r.end as usize],
            "{what}: range {r:?}: {} bytes",
            got.len()
        );
    }
    assert_eq!(s.read_target_all(&ps).await.unwrap(), small, "{what}");
    assert!(s.read_target_all(&pb).await.unwrap() == big, "{what}");
    assert!(s
        .link_target(
            &ObjectPath::parse("x0x/1.0.1/none").unwrap(),
            &Digest::digest(b"none")
        )
        .await
        .is_err());

    // Repository objects: absent, created, replaced (a new tag), read back with the tag of what was read.
    let root = ObjectKey::metadata("1.root.json").unwrap();
    let ts = ObjectKey::timestamp();
    assert!(s.get_object(&ts).await.unwrap().is_none(), "{what}");
    assert_eq!(s.object_etag(&ts).await.unwrap(), None, "{what}");
    let e1 = s
        .put_object(&ts, Bytes::from_static(b"{\"v\":1}"))
        .await
        .unwrap();
    assert_eq!(
        s.object_etag(&ts).await.unwrap(),
        Some(e1.clone()),
        "{what}"
    );
    let o = s.get_object(&ts).await.unwrap().unwrap();
    assert_eq!((&o.bytes[..], &o.etag), (&b"{\"v\":1}"[..], &e1), "{what}");
    let e2 = s
        .put_object(&ts, Bytes::from_static(b"{\"v\":2}"))
        .await
        .unwrap();
    assert_ne!(e1, e2, "{what}: replacing an object must change its tag");
    assert_eq!(
        s.object_etag(&ts).await.unwrap(),
        Some(e2.clone()),
        "{what}"
    );
    let o = s.get_object(&ts).await.unwrap().unwrap();
    assert_eq!((&o.bytes[..], &o.etag), (&b"{\"v\":2}"[..], &e2), "{what}");
    s.put_object(&root, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    s.put_object(&ObjectKey::Tokens, Bytes::from_static(b"{\"tokens\":[]}"))
        .await
        .unwrap();
    assert_eq!(
        &s.get_object(&ObjectKey::Tokens)
            .await
            .unwrap()
            .unwrap()
            .bytes[..],
        b"{\"tokens\":[]}",
        "{what}"
    );

    // Listings: names relative to each area, nothing from in-flight or failed uploads.
    let mut blobs = vec![ds.to_string(), db.to_string()];
    blobs.sort();
    assert_eq!(sorted_list(s, Area::Blobs).await, blobs, "{what}");
    let mut targets = vec![pb.as_str().to_owned(), ps.as_str().to_owned()];
    targets.sort();
    assert_eq!(sorted_list(s, Area::Targets).await, targets, "{what}");
    assert_eq!(
        sorted_list(s, Area::Metadata).await,
        vec!["1.root.json".to_owned(), "timestamp.json".to_owned()],
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store() {
    let dir = tempfile::tempdir().unwrap();
    // `init` makes metadata/ in every repository; the local store writes into it but does not create it.
    std::fs::create_dir(dir.path().join("metadata")).unwrap();
    let s = LocalStore::open(dir.path()).unwrap();
    exercise(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store() {
    let Some((env, endpoints)) = engine() else {
        return;
    };
    let bucket = env
        .get("X0X_S3_BUCKET")
        .cloned()
        .unwrap_or_else(|| "x0x".into());
    let url = format!("s3://{bucket}/{}", unique_prefix("test-s3-store"));
    let s = S3Store::open(&s3_config(&env, &endpoints[0], &url)).unwrap();
    assert!(
        s.describe()
            .starts_with(&format!("s3://{bucket}/test-s3-store/")),
        "{}",
        s.describe()
    );
    exercise(&s).await;

    // Every failed or dropped multipart upload was aborted (the dropped one in the background): none is left
    // open under this run's prefix. The listing is checked to see one that is open.
    let open = || {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-m", "20", "--aws-sigv4"])
            .arg(format!("aws:amz:{}:s3", env["AWS_REGION"]))
            .arg("--user")
            .arg(format!("{}:{}", env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]))
            .args(["-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
            .arg(format!(
                "{}/{bucket}?prefix={}%2F&uploads=",
                endpoints[0],
                s.prefix().replace('/', "%2F")
            ))
            .output()
            .expect("curl (ListMultipartUploads)");
        let xml = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(xml.contains("<ListMultipartUploadsResult"), "{xml}");
        xml.split("<Key>")
            .skip(1)
            .filter_map(|k| k.split_once("</Key>").map(|(k, _)| k.to_owned()))
            .collect::<Vec<_>>()
    };
    let probe_key = format!("{}/probe", s.prefix());
    let probe = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&endpoints[0])
        .with_allow_http(true)
        .with_region(&env["AWS_REGION"])
        .with_bucket_name(&bucket)
        .with_access_key_id(&env["AWS_ACCESS_KEY_ID"])
        .with_secret_access_key(&env["AWS_SECRET_ACCESS_KEY"])
        .build()
        .unwrap();
    let mut up = object_store::ObjectStore::put_multipart_opts(
        &probe,
        &object_store::path::Path::from(probe_key.as_str()),
        object_store::PutMultipartOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        open(),
        vec![probe_key.clone()],
        "the listing shows an open upload"
    );
    up.abort().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = open();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "multipart uploads left open: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Another node of the cluster sees what this one committed.
    if let Some(other) = endpoints.get(1) {
        let s2 = S3Store::open(&s3_config(&env, other, &url)).unwrap();
        let ts = ObjectKey::timestamp();
        assert_eq!(
            s2.object_etag(&ts).await.unwrap(),
            s.object_etag(&ts).await.unwrap()
        );
        assert_eq!(s2.list(Area::Blobs).await.unwrap().len(), 2);
    }

    // What does not answer fails at open, naming endpoint and bucket.
    let e =
        S3Store::open(&s3_config(&env, &endpoints[0], "s3://no-such-bucket-x0x/p")).unwrap_err();
    assert_eq!(e.code(), "io.error");
    assert!(
        e.to_string().contains("s3://no-such-bucket-x0x/p at "),
        "{e}"
    );
    let mut wrong = s3_config(&env, &endpoints[0], &url);
    wrong.s3.secret_access_key = Some("not-the-secret".into());
    let e = S3Store::open(&wrong).unwrap_err();
    assert!(e.to_string().contains(&endpoints[0]), "{e}");
}
