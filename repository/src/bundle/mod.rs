//! Air-gapped bundles: one file holding a repository's signed metadata chain and chosen targets.
//!
//! # Format (version 1)
//! An uncompressed POSIX ustar archive ([`tar`]), inspectable with `tar tvf`:
//! 1. `bundle.json` first: the table of contents ([`Toc`]): format name and version, creation time, the
//!    versions of root/timestamp/snapshot, the timestamp's expiry, packages and versions, and for every
//!    following entry its name, length and SHA-256 (targets also their target path and platform).
//! 2. `metadata/<file>`: every `N.root.json` from 1 to the latest, `timestamp.json`, and the snapshot,
//!    top-level targets and delegated roles at the versions the snapshot pins (consistent-snapshot names).
//! 3. `targets/<package>/<version>/<sha256>.<file>`: the chosen targets (all platforms by default).
//!
//! Entries 2 and 3 are exactly the layout of a bare TUF repository, so an unpacked bundle (`tar xf`) is a
//! `file://` repository any TUF client reads. Nothing in the bundle is trusted because of the bundle: the TOC
//! only lets a reader find entries and reject a damaged file early; every byte is verified against the TUF
//! metadata, which is verified from a root the installer already trusts.
//!
//! # Invariants
//! - Export verifies the chain and every target's bytes (length, SHA-256, hashed on a second thread while
//!   copying) while writing; a mismatch aborts and leaves no output file (written to a temporary name, renamed
//!   at the end).
//! - Import reads entries only under `metadata/` (one safe segment ending in `.json`) and `targets/` (a
//!   validated object path), each listed in the TOC once with matching length and SHA-256; then verifies the
//!   chain from the trusted root (under the operator's expiry policy, [`x0x_dist_loader::tuf::freshness_clock`])
//!   and every target against the verified metadata, and checks for rollback against what the destination
//!   has, before anything is moved into the destination (timestamp last).
//! - Import into a repository is crash-safe: after a crash (process or power) at any point the repository
//!   verifies completely and shows the old or the new state. Order: each target is unpacked into a staging
//!   directory on the same filesystem and `fdatasync`ed (write-back started as it is written and the sync run
//!   on a worker thread, so the flush overlaps the unpacking: [`x0x_dist_durable::overlap`]); only then renamed into `targets/`;
//!   the receiving directories are synced; then the metadata files are written atomically (synced, renamed,
//!   directory synced), `timestamp.json` last, the commit point. `cli/tests/bundle_crash.rs` checks this
//!   order in the real syscalls (strace) and kills imports mid-way.
//! - A target whose content-addressed file already exists in the destination with the right length is not
//!   unpacked (its bytes are skipped by seeking): names under `targets/` are only ever created by a rename
//!   of verified, synced bytes. Metadata files identical to the destination's are not rewritten, so
//!   importing the same bundle twice writes nothing. The import holds the repository's writer lock
//!   ([`crate::lock`]) and clears staging directories left by a killed import.
mod export;
mod hash;
mod import;
pub mod tar;
mod toc;
mod unpack;

pub use export::{export, ExportReport};
use hash::PipelinedHash;
pub use import::{import_cache, import_repo, ImportReport};
use toc::MAX_TOC;
pub use toc::{Toc, TocFile, FORMAT, FORMAT_VERSION, TOC_NAME};
pub use unpack::unpack;
use unpack::{unpack_with, Unpacked};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::Digest as _;
use time::OffsetDateTime;
use x0x_dist_manifests::verify::TrustedSet;

use crate::error::{Error, Result};
use crate::mirror::{self, Job, Selection};
use crate::repo::{self, Layout};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn hex_sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn bad(path: &Path, detail: impl Into<String>) -> Error {
    Error::Bundle {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

/// The verification clock under the operator's expiry policy (`X0X_DIST_ALLOW_EXPIRED_AFTER`).
pub fn policy_clock(now: OffsetDateTime) -> Result<OffsetDateTime> {
    let (at, cutoff) = x0x_dist_loader::tuf::freshness_clock(now)?;
    if let Some(c) = cutoff {
        if at < now {
            tracing::warn!(
                "{}={} is set: metadata that expired after that time is accepted",
                x0x_dist_loader::tuf::ALLOW_EXPIRED_AFTER,
                rfc3339(c)
            );
        }
    }
    Ok(at)
}
