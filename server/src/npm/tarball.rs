//! Byte-for-byte deterministic npm tarballs: a gzipped ustar archive whose entries are `package/<path>` in the
//! order given (callers sort them, `package.json` first), every header with mode 0644, uid/gid 0 and the fixed
//! mtime npm itself uses for packed files (1985-10-26T08:15:00Z), gzip with a fixed level, no file name, mtime
//! 0 and OS byte 255. The same files therefore always give the same bytes, on every replica and mirror, and so
//! the same `dist.integrity` (SHA-512) and `dist.shasum` (SHA-1).
use std::io::Write as _;

use base64::Engine as _;
use sha2::Digest as _;
use x0x_dist_repository::bundle::tar;

/// The mtime npm writes into packed tarballs (`npm pack`: 1985-10-26T08:15:00.000Z).
pub const NPM_MTIME: u64 = 499_162_500;

/// gzip level: zlib's default, as `npm pack` uses.
const LEVEL: u32 = 6;

/// A built tarball and what a packument says of it.
#[derive(Debug, Clone)]
pub struct Tarball {
    /// The `.tgz` bytes.
    pub bytes: bytes::Bytes,
    /// What the packument's `dist` says of them.
    pub dist: Dist,
}

/// A tarball's `dist` fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dist {
    /// `sha512-<base64>` of the tarball.
    pub integrity: String,
    /// Hex SHA-1 of the tarball (npm's legacy check).
    pub shasum: String,
    /// Number of files.
    pub file_count: u64,
    /// Sum of the files' sizes.
    pub unpacked_size: u64,
}

/// Builds the tarball of `files` (package-relative path, bytes), in the order given.
pub fn build(files: &[(String, Vec<u8>)]) -> Result<Tarball, tar::TarError> {
    let mut t = Vec::new();
    let mut unpacked = 0u64;
    for (name, data) in files {
        t.extend_from_slice(&tar::header(
            &format!("package/{name}"),
            data.len() as u64,
            NPM_MTIME,
        )?);
        t.extend_from_slice(data);
        t.resize(t.len().div_ceil(tar::BLOCK) * tar::BLOCK, 0);
        unpacked += data.len() as u64;
    }
    t.resize(t.len() + 2 * tar::BLOCK, 0);
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(
            Vec::with_capacity(t.len() / 2),
            flate2::Compression::new(LEVEL),
        );
    gz.write_all(&t)
        .map_err(|e| tar::TarError(format!("gzip: {e}")))?;
    let bytes = gz
        .finish()
        .map_err(|e| tar::TarError(format!("gzip: {e}")))?;
    let dist = Dist {
        integrity: format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&bytes))
        ),
        shasum: hex::encode(sha1(&bytes)),
        file_count: files.len() as u64,
        unpacked_size: unpacked,
    };
    Ok(Tarball {
        bytes: bytes.into(),
        dist,
    })
}

/// SHA-1 (FIPS 180-4), for npm's legacy `shasum` only: npm checks `integrity` (SHA-512) when it is present.
/// (No SHA-1 crate in the dependency tree; the names are the standard's.)
#[allow(clippy::many_single_char_names)]
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_vectors() {
        assert_eq!(
            hex::encode(sha1(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex::encode(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = vec![b'a'; 1_000_000];
        assert_eq!(
            hex::encode(sha1(&long)),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn same_files_same_bytes() {
        let files = vec![
            ("package.json".to_owned(), b"{}\n".to_vec()),
            ("lib/a.js".to_owned(), vec![7u8; 1000]),
        ];
        let a = build(&files).unwrap();
        let b = build(&files).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.dist, b.dist);
        assert!(a.dist.integrity.starts_with("sha512-"));
        assert_eq!(a.dist.file_count, 2);
        assert_eq!(a.dist.unpacked_size, 1003);
        // gzip header: no mtime, OS 255.
        assert_eq!(&a.bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(a.bytes[9], 255);
    }
}
