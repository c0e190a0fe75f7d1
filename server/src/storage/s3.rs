//! The S3-compatible store: the repository kept in a bucket (`[storage] url = "s3://BUCKET/PREFIX"`), so several
//! server replicas can share it (`docs/server.md`, "Scale-out").
//!
//! Layout under `s3://BUCKET/PREFIX/`: the same keys as the local directory ([`super::local`]) —
//! `blobs/sha256/<hex>`, `targets/<package>/<version>/<sha256>.<file>`, `metadata/<file>`, `tokens.json`
//! ([`ObjectKey::as_key`]) — so the bucket is a plain consistent-snapshot TUF repository that a CDN or any static
//! server could serve as it is. Nothing else is stored there: the online keys never go into the bucket.
//!
//! How each invariant of [`Store`] is kept:
//! - `put_blob` hashes the body while it streams. A body of up to [`SINGLE_PUT_MAX`] bytes is buffered and
//!   written with one `PutObject` only after its digest and length matched. A larger one streams into a
//!   multipart upload created directly at `blobs/sha256/<hex>` (parts of [`PART_SIZE`], at most
//!   [`PARTS_IN_FLIGHT`] uploading at once while the body keeps streaming), which is completed only once digest and length matched and aborted
//!   otherwise (or when the request is dropped), so a failed upload never becomes visible: an object appears in
//!   S3 only when its multipart upload completes. Parts of an upload the process did not live to abort stay
//!   invisible; a bucket lifecycle rule ("abort incomplete multipart uploads after N days") reclaims them.
//! - An existing blob is not rewritten: a `HEAD` first, then the body is still read and checked (so a wrong body
//!   fails exactly as with the local store) but not sent; a `HEAD` again before committing catches a concurrent
//!   upload of the same blob.
//! - `link_target` is a server-side `CopyObject` (nothing goes through this process; single-request copies are
//!   limited to 5 GiB on AWS, above the default `max_blob_bytes`).
//! - `put_object` is a single `PutObject`, atomic in every S3 engine: readers see the old or the new object.
//! - `read_target` is a ranged `GET`, streamed.
//!
//! Conditional writes: Garage (2.5.0, the engine the tests run against) ignores `If-None-Match` / `If-Match` on
//! `PutObject`, and other engines differ too, so correctness never depends on them (no `PutMode::Create` /
//! `PutMode::Update`). Publishing is serialised by a single publish leader instead (`[replica]`); blobs are
//! content-addressed, so two uploads of one blob racing write the same bytes.
//!
//! Why `object_store` (the Apache Arrow project's object-store crate): maintained by Apache Arrow and used by
//! DataFusion, Polars and others; async on tokio + reqwest (the stack this server already has: 0.13 is the
//! newest release on reqwest 0.12 with ring, 0.14 moves to reqwest 0.13 and aws-lc-rs); multipart uploads with
//! explicit abort, ranged `GET`, server-side copy, conditional `PutMode` where an engine has it; SigV4 against
//! any endpoint (AWS, Garage, MinIO, Ceph RGW, R2), path-style requests and plain http for self-hosted engines.
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ClientOptions, GetOptions, GetRange, MultipartUpload,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    RetryConfig,
};
use sha2::Digest as _;

use super::{
    check_segment, Area, ByteStream, Digest, ETag, Object, ObjectKey, ObjectPath, PutLimits,
    PutOutcome, Store,
};
use crate::config::{env, StorageConfig};
use crate::storage::StorageError;

/// Bodies up to this size are buffered and stored with a single `PutObject` once verified.
pub const SINGLE_PUT_MAX: usize = 8 << 20;
/// Size of every multipart part but the last (S3 needs at least 5 MiB; equal sizes suit R2 as well).
pub const PART_SIZE: usize = 8 << 20;
/// Parts uploading concurrently per blob upload (memory per upload: about `(PARTS_IN_FLIGHT + 1) * PART_SIZE`).
pub const PARTS_IN_FLIGHT: usize = 2;
/// Upper bound of one control request (`HEAD`, `PutObject` of metadata, a part, a listing page).
const OP_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound of a streamed read (a slow client downloading a large target) or a server-side copy.
const STREAM_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// Region when none is configured.
const DEFAULT_REGION: &str = "us-east-1";

/// A store in an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    /// Control requests (short timeout).
    ops: Arc<AmazonS3>,
    /// Streamed reads and copies (long timeout: a slow client may take long to drain a large target).
    streams: Arc<AmazonS3>,
    bucket: String,
    /// `""` or `a/b` (validated segments, no slashes at either end).
    prefix: String,
    /// The endpoint as configured, or `AWS (<region>)`.
    endpoint: String,
    /// Immutable objects this process read or wrote (no round trip to read them again).
    memo: Arc<super::memo::Memo>,
}

/// The parsed `s3://BUCKET[/PREFIX]` of `[storage] url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, `""` or validated segments joined by `/`.
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://BUCKET` or `s3://BUCKET/PREFIX` (a trailing `/` is ignored). Every prefix segment obeys the
    /// rules of target paths (`[A-Za-z0-9._+-]`, no `.`/`..`, no empty segment).
    pub fn parse(url: &str) -> Result<Self, StorageError> {
        let bad = |why: String| {
            StorageError::Config(format!(
                "[storage] url / --storage / {} {url:?}: {why}; write s3://BUCKET or s3://BUCKET/PREFIX, e.g. \
                 s3://x0x-dist/prod",
                env::STORAGE
            ))
        };
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(bad("only s3:// URLs are supported".into()));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("the bucket name is empty".into()));
        }
        if bucket.len() > 63
            || !bucket.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
            })
        {
            return Err(bad(format!(
                "bucket {bucket:?} is not a bucket name (at most 63 of a-z, 0-9, '.', '-', '_')"
            )));
        }
        if !prefix.is_empty() {
            for seg in prefix.split('/') {
                check_segment(seg).map_err(|why| bad(format!("prefix segment {seg:?}: {why}")))?;
            }
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

/// The first set variable of `names`, non-empty.
fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

fn store_err(what: impl Into<String>, e: object_store::Error) -> StorageError {
    let kind = match &e {
        object_store::Error::NotFound { .. } => std::io::ErrorKind::NotFound,
        _ => std::io::ErrorKind::Other,
    };
    StorageError::Io {
        what: what.into(),
        source: std::io::Error::new(kind, e),
    }
}

/// The tag of an object: its ETag, or (an engine that sends none) its modification time and size.
fn etag_of(meta: &ObjectMeta) -> ETag {
    match &meta.e_tag {
        Some(t) => ETag(t.clone()),
        None => ETag(format!(
            "{}-{}",
            meta.last_modified.timestamp_nanos_opt().unwrap_or(0),
            meta.size
        )),
    }
}

fn content_type(ct: &'static str) -> Attributes {
    let mut a = Attributes::new();
    a.insert(Attribute::ContentType, AttributeValue::from(ct));
    a
}

impl S3Store {
    /// Opens the store `config.url` names (`s3://BUCKET[/PREFIX]`) with `[storage.s3]` (flags and environment
    /// already merged into it), and checks that the bucket answers: a store that cannot be reached fails here,
    /// naming endpoint and bucket, rather than at the first request.
    ///
    /// Credentials: `[storage.s3] access_key_id`/`secret_access_key`, else `X0X_DIST_S3_ACCESS_KEY_ID`/
    /// `X0X_DIST_S3_SECRET_ACCESS_KEY`, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
    /// on AWS without any of these, the instance's credentials. Region: `[storage.s3] region`, else `AWS_REGION` /
    /// `AWS_DEFAULT_REGION`, else `us-east-1`. Blocks the calling thread for the check (fine at
    /// startup, also inside a runtime: the check runs on its own thread and client).
    pub fn open(config: &StorageConfig) -> Result<Self, StorageError> {
        let url = config.url.as_deref().ok_or_else(|| {
            StorageError::Config(format!(
                "no object store configured: set [storage] url, --storage or {}",
                env::STORAGE
            ))
        })?;
        let S3Url { bucket, prefix } = S3Url::parse(url)?;
        let s3 = &config.s3;
        let region = s3
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| env_first(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(&region)
            // Path-style (`ENDPOINT/BUCKET/KEY`): what self-hosted engines expect; AWS accepts it too.
            .with_virtual_hosted_style_request(false);
        let mut allow_http = false;
        let endpoint = match s3.endpoint.as_deref().filter(|e| !e.is_empty()) {
            Some(ep) => {
                let http = ep.starts_with("http://");
                if !http && !ep.starts_with("https://") {
                    return Err(StorageError::Config(format!(
                        "[storage.s3] endpoint / --s3-endpoint / {} {ep:?}: write an http:// or https:// URL, \
                         e.g. http://127.0.0.1:3900",
                        env::S3_ENDPOINT
                    )));
                }
                allow_http = http;
                builder = builder.with_endpoint(ep.trim_end_matches('/'));
                ep.trim_end_matches('/').to_owned()
            }
            None => format!("AWS ({region})"),
        };
        let key_id = s3.access_key_id.clone().filter(|k| !k.is_empty());
        let secret = s3.secret_access_key.clone().filter(|k| !k.is_empty());
        let (key_id, secret, token) =
            match (key_id, secret) {
                (Some(k), Some(s)) => (Some(k), Some(s), None),
                (None, None) => match (
                    env_first(&[env::S3_ACCESS_KEY_ID]),
                    env_first(&[env::S3_SECRET_ACCESS_KEY]),
                ) {
                    (Some(k), Some(s)) => (Some(k), Some(s), None),
                    _ => (
                        env_first(&["AWS_ACCESS_KEY_ID"]),
                        env_first(&["AWS_SECRET_ACCESS_KEY"]),
                        env_first(&["AWS_SESSION_TOKEN"]),
                    ),
                },
                _ => return Err(StorageError::Config(
                    "[storage.s3] sets only one of access_key_id and secret_access_key: set both"
                        .into(),
                )),
            };
        match (key_id, secret) {
            (Some(k), Some(s)) => {
                builder = builder.with_access_key_id(k).with_secret_access_key(s);
                if let Some(t) = token {
                    builder = builder.with_token(t);
                }
            }
            (None, None) if s3.endpoint.is_none() => {} // AWS: the instance's credentials
            _ => {
                return Err(StorageError::Config(format!(
                    "no credentials for {endpoint}: set [storage.s3] access_key_id and secret_access_key, {} and \
                     {}, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                    env::S3_ACCESS_KEY_ID,
                    env::S3_SECRET_ACCESS_KEY
                )))
            }
        }
        let where_ = if prefix.is_empty() {
            format!("s3://{bucket} at {endpoint}")
        } else {
            format!("s3://{bucket}/{prefix} at {endpoint}")
        };
        // Client options replace the builder's whole set (`allow_http` included), so every client starts here.
        let client = || ClientOptions::new().with_allow_http(allow_http);
        let build = |b: AmazonS3Builder| {
            b.build()
                .map_err(|e| StorageError::Config(format!("object store {where_}: {e}")))
        };
        let memo_bytes = match s3.memo_bytes {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => match env_first(&[env::S3_MEMO_BYTES]) {
                None => super::memo::DEFAULT_MAX_BYTES,
                Some(v) => v.parse().map_err(|_| {
                    StorageError::Config(format!(
                        "{}={v:?}: expected a number of bytes",
                        env::S3_MEMO_BYTES
                    ))
                })?,
            },
        };
        let reuse = s3.reuse_connections.unwrap_or_else(|| {
            env_first(&[env::S3_REUSE_CONNECTIONS])
                .is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "no"))
        });
        let ops_client = if reuse {
            client().with_timeout(OP_TIMEOUT)
        } else {
            client()
                .with_timeout(OP_TIMEOUT)
                .with_pool_max_idle_per_host(0)
        };
        let ops = build(builder.clone().with_client_options(ops_client))?;
        let streams = build(
            builder
                .clone()
                .with_client_options(client().with_timeout(STREAM_TIMEOUT)),
        )?;
        // The reachability check: its own client on its own thread and runtime (no connection of a runtime that
        // is gone stays in the pools of the clients kept), few retries so a wrong endpoint fails in seconds.
        let probe = build(
            builder
                .with_client_options(
                    client()
                        .with_timeout(Duration::from_secs(20))
                        .with_connect_timeout(Duration::from_secs(5)),
                )
                .with_retry(RetryConfig {
                    max_retries: 1,
                    retry_timeout: Duration::from_secs(10),
                    ..RetryConfig::default()
                }),
        )?;
        let root = if prefix.is_empty() {
            None
        } else {
            Some(Path::from(prefix.as_str()))
        };
        let checked = std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StorageError::Internal(format!("runtime for the S3 check: {e}")))?;
                rt.block_on(probe.list_with_delimiter(root.as_ref()))
                    .map(|_| ())
                    .map_err(|e| {
                        StorageError::Io {
                            what: format!(
                                "{where_}: the object store does not answer a listing ({e}); check that the \
                                 endpoint is up, the bucket exists and the key may read and write it"
                            ),
                            source: std::io::Error::other(e),
                        }
                    })
            })
            .join()
            .unwrap_or_else(|_| Err(StorageError::Internal("the S3 check panicked".into())))
        });
        checked?;
        Ok(Self {
            ops: Arc::new(ops),
            streams: Arc::new(streams),
            bucket,
            prefix,
            endpoint,
            memo: Arc::new(super::memo::Memo::new(memo_bytes)),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix (`""` or `a/b`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The object path of `rel` (a key relative to the repository root, made of validated segments).
    fn path(&self, rel: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rel)
        } else {
            Path::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn blob_path(&self, digest: &Digest) -> Path {
        self.path(&format!("blobs/sha256/{digest}"))
    }

    fn target_path(&self, path: &ObjectPath) -> Path {
        self.path(&format!("targets/{}", path.as_str()))
    }

    /// `HEAD`: the object's metadata, or `None` if it does not exist.
    async fn head(&self, p: &Path) -> Result<Option<ObjectMeta>, StorageError> {
        match self.ops.head(p).await {
            Ok(m) => Ok(Some(m)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(format!("HEAD {p}"), e)),
        }
    }

    async fn put_inner(
        &self,
        digest: &Digest,
        body: ByteStream,
        limits: PutLimits,
    ) -> Result<PutOutcome, StorageError> {
        if let Some(len) = limits.expected_len {
            if len > limits.max_bytes {
                return Err(StorageError::TooLarge {
                    max: limits.max_bytes,
                });
            }
        }
        let key = self.blob_path(digest);
        let mut rx = Receiver::new(body, limits);
        if let Some(m) = self.head(&key).await? {
            // Read and check the body all the same (a wrong body fails as with the local store), sending nothing.
            while rx.next().await?.is_some() {}
            rx.finish(digest)?;
            return Ok(PutOutcome::Existed { len: m.size });
        }
        let mut small: Vec<Bytes> = Vec::new();
        let mut upload: Option<UploadGuard> = None;
        let received = async {
            let mut buffered = 0usize;
            while let Some(chunk) = rx.next().await? {
                if let Some(mp) = upload.as_mut().and_then(|g| g.0.as_mut()) {
                    mp.wait(PARTS_IN_FLIGHT)
                        .await
                        .map_err(|e| store_err(format!("uploading a part of {key}"), e))?;
                    mp.put(chunk);
                    continue;
                }
                buffered += chunk.len();
                small.push(chunk);
                if buffered > SINGLE_PUT_MAX {
                    let opts = PutMultipartOptions::from(content_type("application/octet-stream"));
                    let mp = self.ops.put_multipart_opts(&key, opts).await.map_err(|e| {
                        store_err(format!("starting a multipart upload of {key}"), e)
                    })?;
                    let mut mp = Multipart::new(mp);
                    for c in small.drain(..) {
                        mp.put(c);
                    }
                    upload = Some(UploadGuard(Some(mp)));
                }
            }
            rx.finish(digest)
        }
        .await;
        let n = match received {
            Ok(n) => n,
            Err(e) => {
                if let Some(g) = upload {
                    g.abort(&key).await;
                }
                return Err(e);
            }
        };
        // A concurrent upload of the same blob may have committed meanwhile: keep it, do not rewrite it. (Should
        // this HEAD fail, dropping the guard aborts the upload.) A small body goes up in one PUT without asking:
        // rewriting the same content-addressed bytes changes nothing, and the round trip is saved.
        if upload.is_some() {
            if let Some(m) = self.head(&key).await? {
                if let Some(g) = upload {
                    g.abort(&key).await;
                }
                return Ok(PutOutcome::Existed { len: m.size });
            }
        }
        if let Some(mut g) = upload {
            let done = match g.0.as_mut() {
                Some(mp) => mp.complete().await,
                None => Ok(()),
            };
            if let Err(e) = done {
                g.abort(&key).await;
                return Err(store_err(
                    format!("completing the multipart upload of {key}"),
                    e,
                ));
            }
            g.0 = None; // committed: nothing to abort
        } else {
            let opts = PutOptions::from(content_type("application/octet-stream"));
            self.ops
                .put_opts(&key, PutPayload::from_iter(small), opts)
                .await
                .map_err(|e| store_err(format!("PUT {key}"), e))?;
        }
        Ok(PutOutcome::Created { len: n })
    }

    async fn link_inner(&self, path: &ObjectPath, digest: &Digest) -> Result<(), StorageError> {
        let blob = self.blob_path(digest);
        let dest = self.target_path(path);
        // Targets are content-addressed (`<sha256>.<file>`): one that exists with the blob's length is this blob.
        if path.file_name().starts_with(&format!("{digest}.")) {
            let (t, b) = futures_util::try_join!(self.head(&dest), self.head(&blob))?;
            if let (Some(t), Some(b)) = (t, b) {
                if t.size == b.size {
                    return Ok(());
                }
            }
        }
        self.streams
            .copy(&blob, &dest)
            .await
            .map_err(|e| store_err(format!("copying {blob} to {dest}"), e))
    }

    async fn get_stream(
        &self,
        p: Path,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StorageError> {
        if range.as_ref().is_some_and(|r| r.start >= r.end) {
            return Ok(futures_util::stream::empty().boxed());
        }
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let r = self
            .streams
            .get_opts(&p, opts)
            .await
            .map_err(|e| store_err(format!("GET {p}"), e))?;
        Ok(r.into_stream().map_err(std::io::Error::other).boxed())
    }
}

/// A multipart upload being fed: fixed [`PART_SIZE`] parts (equal sizes suit every engine, R2 included), each
/// uploading in a task as soon as it is full.
struct Multipart {
    upload: Box<dyn MultipartUpload>,
    part: Vec<Bytes>,
    part_len: usize,
    tasks: tokio::task::JoinSet<object_store::Result<()>>,
}

impl Multipart {
    fn new(upload: Box<dyn MultipartUpload>) -> Self {
        Self {
            upload,
            part: Vec::new(),
            part_len: 0,
            tasks: tokio::task::JoinSet::new(),
        }
    }

    /// Adds bytes, starting the upload of every part that fills (no copies: parts are lists of chunks).
    fn put(&mut self, mut chunk: Bytes) {
        while !chunk.is_empty() {
            let take = chunk.split_to((PART_SIZE - self.part_len).min(chunk.len()));
            self.part_len += take.len();
            self.part.push(take);
            if self.part_len == PART_SIZE {
                self.send();
            }
        }
    }

    fn send(&mut self) {
        if self.part_len > 0 {
            let part = PutPayload::from_iter(std::mem::take(&mut self.part));
            self.part_len = 0;
            self.tasks.spawn(self.upload.put_part(part));
        }
    }

    /// Waits until fewer than `max` parts are uploading (`0`: all done); the first failed part's error.
    async fn wait(&mut self, max: usize) -> object_store::Result<()> {
        while !self.tasks.is_empty() && self.tasks.len() >= max {
            match self.tasks.join_next().await {
                Some(r) => r??,
                None => break,
            }
        }
        Ok(())
    }

    /// Sends the last part, waits for every part, completes: the object appears, whole.
    async fn complete(&mut self) -> object_store::Result<()> {
        self.send();
        self.wait(0).await?;
        self.upload.complete().await.map(|_| ())
    }
}

/// Owns a multipart upload until it is committed: aborted by [`UploadGuard::abort`] on a failure, and in the
/// background when dropped unfinished (the request was cancelled: client gone, request timeout).
struct UploadGuard(Option<Multipart>);

impl UploadGuard {
    /// Stops the part uploads and aborts the upload (its parts are deleted; nothing was ever visible).
    async fn abort(mut self, key: &Path) {
        if let Some(mut mp) = self.0.take() {
            mp.tasks.shutdown().await;
            if let Err(e) = mp.upload.abort().await {
                tracing::warn!(key = %key, error = %e, "aborting a failed multipart upload failed; its parts \
                    stay invisible until the bucket's lifecycle rule removes them");
            }
        }
    }
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        if let Some(mut mp) = self.0.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    mp.tasks.shutdown().await;
                    let _ = mp.upload.abort().await;
                });
            }
        }
    }
}

/// The checks every upload path shares, applied while the body streams: idle timeout, interruption, size limit,
/// declared length, and at the end the digest.
struct Receiver {
    body: ByteStream,
    limits: PutLimits,
    hasher: sha2::Sha256,
    n: u64,
}

impl Receiver {
    fn new(body: ByteStream, limits: PutLimits) -> Self {
        Self {
            body,
            limits,
            hasher: sha2::Sha256::new(),
            n: 0,
        }
    }

    /// The next chunk (hashed and within the limits), or `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<Bytes>, StorageError> {
        let limits = self.limits;
        let next = tokio::time::timeout(limits.idle_timeout, self.body.next())
            .await
            .map_err(|_| {
                StorageError::UploadInterrupted(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no data for {}s", limits.idle_timeout.as_secs()),
                ))
            })?;
        let Some(chunk) = next else { return Ok(None) };
        let chunk = chunk.map_err(StorageError::UploadInterrupted)?;
        self.n += chunk.len() as u64;
        if self.n > limits.max_bytes {
            return Err(StorageError::TooLarge {
                max: limits.max_bytes,
            });
        }
        if let Some(len) = limits.expected_len {
            if self.n > len {
                return Err(StorageError::LengthMismatch {
                    expected: len,
                    actual: self.n,
                });
            }
        }
        self.hasher.update(&chunk);
        Ok(Some(chunk))
    }

    /// After the last chunk: the declared length and the digest; the length received.
    fn finish(&mut self, digest: &Digest) -> Result<u64, StorageError> {
        if let Some(len) = self.limits.expected_len {
            if self.n != len {
                return Err(StorageError::LengthMismatch {
                    expected: len,
                    actual: self.n,
                });
            }
        }
        let actual = hex::encode(std::mem::take(&mut self.hasher).finalize());
        if actual != digest.to_hex() {
            return Err(StorageError::DigestMismatch {
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(self.n)
    }
}

impl Store for S3Store {
    /// A tag is a `HEAD` request (a network round trip): the server polls `timestamp.json` instead of asking per
    /// request (`[storage] poll_secs`).
    fn etag_is_cheap(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{} at {}", self.bucket, self.endpoint)
        } else {
            format!("s3://{}/{} at {}", self.bucket, self.prefix, self.endpoint)
        }
    }

    fn get_object<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<Object>, StorageError>> {
        async move {
            if let Some(o) = self.memo.get(key) {
                return Ok(Some(o));
            }
            let p = self.path(&key.as_key());
            let r = match self.ops.get(&p).await {
                Ok(r) => r,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(store_err(format!("GET {p}"), e)),
            };
            // The tag comes from the same response as the bytes, so they describe the same version.
            let etag = etag_of(&r.meta);
            let bytes = r
                .bytes()
                .await
                .map_err(|e| store_err(format!("reading {p}"), e))?;
            self.memo.put(key, &bytes, &etag);
            Ok(Some(Object { bytes, etag }))
        }
        .boxed()
    }

    fn object_etag<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<ETag>, StorageError>> {
        async move {
            Ok(self
                .head(&self.path(&key.as_key()))
                .await?
                .map(|m| etag_of(&m)))
        }
        .boxed()
    }

    fn put_object<'a>(
        &'a self,
        key: &'a ObjectKey,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<ETag, StorageError>> {
        async move {
            let p = self.path(&key.as_key());
            let opts = PutOptions::from(content_type("application/json"));
            let r = self
                .ops
                .put_opts(&p, PutPayload::from(bytes.clone()), opts)
                .await
                .map_err(|e| store_err(format!("PUT {p}"), e))?;
            let etag = match r.e_tag {
                Some(t) => ETag(t),
                None => self.head(&p).await?.map(|m| etag_of(&m)).ok_or_else(|| {
                    StorageError::Internal(format!("{p} vanished right after PUT"))
                })?,
            };
            self.memo.put(key, &bytes, &etag);
            Ok(etag)
        }
        .boxed()
    }

    fn list(&self, area: Area) -> BoxFuture<'_, Result<Vec<String>, StorageError>> {
        let dir = match area {
            Area::Blobs => "blobs/sha256",
            Area::Targets => "targets",
            Area::Metadata => "metadata",
        };
        let p = self.path(dir);
        async move {
            let skip = p.as_ref().len() + 1;
            self.ops
                .list(Some(&p))
                .map_err(|e| store_err(format!("listing {p}"), e))
                .map_ok(|m| {
                    m.location
                        .as_ref()
                        .get(skip..)
                        .unwrap_or_default()
                        .to_owned()
                })
                .try_collect()
                .await
        }
        .boxed()
    }

    fn list_detailed(&self, area: Area) -> BoxFuture<'_, Result<Vec<super::Listed>, StorageError>> {
        let dir = match area {
            Area::Blobs => "blobs/sha256",
            Area::Targets => "targets",
            Area::Metadata => "metadata",
        };
        let p = self.path(dir);
        async move {
            let skip = p.as_ref().len() + 1;
            self.ops
                .list(Some(&p))
                .map_err(|e| store_err(format!("listing {p}"), e))
                .map_ok(|m| super::Listed {
                    name: m
                        .location
                        .as_ref()
                        .get(skip..)
                        .unwrap_or_default()
                        .to_owned(),
                    size: m.size,
                    modified: u64::try_from(m.last_modified.timestamp())
                        .ok()
                        .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)),
                })
                .try_collect()
                .await
        }
        .boxed()
    }

    fn remove<'a>(&'a self, area: Area, name: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        async move {
            let rel = super::area_key(area, name)?;
            self.memo.forget(&rel);
            let p = self.path(&rel);
            match self.ops.delete(&p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(store_err(format!("removing {p}"), e)),
            }
        }
        .boxed()
    }

    fn read_blob<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        self.get_stream(self.blob_path(digest), None).boxed()
    }

    fn blob_len<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        async move { Ok(self.head(&self.blob_path(digest)).await?.map(|m| m.size)) }.boxed()
    }

    fn put_blob<'a>(
        &'a self,
        digest: &'a Digest,
        body: ByteStream,
        limits: PutLimits,
    ) -> BoxFuture<'a, Result<PutOutcome, StorageError>> {
        self.put_inner(digest, body, limits).boxed()
    }

    fn link_target<'a>(
        &'a self,
        path: &'a ObjectPath,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.link_inner(path, digest).boxed()
    }

    fn target_len<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        async move { Ok(self.head(&self.target_path(path)).await?.map(|m| m.size)) }.boxed()
    }

    fn read_target<'a>(
        &'a self,
        path: &'a ObjectPath,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        self.get_stream(self.target_path(path), Some(range)).boxed()
    }

    fn read_target_all<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> BoxFuture<'a, Result<Bytes, StorageError>> {
        async move {
            let p = self.target_path(path);
            self.streams
                .get(&p)
                .await
                .map_err(|e| store_err(format!("GET {p}"), e))?
                .bytes()
                .await
                .map_err(|e| store_err(format!("reading {p}"), e))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x0x_dist_manifests::codes::Coded as _;

    #[test]
    fn urls() {
        assert_eq!(
            S3Url::parse("s3://x0x").unwrap(),
            S3Url {
                bucket: "x0x".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            S3Url::parse("s3://x0x/prod/eu/").unwrap(),
            S3Url {
                bucket: "x0x".into(),
                prefix: "prod/eu".into()
            }
        );
        for bad in [
            "x0x",
            "http://x0x/a",
            "s3://",
            "s3:///prefix",
            "s3://x0x//a",
            "s3://x0x/a/../b",
            "s3://x0x/..",
            "s3://x0x/./a",
            "s3://X0X",
            "s3://x0x/a b",
            "gs://x0x",
        ] {
            let e = S3Url::parse(bad).unwrap_err();
            assert_eq!(e.code(), "config.invalid", "{bad}");
            assert!(e.to_string().contains("s3://BUCKET/PREFIX"), "{e}");
        }
    }

    fn cfg(url: &str, endpoint: Option<&str>) -> StorageConfig {
        let mut c = StorageConfig {
            url: Some(url.into()),
            ..StorageConfig::default()
        };
        c.s3.endpoint = endpoint.map(Into::into);
        c.s3.access_key_id = Some("GK0".into());
        c.s3.secret_access_key = Some("secret".into());
        c
    }

    #[test]
    fn open_rejects_bad_settings() {
        let e = S3Store::open(&cfg("s3://x0x", Some("ftp://127.0.0.1:1"))).unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        let mut c = cfg("s3://x0x", Some("http://127.0.0.1:1"));
        c.s3.secret_access_key = None;
        let e = S3Store::open(&c).unwrap_err();
        assert_eq!(e.code(), "config.invalid");
    }

    #[test]
    fn unreachable_store_fails_at_open_naming_it() {
        // Port 1 on loopback: connection refused at once.
        let started = std::time::Instant::now();
        let e = S3Store::open(&cfg("s3://x0x/p", Some("http://127.0.0.1:1"))).unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.code(), "io.error", "{msg}");
        assert!(msg.contains("s3://x0x/p at http://127.0.0.1:1"), "{msg}");
        // The request was made (an http:// endpoint is allowed) and refused.
        assert!(!msg.contains("builder error"), "{msg}");
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}
