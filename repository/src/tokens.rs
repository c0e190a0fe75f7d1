//! Upload tokens: bearer tokens scoped to packages, stored hashed. This module is the token file and the offline
//! `x0x-dist token` commands; the server's check of a presented token is `x0x_dist_server::tokens`.
//!
//! `DIR/tokens.json` (mode 0600) holds `{"tokens": [{"id", "sha256", "packages", "created"}]}`: the SHA-256 of each
//! token, never the token. A token is `x0xd_` followed by 43 base64url characters (32 random bytes).
//!
//! The server reads the file through its store (`ObjectKey::Tokens`, the same key under a directory or a bucket)
//! and revalidates it on every authorization, so a token created or revoked here takes effect on a running server
//! from its next request on. The offline `x0x-dist token` commands edit the file of a repository directory in
//! place, under the repository's writer lock.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use x0x_dist_manifests::codes::Code;

use crate::error::{Error, Result};

/// The token file's name under a repository directory; the server's store names it the same
/// (`ObjectKey::Tokens`). Defined with the rest of the layout ([`crate::repo::Layout`]).
pub use crate::repo::TOKEN_FILE;

/// Prefix of every token (lets secret scanners recognise them).
pub const TOKEN_PREFIX: &str = "x0xd_";

/// One stored token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public identifier (for logs and revocation).
    pub id: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    /// Packages this token may publish.
    pub packages: Vec<String>,
    /// RFC 3339 creation time.
    pub created: String,
}

/// The token file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TokenFile {
    /// All tokens.
    pub tokens: Vec<TokenRecord>,
}

/// Path of the token file in a repository directory (the store's `ObjectKey::Tokens`).
pub fn token_file(repo: &Path) -> PathBuf {
    crate::repo::Layout::new(repo).tokens_file()
}

/// The repository's token records (empty if it has no token file).
pub fn list(repo: &Path) -> Result<Vec<TokenRecord>> {
    Ok(read_file(&token_file(repo))?.tokens)
}

fn read_file(path: &Path) -> Result<TokenFile> {
    match std::fs::read(path) {
        // Not a coded failure of the table's: `internal`, as before the crate had one error type.
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::new(Code::Internal, format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(e) => Err(Error::io("reading", path)(e)),
    }
}

/// Read-modify-write of the token file under the repository's writer lock, so that two `token` commands never
/// lose each other's change.
fn update<T>(repo: &Path, f: impl FnOnce(&mut TokenFile) -> Result<T>) -> Result<T> {
    let _lock = crate::lock::lock(repo, || {
        tracing::warn!("waiting for another writer of {} to finish", repo.display());
    })
    .map_err(Error::io("locking", repo))?;
    let path = token_file(repo);
    let mut file = read_file(&path)?;
    let out = f(&mut file)?;
    // Mode 0600 from creation, synced, renamed into place.
    let bytes = serde_json::to_vec_pretty(&file)
        .map_err(|e| Error::new(Code::Internal, format!("encoding the token file: {e}")))?;
    crate::repo::write_atomic(&path, &bytes, true)?;
    Ok(out)
}

/// Removes the token `id`; a running server refuses it from its next request on. Returns its record.
pub fn revoke(repo: &Path, id: &str) -> Result<TokenRecord> {
    update(repo, |file| {
        let i = file.tokens.iter().position(|t| t.id == id).ok_or_else(|| {
            Error::new(
                Code::UsageInvalid,
                format!(
                    "no token with id {id} in {} (`x0x-dist token list --repo {}` shows the ids)",
                    token_file(repo).display(),
                    repo.display()
                ),
            )
        })?;
        Ok(file.tokens.remove(i))
    })
}

/// Creates a token for `packages`, stores its hash in the repository, and returns the token.
pub fn create(repo: &Path, packages: &[String]) -> Result<(String, TokenRecord)> {
    let (token, record) = new_token(packages)?;
    update(repo, |file| {
        file.tokens.push(record.clone());
        Ok(())
    })?;
    Ok((token, record))
}

/// A new random token for `packages` and its record (hash only), stored nowhere yet (the file above, or the
/// coordinator's database).
pub fn new_token(packages: &[String]) -> Result<(String, TokenRecord)> {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let mut idb = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut idb);
    let record = TokenRecord {
        id: hex::encode(idb),
        sha256: hex::encode(sha2::Sha256::digest(token.as_bytes())),
        packages: packages.to_vec(),
        created: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| Error::new(Code::Internal, format!("formatting the time: {e}")))?,
    };
    Ok((token, record))
}
