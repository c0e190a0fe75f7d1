//! The durable replay memory of the OIDC exchange: every ID token exchanged (SHA-256 of `iss NUL jti`) until
//! it expires, kept across restarts. With a database (`--database`), in its table `x0x_dist_oidc_jti` (an
//! `INSERT … ON CONFLICT DO NOTHING`: one replica wins even if several saw the token at once); without one, in
//! the private store object `oidc-jti.json` (`{hex key: exp}`), read once and rewritten after each exchange
//! under a lock (replicas forward exchanges to their publish leader, so one process writes it). Entries expired
//! by more than the clock skew are dropped.
//!
//! [`super::Oidc::verify`] keeps its in-memory check (a replay within one process never touches the store);
//! this is the second, durable one, done before an upload token is issued. A failure to record refuses the
//! exchange (fail closed).
use std::collections::BTreeMap;

use x0x_dist_manifests::codes::Code;

use crate::coordinator::postgres::Postgres;
use crate::error::ApiError;
use crate::storage::{ObjectKey, Store};

/// The store-backed memory (no database): loaded on first use.
#[derive(Debug, Default)]
pub struct StoreLog {
    seen: tokio::sync::Mutex<Option<BTreeMap<String, i64>>>,
}

/// Records `key` (expiring at `exp`) at `now` in the database `db`, else in `store` (through `log`); `oidc.jti`
/// if it was exchanged before (even before a restart).
pub async fn record(
    store: &dyn Store,
    db: Option<&Postgres>,
    log: &StoreLog,
    key: &[u8; 32],
    exp: i64,
    now: i64,
) -> Result<(), ApiError> {
    let forget_before = now - super::CLOCK_SKEW;
    let fresh = match db {
        Some(db) => db.remember_jti(key, exp, forget_before).await?,
        None => record_in_store(store, log, key, exp, forget_before).await?,
    };
    if fresh {
        Ok(())
    } else {
        Err(ApiError::Refused {
            code: Code::OidcJti,
            detail: "the ID token was already exchanged (a replay; remembered across restarts until it expires)"
                .into(),
        })
    }
}

async fn record_in_store(
    store: &dyn Store,
    log: &StoreLog,
    key: &[u8; 32],
    exp: i64,
    forget_before: i64,
) -> Result<bool, ApiError> {
    let mut g = log.seen.lock().await;
    if g.is_none() {
        let loaded = match store.get_object(&ObjectKey::OidcReplay).await? {
            Some(o) => serde_json::from_slice(&o.bytes).map_err(|e| {
                ApiError::Internal(format!(
                    "{} is not {{key: exp}}: {e}",
                    ObjectKey::OidcReplay
                ))
            })?,
            None => BTreeMap::new(),
        };
        *g = Some(loaded);
    }
    let seen = g.as_mut().expect("loaded above");
    let hex_key = hex::encode(key);
    if seen.get(&hex_key).is_some_and(|e| *e >= forget_before) {
        return Ok(false);
    }
    seen.retain(|_, e| *e >= forget_before);
    seen.insert(hex_key.clone(), exp);
    let bytes = serde_json::to_vec(&*seen).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Err(e) = store.put_object(&ObjectKey::OidcReplay, bytes.into()).await {
        // Not recorded durably: forget it here too, and refuse (the caller fails closed).
        seen.remove(&hex_key);
        return Err(e.into());
    }
    Ok(true)
}
