//! Air-gapped bundles: one file holding a repository's signed metadata chain and chosen targets.
//!
//! # Format (version 1)
//! An uncompressed POSIX ustar archive ([`tar`]), inspectable with `tar tvf`:
//! 1. `bundle.json` first: the table of contents ([`Toc`]): format name and version, creation time, the
//!    versions of root/timestamp/snapshot, the timestamp's expiry, packages and versions, and for every
//!    following entry its name, length and SHA-256 (targets also their target path and platform).
//! 2. `metadata/<file>`: every `N.root.json` from 1 to the latest, `timestamp.json`, and the snapshot,
//!    top-level targets and delegated roles at the versions the snapshot pins (consistent-snapshot names).
//! 3. `targets/<package>/<version>/<sha256>.<file>`: the chosen targets (all platforms by default).
//!
//! Entries 2 and 3 are exactly the layout of a bare TUF repository, so an unpacked bundle (`tar xf`) is a
//! `file://` repository any TUF client reads. Nothing in the bundle is trusted because of the bundle: the TOC
//! only lets a reader find entries and reject a damaged file early; every byte is verified against the TUF
//! metadata, which is verified from a root the installer already trusts.
//!
//! # Invariants
//! - Export verifies the chain and every target's bytes (length, SHA-256, hashed on a second thread while
//!   copying) while writing; a mismatch aborts and leaves no output file (written to a temporary name, renamed
//!   at the end).
//! - Import reads entries only under `metadata/` (one safe segment ending in `.json`) and `targets/` (a
//!   validated object path), each listed in the TOC once with matching length and SHA-256; then verifies the
//!   chain from the trusted root (under the operator's expiry policy, [`x0x_dist_loader::tuf::freshness_clock`])
//!   and every target against the verified metadata, and checks for rollback against what the destination
//!   has, before anything is moved into the destination (timestamp last).
//! - Import into a repository is crash-safe: after a crash (process or power) at any point the repository
//!   verifies completely and shows the old or the new state. Order: each target is unpacked into a staging
//!   directory on the same filesystem and `fdatasync`ed (write-back started as it is written and the sync run
//!   on a worker thread, so the flush overlaps the unpacking: [`durable`]); only then renamed into `targets/`;
//!   the receiving directories are synced; then the metadata files are written atomically (synced, renamed,
//!   directory synced), `timestamp.json` last, the commit point. `server/tests/bundle_crash.rs` checks this
//!   order in the real syscalls (strace) and kills imports mid-way.
//! - A target whose content-addressed file already exists in the destination with the right length is not
//!   unpacked (its bytes are skipped by seeking): names under `targets/` are only ever created by a rename
//!   of verified, synced bytes. Metadata files identical to the destination's are not rewritten, so
//!   importing the same bundle twice writes nothing. The import holds the repository's writer lock
//!   ([`crate::lock`]) and clears staging directories left by a killed import.
pub mod tar;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use time::OffsetDateTime;
use x0x_dist_manifests::metadata::{Signed, Timestamp};
use x0x_dist_manifests::verify::TrustedSet;

use crate::mirror::{self, Job, MirrorError, Result, Selection};
use crate::repo::{self, Layout};

/// Name of the table of contents, the archive's first entry.
pub const TOC_NAME: &str = "bundle.json";
/// The `format` field of every bundle.
pub const FORMAT: &str = "x0x-dist-bundle";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// Largest accepted `bundle.json`.
const MAX_TOC: u64 = 16 << 20;

/// One entry of the table of contents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TocFile {
    /// Entry name in the archive (`metadata/1.root.json`, `targets/x0x/0.3.1/<sha256>.x0x.linux-x64-gnu.node`).
    pub name: String,
    /// Length in bytes.
    pub length: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// For targets: the TUF target path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// For targets: the napi platform name (or WASM triple), from the signed `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// `bundle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Toc {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u64,
    /// When the bundle was written (RFC 3339).
    pub created: String,
    /// Latest root version in the bundle.
    pub root_version: u64,
    /// The timestamp's version.
    pub timestamp_version: u64,
    /// The snapshot's version.
    pub snapshot_version: u64,
    /// When the bundled timestamp expires (RFC 3339): after this, installs need the operator's expiry policy.
    pub timestamp_expires: String,
    /// Packages and the versions whose targets are included.
    pub packages: BTreeMap<String, Vec<String>>,
    /// Metadata entries, in archive order.
    pub metadata: Vec<TocFile>,
    /// Target entries, in archive order.
    pub targets: Vec<TocFile>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn hex_sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn bad(path: &Path, detail: impl Into<String>) -> MirrorError {
    MirrorError::Bundle {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

/// The verification clock under the operator's expiry policy (`X0X_DIST_ALLOW_EXPIRED_AFTER`).
pub fn policy_clock(now: OffsetDateTime) -> Result<OffsetDateTime> {
    let (at, cutoff) = x0x_dist_loader::tuf::freshness_clock(now)?;
    if let Some(c) = cutoff {
        if at < now {
            tracing::warn!(
                "{}={} is set: metadata that expired after that time is accepted",
                x0x_dist_loader::tuf::ALLOW_EXPIRED_AFTER,
                rfc3339(c)
            );
        }
    }
    Ok(at)
}

/// The metadata files of the verified chain in `dir`, by name: roots 1..=latest, timestamp, and the pinned
/// snapshot, targets and delegated roles.
fn chain_files(dir: &Path, set: &TrustedSet) -> Result<Vec<(String, Vec<u8>)>> {
    let l = Layout::new(dir);
    let versioned = |v: u64, role: &str| set.metadata_file_name(v, role);
    let mut names = Vec::new();
    for v in 1..=set.root().signed().version {
        let n = format!("{v}.root.json");
        if l.metadata_file(&n).is_file() {
            names.push(n);
        }
    }
    let snap = set.snapshot().expect("verified set has a snapshot");
    let ts = set.timestamp().expect("verified set has a timestamp");
    names.push(versioned(ts.signed().snapshot_meta().version, "snapshot"));
    for role in set.all_targets().keys() {
        if let Some(m) = snap.signed().meta.get(&format!("{role}.json")) {
            names.push(versioned(m.version, role));
        }
    }
    names.push("timestamp.json".into());
    names
        .into_iter()
        .map(|n| {
            let p = l.metadata_file(&n);
            let b = std::fs::read(&p).map_err(MirrorError::io("reading", &p))?;
            Ok((n, b))
        })
        .collect()
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The output file.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The table of contents.
    pub toc: Toc,
}

/// Exports the repository in `dir` (an origin, a mirror, or a directory synced by `mirror sync`) into one
/// bundle file `out`: verifies the chain from `root` at `now`, then writes the TOC, the metadata and every
/// selected target, hashing each target as it is copied.
pub fn export(
    dir: &Path,
    root: &[u8],
    sel: &Selection,
    out: &Path,
    now: OffsetDateTime,
) -> Result<ExportReport> {
    let set = repo::load_trusted_from(dir, root, now)?;
    let jobs = mirror::select(&set, sel)?;
    let meta = chain_files(dir, &set)?;
    let ts = set
        .timestamp()
        .expect("verified set has a timestamp")
        .signed();
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for j in &jobs {
        packages
            .entry(j.path.package().to_string())
            .or_default()
            .insert(j.path.version().to_string());
    }
    let toc = Toc {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created: rfc3339(OffsetDateTime::now_utc()),
        root_version: set.root().signed().version,
        timestamp_version: ts.version,
        snapshot_version: ts.snapshot_meta().version,
        timestamp_expires: rfc3339(ts.expires),
        packages: packages
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect(),
        metadata: meta
            .iter()
            .map(|(n, b)| TocFile {
                name: format!("metadata/{n}"),
                length: b.len() as u64,
                sha256: hex_sha(b),
                target: None,
                platform: None,
            })
            .collect(),
        targets: jobs
            .iter()
            .map(|j| {
                Ok(TocFile {
                    name: format!("targets/{}", j.stored),
                    length: j.file.length,
                    sha256: j.file.sha256()?.to_hex(),
                    target: Some(j.path.as_str().to_owned()),
                    platform: j.file.x0x_custom().map(|c| c.platform),
                })
            })
            .collect::<Result<_>>()?,
    };
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".x0x-bundle-")
        .tempfile_in(parent)
        .map_err(MirrorError::io("creating a temporary file in", parent))?;
    let mtime = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        let werr = |e| MirrorError::io("writing", out)(e);
        let toc_bytes = serde_json::to_vec_pretty(&toc).expect("TOC serializes");
        write_entry(&mut w, TOC_NAME, &toc_bytes, mtime, out)?;
        for (n, b) in &meta {
            write_entry(&mut w, &format!("metadata/{n}"), b, mtime, out)?;
        }
        let mut hasher = PipelinedHash::new();
        for j in &jobs {
            copy_target(dir, j, &mut w, &mut hasher, mtime, out)?;
        }
        tar::finish(&mut w).map_err(werr)?;
        w.flush().map_err(werr)?;
    }
    // No fsync: the bundle appears atomically (temporary name, then rename) and is verified entry by entry
    // on import, so a file torn by a crash is refused (`bundle.invalid`), never trusted; re-export it.
    let bytes = tmp.as_file().metadata().map_or(0, |m| m.len());
    tmp.persist(out)
        .map_err(|e| MirrorError::io("renaming into", out)(e.error))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o644));
    }
    Ok(ExportReport {
        file: out.to_owned(),
        bytes,
        toc,
    })
}

fn write_entry(w: &mut impl Write, name: &str, data: &[u8], mtime: u64, out: &Path) -> Result<()> {
    let h = tar::header(name, data.len() as u64, mtime).map_err(|e| bad(out, e.0))?;
    let werr = |e| MirrorError::io("writing", out)(e);
    w.write_all(&h).map_err(werr)?;
    w.write_all(data).map_err(werr)?;
    w.write_all(&[0u8; tar::BLOCK][..tar::padding(data.len() as u64)])
        .map_err(werr)
}

/// Hashes chunks on a second thread while the caller keeps reading and writing (hashing and I/O overlap).
/// One thread and at most [`Self::DEPTH`] buffers serve every entry in turn ([`Self::finish`] ends an entry):
/// buffers are recycled, never zeroed again or freshly faulted in per entry.
struct PipelinedHash {
    to_hasher: Option<std::sync::mpsc::SyncSender<Option<Vec<u8>>>>,
    back: std::sync::mpsc::Receiver<Vec<u8>>,
    digests: std::sync::mpsc::Receiver<String>,
    handle: Option<std::thread::JoinHandle<()>>,
    /// Buffers that may still be allocated.
    spare: usize,
    /// Buffers handed back unused.
    free: Vec<Vec<u8>>,
}

impl PipelinedHash {
    const DEPTH: usize = 4;
    const CHUNK: usize = 1 << 20;

    fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Vec<u8>>>(Self::DEPTH);
        let (back_tx, back) = std::sync::mpsc::channel::<Vec<u8>>();
        let (digest_tx, digests) = std::sync::mpsc::channel::<String>();
        let handle = std::thread::spawn(move || {
            let mut h = sha2::Sha256::new();
            for msg in rx {
                match msg {
                    Some(buf) => {
                        h.update(&buf);
                        let _ = back_tx.send(buf);
                    }
                    None => {
                        let _ = digest_tx.send(hex::encode(h.finalize_reset()));
                    }
                }
            }
        });
        Self {
            to_hasher: Some(tx),
            back,
            digests,
            handle: Some(handle),
            spare: Self::DEPTH,
            free: Vec::new(),
        }
    }

    /// A full-size buffer to read into (recycled from the hasher, or new while fewer than DEPTH exist).
    fn buffer(&mut self) -> Vec<u8> {
        let mut b = if let Some(b) = self.free.pop() {
            b
        } else if self.spare > 0 {
            self.spare -= 1;
            Vec::new()
        } else {
            self.back.recv().unwrap_or_default()
        };
        // A recycled buffer was truncated to what it held: only that tail is zeroed again.
        b.resize(Self::CHUNK, 0);
        b
    }

    /// Returns a buffer that was not filled (end of an entry), for the next [`Self::buffer`].
    fn recycle(&mut self, buf: Vec<u8>) {
        self.free.push(buf);
    }

    /// Hashes `buf` (the caller is done with it) as the next piece of the current entry.
    fn hash(&mut self, buf: Vec<u8>) {
        if let Some(tx) = &self.to_hasher {
            let _ = tx.send(Some(buf));
        }
    }

    /// The SHA-256 (hex) of everything hashed since the last call; the next entry starts empty.
    fn finish(&mut self) -> String {
        if let Some(tx) = &self.to_hasher {
            let _ = tx.send(None);
        }
        self.digests.recv().unwrap_or_default()
    }
}

impl Drop for PipelinedHash {
    fn drop(&mut self) {
        drop(self.to_hasher.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn copy_target(
    dir: &Path,
    job: &Job,
    out_w: &mut impl Write,
    hasher: &mut PipelinedHash,
    mtime: u64,
    out: &Path,
) -> Result<()> {
    let src = dir.join("targets").join(&job.stored);
    let mut src_f = std::fs::File::open(&src).map_err(MirrorError::io("opening", &src))?;
    let name = format!("targets/{}", job.stored);
    let h = tar::header(&name, job.file.length, mtime).map_err(|e| bad(out, e.0))?;
    let werr = |e| MirrorError::io("writing", out)(e);
    out_w.write_all(&h).map_err(werr)?;
    let mut got = 0u64;
    loop {
        let mut buf = hasher.buffer();
        let n = src_f
            .read(&mut buf)
            .map_err(MirrorError::io("reading", &src))?;
        if n == 0 {
            hasher.recycle(buf);
            break;
        }
        got += n as u64;
        if got > job.file.length {
            hasher.recycle(buf);
            break;
        }
        buf.truncate(n);
        out_w.write_all(&buf).map_err(werr)?;
        hasher.hash(buf);
    }
    let found = hasher.finish();
    if got != job.file.length {
        return Err(x0x_dist_manifests::Error::LengthMismatch {
            path: src.display().to_string(),
            expected: job.file.length,
            found: got,
        }
        .into());
    }
    let expected = job.file.sha256()?.to_hex();
    if found != expected {
        return Err(x0x_dist_manifests::Error::DigestMismatch {
            path: src.display().to_string(),
            algorithm: "sha256",
            expected,
            found,
        }
        .into());
    }
    out_w
        .write_all(&[0u8; tar::BLOCK][..tar::padding(got)])
        .map_err(werr)
}

/// Checks an archive entry name and maps it to a path under `into`.
fn entry_path(bundle: &Path, into: &Path, name: &str) -> Result<PathBuf> {
    if let Some(file) = name.strip_prefix("metadata/") {
        crate::storage::check_segment(file)
            .map_err(|why| bad(bundle, format!("entry {name:?}: {why}")))?;
        if !file.ends_with(".json") {
            return Err(bad(
                bundle,
                format!("entry {name:?}: metadata files end in .json"),
            ));
        }
        return Ok(into.join("metadata").join(file));
    }
    if let Some(path) = name.strip_prefix("targets/") {
        let p = crate::storage::ObjectPath::parse(path)
            .map_err(|e| bad(bundle, format!("entry {name:?}: {e}")))?;
        return Ok(into.join("targets").join(p.as_str()));
    }
    Err(bad(
        bundle,
        format!("unexpected entry {name:?} (only bundle.json, metadata/ and targets/)"),
    ))
}

/// Unpacks `bundle` into the empty directory `into` (a bare TUF repository afterwards), checking every entry
/// against the TOC (names, lengths, SHA-256, nothing missing, nothing extra, no duplicates). Nothing is
/// trusted yet: callers verify the unpacked repository from their trusted root.
pub fn unpack(bundle: &Path, into: &Path) -> Result<Toc> {
    Ok(unpack_with(bundle, into, None)?.toc)
}

/// What [`unpack_with`] did.
struct Unpacked {
    toc: Toc,
    /// Target entries not unpacked because the destination already holds them (archive names).
    present: BTreeSet<String>,
}

/// Write-back of a target being unpacked is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;

/// [`unpack`], and when `dest` (the repository being imported into) is given:
/// - a target entry whose content-addressed file `dest/targets/<package>/<version>/<sha256>.<file>` already
///   exists with the TOC's length is not unpacked (its bytes are skipped by seeking): files only ever get that
///   name after their bytes were verified and synced (see [`import_repo`]), so re-importing costs no writes;
/// - every unpacked target is made durable: write-back is started as it is written and `fdatasync` runs on a
///   worker thread while the next entry is unpacked; this returns only once all of them are synced.
fn unpack_with(bundle: &Path, into: &Path, dest: Option<&Path>) -> Result<Unpacked> {
    let f = std::fs::File::open(bundle).map_err(MirrorError::io("opening", bundle))?;
    let mut r = tar::Reader::new(std::io::BufReader::with_capacity(PipelinedHash::CHUNK, f));
    let first = r
        .next_entry()
        .map_err(|e| bad(bundle, e.0))?
        .ok_or_else(|| bad(bundle, "empty archive"))?;
    if first.name != TOC_NAME {
        return Err(bad(
            bundle,
            format!(
                "the first entry is {:?}, not {TOC_NAME} (not an x0x-dist bundle)",
                first.name
            ),
        ));
    }
    if first.size > MAX_TOC {
        return Err(bad(bundle, "bundle.json is too large"));
    }
    let mut toc_bytes = Vec::new();
    r.read_to_end(&mut toc_bytes)
        .map_err(|e| bad(bundle, format!("reading bundle.json: {e}")))?;
    let toc: Toc =
        serde_json::from_slice(&toc_bytes).map_err(|e| bad(bundle, format!("bundle.json: {e}")))?;
    if toc.format != FORMAT || toc.format_version != FORMAT_VERSION {
        return Err(bad(
            bundle,
            format!(
                "unsupported format {} version {} (this build reads {FORMAT} {FORMAT_VERSION})",
                toc.format, toc.format_version
            ),
        ));
    }
    let mut expected: BTreeMap<&str, &TocFile> = BTreeMap::new();
    for e in toc.metadata.iter().chain(&toc.targets) {
        if expected.insert(e.name.as_str(), e).is_some() {
            return Err(bad(bundle, format!("bundle.json lists {:?} twice", e.name)));
        }
    }
    for d in ["metadata", "targets"] {
        std::fs::create_dir_all(into.join(d)).map_err(MirrorError::io("creating", into))?;
    }
    let syncer = dest.map(|_| x0x_dist_durable::overlap::Syncer::new());
    let mut hasher = PipelinedHash::new();
    let mut present = BTreeSet::new();
    while let Some(e) = r.next_entry().map_err(|e| bad(bundle, e.0))? {
        let want = expected.remove(e.name.as_str()).ok_or_else(|| {
            bad(
                bundle,
                format!(
                    "entry {:?} is not in bundle.json (or appears twice)",
                    e.name
                ),
            )
        })?;
        if e.size != want.length {
            return Err(bad(
                bundle,
                format!(
                    "entry {:?} is {} bytes, bundle.json says {}",
                    e.name, e.size, want.length
                ),
            ));
        }
        let path = entry_path(bundle, into, &e.name)?;
        let is_target = e.name.starts_with("targets/");
        if let (Some(d), true) = (dest, is_target) {
            let existing = entry_path(bundle, d, &e.name)?;
            if std::fs::metadata(&existing).is_ok_and(|m| m.is_file() && m.len() == want.length) {
                r.skip_data()
                    .map_err(|err| bad(bundle, format!("entry {:?}: {err}", e.name)))?;
                present.insert(e.name.clone());
                continue;
            }
        }
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(MirrorError::io("creating", p))?;
        }
        // A fresh file in the staging directory, synced by the Syncer before anything names it.
        #[allow(clippy::disallowed_methods)]
        let out = std::sync::Arc::new(
            std::fs::File::create(&path).map_err(MirrorError::io("creating", &path))?,
        );
        let writeback = syncer.is_some() && is_target;
        let (mut written, mut flushed) = (0u64, 0u64);
        loop {
            let mut chunk = hasher.buffer();
            let mut n = 0;
            // Fill the chunk (tar entries arrive in whatever pieces the reader gives).
            while n < chunk.len() {
                let k = r
                    .read_data(&mut chunk[n..])
                    .map_err(|err| bad(bundle, format!("entry {:?}: {err}", e.name)))?;
                if k == 0 {
                    break;
                }
                n += k;
            }
            if n == 0 {
                hasher.recycle(chunk);
                break;
            }
            chunk.truncate(n);
            (&*out)
                .write_all(&chunk)
                .map_err(MirrorError::io("writing", &path))?;
            hasher.hash(chunk);
            written += n as u64;
            if let (Some(s), true) = (&syncer, writeback && written - flushed >= WRITEBACK_STEP) {
                s.writeback(&out, flushed, written - flushed);
                flushed = written;
            }
        }
        let found = hasher.finish();
        if found != want.sha256 {
            return Err(bad(
                bundle,
                format!(
                    "entry {:?} has SHA-256 {found}, bundle.json says {}",
                    e.name, want.sha256
                ),
            ));
        }
        if let (Some(s), true) = (&syncer, writeback) {
            s.writeback(&out, flushed, written - flushed);
            s.push(out, path);
        }
    }
    if let Some(name) = expected.keys().next() {
        return Err(bad(
            bundle,
            format!("bundle.json lists {name:?} but the archive does not hold it (truncated?)"),
        ));
    }
    if let Some(s) = syncer {
        s.finish()
            .map_err(|(path, e)| MirrorError::io("syncing", &path)(e))?;
    }
    Ok(Unpacked { toc, present })
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Metadata files in the bundle.
    pub metadata: usize,
    /// Targets verified.
    pub targets: usize,
    /// Targets added to the destination (for a cache: verified into it, whether or not it held them).
    pub added: usize,
    /// Bytes of targets verified.
    pub bytes: u64,
    /// The imported timestamp version.
    pub timestamp_version: u64,
}

/// Verifies an unpacked bundle in `staging` from `root` at `at`: the chain, then every bundled target against
/// the verified metadata (each must be listed, by the role TUF's delegation search attributes it to).
fn verify_unpacked(
    bundle: &Path,
    staging: &Path,
    toc: &Toc,
    root: &[u8],
    at: OffsetDateTime,
) -> Result<(TrustedSet, Vec<Job>)> {
    let set = repo::load_trusted_from(staging, root, at)?;
    let jobs = mirror::select(&set, &Selection::default())?;
    let by_stored: BTreeMap<String, &Job> = jobs
        .iter()
        .map(|j| (format!("targets/{}", j.stored), j))
        .collect();
    let mut bundled = Vec::new();
    for t in &toc.targets {
        let j = by_stored.get(&t.name).ok_or_else(|| {
            bad(
                bundle,
                format!("{} is not listed by the verified metadata", t.name),
            )
        })?;
        // `unpack` hashed these bytes and matched them to the TOC entry; comparing the TOC entry to the
        // verified metadata completes the chain bytes → TOC → signed metadata without hashing twice.
        let (sha, len) = (t.sha256.clone(), t.length);
        if len != j.file.length {
            return Err(x0x_dist_manifests::Error::LengthMismatch {
                path: j.path.as_str().into(),
                expected: j.file.length,
                found: len,
            }
            .into());
        }
        let expected = j.file.sha256()?.to_hex();
        if sha != expected {
            return Err(x0x_dist_manifests::Error::DigestMismatch {
                path: j.path.as_str().into(),
                algorithm: "sha256",
                expected,
                found: sha,
            }
            .into());
        }
        bundled.push((*j).clone());
    }
    Ok((set, bundled))
}

fn check_rollback(dir: &Path, set: &TrustedSet) -> Result<()> {
    let Ok(cur) = std::fs::read(Layout::new(dir).metadata_file("timestamp.json")) else {
        return Ok(());
    };
    let Ok(old) = Signed::<Timestamp>::from_slice(&cur) else {
        return Ok(());
    };
    let new = set.timestamp().expect("verified").signed();
    let (o, n) = (old.signed(), new);
    for (role, t, v) in [
        ("timestamp", o.version, n.version),
        (
            "snapshot",
            o.snapshot_meta().version,
            n.snapshot_meta().version,
        ),
    ] {
        if v < t {
            return Err(x0x_dist_manifests::Error::Rollback {
                role: role.into(),
                trusted: t,
                new: v,
            }
            .into());
        }
    }
    Ok(())
}

/// Staging directories of imports live in `DIR/mirror/` under this prefix.
const STAGING_PREFIX: &str = "import-";

/// Removes staging directories left by an import that was killed (callers hold the writer lock, so no other
/// import is using them).
fn remove_stale_staging(state_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Imports `bundle` into the repository directory `dir` (created if missing; an air-gapped mirror that
/// `x0x-dist serve --repo DIR` serves), trusting `root` (default: the mirror's recorded root). Verification
/// uses `now` under the operator's expiry policy. Refuses an origin repository (one holding online keys).
pub fn import_repo(
    bundle: &Path,
    dir: &Path,
    root: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<ImportReport> {
    if dir.join("online").exists() {
        return Err(MirrorError::Usage(format!(
            "{} is an origin repository (it holds online keys); import bundles into a mirror directory",
            dir.display()
        )));
    }
    let root = match root {
        Some(r) => r.to_vec(),
        None => {
            mirror::Settings::load(dir)
                .map_err(|_| {
                    MirrorError::Usage(format!(
                    "{} is not a mirror yet: pass --root ROOT.json (the upstream root you trust)",
                    dir.display()
                ))
                })?
                .root
        }
    };
    std::fs::create_dir_all(dir).map_err(MirrorError::io("creating", dir))?;
    // One writer at a time (the server's publishes, `package release`, other imports): see `crate::lock`.
    let _lock = crate::lock::lock(dir, || {
        tracing::warn!("waiting for another writer of {} to finish", dir.display());
    })
    .map_err(MirrorError::io("locking", &crate::lock::lock_path(dir)))?;
    let sd = mirror::state_dir(dir);
    std::fs::create_dir_all(&sd).map_err(MirrorError::io("creating", &sd))?;
    remove_stale_staging(&sd);
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(&sd)
        .map_err(MirrorError::io("creating a staging directory in", &sd))?;
    // Targets are durable (synced) when this returns; those the mirror already holds are not unpacked.
    let Unpacked { toc, present } = unpack_with(bundle, staging.path(), Some(dir))?;
    let at = policy_clock(now)?;
    let (set, jobs) = verify_unpacked(bundle, staging.path(), &toc, &root, at)?;
    check_rollback(dir, &set)?;
    // Everything verified: move targets in (synced bytes, then their directories), then metadata, timestamp
    // last (the commit point).
    let mut report = ImportReport {
        metadata: toc.metadata.len(),
        targets: jobs.len(),
        timestamp_version: set.timestamp().expect("verified").signed().version,
        ..ImportReport::default()
    };
    let mut dirs = BTreeSet::new();
    for j in &jobs {
        report.bytes += j.file.length;
        if present.contains(&format!("targets/{}", j.stored)) {
            continue;
        }
        let src = staging.path().join("targets").join(&j.stored);
        let dest = dir.join("targets").join(&j.stored);
        let parent = dest.parent().expect("has parent");
        std::fs::create_dir_all(parent).map_err(MirrorError::io("creating", parent))?;
        // Synced when unpacked; the directories are synced once for all targets below.
        #[allow(clippy::disallowed_methods)]
        std::fs::rename(&src, &dest).map_err(MirrorError::io("renaming into", &dest))?;
        // The new name, and every directory created on the way, must be durable before the metadata.
        let mut d = parent;
        while d.starts_with(dir.join("targets")) && dirs.insert(d.to_owned()) {
            d = d.parent().expect("under dir");
        }
        report.added += 1;
    }
    for d in &dirs {
        repo::sync_dir(d)?;
    }
    let l = Layout::new(dir);
    let mut names: Vec<String> = toc
        .metadata
        .iter()
        .filter_map(|m| m.name.strip_prefix("metadata/").map(str::to_owned))
        .filter(|n| n != "timestamp.json")
        .collect();
    names.push("timestamp.json".into());
    for n in &names {
        let src = staging.path().join("metadata").join(n);
        let b = std::fs::read(&src).map_err(MirrorError::io("reading", &src))?;
        let dest = l.metadata_file(n);
        // An identical file is already there and durable (re-importing the same bundle writes nothing).
        if std::fs::read(&dest).is_ok_and(|cur| cur == b) {
            continue;
        }
        repo::write_atomic(&dest, &b, false)?;
    }
    let latest = format!("{}.root.json", set.root().signed().version);
    if let Ok(b) = std::fs::read(l.metadata_file(&latest)) {
        if std::fs::read(l.metadata_file("root.json")).ok().as_ref() != Some(&b) {
            repo::write_atomic(&l.metadata_file("root.json"), &b, false)?;
        }
    }
    if !mirror::is_mirror(dir) {
        mirror::Settings {
            upstream: None,
            root,
        }
        .save(dir)?;
    }
    Ok(report)
}

/// Imports `bundle` into a loader cache (`X0X_DIST_CACHE` layout): the loader's own TUF client verifies the
/// unpacked bundle from `root` (persisting the trusted metadata, with rollback protection) and stores every
/// target it verifies, so later `fetch --offline` and loaders using that cache need nothing else.
pub async fn import_cache(bundle: &Path, cache_dir: &Path, root: &[u8]) -> Result<ImportReport> {
    use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location, NoProgress};
    let staging = tempfile::tempdir().map_err(MirrorError::io(
        "creating",
        Path::new("temporary directory"),
    ))?;
    let toc = unpack(bundle, staging.path())?;
    let fetcher = Fetcher::new(
        Location::Dir(staging.path().to_owned()),
        FetchOptions::default(),
    )?;
    let cache = x0x_dist_loader::cache::Cache::open(cache_dir)?;
    let mut report = ImportReport {
        metadata: toc.metadata.len(),
        ..ImportReport::default()
    };
    let wanted: BTreeSet<&str> = toc
        .targets
        .iter()
        .filter_map(|t| t.target.as_deref())
        .collect();
    for package in toc.packages.keys() {
        let repo = x0x_dist_loader::tuf::Repository::refresh(
            &fetcher,
            &cache,
            root,
            package,
            &x0x_dist_loader::tuf::ClientOptions::default(),
        )
        .await?;
        report.timestamp_version = repo.trusted().timestamp().map_or(0, |t| t.signed().version);
        for (path, _) in repo.package_targets()? {
            if !wanted.contains(path.as_str()) {
                continue;
            }
            let file = repo.target(&path)?;
            let sha = file.sha256()?.to_hex();
            let stored = repo.stored_path(&path, &sha);
            cache
                .get_or_fetch(&fetcher, &stored, &path, &file, &NoProgress)
                .await?;
            report.targets += 1;
            report.bytes += file.length;
            report.added += 1;
        }
    }
    if report.targets != toc.targets.len() {
        return Err(bad(
            bundle,
            format!(
                "{} of {} bundled targets are listed by the verified metadata",
                report.targets,
                toc.targets.len()
            ),
        ));
    }
    Ok(report)
}
