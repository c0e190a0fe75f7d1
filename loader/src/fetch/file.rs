//! A directory repository (`file://` or a plain path): metadata reads and checked target copies.

use std::io::{Read, Seek, Write};
use std::path::Path;

use super::hash::{check, Hashes};
use super::{Expected, Location, Progress};
use crate::error::Error;

/// Reads the metadata file `name` of the directory repository `dir`, at most `limit` bytes; `Ok(None)` if
/// there is no such file.
pub(super) fn read_metadata(dir: &Path, name: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    read_limited(
        &Location::dir_root(dir).join("metadata").join(name),
        name,
        limit,
    )
}

/// Reads at most `limit + 1` bytes of `path` (a metadata file called `name` in errors): `Ok(None)` if there is
/// no such file, `metadata.too_large` over `limit`, so an endless file never fills memory before a signature
/// is checked. For every synchronous metadata source (`crate::tuf::MetadataSource`).
pub fn read_limited(path: &Path, name: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", path)(e)),
    };
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(Error::io("read", path))?;
    if buf.len() as u64 > limit {
        return Err(Error::MetadataTooLarge {
            file: name.to_owned(),
            limit,
        });
    }
    Ok(Some(buf))
}

/// Copies a local target into `dest` while hashing, reading at most `length + 1` bytes.
pub(super) fn copy_checked(
    src: &Path,
    shown_name: &str,
    want: &Expected<'_>,
    dest: &Path,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let input = match std::fs::File::open(src) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound {
                what: format!("target {shown_name}"),
                location: src.display().to_string(),
            })
        }
        Err(e) => return Err(Error::io("open", src)(e)),
    };
    // `dest` is the caller's scratch `.part` file: made durable (persisted) only once verified.
    #[allow(clippy::disallowed_methods)]
    let mut out = std::fs::File::create(dest).map_err(Error::io("create", dest))?;
    let length = want.length;
    progress.start(shown_name, length, 0);
    let mut hasher = Hashes::new(want.sha512.is_some());
    let mut reader = input.take(length + 1);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(Error::io("read", src))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(Error::io("write", dest))?;
        total += n as u64;
        progress.advance(n as u64);
    }
    out.flush().map_err(Error::io("write", dest))?;
    out.rewind().map_err(Error::io("seek", dest))?;
    check(shown_name, want, &hasher.finish(), total)
}
