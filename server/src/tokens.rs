//! Checking upload tokens at request time: [`Tokens`] verifies a presented bearer token against the repository's
//! token file. The file's format and the offline `x0x-dist token` commands (create, list, revoke) are
//! `x0x_dist_repository::tokens`.
//!
//! Checking a token hashes it and compares against every stored hash in constant time (no early exit), so neither
//! the match position nor a common prefix leaks through timing. The server reads the file through its store
//! ([`ObjectKey::Tokens`]), revalidating its [`ETag`] on every authorization (local: one `stat`; a remote store:
//! one `HEAD`, only on the write routes that need a token), so a token created or revoked takes effect on a
//! running server from its next request on.
//!
//! With a coordinator database (`crate::coordinator::postgres`) the tokens live there instead: each
//! authorization is one indexed lookup of the presented token's hash (which also records its last use), so a
//! token revoked through any replica is refused by every replica from the next request on.
use std::sync::{Arc, Mutex};

use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use x0x_dist_repository::tokens::{TokenFile, TokenRecord};

use crate::error::ApiError;
use crate::storage::{ETag, ObjectKey, Store};

/// Token verification against the store's token file, reloaded when it changes.
pub struct Tokens {
    store: Arc<dyn Store>,
    /// The coordinator; its database, when it has one, holds the tokens.
    coordinator: Option<Arc<dyn crate::coordinator::Coordinator>>,
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
            coordinator: None,
            cache: Mutex::new((None, Arc::new(TokenFile::default()))),
        }
    }

    /// Tokens of the repository in `store`, or in the coordinator's database when it has one.
    pub fn with_coordinator(
        store: Arc<dyn Store>,
        coordinator: Arc<dyn crate::coordinator::Coordinator>,
    ) -> Self {
        Self {
            coordinator: Some(coordinator),
            ..Self::new(store)
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
        if let Some(db) = self.coordinator.as_ref().and_then(|c| c.database()) {
            let (id, packages) = db
                .authorize(&hex::encode(presented))
                .await?
                .ok_or(ApiError::InvalidToken)?;
            if let Some(p) = package {
                if !packages.iter().any(|x| x == p) {
                    return Err(ApiError::Forbidden(p.to_owned()));
                }
            }
            return Ok(id);
        }
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
    use x0x_dist_manifests::codes::Coded as _;
    use x0x_dist_repository::tokens::{create, token_file, TOKEN_PREFIX};

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
