//! `x0x-dist migrate`: copies a repository from one store to another (a directory, or an S3-compatible bucket),
//! through the [`Store`] trait only, then verifies the copy.
//!
//! Order, so that a reader of the destination never sees a `timestamp.json` naming something missing:
//! 1. checks: the source holds a repository; the destination holds nothing, or the same repository (same
//!    `1.root.json`, no versioned metadata file that differs) — anything else is refused before a byte is copied;
//! 2. blobs, streamed (`read_blob` → `put_blob`, which re-hashes them);
//! 3. targets, linked from their blob (the name is `<sha256>.<file>`); a target whose blob the source lacks (a
//!    release made offline with `package release`) becomes a blob first, streamed from the target;
//! 4. metadata (all but `timestamp.json`) and `tokens.json`;
//! 5. `timestamp.json`, as read from the source before step 2: everything it names was copied in steps 2-4.
//!
//! Resumable: a blob or target already in the destination with the same length is skipped (blobs are named by
//! their digest; the verification re-hashes them), an object with the same bytes is not rewritten. A re-run
//! after an interruption, or after publishes on the source, copies only what is missing or changed.
//!
//! The online keys are not part of a store and are never copied.
use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use x0x_dist_manifests::codes::Code;

use crate::error::ApiError;
use crate::storage::{
    parse_digest, Area, Digest, ObjectKey, ObjectPath, PutLimits, PutOutcome, Store,
};

/// What a copy did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Blobs copied.
    pub blobs_copied: u64,
    /// Blobs already in the destination.
    pub blobs_present: u64,
    /// Bytes of blobs copied (targets turned into blobs included).
    pub bytes_copied: u64,
    /// Targets linked.
    pub targets_linked: u64,
    /// Targets already in the destination.
    pub targets_present: u64,
    /// Metadata files and `tokens.json` written.
    pub objects_written: u64,
    /// Metadata files and `tokens.json` already identical in the destination.
    pub objects_present: u64,
    /// Objects the signed metadata references that the source's listing did not show (copied all the same; an
    /// engine whose listing lags or misses objects).
    pub unlisted: u64,
}

/// What a verification checked.
#[derive(Debug, Default, Clone)]
pub struct Verified {
    /// Metadata files and `tokens.json` compared byte for byte.
    pub objects: u64,
    /// Blobs whose digest was recomputed from the destination.
    pub blobs: u64,
    /// Their bytes.
    pub blob_bytes: u64,
    /// Targets whose length was compared.
    pub targets: u64,
    /// Objects the signed metadata references that the source's listing did not show (checked all the same).
    pub unlisted: u64,
}

/// What a copy or a verification reports as it goes: the start of each phase and the work done in it. The CLI
/// draws it on stderr (`x0x-dist`'s `progress.rs`); this library prints nothing itself.
pub trait Progress: Sync {
    /// A phase starts: `what`, with `total` items (bytes if `bytes`).
    fn phase(&self, what: &str, total: u64, bytes: bool);
    /// `n` more items (or bytes) of the current phase are done.
    fn inc(&self, n: u64);
}

/// No output (tests, `--quiet`).
#[derive(Debug, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _what: &str, _total: u64, _bytes: bool) {}
    fn inc(&self, _n: u64) {}
}

/// How many blobs (or objects) are copied or checked at once.
pub const DEFAULT_PARALLEL: usize = 4;

fn meta_key(name: &str) -> Result<ObjectKey, ApiError> {
    Ok(ObjectKey::metadata(name)?)
}

fn root_key() -> ObjectKey {
    ObjectKey::Metadata("1.root.json".to_owned())
}

/// Checks that `src` holds a repository and `dst` holds nothing or the same one; returns the source's root.
async fn check_same_repository(src: &dyn Store, dst: &dyn Store) -> anyhow::Result<bytes::Bytes> {
    let root = src.get_object(&root_key()).await?.ok_or_else(|| {
        x0x_dist_repository::Error::new(
            Code::RepoNotFound,
            format!(
                "{} holds no repository (no metadata/1.root.json)",
                src.describe()
            ),
        )
    })?;
    if let Some(theirs) = dst.get_object(&root_key()).await? {
        if theirs.bytes != root.bytes {
            return Err(x0x_dist_repository::Error::new(
                Code::RepoDifferent,
                format!(
                    "{} already holds a different repository (its metadata/1.root.json differs from {}'s); \
                     migrate into an empty destination",
                    dst.describe(),
                    src.describe()
                ),
            )
            .into());
        }
    }
    Ok(root.bytes)
}

fn signed_version(bytes: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("signed")?.get("version")?.as_u64()
}

/// `N.role.json` → (`role`, `N`); `None` for an unversioned name.
fn versioned_name(name: &str) -> Option<(&str, u64)> {
    let (n, rest) = name.split_once('.')?;
    let role = rest.strip_suffix(".json")?;
    Some((role, n.parse().ok()?))
}

fn newer(dst: &dyn Store, src: &dyn Store, why: &str) -> anyhow::Error {
    x0x_dist_repository::Error::new(
        Code::RepoNewer,
        format!(
            "{} is newer than {}: {why}. Copying would roll it back (clients that trust it would refuse the \
             older state, revoked tokens would come back); nothing was copied. If the destination is the live \
             repository now, keep it and retire the source; to replace it on purpose, empty it first; to restore \
             an older backup into service, follow docs/server.md, \"Restore from backup\"",
            dst.describe(),
            src.describe()
        ),
    )
    .into()
}

/// Refuses a destination that holds a newer state of the repository than `src` (whose current timestamp is
/// `src_ts`), or one a live server writes: a higher or different timestamp, a versioned role above the source's,
/// tokens changed since the copy, a live single-writer claim. Resuming an interrupted copy, or re-running after
/// new publishes on the source, passes.
async fn check_not_newer(src: &dyn Store, dst: &dyn Store, src_ts: &[u8]) -> anyhow::Result<()> {
    if let Some(claim) = dst.get_object(&ObjectKey::WriterClaim).await? {
        if let Ok(c) = serde_json::from_slice::<crate::coordinator::single::Claim>(&claim.bytes) {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let expires = c
                .heartbeat
                .saturating_add(i64::try_from(c.ttl_secs).unwrap_or(i64::MAX));
            if expires > now {
                return Err(ApiError::ConcurrentWriter(format!(
                    "{} is live: writer {:?} renewed its claim (writer.json) {} s ago; migrate never writes into a \
                     repository a server is changing. Stop that server (its claim expires {} s after its last \
                     renewal) or migrate into another destination; nothing was copied",
                    dst.describe(),
                    c.id,
                    now - c.heartbeat,
                    c.ttl_secs
                ))
                .into());
            }
        }
    }
    let Some(theirs) = dst.get_object(&ObjectKey::timestamp()).await? else {
        return Ok(()); // empty, or an interrupted first copy (the timestamp is written last)
    };
    let mine = signed_version(src_ts).unwrap_or(0);
    let dst_version = signed_version(&theirs.bytes).unwrap_or(u64::MAX);
    if dst_version > mine {
        return Err(newer(
            dst,
            src,
            &format!("its timestamp is version {dst_version}, the source's {mine}"),
        ));
    }
    if dst_version == mine && theirs.bytes != src_ts {
        return Err(newer(
            dst,
            src,
            &format!(
                "its timestamp version {mine} differs from the source's (it was signed elsewhere)"
            ),
        ));
    }
    // Versioned metadata above the source's (a publish on the destination whose timestamp copy lags, as with a
    // database), compared per role: older versions the source garbage-collected do not count.
    let mut highest = std::collections::BTreeMap::<String, u64>::new();
    for name in src.list(Area::Metadata).await? {
        if let Some((role, n)) = versioned_name(&name) {
            let e = highest.entry(role.to_owned()).or_default();
            *e = (*e).max(n);
        }
    }
    for name in dst.list(Area::Metadata).await? {
        if let Some((role, n)) = versioned_name(&name) {
            match highest.get(role) {
                Some(&top) if n <= top => {}
                Some(&top) => {
                    return Err(newer(
                        dst,
                        src,
                        &format!("it holds {name}, the source's newest {role} is version {top}"),
                    ))
                }
                None => {
                    return Err(newer(
                        dst,
                        src,
                        &format!("it holds {name}, a role the source does not have"),
                    ))
                }
            }
        }
    }
    // Tokens changed on the destination after a copy (created or revoked there): copying would undo it.
    let (a, b) = tokio::try_join!(
        src.get_object(&ObjectKey::Tokens),
        dst.get_object(&ObjectKey::Tokens)
    )?;
    if let Some(b) = b {
        if a.map(|a| a.bytes) != Some(b.bytes) {
            return Err(newer(
                dst,
                src,
                "its tokens.json differs from the source's (a token was created or revoked on one side after the \
                 last copy); make token changes on one repository only",
            ));
        }
    }
    Ok(())
}

/// Copies the repository in `src` to `dst` (see the module docs), `parallel` transfers at a time.
pub async fn copy(
    src: &dyn Store,
    dst: &dyn Store,
    parallel: usize,
    progress: &dyn Progress,
) -> anyhow::Result<Report> {
    let parallel = parallel.max(1);
    check_same_repository(src, dst).await?;
    // The commit point, read first: everything it names exists in the source now, and is copied below.
    let timestamp = src
        .get_object(&ObjectKey::timestamp())
        .await?
        .ok_or_else(|| {
            x0x_dist_repository::Error::new(
                Code::RepoCorrupt,
                format!("{} has no metadata/timestamp.json", src.describe()),
            )
        })?;
    check_not_newer(src, dst, &timestamp.bytes).await?;
    let mut report = Report::default();
    // What the signed state references is copied whatever the listings below show (an engine's listing may lag
    // or miss an object that a GET by name finds).
    let refs = crate::gc::referenced(src, &timestamp.bytes).await?;

    // Which objects to write; a versioned file that differs means the destination diverged: refuse now.
    let (mut names, unlisted) = with_referenced(
        src.list(Area::Metadata).await?,
        refs.metadata.iter().cloned(),
    );
    report.unlisted += unlisted;
    names.retain(|n| n != "timestamp.json");
    let mut keys = names
        .iter()
        .map(|n| meta_key(n))
        .collect::<Result<Vec<_>, _>>()?;
    keys.push(ObjectKey::Tokens);
    progress.phase("comparing metadata", keys.len() as u64, false);
    let decisions: Vec<(ObjectKey, bool)> = futures_util::stream::iter(keys)
        .map(|key| async move {
            let (mine, theirs) = tokio::try_join!(
                src.get_object(&key),
                dst.get_object(&key)
            )?;
            progress.inc(1);
            let Some(mine) = mine.map(|o| o.bytes) else {
                return Ok::<_, anyhow::Error>(None); // tokens.json: a repository without tokens
            };
            match theirs {
                Some(t) if t.bytes == mine => Ok(Some((key, false))),
                Some(_) if key.is_immutable() => Err(x0x_dist_repository::Error::new(
                    Code::RepoDifferent,
                    format!(
                        "{} holds a different {key} than {}: the destination diverged from the source; \
                         nothing was copied",
                        dst.describe(),
                        src.describe()
                    ),
                )
                .into()),
                _ => Ok(Some((key, true))),
            }
        })
        .buffer_unordered(parallel)
        .try_filter_map(|d| async move { Ok(d) })
        .try_collect()
        .await?;

    // Blobs. A referenced blob the source does not hold is a target released offline (copied from the target).
    let listed_blobs: BTreeSet<String> = src.list(Area::Blobs).await?.into_iter().collect();
    let mut sized = Vec::with_capacity(listed_blobs.len());
    let mut blobs = Vec::with_capacity(listed_blobs.len());
    for name in listed_blobs
        .iter()
        .chain(refs.blobs.difference(&listed_blobs))
    {
        let d = parse_digest(name)?;
        match src.blob_len(&d).await? {
            Some(len) => {
                sized.push((d, len));
                blobs.push(name.clone());
                report.unlisted += u64::from(!listed_blobs.contains(name));
            }
            None if !listed_blobs.contains(name) => {}
            None => {
                return Err(ApiError::NotFound(format!("blob {d} vanished from the source")).into())
            }
        }
    }
    let total: u64 = sized.iter().map(|(_, l)| l).sum();
    progress.phase(&format!("copying {} blobs", sized.len()), total, true);
    let outcomes: Vec<(u64, bool)> = futures_util::stream::iter(sized)
        .map(|(d, len)| async move {
            let copied = copy_blob(src, dst, &d, len, BlobFrom::Blob).await?;
            progress.inc(len);
            Ok::<_, anyhow::Error>((len, copied))
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await?;
    let have: BTreeSet<String> = blobs.into_iter().collect();
    for (len, copied) in outcomes {
        if copied {
            report.blobs_copied += 1;
            report.bytes_copied += len;
        } else {
            report.blobs_present += 1;
        }
    }

    // Targets.
    let (targets, unlisted) =
        with_referenced(src.list(Area::Targets).await?, refs.targets.keys().cloned());
    report.unlisted += unlisted;
    progress.phase("linking targets", targets.len() as u64, false);
    let have = &have;
    let outcomes: Vec<(bool, u64)> = futures_util::stream::iter(targets)
        .map(|name| async move {
            let path = ObjectPath::parse(&name)?;
            let digest = target_digest(&path)?;
            let len = src.target_len(&path).await?.ok_or_else(|| {
                ApiError::NotFound(format!(
                    "target {name} is not in the source (its signed metadata names it, or it was listed)"
                ))
            })?;
            if dst.target_len(&path).await? == Some(len) {
                progress.inc(1);
                return Ok::<_, anyhow::Error>((false, 0));
            }
            // A target published offline (`package release`) has no blob in the source: make one from it.
            let mut bytes = 0;
            if !have.contains(&digest.to_hex())
                && copy_blob(src, dst, &digest, len, BlobFrom::Target(&path)).await?
            {
                bytes = len;
            }
            dst.link_target(&path, &digest).await?;
            progress.inc(1);
            Ok((true, bytes))
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await?;
    for (linked, bytes) in outcomes {
        if linked {
            report.targets_linked += 1;
        } else {
            report.targets_present += 1;
        }
        if bytes > 0 {
            report.blobs_copied += 1;
            report.bytes_copied += bytes;
        }
    }

    // Metadata and tokens, then the timestamp.
    progress.phase("writing metadata", decisions.len() as u64 + 1, false);
    for (key, write) in decisions {
        if write {
            let obj = src.get_object(&key).await?.ok_or_else(|| {
                ApiError::NotFound(format!("{key} vanished from {}", src.describe()))
            })?;
            dst.put_object(&key, obj.bytes).await?;
            report.objects_written += 1;
        } else {
            report.objects_present += 1;
        }
        progress.inc(1);
    }
    let ts = ObjectKey::timestamp();
    match dst.get_object(&ts).await? {
        Some(t) if t.bytes == timestamp.bytes => report.objects_present += 1,
        _ => {
            dst.put_object(&ts, timestamp.bytes).await?;
            report.objects_written += 1;
        }
    }
    progress.inc(1);
    Ok(report)
}

enum BlobFrom<'a> {
    Blob,
    Target(&'a ObjectPath),
}

/// Copies one blob unless the destination has it with the same length; `true` if bytes were copied.
async fn copy_blob(
    src: &dyn Store,
    dst: &dyn Store,
    digest: &Digest,
    len: u64,
    from: BlobFrom<'_>,
) -> anyhow::Result<bool> {
    match dst.blob_len(digest).await? {
        Some(l) if l == len => return Ok(false),
        Some(l) => {
            return Err(x0x_dist_repository::Error::new(
                Code::RepoCorrupt,
                format!(
                    "{} has blob {digest} with {l} bytes, the source {len}: remove it from the destination and \
                     re-run",
                    dst.describe()
                ),
            )
            .into())
        }
        None => {}
    }
    let body = match from {
        BlobFrom::Blob => src.read_blob(digest).await?,
        BlobFrom::Target(path) => src.read_target(path, 0..len).await?,
    };
    let limits = PutLimits {
        max_bytes: len,
        expected_len: Some(len),
        idle_timeout: Duration::from_secs(120),
    };
    // put_blob hashes what it stores and refuses bytes that do not match the digest.
    let out = dst.put_blob(digest, body, limits).await?;
    Ok(matches!(out, PutOutcome::Created { .. }))
}

/// `listed` and `referenced` together, sorted and without repeats; and how many of `referenced` the listing
/// did not show.
fn with_referenced(
    listed: Vec<String>,
    referenced: impl Iterator<Item = String>,
) -> (Vec<String>, u64) {
    let mut all: BTreeSet<String> = listed.into_iter().collect();
    let before = all.len();
    all.extend(referenced);
    let unlisted = (all.len() - before) as u64;
    (all.into_iter().collect(), unlisted)
}

/// The blob a target links: its file name is `<sha256>.<file>`.
fn target_digest(path: &ObjectPath) -> Result<Digest, ApiError> {
    let name = path.file_name();
    let hex = name.split_once('.').map_or(name, |(h, _)| h);
    parse_digest(hex).map_err(|_| {
        ApiError::InvalidPath(format!(
            "target {} is not named <sha256>.<file>",
            path.as_str()
        ))
    })
}

/// Checks that `dst` is a faithful copy of `src`: every source metadata file and `tokens.json` present and
/// byte-identical, every blob and target present with the same length, every blob's digest recomputed from the
/// destination's bytes. Lists every problem (up to 20) in one error with code `repo.corrupt`.
pub async fn verify(
    src: &dyn Store,
    dst: &dyn Store,
    parallel: usize,
    progress: &dyn Progress,
) -> anyhow::Result<Verified> {
    let parallel = parallel.max(1);
    check_same_repository(src, dst).await?;
    let mut out = Verified::default();
    let mut problems: Vec<String> = Vec::new();
    let refs = match src.get_object(&ObjectKey::timestamp()).await? {
        Some(ts) => crate::gc::referenced(src, &ts.bytes).await?,
        None => crate::gc::Referenced::default(),
    };

    let (names, unlisted) = with_referenced(
        src.list(Area::Metadata).await?,
        refs.metadata.iter().cloned(),
    );
    out.unlisted += unlisted;
    let mut keys = names
        .iter()
        .map(|n| meta_key(n))
        .collect::<Result<Vec<_>, _>>()?;
    keys.push(ObjectKey::Tokens);
    progress.phase("verifying metadata", keys.len() as u64, false);
    let found: Vec<Option<String>> = futures_util::stream::iter(keys)
        .map(|key| async move {
            let (mine, theirs) = tokio::try_join!(src.get_object(&key), dst.get_object(&key))?;
            progress.inc(1);
            Ok::<_, ApiError>(match (mine, theirs) {
                (None, _) => None,
                (Some(_), None) => Some(format!("{key} is missing")),
                (Some(m), Some(t)) if m.bytes != t.bytes => Some(format!("{key} differs")),
                (Some(_), Some(_)) => Some(String::new()),
            })
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await?;
    for f in found.into_iter().flatten() {
        out.objects += 1;
        if !f.is_empty() {
            problems.push(f);
        }
    }

    let mut sized = Vec::new();
    let mut src_blobs = BTreeSet::new();
    let listed_blobs: BTreeSet<String> = src.list(Area::Blobs).await?.into_iter().collect();
    for name in listed_blobs
        .iter()
        .chain(refs.blobs.difference(&listed_blobs))
    {
        let d = parse_digest(name)?;
        let len = match src.blob_len(&d).await? {
            Some(len) => len,
            None if !listed_blobs.contains(name) => continue, // released offline: no blob
            None => 0,
        };
        out.unlisted += u64::from(!listed_blobs.contains(name));
        src_blobs.insert(d);
        sized.push((d, len));
    }
    let total: u64 = sized.iter().map(|(_, l)| l).sum();
    progress.phase(&format!("re-hashing {} blobs", sized.len()), total, true);
    let found: Vec<Option<String>> = futures_util::stream::iter(sized)
        .map(|(d, len)| async move {
            let problem = match dst.blob_len(&d).await? {
                None => Some(format!("blob {d} is missing")),
                Some(l) if l != len => Some(format!("blob {d} has {l} bytes, the source {len}")),
                Some(_) => {
                    let actual = hash_stream(dst.read_blob(&d).await?, progress).await?;
                    (actual != d).then(|| format!("blob {d} hashes to {actual}"))
                }
            };
            Ok::<_, ApiError>(problem)
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await?;
    out.blob_bytes = total;
    out.blobs = found.len() as u64;
    problems.extend(found.into_iter().flatten());

    let (targets, unlisted) =
        with_referenced(src.list(Area::Targets).await?, refs.targets.keys().cloned());
    out.unlisted += unlisted;
    progress.phase("checking targets", targets.len() as u64, false);
    let src_blobs = &src_blobs;
    let found: Vec<Option<String>> = futures_util::stream::iter(targets)
        .map(|name| async move {
            let path = ObjectPath::parse(&name)?;
            let (mine, theirs) = tokio::try_join!(src.target_len(&path), dst.target_len(&path))?;
            progress.inc(1);
            Ok::<_, ApiError>(match (mine, theirs) {
                (_, None) => Some(format!("target {name} is missing")),
                (m, Some(t)) if m != Some(t) => Some(format!(
                    "target {name} has {t} bytes, the source {}",
                    m.unwrap_or(0)
                )),
                // A target the source has no blob for (released offline) was not re-hashed above.
                (_, Some(t)) => {
                    let d = target_digest(&path)?;
                    if src_blobs.contains(&d) {
                        None
                    } else {
                        let actual =
                            hash_stream(dst.read_target(&path, 0..t).await?, &NoProgress).await?;
                        (actual != d).then(|| format!("target {name} hashes to {actual}"))
                    }
                }
            })
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await?;
    out.targets = found.len() as u64;
    problems.extend(found.into_iter().flatten());

    if problems.is_empty() {
        return Ok(out);
    }
    problems.sort();
    let n = problems.len();
    let shown: Vec<&str> = problems.iter().take(20).map(String::as_str).collect();
    Err(x0x_dist_repository::Error::new(
        Code::RepoCorrupt,
        format!(
            "{} is not a faithful copy of {}: {n} problem{}: {}{}; remove what is damaged from the destination \
             and re-run `x0x-dist migrate` (a source that changed since the copy: just re-run it)",
            dst.describe(),
            src.describe(),
            if n == 1 { "" } else { "s" },
            shown.join("; "),
            if n > shown.len() { "; ..." } else { "" },
        ),
    )
    .into())
}

async fn hash_stream(
    mut body: crate::storage::ByteStream,
    progress: &dyn Progress,
) -> Result<Digest, ApiError> {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::io("reading a blob of the destination", e))?;
        h.update(&chunk);
        progress.inc(chunk.len() as u64);
    }
    Ok(Digest::from_bytes(h.finalize().into()))
}
