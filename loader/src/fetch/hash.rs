//! Hashing downloads: what a target must match ([`Expected`]), streaming SHA-256/SHA-512, and the final check.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256, Sha512};
use x0x_dist_manifests::TargetFile;

use crate::error::Error;

/// What a downloaded target must match: its length and the hashes to check (at least one).
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The verified length.
    pub length: u64,
    /// The verified SHA-256 (hex), if checked.
    pub sha256: Option<&'a str>,
    /// The verified SHA-512 (hex), if checked.
    pub sha512: Option<&'a str>,
}

impl<'a> Expected<'a> {
    /// Every hash `file` lists (as python-tuf: each listed algorithm is checked; one we cannot compute, or
    /// none at all, refuses the target with `target.digest_mismatch` before anything is downloaded).
    pub fn of(shown_name: &str, file: &'a TargetFile) -> Result<Self, Error> {
        file.check_hash_algorithms(shown_name)
            .map_err(|source| Error::Metadata {
                context: format!("target {shown_name}"),
                source,
            })?;
        Ok(Expected {
            length: file.length,
            sha256: file.hashes.get("sha256").map(String::as_str),
            sha512: file.hashes.get("sha512").map(String::as_str),
        })
    }
}

/// The digests of a download (hex).
#[derive(Debug)]
pub(super) struct Digests {
    pub(super) sha256: String,
    pub(super) sha512: Option<String>,
}

/// SHA-256, and SHA-512 when asked for, over the same bytes.
pub(super) struct Hashes {
    sha256: Sha256,
    sha512: Option<Sha512>,
}

impl Hashes {
    pub(super) fn new(sha512: bool) -> Self {
        Hashes {
            sha256: Sha256::new(),
            sha512: sha512.then(Sha512::new),
        }
    }
    pub(super) fn update(&mut self, b: &[u8]) {
        self.sha256.update(b);
        if let Some(h) = &mut self.sha512 {
            h.update(b);
        }
    }
    pub(super) fn finish(self) -> Digests {
        Digests {
            sha256: hex::encode(self.sha256.finalize()),
            sha512: self.sha512.map(|h| hex::encode(h.finalize())),
        }
    }
}

/// Streams `path` through SHA-256 and returns `(hex digest, length)`.
pub fn sha256_file(path: &Path) -> Result<(String, u64), Error> {
    let mut file = std::fs::File::open(path).map_err(Error::io("open", path))?;
    sha256_reader(&mut file).map_err(Error::io("read", path))
}

/// Streams a reader through SHA-256 (1 MiB buffer) and returns `(hex digest, length)`.
pub fn sha256_reader(r: &mut dyn Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let total = hash_into(&mut |b| hasher.update(b), r)?;
    Ok((hex::encode(hasher.finalize()), total))
}

/// Feeds everything `r` yields into `update` (1 MiB buffer); returns the byte count.
pub(super) fn hash_into(update: &mut dyn FnMut(&[u8]), r: &mut dyn Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        update(&buf[..n]);
        total += n as u64;
    }
    Ok(total)
}

pub(super) fn check(
    shown_name: &str,
    want: &Expected<'_>,
    got: &Digests,
    len: u64,
) -> Result<(), Error> {
    if len != want.length {
        return Err(Error::LengthMismatch {
            target: shown_name.to_owned(),
            expected: want.length,
            actual: len,
        });
    }
    let pairs = [
        ("sha256", want.sha256, Some(got.sha256.as_str())),
        ("sha512", want.sha512, got.sha512.as_deref()),
    ];
    for (algorithm, expected, actual) in pairs {
        let Some(expected) = expected else { continue };
        let actual = actual.unwrap_or_default();
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(Error::DigestMismatch {
                target: shown_name.to_owned(),
                algorithm,
                expected: expected.to_owned(),
                actual: actual.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vector() {
        let (d, n) = sha256_reader(&mut &b"abc"[..]).unwrap();
        assert_eq!(
            d,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(n, 3);
    }
}
