//! `GET|HEAD /tuf/metadata/{file}` and `GET|HEAD /tuf/targets/{*path}`: the TUF repository, read-only, no auth,
//! read through the store. Versioned metadata (`N.role.json`) is cached for the life of the process; the mutable
//! files (`timestamp.json`, `root.json`) are revalidated as [`crate::state`] describes (per request by the
//! object's tag when that is cheap, else against the tag the store poller last saw).
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::error::ApiError;
use crate::files::{self, CachedFile, Conditions};
use crate::state::AppState;
use crate::storage::{ObjectKey, ObjectPath};

/// `GET|HEAD /tuf/metadata/{file}`
pub async fn metadata(
    State(st): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let object = ObjectKey::metadata(&file)?;
    let cond = Conditions::new(&method, &headers);
    let versioned = object.is_immutable();
    let key = format!("m/{file}");
    let cache_control = if versioned {
        files::IMMUTABLE
    } else {
        files::SHORT
    };
    if versioned {
        if let Some(f) = st.cache.get(&key) {
            return files::serve_memory(&cond, &f, cache_control, "application/json");
        }
    }
    // With a database the current timestamp is the database's (the newest this replica has seen), not the
    // store's convenience copy.
    if st.coordinator.authoritative() && file == "timestamp.json" {
        let h = st.served_timestamp().await?;
        let stamp = Some(crate::storage::ETag(format!(
            "db:{}:{}",
            h.version, h.sha256
        )));
        if let Some(f) = st.cache.get(&key).filter(|f| f.stamp == stamp) {
            return files::serve_memory(&cond, &f, cache_control, "application/json");
        }
        let f = CachedFile::new(h.bytes, true, stamp);
        if st.cache.admits(f.bytes.len() as u64) {
            st.cache.insert(key, f.clone());
        }
        return files::serve_memory(&cond, &f, cache_control, "application/json");
    }
    let not_found = || ApiError::NotFound(format!("metadata file {}", crate::error::quote(&file)));
    // Poller mode: a versioned file found missing stays missing until the timestamp changes (clients probe
    // `N+1.root.json` on every refresh; no store round trip for each).
    let probe = if versioned && !st.store.etag_is_cheap() {
        let generation = st.published_timestamp().await?;
        if st.known_absent(&file, &generation) {
            return Err(not_found());
        }
        Some(generation)
    } else {
        None
    };
    let stamp = if versioned {
        None
    } else {
        // Cheap tags: the object's own (local: one stat); else the timestamp tag the poller last saw.
        let stamp = st.mutable_stamp(&object).await?;
        if st.store.etag_is_cheap() && stamp.is_none() {
            return Err(not_found());
        }
        if let Some(f) = st.cache.get(&key) {
            if f.stamp.is_some() && f.stamp == stamp {
                return files::serve_memory(&cond, &f, cache_control, "application/json");
            }
        }
        stamp
    };
    let Some(obj) = st.store.get_object(&object).await? else {
        if let Some(generation) = &probe {
            st.note_absent(&file, generation);
        }
        return Err(not_found());
    };
    let stamp = match stamp {
        // The tag of the version actually read (it may be newer than the one checked above).
        Some(_) if st.store.etag_is_cheap() => Some(obj.etag),
        s => s,
    };
    let f = CachedFile::new(obj.bytes, true, stamp);
    if st.cache.admits(f.bytes.len() as u64) {
        st.cache.insert(key, f.clone());
    }
    files::serve_memory(&cond, &f, cache_control, "application/json")
}

/// `GET|HEAD /tuf/targets/{*path}`
pub async fn target(
    State(st): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let path = ObjectPath::parse(&path)?;
    let cond = Conditions::new(&method, &headers);
    let name = path.file_name();
    let ctype = files::content_type(name);
    // Consistent snapshots: `<sha256>.<file>`; the hash prefix makes the file immutable.
    let hash_prefix = name
        .split_once('.')
        .map(|(h, _)| h)
        .filter(|h| crate::storage::parse_digest(h).is_ok());
    let cache_control = if hash_prefix.is_some() {
        files::IMMUTABLE
    } else {
        files::SHORT
    };
    let key = format!("t/{}", path.as_str());
    if let Some(f) = st.cache.get(&key) {
        return files::serve_memory(&cond, &f, cache_control, ctype);
    }
    let len = st
        .store
        .target_len(&path)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("target {}", path.as_str())))?;
    if let Some(h) = hash_prefix {
        let slot = if st.cache.admits(len) {
            st.cache.try_load(&key)
        } else {
            None
        };
        if let Some(_slot) = slot {
            let bytes = st.store.read_target_all(&path).await?;
            let mut f = CachedFile::new(bytes, name.ends_with(".json"), None);
            f.etag = format!("\"{}\"", &h[..32]);
            st.cache.insert(key, f.clone());
            return files::serve_memory(&cond, &f, cache_control, ctype);
        }
        let etag = format!("\"{}\"", &h[..32]);
        let store = st.store.clone();
        return files::serve_stream(&cond, len, &etag, cache_control, ctype, |r| async move {
            Ok(store.read_target(&path, r).await?)
        })
        .await;
    }
    // Not hash-prefixed (not produced by this server, but serve it correctly): weak validator from the length.
    let etag = format!("\"len-{len}\"");
    let store = st.store.clone();
    files::serve_stream(&cond, len, &etag, cache_control, ctype, |r| async move {
        Ok(store.read_target(&path, r).await?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_versioned(name: &str) -> bool {
        ObjectKey::Metadata(name.to_owned()).is_immutable()
    }

    fn check_metadata_name(name: &str) -> Result<ObjectKey, crate::storage::StorageError> {
        ObjectKey::metadata(name)
    }

    #[test]
    fn names() {
        assert!(is_versioned("1.root.json") && is_versioned("12.x0x.json"));
        assert!(
            !is_versioned("timestamp.json") && !is_versioned("root.json") && !is_versioned("1.")
        );
        assert!(check_metadata_name("1.root.json").is_ok());
        for bad in [
            "..",
            "../root.json",
            ".json",
            "root.txt",
            "a b.json",
            "%2e%2e.json",
        ] {
            assert!(check_metadata_name(bad).is_err(), "{bad}");
        }
    }
}
