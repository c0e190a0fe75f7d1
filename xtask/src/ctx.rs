//! Where the workspace, its toolchains and its target directory are, and how a built file is hashed: shared by
//! `build`, `check` and `collect` (so that `check` need not reach into `build`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Paths the build needs.
pub struct Ctx {
    pub workspace: PathBuf,
    pub toolchains: PathBuf,
    pub target_base: PathBuf,
}

impl Ctx {
    pub fn new() -> Result<Self> {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask lives in the workspace")?
            .to_path_buf();
        let toolchains = std::env::var_os("X0X_TOOLCHAINS")
            .map_or_else(|| workspace.join(".toolchains"), PathBuf::from);
        let target_base = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| workspace.join("target"), PathBuf::from);
        Ok(Self {
            workspace,
            toolchains,
            target_base,
        })
    }

    pub fn core(&self) -> PathBuf {
        self.workspace.join("core")
    }
}

/// Size and SHA-256 (hex) of a file.
pub fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let bytes = fs_err::read(path)?;
    Ok((bytes.len() as u64, hex::encode(Sha256::digest(&bytes))))
}
