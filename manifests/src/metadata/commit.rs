//! The one way a repository's next snapshot and timestamp are made, whoever writes them (the server's publish
//! and timestamp re-sign, the offline `init`/`package add`/`release`): no I/O here, the caller writes the two
//! files in the order returned, the snapshot first, the timestamp last (the commit point).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{MetaFile, NewRole as _, Signed, Snapshot, Timestamp};
use crate::error::Result;
use crate::keys::SigningKey;
use crate::names::Sha256;

/// A signed snapshot and the signed timestamp that pins it, as bytes to write.
#[derive(Debug, Clone)]
pub struct SnapshotCommit {
    /// The snapshot's version (its file is `<version>.snapshot.json`).
    pub snapshot_version: u64,
    /// The signed snapshot.
    pub snapshot: Vec<u8>,
    /// The timestamp's version.
    pub timestamp_version: u64,
    /// The signed timestamp (`timestamp.json`).
    pub timestamp: Vec<u8>,
}

/// Applies `changes` (role name without `.json`, new version) to `snapshot`'s meta, signs it with
/// `snapshot_key`, then makes timestamp `timestamp_version` (expiring at `timestamp_expires`) pinning the
/// snapshot's version, length and SHA-256, signed with `timestamp_key`.
pub fn sign_snapshot_and_timestamp(
    mut snapshot: Snapshot,
    changes: &[(&str, u64)],
    timestamp_version: u64,
    timestamp_expires: OffsetDateTime,
    snapshot_key: &SigningKey,
    timestamp_key: &SigningKey,
) -> Result<SnapshotCommit> {
    for (role, v) in changes {
        snapshot
            .meta
            .insert(format!("{role}.json"), MetaFile::version(*v));
    }
    let snapshot_version = snapshot.version;
    let snap = Signed::new(snapshot, &[snapshot_key])?.to_bytes();
    let mut ts = Timestamp::empty(timestamp_version, timestamp_expires);
    let mut m = MetaFile::version(snapshot_version);
    m.length = Some(snap.len() as u64);
    m.hashes = Some(BTreeMap::from([(
        "sha256".to_owned(),
        Sha256::digest(&snap).to_hex(),
    )]));
    ts.meta.insert("snapshot.json".to_owned(), m);
    Ok(SnapshotCommit {
        snapshot_version,
        snapshot: snap,
        timestamp_version,
        timestamp: Signed::new(ts, &[timestamp_key])?.to_bytes(),
    })
}
