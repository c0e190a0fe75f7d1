//! Unpacking an archive against its table of contents (nothing trusted yet: callers verify).
use super::*;

/// Checks an archive entry name and maps it to a path under `into`.
fn entry_path(bundle: &Path, into: &Path, name: &str) -> Result<PathBuf> {
    if let Some(file) = name.strip_prefix("metadata/") {
        crate::object_path::check_segment(file)
            .map_err(|why| bad(bundle, format!("entry {name:?}: {why}")))?;
        if !file.ends_with(".json") {
            return Err(bad(
                bundle,
                format!("entry {name:?}: metadata files end in .json"),
            ));
        }
        return Ok(crate::repo::Layout::new(into).metadata_file(file));
    }
    if let Some(file) = name.strip_prefix("npm/") {
        crate::object_path::check_segment(file)
            .map_err(|why| bad(bundle, format!("entry {name:?}: {why}")))?;
        if !file.ends_with(".record.json") {
            return Err(bad(
                bundle,
                format!("entry {name:?}: npm entries are release records"),
            ));
        }
        return Ok(crate::repo::Layout::new(into).npm_record(file));
    }
    if let Some(path) = name.strip_prefix("targets/") {
        let p = crate::object_path::ObjectPath::parse(path)
            .map_err(|e| bad(bundle, format!("entry {name:?}: {e}")))?;
        return Ok(crate::repo::Layout::new(into).target_stored(p.as_str()));
    }
    Err(bad(
        bundle,
        format!("unexpected entry {name:?} (only bundle.json, metadata/, targets/ and npm/)"),
    ))
}

/// Unpacks `bundle` into the empty directory `into` (a bare TUF repository afterwards), checking every entry
/// against the TOC (names, lengths, SHA-256, nothing missing, nothing extra, no duplicates). Nothing is
/// trusted yet: callers verify the unpacked repository from their trusted root.
pub fn unpack(bundle: &Path, into: &Path) -> Result<Toc> {
    Ok(unpack_with(bundle, into, None)?.toc)
}

/// What [`unpack_with`] did.
pub(super) struct Unpacked {
    pub(super) toc: Toc,
    /// Target entries not unpacked because the destination already holds them (archive names).
    pub(super) present: BTreeSet<String>,
}

/// Write-back of a target being unpacked is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;

/// [`unpack`], and when `dest` (the repository being imported into) is given:
/// - a target entry whose content-addressed file `dest/targets/<package>/<version>/<sha256>.<file>` already
///   exists with the TOC's length is not unpacked (its bytes are skipped by seeking): files only ever get that
///   name after their bytes were verified and synced (see [`import_repo`]), so re-importing costs no writes;
/// - every unpacked target is made durable: write-back is started as it is written and `fdatasync` runs on a
///   worker thread while the next entry is unpacked; this returns only once all of them are synced.
pub(super) fn unpack_with(bundle: &Path, into: &Path, dest: Option<&Path>) -> Result<Unpacked> {
    let f = std::fs::File::open(bundle).map_err(Error::io("opening", bundle))?;
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
    for e in toc.metadata.iter().chain(&toc.targets).chain(&toc.npm) {
        if expected.insert(e.name.as_str(), e).is_some() {
            return Err(bad(bundle, format!("bundle.json lists {:?} twice", e.name)));
        }
    }
    for d in ["metadata", "targets"] {
        std::fs::create_dir_all(into.join(d)).map_err(Error::io("creating", into))?;
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
            std::fs::create_dir_all(p).map_err(Error::io("creating", p))?;
        }
        // A fresh file in the staging directory, synced by the Syncer before anything names it.
        #[allow(clippy::disallowed_methods)]
        let out = std::sync::Arc::new(
            std::fs::File::create(&path).map_err(Error::io("creating", &path))?,
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
                .map_err(Error::io("writing", &path))?;
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
            .map_err(|(path, e)| Error::io("syncing", &path)(e))?;
    }
    Ok(Unpacked { toc, present })
}
