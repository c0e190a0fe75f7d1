//! The on-disk repository: layout, `init`, loading and verifying the trusted chain, delegating a package,
//! and releasing into a local directory. Documented for operators in `docs/repository-layout.md`.
//!
//! Layout of `DIR`:
//! - `keys/` (0700): the **offline** keys, `root.key` and `targets.key` (secret, 0600) with `.pub` siblings.
//!   Only `init` and `package add` need them; in production move them off the server host.
//! - `online/` (0700): the keys the server holds, `snapshot.key` and `timestamp.key` (0600) with `.pub`s.
//! - `metadata/`: `N.root.json` for every root version plus `root.json` (a copy of the latest),
//!   `N.targets.json`, `N.<package>.json`, `N.snapshot.json` and `timestamp.json` (consistent snapshots:
//!   every file but `timestamp.json` is immutable once written).
//! - `targets/<package>/<version>/<sha256>.<file>`: published targets in consistent-snapshot layout, directly
//!   servable by any static file server. The server stores uploads in `blobs/sha256/<hex>` and publishes by
//!   hard-linking (see `server/src/storage/local.rs`); [`release`] writes the files directly.
//! - `blobs/`, `tmp/`, and the server's token store belong to the server.
//!
//! Invariants: every file is written atomically (temporary file in the same directory, fsync, rename, fsync
//! directory). A change writes the role files first, then `N.snapshot.json`, then `timestamp.json` last: the
//! timestamp rename is the commit point, so readers see the previous or the next complete state. Secret key
//! files are created with mode 0600 (never readable by others, even briefly).
//!
//! Errors: the crate's [`crate::Error`], whose code is a stable code from `x0x_dist_manifests::codes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};
use x0x_dist_manifests::keys::{parse_public_key_file, public_key_file};
use x0x_dist_manifests::metadata::{DelegatedRole, Delegations, NewRole};
use x0x_dist_manifests::verify::{Lookup, TrustedSet};
use x0x_dist_manifests::{
    PackageName, Platform, PublicKey, Root, Sha256, Signed, SigningKey, Snapshot, TargetCustom,
    TargetFile, TargetPath, Targets, Timestamp, Version,
};

mod init;
mod keys;
mod layout;
mod load;
mod package;
mod rotate;
mod verify;

pub(crate) use crate::error::io;
use crate::error::{Error, Result};
use init::commit_snapshot;
pub use init::{init, init_with_key_type, init_with_keys, InitReport};
pub use keys::{
    describe_key, generate_key, generate_key_of, read_public_key, read_secret_key, write_key_pair,
    write_key_reference, RSA_BITS,
};
use layout::{create_private_dir, read, read_metadata};
pub use layout::{
    sync_dir, write_atomic, Layout, PACKAGES_KEY_FILE, TOKEN_FILE, UPLOAD_TOKEN_KEY_FILE,
};
pub use load::{load_trusted, load_trusted_from, load_trusted_with, walk_error};
pub use package::{add_delegation_key, add_package, delegate, release, resign_past, Artifact};
pub use rotate::{next_root, rotate_root, RootRotation, RotationReport};
pub use verify::{verify, VerifyReport};
pub use x0x_dist_loader::tuf::MetadataSource;

/// Default lifetimes of newly signed metadata.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    /// Root.
    pub root: Duration,
    /// Top-level targets.
    pub targets: Duration,
    /// Delegated package roles written by [`release`].
    pub delegated: Duration,
    /// Snapshot.
    pub snapshot: Duration,
    /// Timestamp (the server re-signs it before it expires).
    pub timestamp: Duration,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            root: Duration::days(365),
            targets: Duration::days(365),
            delegated: Duration::days(365),
            snapshot: Duration::days(30),
            timestamp: Duration::days(1),
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests write fixtures directly
mod tests {
    use super::*;
    use x0x_dist_manifests::codes::Coded as _;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn oversized_metadata_is_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), now(), &Expiry::default()).unwrap();
        let huge = vec![b' '; 17 * 1024 * 1024];
        std::fs::write(dir.path().join("metadata/timestamp.json"), huge).unwrap();
        assert_eq!(
            verify(dir.path(), None, now()).unwrap_err().code(),
            "metadata.too_large"
        );
    }

    #[test]
    fn init_add_release_verify_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let rd = dir.path();
        let ex = Expiry::default();
        init(rd, now(), &ex).unwrap();
        assert_eq!(init(rd, now(), &ex).unwrap_err().code(), "repo.exists");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(rd.join("keys/root.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(rd.join("keys/root.key.pub"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        verify(rd, None, now()).unwrap();

        let publisher = generate_key();
        let x0x: PackageName = "x0x".parse().unwrap();
        assert_eq!(
            add_package(rd, &x0x, &[publisher.public().clone()], 1, now(), &ex).unwrap(),
            2
        );
        assert_eq!(
            add_package(rd, &x0x, &[publisher.public().clone()], 1, now(), &ex)
                .unwrap_err()
                .code(),
            "package.exists"
        );
        let v: Version = "0.3.1".parse().unwrap();
        // Real-looking builds: a release checks each file's bytes against the platform its name claims.
        let native = x0x_dist_loader::artifact::minimal_build(
            Platform::from_name("linux-x64-gnu").unwrap(),
            b"native",
        );
        let wasm = x0x_dist_loader::artifact::minimal_build(
            Platform::from_name("wasm32-wasip1").unwrap(),
            b"wasm",
        );
        let arts = vec![
            Artifact {
                file_name: "x0x.linux-x64-gnu.node".into(),
                data: native.clone(),
                glibc_floor: Some("2.17".into()),
            },
            Artifact {
                file_name: "x0x.wasm32-wasip1.wasm".into(),
                data: wasm.clone(),
                glibc_floor: None,
            },
        ];
        assert_eq!(
            release(rd, &x0x, &v, &arts, &publisher, now(), &ex).unwrap(),
            1
        );
        assert_eq!(
            release(rd, &x0x, &v, &arts, &publisher, now(), &ex)
                .unwrap_err()
                .code(),
            "version.exists"
        );
        let other = generate_key();
        let v2: Version = "0.3.2".parse().unwrap();
        assert_eq!(
            release(rd, &x0x, &v2, &arts, &other, now(), &ex)
                .unwrap_err()
                .code(),
            "key.not_authorized"
        );
        let rep = verify(rd, None, now()).unwrap();
        assert_eq!(
            (rep.targets, rep.target_bytes),
            (2, (native.len() + wasm.len()) as u64)
        );

        // Tampering with a published target is caught.
        let l = Layout::new(rd);
        let path: TargetPath = "x0x/0.3.1/x0x.wasm32-wasip1.wasm".parse().unwrap();
        let file = l.target_file(&path, &Sha256::digest(&wasm));
        let mut tampered = wasm.clone();
        tampered[wasm.len() - 1] ^= 1;
        std::fs::write(&file, &tampered).unwrap();
        assert_eq!(
            verify(rd, None, now()).unwrap_err().code(),
            "target.digest_mismatch"
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(verify(rd, None, now()).unwrap_err().code(), "io.error");
        std::fs::write(&file, &wasm).unwrap();
        verify(rd, None, now()).unwrap();
        // Expired at a later verification time.
        assert_eq!(
            verify(rd, None, now() + Duration::days(2))
                .unwrap_err()
                .code(),
            "metadata.expired"
        );
    }
}
