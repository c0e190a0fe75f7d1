//! The published state as the server reads it: `root.json`, `timestamp.json` and the snapshot, top-level targets
//! and package roles it pins, read through the [`Store`] and parsed (trusted as the server's own). Read by the
//! routes, the package views and the publish path alike; writes live in [`crate::publish`].
use std::collections::BTreeMap;

use time::OffsetDateTime;
use x0x_dist_manifests::metadata::DelegatedRole;
use x0x_dist_manifests::{KeyId, PublicKey, Root, Signed, Snapshot, Targets, Timestamp};

use crate::error::ApiError;
use crate::storage::{ObjectKey, Store};

/// Formats a time as TUF writes it.
pub fn fmt_time(t: OffsetDateTime) -> String {
    x0x_dist_manifests::cjson::datetime::format(t)
}

async fn read_meta(store: &dyn Store, name: &str) -> Result<Vec<u8>, ApiError> {
    let key = ObjectKey::metadata(name)?;
    match store.get_object(&key).await? {
        Some(o) => Ok(o.bytes.to_vec()),
        None => Err(ApiError::Internal(format!(
            "repository is missing {key} ({})",
            store.describe()
        ))),
    }
}

/// The expiry of the served timestamp.
pub async fn timestamp_expiry(store: &dyn Store) -> Result<OffsetDateTime, ApiError> {
    let ts = Signed::<Timestamp>::from_slice(&read_meta(store, "timestamp.json").await?)?;
    Ok(ts.signed().expires)
}

/// The published state as on disk (what `timestamp.json` points to), parsed but trusted as the server's own.
#[derive(Debug, Clone)]
pub struct Published {
    /// Latest root.
    pub root: Signed<Root>,
    /// Current timestamp.
    pub timestamp: Signed<Timestamp>,
    /// Current snapshot.
    pub snapshot: Signed<Snapshot>,
    /// Current top-level targets.
    pub targets: Signed<Targets>,
}

impl Published {
    /// Reads the current state: `root.json`, `timestamp.json`, the snapshot and targets it pins.
    pub async fn load(store: &dyn Store) -> Result<Self, ApiError> {
        let ts = read_meta(store, "timestamp.json").await?;
        Self::load_at(store, &ts).await
    }

    /// The state the timestamp `ts` pins (with a database, the current timestamp is the database's, not the
    /// store's copy).
    pub async fn load_at(store: &dyn Store, ts: &[u8]) -> Result<Self, ApiError> {
        let timestamp = Signed::<Timestamp>::from_slice(ts)?;
        let sv = timestamp.signed().snapshot_meta().version;
        // `root.json` (mutable) and the versioned snapshot and targets (immutable: remembered by remote stores)
        // are read at once: one round trip, not three.
        let root = async {
            let bytes = read_meta(store, "root.json").await?;
            Ok::<_, ApiError>(Signed::<Root>::from_slice(&bytes)?)
        };
        let chain = async {
            let snapshot = Signed::<Snapshot>::from_slice(
                &read_meta(store, &format!("{sv}.snapshot.json")).await?,
            )?;
            let tv = snapshot
                .signed()
                .meta
                .get("targets.json")
                .map(|m| m.version)
                .ok_or_else(|| ApiError::Internal("snapshot lists no targets.json".into()))?;
            let targets = Signed::<Targets>::from_slice(
                &read_meta(store, &format!("{tv}.targets.json")).await?,
            )?;
            Ok::<_, ApiError>((snapshot, targets))
        };
        let (root, (snapshot, targets)) = futures_util::try_join!(root, chain)?;
        Ok(Self {
            root,
            timestamp,
            snapshot,
            targets,
        })
    }

    /// The delegation of `package` and the delegating keys.
    pub fn delegation(
        &self,
        package: &str,
    ) -> Result<(&DelegatedRole, &BTreeMap<KeyId, PublicKey>), ApiError> {
        let d = self
            .targets
            .signed()
            .delegations
            .as_ref()
            .ok_or_else(|| ApiError::PackageNotFound(package.to_owned()))?;
        let role = d
            .roles
            .iter()
            .find(|r| r.name == package)
            .ok_or_else(|| ApiError::PackageNotFound(package.to_owned()))?;
        Ok((role, &d.keys))
    }

    /// Names of the delegated packages, in delegation order.
    pub fn packages(&self) -> Vec<String> {
        self.targets
            .signed()
            .delegations
            .as_ref()
            .map(|d| d.roles.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default()
    }

    /// The current version of `package`'s role (0: never published).
    pub fn role_version(&self, package: &str) -> u64 {
        self.snapshot
            .signed()
            .meta
            .get(&format!("{package}.json"))
            .map_or(0, |m| m.version)
    }

    /// The current role of `package`, if published.
    pub async fn load_role(
        &self,
        store: &dyn Store,
        package: &str,
    ) -> Result<Option<RoleWithBytes>, ApiError> {
        let Some(bytes) = self.load_role_bytes(store, package).await? else {
            return Ok(None);
        };
        Ok(Some((Signed::<Targets>::from_slice(&bytes)?, bytes)))
    }

    /// The bytes of the current role of `package`, if published (not parsed: big roles parse off the async
    /// workers).
    pub async fn load_role_bytes(
        &self,
        store: &dyn Store,
        package: &str,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let v = self.role_version(package);
        if v == 0 {
            return Ok(None);
        }
        Ok(Some(
            read_meta(store, &format!("{v}.{package}.json")).await?,
        ))
    }
}

/// A parsed role and its exact bytes.
pub type RoleWithBytes = (Signed<Targets>, Vec<u8>);

/// Runs blocking file work off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("task failed: {e}")))?
}
