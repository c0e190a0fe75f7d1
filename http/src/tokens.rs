//! Upload tokens: bearer tokens scoped to packages, stored hashed.
//!
//! `DIR/tokens.json` (mode 0600) holds `{"tokens": [{"id", "sha256", "packages", "created"}]}`: the SHA-256 of each
//! token, never the token. A token is `x0xd_` followed by 43 base64url characters (32 random bytes). Checking a
//! token hashes it and compares against every stored hash in constant time (no early exit), so neither the match
//! position nor a common prefix leaks through timing.
//!
//! The server reads the file through its store ([`ObjectKey::Tokens`]), revalidating its [`ETag`] on every
//! authorization (local: one `stat`; a remote store: one `HEAD`, only on the write routes that need a token), so
//! a token created or revoked takes effect on a running server from its next request on. The offline
//! `x0x-dist token` commands edit the file of a repository directory in place: the same key under the directory,
//! the same format.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;
use crate::storage::{ETag, ObjectKey, Store};

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

/// Path of the token file in a repository directory (the store's [`ObjectKey::Tokens`]).
pub fn token_file(repo: &Path) -> PathBuf {
    repo.join(ObjectKey::Tokens.as_key())
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

/// Token verification against the store's token file, reloaded when it changes.
pub struct Tokens {
    store: Arc<dyn Store>,
    /// The token file as last read, and the tag of the version read (local: the file's identity, so a
    /// revocation written within one mtime tick of the previous change is still seen).
    cache: Mutex<(Option<ETag>, Arc<TokenFile>)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("store", &self.store.describe())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens of the repository in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Mutex::new((None, Arc::new(TokenFile::default()))),
        }
    }

    fn cached(&self, etag: &ETag) -> Result<Option<Arc<TokenFile>>, ApiError> {
        let cache = self
            .cache
            .lock()
            .map_err(|_| ApiError::Internal("token cache poisoned".into()))?;
        Ok((cache.0.as_ref() == Some(etag)).then(|| cache.1.clone()))
    }

    async fn current(&self) -> Result<Arc<TokenFile>, ApiError> {
        let key = ObjectKey::Tokens;
        let Some(etag) = self.store.object_etag(&key).await? else {
            return Ok(Arc::new(TokenFile::default()));
        };
        if let Some(file) = self.cached(&etag)? {
            return Ok(file);
        }
        let Some(obj) = self.store.get_object(&key).await? else {
            return Ok(Arc::new(TokenFile::default()));
        };
        let file: Arc<TokenFile> = Arc::new(
            serde_json::from_slice(&obj.bytes)
                .map_err(|e| ApiError::Internal(format!("token file is invalid: {e}")))?,
        );
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| ApiError::Internal("token cache poisoned".into()))?;
        // Stamped with the tag of the version read, so a change after the check above is seen next time.
        *cache = (Some(obj.etag), file.clone());
        Ok(file)
    }

    /// Checks the `Authorization` header value for publishing `package`; returns the token id.
    pub async fn authorize(
        &self,
        header: Option<&str>,
        package: Option<&str>,
    ) -> Result<String, ApiError> {
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::MissingToken)?;
        let presented = sha2::Sha256::digest(token.as_bytes());
        let file = self.current().await?;
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

    #[tokio::test]
    async fn create_and_authorize() {
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
        let tokens = Tokens::new(Arc::new(
            crate::storage::local::LocalStore::open(dir.path()).unwrap(),
        ));
        assert_eq!(
            tokens
                .authorize(Some(&format!("Bearer {t1}")), Some("x0x"))
                .await
                .unwrap(),
            r1.id
        );
        assert_eq!(
            tokens
                .authorize(Some(&format!("Bearer {t2}")), Some("x0x"))
                .await
                .unwrap_err()
                .code(),
            "auth.forbidden"
        );
        assert_eq!(
            tokens
                .authorize(None, Some("x0x"))
                .await
                .unwrap_err()
                .code(),
            "auth.missing"
        );
        assert_eq!(
            tokens
                .authorize(Some(&format!("Basic {t1}")), None)
                .await
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
                .await
                .unwrap_err()
                .code(),
            "auth.invalid"
        );
        assert!(tokens
            .authorize(Some(&format!("Bearer {t2}")), None)
            .await
            .is_ok());
    }
}
