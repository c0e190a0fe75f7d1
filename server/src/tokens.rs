//! Upload tokens: bearer tokens scoped to packages, stored hashed.
//!
//! `DIR/tokens.json` (mode 0600) holds `{"tokens": [{"id", "sha256", "packages", "created"}]}`: the SHA-256 of each
//! token, never the token. A token is `x0xd_` followed by 43 base64url characters (32 random bytes). Checking a
//! token hashes it and compares against every stored hash in constant time (no early exit), so neither the match
//! position nor a common prefix leaks through timing. The file is re-read when it changes, so `x0x-dist token create`
//! takes effect on a running server.
use crate::files::FileStamp;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;

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

/// Path of the token file in a repository.
pub fn token_file(repo: &Path) -> PathBuf {
    repo.join("tokens.json")
}

/// The repository's token records (empty if it has no token file).
pub fn list(repo: &Path) -> anyhow::Result<Vec<TokenRecord>> {
    Ok(read_file(&token_file(repo))?.tokens)
}

fn read_file(path: &Path) -> anyhow::Result<TokenFile> {
    match fs_err::read(path) {
        Ok(b) => Ok(serde_json::from_slice(&b)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(e) => Err(e.into()),
    }
}

/// Read-modify-write of the token file under the repository's writer lock, so that two `token` commands never
/// lose each other's change.
fn update<T>(
    repo: &Path,
    f: impl FnOnce(&mut TokenFile) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let _lock = crate::lock::lock(repo, || {
        tracing::warn!("waiting for another writer of {} to finish", repo.display());
    })?;
    let path = token_file(repo);
    let mut file = read_file(&path)?;
    let out = f(&mut file)?;
    // Mode 0600 from creation, synced, renamed into place.
    crate::repo::write_atomic(&path, &serde_json::to_vec_pretty(&file)?, true)?;
    Ok(out)
}

/// Removes the token `id`; a running server refuses it from its next request on. Returns its record.
pub fn revoke(repo: &Path, id: &str) -> anyhow::Result<TokenRecord> {
    update(repo, |file| {
        let i = file.tokens.iter().position(|t| t.id == id).ok_or_else(|| {
            crate::error::CliError::new(
                "usage.invalid",
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
pub fn create(repo: &Path, packages: &[String]) -> anyhow::Result<(String, TokenRecord)> {
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
            .format(&time::format_description::well_known::Rfc3339)?,
    };
    update(repo, |file| {
        file.tokens.push(record.clone());
        Ok(())
    })?;
    Ok((token, record))
}

/// Token verification against the repository's token file, reloaded when it changes.
#[derive(Debug)]
pub struct Tokens {
    path: PathBuf,
    /// The token file as last read, and the identity of the file it was read from ([`FileStamp`]: a revocation
    /// written within one mtime tick of the previous change is still seen).
    cache: Mutex<(Option<FileStamp>, TokenFile)>,
}

impl Tokens {
    /// Tokens of the repository at `repo`.
    pub fn new(repo: &Path) -> Self {
        Self {
            path: token_file(repo),
            cache: Mutex::new((None, TokenFile::default())),
        }
    }

    fn current(&self) -> Result<TokenFile, ApiError> {
        let stamp = match std::fs::metadata(&self.path) {
            Ok(m) => Some(FileStamp::of(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TokenFile::default()),
            Err(e) => return Err(ApiError::io("reading token file", e)),
        };
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| ApiError::Internal("token cache poisoned".into()))?;
        if cache.0.is_none() || cache.0 != stamp {
            let bytes =
                std::fs::read(&self.path).map_err(|e| ApiError::io("reading token file", e))?;
            let file: TokenFile = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::Internal(format!("token file is invalid: {e}")))?;
            *cache = (stamp, file);
        }
        Ok(cache.1.clone())
    }

    /// Checks the `Authorization` header value for publishing `package`; returns the token id.
    pub fn authorize(
        &self,
        header: Option<&str>,
        package: Option<&str>,
    ) -> Result<String, ApiError> {
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::MissingToken)?;
        let presented = sha2::Sha256::digest(token.as_bytes());
        let file = self.current()?;
        let mut found: Option<&TokenRecord> = None;
        for rec in &file.tokens {
            let Ok(stored) = hex::decode(&rec.sha256) else {
                continue;
            };
            if bool::from(stored.as_slice().ct_eq(presented.as_slice())) {
                found = Some(rec);
            }
        }
        let rec = found.ok_or(ApiError::InvalidToken)?;
        if let Some(p) = package {
            if !rec.packages.iter().any(|x| x == p) {
                return Err(ApiError::Forbidden(p.to_owned()));
            }
        }
        Ok(rec.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_authorize() {
        let dir = tempfile::tempdir().unwrap();
        let (t1, r1) = create(dir.path(), &["x0x".into()]).unwrap();
        let (t2, _) = create(dir.path(), &["other".into()]).unwrap();
        assert!(t1.starts_with(TOKEN_PREFIX) && t1.len() == TOKEN_PREFIX.len() + 43);
        let stored = std::fs::read_to_string(token_file(dir.path())).unwrap();
        assert!(
            !stored.contains(&t1[TOKEN_PREFIX.len()..]),
            "token stored in clear"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(token_file(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let tokens = Tokens::new(dir.path());
        assert_eq!(
            tokens
                .authorize(Some(&format!("Bearer {t1}")), Some("x0x"))
                .unwrap(),
            r1.id
        );
        assert_eq!(
            tokens
                .authorize(Some(&format!("Bearer {t2}")), Some("x0x"))
                .unwrap_err()
                .code(),
            "auth.forbidden"
        );
        assert_eq!(
            tokens.authorize(None, Some("x0x")).unwrap_err().code(),
            "auth.missing"
        );
        assert_eq!(
            tokens
                .authorize(Some(&format!("Basic {t1}")), None)
                .unwrap_err()
                .code(),
            "auth.missing"
        );
        // Change the last character to a different one (a fixed replacement equals it 1 time in 64).
        let mut wrong = t1.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(
            tokens
                .authorize(Some(&format!("Bearer {wrong}")), None)
                .unwrap_err()
                .code(),
            "auth.invalid"
        );
        assert!(tokens
            .authorize(Some(&format!("Bearer {t2}")), None)
            .is_ok());
    }
}
