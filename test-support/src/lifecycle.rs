//! A real origin with a release lifecycle: `x0x-dist serve` over a repository made by `init`, releases
//! published through the API, and `release yank|revoke` writing the signed `revocations` role (cli/tests:
//! lifecycle_mirror, lifecycle_fetch).
use std::path::{Path, PathBuf};

use crate::cli::{bin, publish, run_ok, setup_repo};
use crate::mirror::Server;

/// An origin repository served on loopback.
pub struct LifecycleOrigin {
    /// The repository directory (`metadata/`, `targets/`, keys).
    pub repo: PathBuf,
    /// Its first root (what clients and mirrors trust).
    pub root: PathBuf,
    /// A maintainer token for `x0x`.
    pub token: String,
    /// The publisher key.
    pub key: PathBuf,
    /// The wasm artifact file published with every release.
    file: PathBuf,
    /// The running server.
    pub server: Server,
}

impl LifecycleOrigin {
    /// `init` + `package add x0x` in `dir/repo`, served.
    pub fn new(dir: &Path) -> Self {
        let repo = dir.join("repo");
        let (key, token) = setup_repo(&repo);
        let server = Server::start(&repo, None, &dir.join("origin.log"));
        Self {
            root: repo.join("metadata/1.root.json"),
            repo,
            token,
            key,
            file: dir.join("x0x.wasm32-wasip1.wasm"),
            server,
        }
    }

    /// Publishes x0x `version` (its wasm build).
    pub fn release(&self, version: &str) {
        let (_, wasm) = crate::fixture::artifacts(version)
            .into_iter()
            .find(|(p, _)| p.name() == "wasm32-wasip1")
            .unwrap();
        std::fs::write(&self.file, &wasm).unwrap();
        run_ok(publish(&self.server.url, &self.token, &self.key, version).arg(&self.file));
    }

    /// `x0x-dist release yank|revoke x0x VERSION --reason REASON [extra]`.
    pub fn withdraw(&self, verb: &str, version: &str, reason: &str, extra: &[&str]) {
        run_ok(
            bin()
                .args(["release", verb, "x0x", version, "--reason", reason])
                .args(["--server", &self.server.url, "--token", &self.token])
                .args(extra),
        );
    }

    /// The file name of the revocations role the origin's snapshot pins now (`N.revocations.json`).
    pub fn revocations_file(&self) -> String {
        use x0x_dist_manifests::{Signed, Snapshot, Timestamp};
        let read = |n: &str| std::fs::read(self.repo.join("metadata").join(n)).unwrap();
        let ts = Signed::<Timestamp>::from_slice(&read("timestamp.json")).unwrap();
        let snap = Signed::<Snapshot>::from_slice(&read(&format!(
            "{}.snapshot.json",
            ts.signed().snapshot_meta().version
        )))
        .unwrap();
        format!(
            "{}.revocations.json",
            snap.signed().meta["revocations.json"].version
        )
    }
}
