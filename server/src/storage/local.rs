//! The local-directory store (the default).
//!
//! Layout under the repository directory (see `docs/server.md`):
//! - `blobs/sha256/<hex>`: content-addressed blobs (uploaded, maybe not yet published);
//! - `targets/<package>/<version>/<sha256>.<file>`: published targets, hard links to their blobs, so `DIR/targets`
//!   is a plain consistent-snapshot TUF targets directory any static file server (or python-tuf over `file://`)
//!   can serve;
//! - `tmp/`: in-flight uploads and links, on the same filesystem so the final `rename` is atomic. Leftovers from a
//!   crash are removed when the store opens.
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{
    Area, ByteStream, Digest, ETag, Object, ObjectKey, ObjectPath, PutLimits, PutOutcome, Store,
};
use crate::storage::StorageError;
use x0x_dist_repository::repo::Layout;

/// Read chunk size when streaming a file to a client.
const READ_CHUNK: usize = 256 * 1024;
/// Write batch size when streaming an upload to disk.
const WRITE_BUF: usize = 1024 * 1024;

/// A store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    layout: Layout,
}

impl LocalStore {
    /// Opens (creating the directories if needed) a store rooted at the repository directory `root`, and removes
    /// leftovers of interrupted uploads from `tmp/`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        let layout = Layout::new(&root);
        for p in [layout.blobs(), layout.targets(), layout.tmp()] {
            fs_err::create_dir_all(&p)
                .map_err(|e| StorageError::io(format!("creating {}", p.display()), e))?;
        }
        let tmp = layout.tmp();
        if let Ok(rd) = fs_err::read_dir(&tmp) {
            for ent in rd.flatten() {
                let _ = std::fs::remove_file(ent.path());
            }
        }
        Ok(Self { root, layout })
    }

    /// The repository directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.layout.blob_file(digest)
    }

    /// Where the published target `path` lives.
    pub fn target_path(&self, path: &ObjectPath) -> PathBuf {
        self.layout.target_stored(path.as_str())
    }

    fn tmp_path(&self) -> PathBuf {
        use rand::Rng as _;
        let n: u64 = rand::thread_rng().gen();
        self.layout.tmp().join(format!("{n:016x}.part"))
    }

    /// Where a repository object lives.
    fn object_path(&self, key: &ObjectKey) -> PathBuf {
        match key {
            ObjectKey::Metadata(name) => self.layout.metadata_file(name),
            ObjectKey::Tokens => self.layout.tokens_file(),
            ObjectKey::Trust(p) => self.layout.trust_file(p.as_str()),
            ObjectKey::Staging(p) => self.layout.staging_file(p.as_str()),
            ObjectKey::WriterClaim => self.root.join(ObjectKey::WriterClaim.as_key()),
            ObjectKey::OidcReplay => self.root.join(ObjectKey::OidcReplay.as_key()),
            ObjectKey::Npm(name) => self.layout.npm_record(name),
        }
    }

    async fn put_inner(
        &self,
        digest: &Digest,
        mut body: ByteStream,
        limits: PutLimits,
    ) -> Result<PutOutcome, StorageError> {
        if let Some(len) = limits.expected_len {
            if len > limits.max_bytes {
                return Err(StorageError::TooLarge {
                    max: limits.max_bytes,
                });
            }
        }
        let final_path = self.blob_path(digest);
        let tmp = self.tmp_path();
        let guard = TmpGuard(Some(tmp.clone()));
        let file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| StorageError::io("creating upload file", e))?;
        let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUF, file);
        let mut hasher = sha2::Sha256::new();
        let mut n: u64 = 0;
        loop {
            let next = tokio::time::timeout(limits.idle_timeout, body.next())
                .await
                .map_err(|_| {
                    StorageError::UploadInterrupted(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no data for {}s", limits.idle_timeout.as_secs()),
                    ))
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(StorageError::UploadInterrupted)?;
            n += chunk.len() as u64;
            if n > limits.max_bytes {
                return Err(StorageError::TooLarge {
                    max: limits.max_bytes,
                });
            }
            if let Some(len) = limits.expected_len {
                if n > len {
                    return Err(StorageError::LengthMismatch {
                        expected: len,
                        actual: n,
                    });
                }
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| StorageError::io("writing upload", e))?;
        }
        if let Some(len) = limits.expected_len {
            if n != len {
                return Err(StorageError::LengthMismatch {
                    expected: len,
                    actual: n,
                });
            }
        }
        let actual = hex::encode(hasher.finalize());
        if actual != digest.to_hex() {
            return Err(StorageError::DigestMismatch {
                expected: digest.to_string(),
                actual,
            });
        }
        out.flush()
            .await
            .map_err(|e| StorageError::io("writing upload", e))?;
        let file = out.into_inner();
        file.sync_all()
            .await
            .map_err(|e| StorageError::io("syncing upload", e))?;
        drop(file);
        if let Ok(meta) = tokio::fs::metadata(&final_path).await {
            return Ok(PutOutcome::Existed { len: meta.len() });
        }
        // Durable: the upload was synced above and the directory is synced below (off the async threads).
        #[allow(clippy::disallowed_methods)]
        tokio::fs::rename(&tmp, &final_path)
            .await
            .map_err(|e| StorageError::io("publishing blob", e))?;
        guard.disarm();
        sync_dir(final_path.parent().unwrap_or(&self.root)).await?;
        Ok(PutOutcome::Created { len: n })
    }

    async fn link_inner(&self, path: &ObjectPath, digest: &Digest) -> Result<(), StorageError> {
        let blob = self.blob_path(digest);
        let dest = self.target_path(path);
        if let (Ok(a), Ok(b)) = (
            tokio::fs::metadata(&blob).await,
            tokio::fs::metadata(&dest).await,
        ) {
            if same_file(&a, &b) {
                return Ok(());
            }
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| StorageError::io("creating target directory", e))?;
        let tmp = self.tmp_path();
        let guard = TmpGuard(Some(tmp.clone()));
        tokio::fs::hard_link(&blob, &tmp)
            .await
            .map_err(|e| StorageError::io("linking target", e))?;
        // Durable: the directory is synced below.
        #[allow(clippy::disallowed_methods)]
        tokio::fs::rename(&tmp, &dest)
            .await
            .map_err(|e| StorageError::io("publishing target", e))?;
        guard.disarm();
        sync_dir(&dir).await
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.ino() == b.ino() && a.dev() == b.dev()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len()
}

/// Removes a temporary file unless disarmed (on every early return: errors, cancelled requests).
struct TmpGuard(Option<PathBuf>);

impl TmpGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// fsyncs a directory so a rename inside it is durable.
pub async fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || x0x_dist_durable::sync_dir(&dir))
        .await
        .map_err(|e| StorageError::Internal(e.to_string()))?
        .map_err(|e| StorageError::io("syncing directory", e))
}

/// What identifies one version of a local file: every writer replaces it by an atomic rename, which installs a
/// new inode, so two versions differ here even when they were written within one mtime tick (coarse timestamps,
/// 4 ms on some kernels) with the same length. The source of the local [`ETag`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    ino: u64,
    dev: u64,
}

impl FileStamp {
    fn of(m: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (ino, dev) = {
            use std::os::unix::fs::MetadataExt as _;
            (m.ino(), m.dev())
        };
        #[cfg(not(unix))]
        let (ino, dev) = (0, 0);
        Self {
            modified: m.modified().ok(),
            len: m.len(),
            ino,
            dev,
        }
    }
}

/// The tag of a local file: its identity ([`FileStamp`]: inode, device, mtime, length), which every atomic
/// replace changes.
fn etag_of(m: &std::fs::Metadata) -> ETag {
    let s = FileStamp::of(m);
    ETag(format!("{s:?}"))
}

/// Walks `dir` and returns every regular file's path relative to it, `/`-separated.
fn walk_files(dir: &Path) -> Result<Vec<String>, StorageError> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StorageError::io(format!("listing {}", d.display()), e)),
        };
        for ent in rd {
            let ent = ent.map_err(|e| StorageError::io(format!("listing {}", d.display()), e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue; // temporary files of writers in progress
            }
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let ft = ent
                .file_type()
                .map_err(|e| StorageError::io(format!("listing {}", d.display()), e))?;
            if ft.is_dir() {
                stack.push((ent.path(), rel));
            } else if ft.is_file() {
                out.push(rel);
            }
        }
    }
    Ok(out)
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn get_object<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<Object>, StorageError>> {
        let path = self.object_path(key);
        async move {
            tokio::task::spawn_blocking(move || -> Result<Option<Object>, StorageError> {
                let mut f = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => {
                        return Err(StorageError::io(format!("opening {}", path.display()), e))
                    }
                };
                // The tag and the bytes come from the same open file, so they describe the same version.
                let meta = f
                    .metadata()
                    .map_err(|e| StorageError::io(format!("stat {}", path.display()), e))?;
                if !meta.is_file() {
                    return Ok(None);
                }
                let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
                std::io::Read::read_to_end(&mut f, &mut bytes)
                    .map_err(|e| StorageError::io(format!("reading {}", path.display()), e))?;
                Ok(Some(Object {
                    bytes: bytes.into(),
                    etag: etag_of(&meta),
                }))
            })
            .await
            .map_err(|e| StorageError::Internal(format!("task failed: {e}")))?
        }
        .boxed()
    }

    fn object_etag<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<ETag>, StorageError>> {
        // A plain stat: microseconds on a local disk, cheaper than a trip through the blocking pool.
        let r = match std::fs::metadata(self.object_path(key)) {
            Ok(m) if m.is_file() => Ok(Some(etag_of(&m))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io(format!("stat {key}"), e)),
        };
        futures_util::future::ready(r).boxed()
    }

    fn put_object<'a>(
        &'a self,
        key: &'a ObjectKey,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<ETag, StorageError>> {
        let path = self.object_path(key);
        let tmp_dir = self.layout.tmp();
        let mode = match key {
            ObjectKey::Tokens
            | ObjectKey::Staging(_)
            | ObjectKey::WriterClaim
            | ObjectKey::OidcReplay => x0x_dist_durable::Mode::Private,
            ObjectKey::Metadata(_) | ObjectKey::Trust(_) | ObjectKey::Npm(_) => {
                x0x_dist_durable::Mode::Public
            }
        };
        async move {
            tokio::task::spawn_blocking(move || -> Result<ETag, StorageError> {
                // `metadata/` of a store that is being filled (`migrate` into a new directory).
                if let Some(dir) = path.parent().filter(|d| !d.is_dir()) {
                    fs_err::create_dir_all(dir)
                        .map_err(|e| StorageError::io(format!("creating {}", dir.display()), e))?;
                    if let Some(up) = dir.parent() {
                        x0x_dist_durable::sync_dir(up).map_err(|e| {
                            StorageError::io(format!("syncing {}", up.display()), e)
                        })?;
                    }
                }
                x0x_dist_durable::write_atomic_in(&tmp_dir, &path, &bytes, mode)
                    .map_err(|e| StorageError::io(format!("writing {}", path.display()), e))?;
                let m = std::fs::metadata(&path)
                    .map_err(|e| StorageError::io(format!("stat {}", path.display()), e))?;
                Ok(etag_of(&m))
            })
            .await
            .map_err(|e| StorageError::Internal(format!("task failed: {e}")))?
        }
        .boxed()
    }

    fn list(&self, area: Area) -> BoxFuture<'_, Result<Vec<String>, StorageError>> {
        let dir = match area {
            Area::Blobs => self.layout.blobs(),
            Area::Targets => self.layout.targets(),
            Area::Metadata => self.layout.metadata(),
        };
        async move {
            tokio::task::spawn_blocking(move || walk_files(&dir))
                .await
                .map_err(|e| StorageError::Internal(format!("task failed: {e}")))?
        }
        .boxed()
    }

    fn list_detailed(&self, area: Area) -> BoxFuture<'_, Result<Vec<super::Listed>, StorageError>> {
        let root = self.root.clone();
        async move {
            let names = self.list(area).await?;
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    let path = root.join(super::area_key(area, &name)?);
                    match std::fs::metadata(&path) {
                        Ok(m) => out.push(super::Listed {
                            name,
                            size: m.len(),
                            modified: m.modified().ok(),
                        }),
                        // Removed meanwhile.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(StorageError::io(format!("reading {}", path.display()), e))
                        }
                    }
                }
                Ok(out)
            })
            .await
            .map_err(|e| StorageError::Internal(format!("task failed: {e}")))?
        }
        .boxed()
    }

    fn remove<'a>(&'a self, area: Area, name: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        let key = super::area_key(area, name);
        let root = self.root.clone();
        async move {
            let path = root.join(key?);
            tokio::task::spawn_blocking(move || {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => {
                        return Err(StorageError::io(format!("removing {}", path.display()), e))
                    }
                }
                if let Some(dir) = path.parent() {
                    x0x_dist_durable::sync_dir(dir)
                        .map_err(|e| StorageError::io(format!("syncing {}", dir.display()), e))?;
                }
                Ok(())
            })
            .await
            .map_err(|e| StorageError::Internal(format!("task failed: {e}")))?
        }
        .boxed()
    }

    fn read_blob<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        async move {
            let f = tokio::fs::File::open(self.blob_path(digest))
                .await
                .map_err(|e| StorageError::io("opening blob", e))?;
            Ok(tokio_util::io::ReaderStream::with_capacity(f, READ_CHUNK).boxed())
        }
        .boxed()
    }

    fn blob_len<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        async move { file_len(&self.blob_path(digest)).await }.boxed()
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
        async move { file_len(&self.target_path(path)).await }.boxed()
    }

    fn read_target<'a>(
        &'a self,
        path: &'a ObjectPath,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        async move {
            let mut f = tokio::fs::File::open(self.target_path(path))
                .await
                .map_err(|e| StorageError::io("opening target", e))?;
            if range.start > 0 {
                f.seek(std::io::SeekFrom::Start(range.start))
                    .await
                    .map_err(|e| StorageError::io("seeking target", e))?;
            }
            let remaining = range.end - range.start;
            let stream =
                futures_util::stream::unfold((f, remaining), |(mut f, remaining)| async move {
                    if remaining == 0 {
                        return None;
                    }
                    let want = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(READ_CHUNK);
                    let mut buf = BytesMut::with_capacity(want);
                    match (&mut f).take(want as u64).read_buf(&mut buf).await {
                        Ok(0) => Some((
                            Err(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "target shrank while reading",
                            )),
                            (f, 0),
                        )),
                        Ok(n) => Some((Ok(buf.freeze()), (f, remaining - n as u64))),
                        Err(e) => Some((Err(e), (f, 0))),
                    }
                });
            Ok(stream.boxed())
        }
        .boxed()
    }

    fn read_target_all<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> BoxFuture<'a, Result<Bytes, StorageError>> {
        async move {
            tokio::fs::read(self.target_path(path))
                .await
                .map(Bytes::from)
                .map_err(|e| StorageError::io("reading target", e))
        }
        .boxed()
    }
}

async fn file_len(p: &Path) -> Result<Option<u64>, StorageError> {
    match tokio::fs::metadata(p).await {
        Ok(m) if m.is_file() => Ok(Some(m.len())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("stat", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use x0x_dist_manifests::codes::Coded as _;

    fn limits(max: u64, expected_len: Option<u64>) -> PutLimits {
        PutLimits {
            max_bytes: max,
            expected_len,
            idle_timeout: Duration::from_secs(5),
        }
    }

    fn body(chunks: Vec<&'static [u8]>) -> ByteStream {
        futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))).boxed()
    }

    fn tmp_is_empty(s: &LocalStore) -> bool {
        std::fs::read_dir(s.root().join("tmp"))
            .unwrap()
            .next()
            .is_none()
    }

    #[tokio::test]
    async fn put_is_atomic_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(dir.path()).unwrap();
        let d = Digest::digest(b"hello world");
        assert_eq!(
            s.put_blob(&d, body(vec![b"hello ", b"world"]), limits(100, Some(11)))
                .await
                .unwrap(),
            PutOutcome::Created { len: 11 }
        );
        assert_eq!(
            s.put_blob(&d, body(vec![b"hello world"]), limits(100, None))
                .await
                .unwrap(),
            PutOutcome::Existed { len: 11 }
        );
        assert_eq!(s.blob_len(&d).await.unwrap(), Some(11));
        assert!(tmp_is_empty(&s));
    }

    #[tokio::test]
    async fn bad_uploads_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(dir.path()).unwrap();
        let d = Digest::digest(b"hello world");
        let e = s
            .put_blob(&d, body(vec![b"hello there"]), limits(100, None))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "blob.digest_mismatch");
        let e = s
            .put_blob(&d, body(vec![b"hello"]), limits(100, Some(11)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "blob.length_mismatch");
        let e = s
            .put_blob(&d, body(vec![b"hello world"]), limits(5, None))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "request.too_large");
        let e = s
            .put_blob(&d, body(vec![b"x"]), limits(5, Some(11)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "request.too_large");
        let failing = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"hello")),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "reset",
            )),
        ])
        .boxed();
        let e = s
            .put_blob(&d, failing, limits(100, None))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "request.timeout");
        let stalled = futures_util::stream::iter(vec![Ok(Bytes::from_static(b"hello"))])
            .chain(futures_util::stream::pending())
            .boxed();
        let mut l = limits(100, None);
        l.idle_timeout = Duration::from_millis(100);
        let e = s.put_blob(&d, stalled, l).await.unwrap_err();
        assert_eq!(e.code(), "request.timeout");
        assert_eq!(s.blob_len(&d).await.unwrap(), None);
        assert!(tmp_is_empty(&s));
    }

    #[tokio::test]
    async fn link_and_read_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let d = Digest::digest(&data);
        let stream = futures_util::stream::iter(
            data.chunks(70_000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )
        .boxed();
        s.put_blob(&d, stream, limits(10_000_000, None))
            .await
            .unwrap();
        let p = ObjectPath::parse(&format!("x0x/1.0.0/{d}.x0x.linux-x64-gnu.node")).unwrap();
        s.link_target(&p, &d).await.unwrap();
        s.link_target(&p, &d).await.unwrap();
        assert_eq!(s.target_len(&p).await.unwrap(), Some(1_000_000));
        let mut got = Vec::new();
        let mut st = s.read_target(&p, 300_000..700_001).await.unwrap();
        while let Some(c) = st.next().await {
            got.extend_from_slice(&c.unwrap());
        }
        assert_eq!(got, &data[300_000..700_001]);
        assert!(tmp_is_empty(&s));
    }
}
