//! The bundle container: a plain, uncompressed POSIX ustar archive (readable by `tar tvf`, by `tar xf`, and by
//! the JavaScript loader with Node built-ins only).
//!
//! Only what bundles need: regular files (type `0`), names up to 255 bytes split into ustar's `prefix` and
//! `name` fields at a `/`, sizes below 8 GiB (11 octal digits), no PAX or GNU extensions, mode 0644, uid/gid 0,
//! a fixed mtime (the bundle's creation time) so the same inputs give the same bytes. The reader accepts exactly
//! that subset and checks every header checksum; anything else (links, devices, directories, long-name
//! extensions, a truncated archive) is `bundle.invalid`. Callers validate entry names themselves.
use std::io::{self, Read, Write};

/// Size of a tar block.
pub const BLOCK: usize = 512;
/// Largest entry size ustar can express (11 octal digits).
pub const MAX_SIZE: u64 = (1 << 33) - 1;

/// A malformed archive or an entry this format does not support.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TarError(pub String);

fn octal(field: &mut [u8], value: u64) {
    // `width - 1` octal digits, then NUL.
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
}

/// Splits `name` into ustar `(prefix, name)`.
fn split_name(name: &str) -> Result<(&str, &str), TarError> {
    if name.len() <= 100 {
        return Ok(("", name));
    }
    // The last `/` that leaves a prefix of at most 155 bytes and a name of at most 100.
    for (i, _) in name.match_indices('/').rev() {
        if i <= 155 && name.len() - i - 1 <= 100 && i > 0 {
            return Ok((&name[..i], &name[i + 1..]));
        }
    }
    Err(TarError(format!("entry name too long for ustar: {name:?}")))
}

/// The 512-byte ustar header of a regular file.
pub fn header(name: &str, size: u64, mtime: u64) -> Result<[u8; BLOCK], TarError> {
    if size > MAX_SIZE {
        return Err(TarError(format!(
            "{name}: {size} bytes is too large for ustar"
        )));
    }
    let (prefix, short) = split_name(name)?;
    let mut h = [0u8; BLOCK];
    h[..short.len()].copy_from_slice(short.as_bytes());
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

/// Zero bytes that pad an entry of `size` bytes to a block boundary.
pub fn padding(size: u64) -> usize {
    let rem = usize::try_from(size % BLOCK as u64).unwrap_or(0);
    if rem == 0 {
        0
    } else {
        BLOCK - rem
    }
}

/// Writes the end-of-archive marker (two zero blocks).
pub fn finish(w: &mut impl Write) -> io::Result<()> {
    w.write_all(&[0u8; 2 * BLOCK])
}

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The full name (`prefix/name`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s: Vec<u8> = field
        .iter()
        .copied()
        .take_while(|&b| b != 0)
        .filter(|&b| b != b' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    let s = std::str::from_utf8(&s).ok()?;
    u64::from_str_radix(s, 8).ok()
}

fn cstr(field: &[u8]) -> Result<&str, TarError> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    std::str::from_utf8(&field[..end]).map_err(|_| TarError("entry name is not UTF-8".into()))
}

/// Parses one header block: `Ok(None)` for a zero block (end of archive).
pub fn parse_header(h: &[u8; BLOCK]) -> Result<Option<Entry>, TarError> {
    if h.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let stored =
        parse_octal(&h[148..156]).ok_or_else(|| TarError("bad header checksum field".into()))?;
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    if sum != stored {
        return Err(TarError(
            "header checksum mismatch (corrupt or not a tar file)".into(),
        ));
    }
    if &h[257..262] != b"ustar" {
        return Err(TarError("not a ustar archive".into()));
    }
    let kind = h[156];
    if kind != b'0' && kind != 0 {
        return Err(TarError(format!(
            "unsupported entry type {:?} (bundles hold regular files only)",
            char::from(kind)
        )));
    }
    let name = cstr(&h[..100])?;
    let prefix = cstr(&h[345..500])?;
    let name = if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    };
    let size =
        parse_octal(&h[124..136]).ok_or_else(|| TarError(format!("{name}: bad size field")))?;
    Ok(Some(Entry { name, size }))
}

/// A sequential reader over an archive.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    pending: u64,
    pad: usize,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// Reads from `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            pending: 0,
            pad: 0,
            done: false,
        }
    }

    /// The next entry's header, skipping whatever of the previous entry was not read. `Ok(None)` at the end.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.done {
            return Ok(None);
        }
        let skip = self.pending + self.pad as u64;
        if skip > 0 {
            let n = io::copy(&mut (&mut self.inner).take(skip), &mut io::sink())
                .map_err(|e| TarError(format!("reading the archive: {e}")))?;
            if n != skip {
                return Err(TarError("archive is truncated".into()));
            }
        }
        self.pending = 0;
        self.pad = 0;
        let mut h = [0u8; BLOCK];
        self.inner.read_exact(&mut h).map_err(|e| {
            TarError(if e.kind() == io::ErrorKind::UnexpectedEof {
                "archive is truncated (no end-of-archive marker)".into()
            } else {
                format!("reading the archive: {e}")
            })
        })?;
        match parse_header(&h)? {
            None => {
                self.done = true;
                Ok(None)
            }
            Some(e) => {
                self.pending = e.size;
                self.pad = padding(e.size);
                Ok(Some(e))
            }
        }
    }

    /// Reads from the current entry's data (0 at its end).
    pub fn read_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.pending.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive is truncated inside an entry",
            ));
        }
        self.pending -= n as u64;
        Ok(n)
    }
}

impl<R: Read + io::Seek> Reader<R> {
    /// Skips the rest of the current entry's data by seeking, without reading it. (A truncated archive is
    /// still caught: the next header read fails.)
    pub fn skip_data(&mut self) -> io::Result<()> {
        if self.pending > 0 {
            let n = i64::try_from(self.pending).map_err(io::Error::other)?;
            self.inner.seek(io::SeekFrom::Current(n))?;
            self.pending = 0;
        }
        Ok(())
    }
}

impl<R: Read> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_data(buf)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests write fixtures directly
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in entries {
            out.extend_from_slice(&header(name, data.len() as u64, 1_700_000_000).unwrap());
            out.extend_from_slice(data);
            out.extend(std::iter::repeat_n(0u8, padding(data.len() as u64)));
        }
        finish(&mut out).unwrap();
        out
    }

    #[test]
    fn round_trip_with_long_names() {
        let long = format!(
            "targets/x0x/0.3.1/{}.x0x.linux-x64-gnu.node",
            "a".repeat(64)
        );
        let bytes = archive(&[
            ("bundle.json", b"{}"),
            (&long, &[7u8; 1000]),
            ("empty", b""),
        ]);
        assert_eq!(bytes.len() % BLOCK, 0);
        let mut r = Reader::new(&bytes[..]);
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!((e.name.as_str(), e.size), ("bundle.json", 2));
        // The first entry is skipped unread; the second is read in full.
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!(e.name, long);
        let mut data = Vec::new();
        r.read_to_end(&mut data).unwrap();
        assert_eq!(data, vec![7u8; 1000]);
        assert_eq!(r.next_entry().unwrap().unwrap().name, "empty");
        assert!(r.next_entry().unwrap().is_none());
    }

    #[test]
    fn skip_data_seeks_past_an_entry_and_still_sees_truncation() {
        let bytes = archive(&[("a", &[1u8; 1500]), ("b", b"second")]);
        let mut r = Reader::new(std::io::Cursor::new(&bytes[..]));
        r.next_entry().unwrap().unwrap();
        let mut one = [0u8; 10];
        assert_eq!(r.read_data(&mut one).unwrap(), 10);
        r.skip_data().unwrap();
        assert_eq!(r.next_entry().unwrap().unwrap().name, "b");
        let mut data = Vec::new();
        r.read_to_end(&mut data).unwrap();
        assert_eq!(data, b"second");
        assert!(r.next_entry().unwrap().is_none());
        // Cut inside the skipped entry: the seek succeeds, the next header read does not.
        let mut r = Reader::new(std::io::Cursor::new(&bytes[..1024]));
        r.next_entry().unwrap();
        r.skip_data().unwrap();
        assert!(r.next_entry().is_err());
    }

    #[test]
    fn system_tar_reads_what_we_write() {
        let Ok(out) = std::process::Command::new("tar").arg("--version").output() else {
            return; // no tar on this machine
        };
        assert!(out.status.success());
        let dir = tempfile::tempdir().unwrap();
        let long = format!(
            "targets/x0x/0.3.1/{}.x0x.wasm32-wasip1.wasm",
            "b".repeat(64)
        );
        let file = dir.path().join("b.tar");
        std::fs::write(
            &file,
            archive(&[("bundle.json", b"{\"a\":1}"), (&long, b"wasm")]),
        )
        .unwrap();
        let list = std::process::Command::new("tar")
            .arg("tf")
            .arg(&file)
            .output()
            .unwrap();
        assert!(list.status.success());
        let names = String::from_utf8(list.stdout).unwrap();
        assert_eq!(
            names.lines().collect::<Vec<_>>(),
            vec!["bundle.json", long.as_str()]
        );
    }

    #[test]
    fn rejects_corruption_and_unsupported_entries() {
        let mut bytes = archive(&[("a", b"x")]);
        bytes[0] = b'b'; // checksum no longer matches
        assert!(Reader::new(&bytes[..]).next_entry().is_err());
        let mut h = header("link", 0, 0).unwrap();
        h[156] = b'2';
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let err = parse_header(&h).unwrap_err();
        assert!(err.0.contains("unsupported entry type"), "{err}");
        // Truncated inside an entry.
        let bytes = archive(&[("a", &[1u8; 600])]);
        let mut r = Reader::new(&bytes[..700]);
        r.next_entry().unwrap();
        let mut sink = Vec::new();
        assert!(r.read_to_end(&mut sink).is_err());
        // No end marker.
        let bytes = archive(&[("a", b"x")]);
        let mut r = Reader::new(&bytes[..1024]);
        r.next_entry().unwrap();
        assert!(r.next_entry().is_err());
    }
}
