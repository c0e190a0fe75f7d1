//! tuf-conformance client-under-test for the Rust TUF client (protocol: the suite's `CLIENT-CLI.md`; how to
//! run it: `docs/conformance.md`, `scripts/tuf-conformance.sh`). Built with
//! `cargo build -p x0x-dist-loader --example tuf-conformance`.
//!
//! What it exercises: the loader's one walk of the chain, [`tuf::refresh`] (`loader/src/tuf/walk.rs`), the
//! same code `x0x-dist fetch`, the mirror, bundles and the publishing client run: the trusted root from
//! METADATA_DIR, root rotation, the persisted timestamp and snapshot as rollback references, timestamp →
//! snapshot → targets, each persisted when accepted; delegated roles loaded on demand by the target search
//! ([`tuf::Walk::resolve`]). Every trust decision is `TrustedSet`'s (`manifests/src/verify.rs`), every request
//! the loader's [`Fetcher`]. This file is protocol glue only: arguments, METADATA_DIR as a
//! [`tuf::CacheDir`] with [`tuf::RootFiles::Latest`] (the protocol's layout: `root.json`, `timestamp.json`,
//! `snapshot.json`, `<encoded role>.json`), and where a downloaded target is stored. The `tuf/` folder of our
//! server's layout is the only departure: the suite serves `metadata/` and `targets/` directly
//! ([`Fetcher::bare_layout`]).
//!
//! Targets: any safe path a role lists is resolved (the package shape `<package>/<version>/<file>` is the
//! loader's rule for the artifacts it enumerates, `tuf::Repository::package_targets`, not TUF's), downloaded
//! with [`Fetcher::target_file`] (every listed hash checked: sha256 and/or sha512) and stored in TARGET_DIR
//! under the path encoded as one segment (as python-tuf).
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use time::OffsetDateTime;
use x0x_dist_loader::fetch::{Expected, FetchOptions, Fetcher, Location, NoProgress};
use x0x_dist_loader::tuf::{self, CacheDir, RootFiles, Scope, Walk, WalkOptions};
use x0x_dist_loader::Error;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::verify::encode_role_name;

#[derive(Default)]
struct Args {
    metadata_dir: Option<PathBuf>,
    metadata_url: Option<String>,
    target_names: Vec<String>,
    target_base_url: Option<String>,
    target_dir: Option<PathBuf>,
    command: Option<String>,
    trusted_root: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--metadata-dir" => a.metadata_dir = Some(val()?.into()),
            "--metadata-url" => a.metadata_url = Some(val()?),
            "--target-name" => a.target_names.push(val()?),
            "--target-base-url" => a.target_base_url = Some(val()?),
            "--target-dir" => a.target_dir = Some(val()?.into()),
            "init" => {
                a.trusted_root = Some(val()?.into());
                a.command = Some(k);
            }
            "refresh" | "download" => a.command = Some(k),
            "-v" | "--verbose" => {}
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    Ok(a)
}

/// A fetcher for the suite's URLs: `…/metadata/` and `…/targets/` under one parent.
fn fetcher(url: &str) -> Result<Fetcher, Error> {
    let parent = url
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or(url, |(p, _)| p);
    Ok(Fetcher::new(
        Location::parse(&format!("{parent}/"))?,
        FetchOptions::default(),
    )?
    .bare_layout())
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    x0x_dist_durable::write_atomic(path, bytes, x0x_dist_durable::Mode::Public)
        .map_err(io("write", path))
}

/// Resolves `path` by the walk's target search, then downloads it into TARGET_DIR (unless a verified copy
/// is there).
async fn download(
    walk: &mut Walk<'_>,
    dir: &Path,
    path: &str,
    targets: &Fetcher,
    target_dir: &Path,
) -> Result<(), Error> {
    let target = walk.resolve(path).await?;
    let dest = target_dir.join(encode_role_name(path));
    if dest.is_file() {
        let bytes = std::fs::read(&dest).map_err(io("read", &dest))?;
        if target.verify(path, &bytes).is_ok() {
            return Ok(());
        }
    }
    // Every listed hash is checked (sha256 and/or sha512; another algorithm refuses the target).
    let want = Expected::of(path, &target)?;
    // As the loader: with consistent snapshots the file is stored as DIR/HASH.NAME, HASH the sha256 if
    // listed, else the sha512 (parse checked both are lower-case hex).
    let stored = if walk.trusted().root().signed().consistent_snapshot {
        let hash = want.sha256.or(want.sha512).expect("Expected::of: a hash");
        match path.rsplit_once('/') {
            Some((d, f)) => format!("{d}/{hash}.{f}"),
            None => format!("{hash}.{path}"),
        }
    } else {
        path.to_owned()
    };
    let tmp = dir.join(format!("download.{}.tmp", std::process::id()));
    let r = targets
        .target_file(&stored, path, &target, &tmp, &NoProgress)
        .await;
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r?;
    x0x_dist_durable::persist(&tmp, &dest).map_err(io("rename", &tmp))
}

async fn run(a: Args) -> Result<(), Error> {
    let usage = |what: &str| Error::Config {
        what: "tuf-conformance arguments",
        value: what.to_owned(),
    };
    let dir = a
        .metadata_dir
        .ok_or_else(|| usage("--metadata-dir is required"))?;
    match a.command.as_deref() {
        Some("init") => {
            let root = a.trusted_root.expect("init has a root");
            let bytes = std::fs::read(&root).map_err(io("read", &root))?;
            write(&dir.join("root.json"), &bytes)
        }
        Some(cmd @ ("refresh" | "download")) => {
            let url = a
                .metadata_url
                .ok_or_else(|| usage("--metadata-url is required"))?;
            let root_path = dir.join("root.json");
            let root = std::fs::read(&root_path).map_err(io("read", &root_path))?;
            let source = fetcher(&url)?;
            let mut kept = CacheDir::unlocked(&dir, RootFiles::Latest);
            let mut walk = tuf::refresh(
                &source,
                &mut kept,
                &root,
                Scope::TopLevel,
                WalkOptions::at(OffsetDateTime::now_utc()),
            )
            .await?;
            if cmd == "download" {
                let base = a
                    .target_base_url
                    .ok_or_else(|| usage("--target-base-url is required"))?;
                let target_dir = a
                    .target_dir
                    .ok_or_else(|| usage("--target-dir is required"))?;
                let targets = fetcher(&base)?;
                for name in &a.target_names {
                    download(&mut walk, &dir, name, &targets, &target_dir).await?;
                }
            }
            Ok(())
        }
        _ => Err(usage("a command: init, refresh or download")),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("x0x rust conformance client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::fmt::Write as _;
            let mut msg = format!("{}: {e}", e.code());
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                let _ = write!(msg, "\n  caused by: {s}");
                src = s.source();
            }
            eprintln!("x0x rust conformance client: {msg}");
            ExitCode::FAILURE
        }
    }
}
