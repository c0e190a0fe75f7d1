//! The release record of one version: the signed metadata its `x0x` package embeds, and the `dist` (integrity,
//! shasum, sizes) of every npm package of the version, written once to the store (`npm/<package>-<version>
//! .record.json`) and never changed.
//!
//! Why a record: npm clients pin a tarball's SHA-512 in lockfiles, so a version's tarball must never change, but
//! the metadata the loader package embeds (so that `require` verifies the platform package with no network)
//! includes `timestamp.json`, which the origin re-signs every few hours. The record freezes the chain as it was
//! when the version was first served; every tarball is then a pure function of (record, verified target bytes,
//! the loader files compiled into the server) and is rebuilt — and checked against the record's integrity —
//! whenever it is served. A pull-through mirror takes its upstream's record (`/npm/-/x0x-dist/record/P/V`)
//! after verifying its signatures from the mirror's own trusted root, so the mirror serves the very bytes the
//! origin serves.
//!
//! Invariants: a record is written only after every tarball of its version was built from bytes that matched
//! the signed hashes; its metadata always verifies from the trust anchor (checked at every load); it lists
//! exactly the roots, timestamp, snapshot, top-level targets and package role of that chain.
use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::metadata::{Revocations, Signed, Timestamp, REVOCATIONS_ROLE};
use x0x_dist_manifests::verify::TrustedSet;
use x0x_dist_manifests::{Platform, TargetFile};

use super::contents::ReleaseTarget;
use super::tarball::Dist;
use crate::error::ApiError;

/// The record's `format`.
pub const FORMAT: &str = "x0x-dist-npm-record";

/// A release record (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// [`FORMAT`].
    pub format: String,
    /// The repository package (`x0x`).
    pub package: String,
    /// The release version.
    pub version: String,
    /// When the record was made (RFC 3339): the packument's `time` for this version.
    pub created: String,
    /// The signed metadata files the loader package embeds: file name → base64 bytes.
    pub metadata: BTreeMap<String, String>,
    /// npm package name → its tarball's `dist`.
    pub dist: BTreeMap<String, Dist>,
}

/// The store object name of a record.
pub fn object_name(package: &str, version: &str) -> String {
    format!("{package}-{version}.record.json")
}

/// A record's metadata, verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The version's targets, in platform-table order, with their signed entries.
    pub targets: Vec<(ReleaseTarget, TargetFile)>,
    /// The metadata files, by name (sorted).
    pub files: Vec<(String, Vec<u8>)>,
    /// The oldest root of the chain (shipped as the package's `root.json`, the trust anchor of the loader).
    pub first_root: Vec<u8>,
}

fn bad(detail: String) -> ApiError {
    ApiError::Metadata {
        code: Code::MetadataMissingRole,
        detail,
    }
}

fn root_version(name: &str) -> Option<u64> {
    name.strip_suffix(".root.json").and_then(|v| v.parse().ok())
}

/// The roots of a chain: how many, and the oldest one's bytes.
struct Roots {
    count: usize,
    first: Vec<u8>,
}

/// Verifies the head of a metadata set (roots from `anchor`, `timestamp.json`, the snapshot it pins) at a time
/// the timestamp was valid; see [`verify`].
fn trusted_head(
    files: &BTreeMap<String, Vec<u8>>,
    anchor: &[u8],
) -> Result<(TrustedSet, Roots), ApiError> {
    let ts_bytes = files
        .get("timestamp.json")
        .ok_or_else(|| bad("no timestamp.json".into()))?;
    let at =
        Signed::<Timestamp>::from_slice(ts_bytes)?.signed().expires - time::Duration::seconds(1);
    let mut roots: Vec<(u64, &Vec<u8>)> = files
        .iter()
        .filter_map(|(n, b)| root_version(n).map(|v| (v, b)))
        .collect();
    roots.sort_by_key(|r| r.0);
    let Some(((first_v, first), rest)) = roots.split_first() else {
        return Err(bad("no root".into()));
    };
    if !roots.iter().any(|(_, b)| b.as_slice() == anchor) {
        return Err(ApiError::Metadata {
            code: Code::MetadataSignatureInvalid,
            detail: "the record's root chain does not include this server's trusted root".into(),
        });
    }
    let mut set = TrustedSet::new(first, at)?;
    for (i, (v, b)) in rest.iter().enumerate() {
        if *v != first_v + 1 + i as u64 {
            return Err(bad(format!("root {v} out of sequence")));
        }
        set.update_root(b)?;
    }
    set.update_timestamp(ts_bytes)?;
    let sv = set
        .timestamp()
        .map(|t| t.signed().snapshot_meta().version)
        .unwrap_or_default();
    let get = |n: &str| files.get(n).ok_or_else(|| bad(format!("no {n}")));
    let snap_name = set.metadata_file_name(sv, "snapshot");
    set.update_snapshot(get(&snap_name)?)?;
    Ok((
        set,
        Roots {
            count: roots.len(),
            first: (*first).clone(),
        },
    ))
}

/// Verifies the `revocations` role the snapshot of `files` (roots, `timestamp.json`, the snapshot it pins; as
/// for [`verify`]) lists: `revocations` holds its bytes (`None` when the store has none), which must match the
/// snapshot's pinned length, hashes and version and carry the threshold of root's `snapshot` keys. `None` when
/// the snapshot lists no revocations.
pub fn verify_revocations(
    files: &BTreeMap<String, Vec<u8>>,
    revocations: Option<&[u8]>,
    anchor: &[u8],
) -> Result<Option<Revocations>, ApiError> {
    let (set, _) = trusted_head(files, anchor)?;
    let Some(meta) = set
        .snapshot()
        .and_then(|s| s.signed().meta.get(&format!("{REVOCATIONS_ROLE}.json")))
    else {
        return Ok(None);
    };
    let bytes = revocations.ok_or_else(|| {
        bad(format!(
            "the snapshot lists {REVOCATIONS_ROLE}.json, which is missing"
        ))
    })?;
    meta.verify_bytes(REVOCATIONS_ROLE, bytes)?;
    let r = Signed::<Revocations>::from_slice(bytes)?;
    let root = set.root().signed();
    let keys = root
        .roles
        .get("snapshot")
        .ok_or_else(|| bad("root names no snapshot keys".into()))?;
    r.verify(REVOCATIONS_ROLE, &root.keys, keys)?;
    if r.signed().version != meta.version {
        return Err(ApiError::Metadata {
            code: Code::MetadataVersionMismatch,
            detail: format!(
                "{REVOCATIONS_ROLE}.json is version {}, the snapshot pins {}",
                r.signed().version,
                meta.version
            ),
        });
    }
    Ok(Some(r.signed().clone()))
}

/// Verifies a metadata set (roots, `timestamp.json`, snapshot, top-level targets, the package's role) as one
/// chain from `anchor` (whose bytes must be one of the set's roots; older roots must chain into it), at a time
/// the timestamp was valid (expiry is the clients' business, as for a mirror), and returns `version`'s targets.
/// Every file of the set must be part of the chain.
pub fn verify(
    package: &str,
    version: &str,
    files: &BTreeMap<String, Vec<u8>>,
    anchor: &[u8],
) -> Result<Verified, ApiError> {
    let (
        mut set,
        Roots {
            count: roots,
            first,
        },
    ) = trusted_head(files, anchor)?;
    let get = |n: &str| files.get(n).ok_or_else(|| bad(format!("no {n}")));
    let meta = set
        .snapshot()
        .map(|s| s.signed().meta.clone())
        .unwrap_or_default();
    let tv = meta
        .get("targets.json")
        .ok_or_else(|| bad("snapshot lists no targets.json".into()))?
        .version;
    let targets_name = set.metadata_file_name(tv, "targets");
    set.update_targets(get(&targets_name)?)?;
    let rv = meta
        .get(&format!("{package}.json"))
        .ok_or_else(|| ApiError::PackageNotFound(package.to_owned()))?
        .version;
    let role_name = set.metadata_file_name(rv, package);
    set.update_delegated(get(&role_name)?, package, "targets")?;
    let used = roots + 4;
    if files.len() != used {
        return Err(bad(format!(
            "{} files beyond the chain",
            files.len().saturating_sub(used)
        )));
    }
    let role = set
        .targets(package)
        .ok_or_else(|| bad(format!("no role {package}")))?;
    let mut targets = Vec::new();
    for (name, t) in &role.signed().targets {
        let path = name.package_target()?;
        if path.version().to_string() != version {
            continue;
        }
        let Ok((_, platform)) = Platform::parse_file_name(path.file_name()) else {
            continue;
        };
        targets.push((
            ReleaseTarget {
                platform,
                file: path.file_name().to_owned(),
            },
            t.clone(),
        ));
    }
    if targets.is_empty() {
        return Err(ApiError::Npm {
            code: Code::NpmNotHosted,
            detail: format!("{package} {version} is not a signed release in this repository"),
        });
    }
    let order = |p: Platform| {
        Platform::ALL
            .iter()
            .position(|x| *x == p)
            .unwrap_or(usize::MAX)
    };
    targets.sort_by_key(|(t, _)| order(t.platform));
    Ok(Verified {
        targets,
        files: files.iter().map(|(n, b)| (n.clone(), b.clone())).collect(),
        first_root: first,
    })
}

impl Record {
    /// The metadata files, decoded.
    pub fn files(&self) -> Result<BTreeMap<String, Vec<u8>>, ApiError> {
        self.metadata
            .iter()
            .map(|(n, b)| {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map(|b| (n.clone(), b))
                    .map_err(|_| {
                        bad(format!(
                            "record of {} {}: {n} is not base64",
                            self.package, self.version
                        ))
                    })
            })
            .collect()
    }

    /// Encodes a metadata set.
    pub fn encode_files(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(n, b)| {
                (
                    n.clone(),
                    base64::engine::general_purpose::STANDARD.encode(b),
                )
            })
            .collect()
    }
}
