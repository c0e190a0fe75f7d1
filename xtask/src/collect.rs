//! `cargo xtask collect`: merges the per-runner build directories of the release workflow into one release
//! directory, verifying every file against the SHA-256 its runner's build-report.json recorded (so what gets
//! signed is exactly what was built and checked), and refusing a platform built twice with different bytes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::ctx::sha256_file;
use crate::report::Report;

pub fn run(from: &[PathBuf], out: &Path, require: Option<&str>) -> Result<()> {
    fs_err::create_dir_all(out)?;
    let mut merged = Report::load(out)?;
    let mut dirs = Vec::new();
    for f in from {
        if f.join(crate::report::FILE).is_file() {
            dirs.push(f.clone());
        } else {
            for e in fs_err::read_dir(f)? {
                let p = e?.path();
                if p.join(crate::report::FILE).is_file() {
                    dirs.push(p);
                }
            }
        }
    }
    dirs.sort();
    if dirs.is_empty() {
        bail!("no build-report.json under {from:?}");
    }
    for dir in &dirs {
        let report = Report::load(dir)?;
        if !merged.core_version.is_empty() && merged.core_version != report.core_version {
            bail!(
                "{} is core {}, others are {}",
                dir.display(),
                report.core_version,
                merged.core_version
            );
        }
        merged.core_version.clone_from(&report.core_version);
        for entry in report.targets {
            let (size, sha) = sha256_file(&dir.join(&entry.file))?;
            if sha != entry.sha256 || size != entry.size {
                bail!(
                    "{}/{}: SHA-256 {sha} differs from its build report ({})",
                    dir.display(),
                    entry.file,
                    entry.sha256
                );
            }
            if let Some(prev) = merged.targets.iter().find(|e| e.platform == entry.platform) {
                if prev.sha256 != entry.sha256 {
                    bail!("{} was built twice with different bytes", entry.platform);
                }
            }
            for f in std::iter::once(&entry.file).chain(&entry.companions) {
                fs_err::copy(dir.join(f), out.join(f))
                    .with_context(|| format!("collecting {f}"))?;
            }
            eprintln!(
                "xtask: collected {} ({}, check {})",
                entry.file, entry.sha256, entry.check.status
            );
            merged.upsert(entry);
        }
        if dir.join("index.d.ts").is_file() {
            fs_err::copy(dir.join("index.d.ts"), out.join("index.d.ts"))?;
        }
    }
    if let Some(list) = require {
        for want in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if !merged.targets.iter().any(|e| e.platform == want) {
                bail!("the release is missing {want}");
            }
        }
    }
    merged.save(out)?;
    eprintln!(
        "xtask: {} platforms in {}",
        merged.targets.len(),
        out.display()
    );
    Ok(())
}
