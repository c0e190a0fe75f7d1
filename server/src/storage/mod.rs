//! Storage behind a small trait: content-addressed blobs and published objects.
//!
//! Invariants every implementation keeps:
//! - A blob is stored under its SHA-256 and is only ever visible complete: uploads stream into a temporary object
//!   while hashing and become visible by an atomic rename (local: fsync file, rename, fsync directory) only once the
//!   digest and the length match. A failed, truncated, oversized or mismatching upload leaves nothing behind.
//! - Uploads are idempotent: putting a blob that exists succeeds without rewriting it.
//! - Published targets (`targets/<package>/<version>/<sha256>.<file>`, the consistent-snapshot layout) are
//!   immutable; publishing one points it at an existing blob (local: a hard link).
//!
//! [`local::LocalStore`] is the default (a directory, nothing to install). [`s3::S3Store`] keeps the same layout in an
//! S3-compatible bucket: `put_blob` as a multipart upload completed only once verified (aborted otherwise),
//! `link_target` as a server-side copy, `read_target` as a ranged GET.
pub mod local;
pub mod memo;
pub mod s3;

use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

mod error;
pub use error::StorageError;
pub use x0x_dist_repository::object_path::{check_segment, ObjectPath};

/// A SHA-256 digest: the manifests crate's validated type, so one SHA-256 type exists across crates.
pub use x0x_dist_manifests::Sha256 as Digest;

/// Parses 64 lowercase hex characters as a [`Digest`]; anything else is [`StorageError::InvalidPath`].
pub fn parse_digest(s: &str) -> Result<Digest, StorageError> {
    s.parse().map_err(|_| {
        StorageError::InvalidPath(format!("not a lowercase hex SHA-256: {:?}", truncate(s)))
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Limits applied to one blob upload.
#[derive(Clone, Copy, Debug)]
pub struct PutLimits {
    /// Reject uploads larger than this.
    pub max_bytes: u64,
    /// `Content-Length` of the request, if the client sent one.
    pub expected_len: Option<u64>,
    /// Fail the upload if no bytes arrive for this long.
    pub idle_timeout: std::time::Duration,
}

/// What a blob upload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The blob is new.
    Created {
        /// Its length.
        len: u64,
    },
    /// The blob already existed; nothing was written.
    Existed {
        /// Its length.
        len: u64,
    },
}

/// A stream of body chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// A repository object other than blobs and targets: TUF metadata (`metadata/<file>`) and the upload-token file
/// (`tokens.json`). Small (bounded by the metadata size limit), read whole, replaced whole and atomically.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKey {
    /// `metadata/<file>`: a validated metadata file name (one safe segment ending in `.json`).
    Metadata(String),
    /// `tokens.json`: the upload tokens (hashes only), private to the operator.
    Tokens,
    /// `trust/<package>.json`: a package's signed trusted-publishing policy ([`x0x_dist_repository::trust`]).
    Trust(x0x_dist_manifests::PackageName),
    /// `staging/<package>.json`: a package's staged releases ([`crate::staging`]); never served.
    Staging(x0x_dist_manifests::PackageName),
    /// `writer.json`: the claim of the single writer of an object store without a database (its id and
    /// heartbeat; `crate::coordinator::single`). Private to the operator, never served.
    WriterClaim,
    /// `oidc-jti.json`: the OIDC `jti`s exchanged and not yet expired ([`crate::oidc::replay`]), when there is
    /// no database. Private to the server, never served.
    OidcReplay,
    /// `npm/<file>`: a release record of the npm registry view (`crate::npm::record`), one safe segment
    /// ending in `.json`; written once, never changed.
    Npm(String),
}

impl ObjectKey {
    /// `metadata/<name>`, validated (one segment of `[A-Za-z0-9._+-]`, not starting with `.`, ending in `.json`).
    pub fn metadata(name: &str) -> Result<Self, StorageError> {
        check_segment(name).map_err(|why| {
            StorageError::InvalidPath(format!("{why}: metadata file {}", crate::wire::quote(name)))
        })?;
        if !name.ends_with(".json") || name.len() <= ".json".len() {
            return Err(StorageError::InvalidPath(format!(
                "metadata file names end in .json: {}",
                crate::wire::quote(name)
            )));
        }
        Ok(Self::Metadata(name.to_owned()))
    }

    /// `npm/<name>`, validated like a metadata file name.
    pub fn npm(name: &str) -> Result<Self, StorageError> {
        match Self::metadata(name)? {
            Self::Metadata(n) => Ok(Self::Npm(n)),
            _ => unreachable!("metadata() returns Metadata"),
        }
    }

    /// `metadata/timestamp.json`, the commit point of every publish and the object replicas poll.
    pub fn timestamp() -> Self {
        Self::Metadata("timestamp.json".to_owned())
    }

    /// The key relative to the store's root (`metadata/<file>` or `tokens.json`); the same string names the
    /// file under a local repository directory and the object under an S3 prefix.
    pub fn as_key(&self) -> String {
        match self {
            Self::Metadata(name) => format!("metadata/{name}"),
            Self::Tokens => x0x_dist_repository::tokens::TOKEN_FILE.to_owned(),
            Self::Trust(p) => format!("trust/{p}.json"),
            Self::Staging(p) => format!("staging/{p}.json"),
            Self::WriterClaim => "writer.json".to_owned(),
            Self::OidcReplay => "oidc-jti.json".to_owned(),
            Self::Npm(name) => format!("npm/{name}"),
        }
    }

    /// Whether the object never changes once written (versioned metadata `N.role.json`).
    pub fn is_immutable(&self) -> bool {
        match self {
            Self::Metadata(name) => name.split_once('.').is_some_and(|(n, rest)| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
            }),
            Self::Tokens
            | Self::Trust(_)
            | Self::Staging(_)
            | Self::WriterClaim
            | Self::OidcReplay => false,
            Self::Npm(_) => true,
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_key())
    }
}

/// An opaque tag that changes whenever an object is replaced (local: the file's identity, inode included; S3:
/// the object's ETag). Used to notice a publish made by another process or replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ETag(pub String);

/// An object read whole, with the tag of the version read.
#[derive(Clone, Debug)]
pub struct Object {
    /// The bytes.
    pub bytes: Bytes,
    /// The tag of this version.
    pub etag: ETag,
}

/// What [`Store::list`] enumerates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// `blobs/sha256/<hex>`: names are the hex digests.
    Blobs,
    /// `targets/<package>/<version>/<sha256>.<file>`: names are the target paths.
    Targets,
    /// `metadata/<file>`: names are the file names.
    Metadata,
}

/// One object of a [`Store::list_detailed`] listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The name, as [`Store::list`] gives it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, if the store knows (`None`: unknown; `gc` never removes it).
    pub modified: Option<std::time::SystemTime>,
}

/// The key of `name` in `area` relative to the store's root (`blobs/sha256/<hex>`, `targets/<path>`,
/// `metadata/<file>`), validated as [`Store::list`] names are.
pub fn area_key(area: Area, name: &str) -> Result<String, StorageError> {
    Ok(match area {
        Area::Blobs => format!("blobs/sha256/{}", parse_digest(name)?),
        Area::Targets => format!(
            "targets/{}",
            ObjectPath::parse(name)
                .map_err(|e| StorageError::InvalidPath(e.to_string()))?
                .as_str()
        ),
        Area::Metadata => ObjectKey::metadata(name)?.as_key(),
    })
}

/// Opens the store named by `spec`: a repository directory (created if missing) or `s3://BUCKET/PREFIX`
/// (reached with `s3`). The one place a store is chosen from a string (`migrate --from/--to`).
pub fn open(
    spec: &str,
    s3: &crate::config::S3Settings,
) -> Result<std::sync::Arc<dyn Store>, StorageError> {
    if spec.starts_with("s3://") {
        let cfg = crate::config::StorageConfig {
            url: Some(spec.to_owned()),
            s3: s3.clone(),
            ..crate::config::StorageConfig::default()
        };
        return Ok(std::sync::Arc::new(s3::S3Store::open(&cfg)?));
    }
    if spec.is_empty() {
        return Err(StorageError::BadRequest(
            "empty store: pass a directory or s3://BUCKET/PREFIX".into(),
        ));
    }
    Ok(std::sync::Arc::new(local::LocalStore::open(spec)?))
}

/// The storage interface of the server.
pub trait Store: Send + Sync + 'static {
    /// Where the store is, for logs and errors (`directory /srv/x0x`, `s3://bucket/prefix at http://…`).
    fn describe(&self) -> String;

    /// Whether [`Store::object_etag`] is cheap enough to call on every request (local: one `stat`). When it is
    /// not (S3: a network round trip), the server never checks per request: a background poller watches
    /// `timestamp.json` every `[storage] poll_secs` and refreshes what it cached (`docs/server.md`).
    fn etag_is_cheap(&self) -> bool {
        true
    }

    /// Reads a whole object, or `None` if it does not exist.
    fn get_object<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<Object>, StorageError>>;

    /// The tag of the current version of an object, or `None`: a cheap check (local: one `stat`; S3: `HEAD`)
    /// that tells whether a cached copy is still current.
    fn object_etag<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> BoxFuture<'a, Result<Option<ETag>, StorageError>>;

    /// Replaces (or creates) an object atomically and durably: readers see the old bytes or the new, never a
    /// mix; once this returns, the new bytes survive a crash. Returns the new version's tag.
    fn put_object<'a>(
        &'a self,
        key: &'a ObjectKey,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<ETag, StorageError>>;

    /// Every name in `area` (see [`Area`]), for `migrate` and verification; order unspecified.
    fn list(&self, area: Area) -> BoxFuture<'_, Result<Vec<String>, StorageError>>;

    /// Every object in `area` with its size and age (for `gc`). Default: [`Store::list`] with unknown sizes
    /// and ages.
    fn list_detailed(&self, area: Area) -> BoxFuture<'_, Result<Vec<Listed>, StorageError>> {
        use futures_util::FutureExt as _;
        async move {
            Ok(self
                .list(area)
                .await?
                .into_iter()
                .map(|name| Listed {
                    name,
                    size: 0,
                    modified: None,
                })
                .collect())
        }
        .boxed()
    }

    /// Removes the object `name` of `area` (for `gc`; nothing else ever removes). Default: unsupported.
    fn remove<'a>(&'a self, area: Area, name: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        use futures_util::FutureExt as _;
        let _ = (area, name);
        futures_util::future::ready(Err(StorageError::BadRequest(format!(
            "{} cannot remove objects",
            self.describe()
        ))))
        .boxed()
    }

    /// Reads a whole blob (for `migrate`; blobs are read whole only there).
    fn read_blob<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>>;

    /// The length of a stored blob, or `None`.
    fn blob_len<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<u64>, StorageError>>;

    /// Streams `body` into a new blob named `digest`, enforcing `limits`; see the module invariants.
    fn put_blob<'a>(
        &'a self,
        digest: &'a Digest,
        body: ByteStream,
        limits: PutLimits,
    ) -> BoxFuture<'a, Result<PutOutcome, StorageError>>;

    /// Makes the blob `digest` visible as the published target `path` (idempotent if it already points there).
    fn link_target<'a>(
        &'a self,
        path: &'a ObjectPath,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<(), StorageError>>;

    /// The length of a published target, or `None`.
    fn target_len<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> BoxFuture<'a, Result<Option<u64>, StorageError>>;

    /// Reads `range` of a published target as a stream (the caller checked the range against the length).
    fn read_target<'a>(
        &'a self,
        path: &'a ObjectPath,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>>;

    /// Reads a whole published target into memory (for the in-memory cache of small immutable files).
    fn read_target_all<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> BoxFuture<'a, Result<Bytes, StorageError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_paths() {
        for ok in ["x0x/0.3.1/abc.x0x.linux-x64-gnu.node", "a", "a/b+c/d_e-1.2"] {
            assert!(ObjectPath::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/abs",
            "a//b",
            "../x",
            "a/../b",
            "a/./b",
            "a\\b",
            "a/.hidden",
            "a/b/",
            "é",
            "a b",
            "a%2fb",
            "a\0b",
            "a/b?c",
        ] {
            assert!(ObjectPath::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ObjectPath::parse("a/".repeat(17).trim_end_matches('/')).is_err());
        assert!(ObjectPath::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn digests() {
        let d = Digest::digest(b"");
        assert_eq!(
            d.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(parse_digest(&d.to_hex()).is_ok());
        assert!(parse_digest(&d.to_hex().to_uppercase()).is_err());
        assert!(parse_digest(&d.to_hex()[1..]).is_err());
        assert!(parse_digest("../../../../etc/passwd").is_err());
    }
}
