//! `build-report.json`: one entry per built platform, merged across invocations into the same directory (so a
//! host build followed by a wasm build, or the release workflow's per-runner reports, end up in one file).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// File name inside the output directory.
pub const FILE: &str = "build-report.json";

/// The whole report.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// Version of the x0x core (core/Cargo.toml).
    pub core_version: String,
    /// One entry per platform, in table order.
    pub targets: Vec<Entry>,
}

/// One built platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// napi platform name (`linux-x64-gnu`; the triple for WASM).
    pub platform: String,
    /// Rust target triple.
    pub triple: String,
    /// `native` or `wasm`.
    pub kind: String,
    /// The artifact's file name (napi convention).
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Highest `GLIBC_` symbol version the binary needs (glibc ELF builds only).
    pub glibc_floor: Option<String>,
    /// Other files that belong to the artifact (the WASI loader glue).
    #[serde(default)]
    pub companions: Vec<String>,
    /// WASM builds: the module's system imports (`wasi_snapshot_preview1.*`, `wasi.thread-spawn`), checked by the
    /// build against [`crate::wasm_imports::check`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wasi_imports: Vec<String>,
    /// Toolchain and cargo target that built it.
    pub builder: String,
    /// Wall-clock build time.
    pub build_seconds: f64,
    /// How the build was checked.
    pub check: Check,
}

/// The result of checking a build.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// `passed`, `failed` or `skipped` (nothing on this machine can run or inspect it).
    pub status: String,
    /// How: which runtime or inspection.
    pub how: String,
    /// What it printed or found.
    pub detail: String,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.status == "passed"
    }
}

impl Report {
    /// Reads `dir/build-report.json`, or an empty report when there is none.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = fs_err::read_to_string(&path)?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Adds or replaces the entry for `entry.platform`.
    pub fn upsert(&mut self, entry: Entry) {
        self.targets.retain(|e| e.platform != entry.platform);
        self.targets.push(entry);
        self.targets.sort_by_key(|e| {
            x0x_dist_manifests::Platform::from_name(&e.platform).map_or(usize::MAX, |p| {
                x0x_dist_manifests::Platform::ALL
                    .iter()
                    .position(|q| *q == p)
                    .unwrap_or(usize::MAX)
            })
        });
    }

    /// Writes `dir/build-report.json`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        fs_err::write(dir.join(FILE), text)?;
        Ok(())
    }
}
