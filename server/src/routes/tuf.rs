//! `GET|HEAD /tuf/metadata/{file}` and `GET|HEAD /tuf/targets/{*path}`: the TUF repository, read-only, no auth.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::error::ApiError;
use crate::files::{self, CachedFile, Conditions};
use crate::state::AppState;
use crate::storage::{check_segment, ObjectPath};

/// Whether a metadata file name is versioned (`N.role.json`), hence immutable.
fn is_versioned(name: &str) -> bool {
    name.split_once('.').is_some_and(|(n, rest)| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
    })
}

/// Validates a metadata file name: one safe segment ending in `.json`.
fn check_metadata_name(name: &str) -> Result<(), ApiError> {
    check_segment(name)
        .map_err(|why| ApiError::InvalidPath(format!("{why}: metadata file {name:?}")))?;
    if !name.ends_with(".json") || name.len() <= ".json".len() {
        return Err(ApiError::InvalidPath(format!(
            "metadata file names end in .json: {name:?}"
        )));
    }
    Ok(())
}

/// `GET|HEAD /tuf/metadata/{file}`
pub async fn metadata(
    State(st): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    check_metadata_name(&file)?;
    let cond = Conditions::new(&method, &headers);
    let versioned = is_versioned(&file);
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
    let path = st.repo_dir.join("metadata").join(&file);
    // A plain stat: microseconds on a local disk, cheaper than a trip through the blocking pool.
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Err(ApiError::NotFound(format!("metadata file {file}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::NotFound(format!("metadata file {file}")))
        }
        Err(e) => return Err(ApiError::io("stat metadata", e)),
    };
    let stamp = Some(files::FileStamp::of(&meta));
    if !versioned {
        if let Some(f) = st.cache.get(&key) {
            if f.stamp.is_some() && f.stamp == stamp {
                return files::serve_memory(&cond, &f, cache_control, "application/json");
            }
        }
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::io("reading metadata", e))?;
    let f = CachedFile::new(bytes.into(), true, if versioned { None } else { stamp });
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
        .filter(|h| crate::storage::Digest::parse(h).is_ok());
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
            store.read_target(&path, r).await
        })
        .await;
    }
    // Not hash-prefixed (not produced by this server, but serve it correctly): weak validator from the length.
    let etag = format!("\"len-{len}\"");
    let store = st.store.clone();
    files::serve_stream(&cond, len, &etag, cache_control, ctype, |r| async move {
        store.read_target(&path, r).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
