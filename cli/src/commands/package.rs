//! `x0x-dist package add|release`.
use std::path::PathBuf;

use anyhow::Context as _;
use x0x_dist_manifests::{PackageName, Version};
use x0x_dist_repository::repo::{self, Artifact, Expiry};

/// Manage the packages of a local repository.
#[derive(Debug, clap::Subcommand)]
pub enum PackageCommand {
    /// Delegate a package to publisher keys: adds a role named after the package, trusted for
    /// `<NAME>/*/*`, to the top-level targets (signed with the offline targets key in DIR/keys/), then
    /// writes the next snapshot and timestamp.
    Add(AddArgs),
    /// Release a version into a local repository directory without a server (for air-gapped or static
    /// repositories; needs DIR/online/ keys). Target metadata is inferred from napi file names
    /// (`x0x.linux-x64-gnu.node`, `x0x.wasm32-wasip1.wasm`).
    Release(ReleaseArgs),
}

/// Arguments of `package add`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist package add --repo ./repo x0x --publisher-key ci.key.pub\n",
    "  x0x-dist package add --repo ./repo x0x --publisher-key a.key.pub --publisher-key b.key.pub --threshold 2\n",
))]
pub struct AddArgs {
    /// Repository directory.
    #[arg(long)]
    pub repo: PathBuf,
    /// Package name (lower-case letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Publisher public key file (FILE.pub from `x0x-dist keygen`); repeat for several keys.
    #[arg(long = "publisher-key", required = true)]
    pub publisher_keys: Vec<PathBuf>,
    /// How many distinct publisher keys must sign each release of the package.
    #[arg(long, default_value_t = 1)]
    pub threshold: u64,
}

/// Arguments of `package release`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist package release --repo ./repo x0x --version 0.1.0 --key ci.key \\\n",
    "      dist/x0x.linux-x64-gnu.node dist/x0x.wasm32-wasip1.wasm\n",
))]
pub struct ReleaseArgs {
    /// Repository directory.
    #[arg(long)]
    pub repo: PathBuf,
    /// Package name.
    pub name: String,
    /// Version to release (semver; versions are immutable).
    #[arg(long)]
    pub version: String,
    /// Publisher secret key file.
    #[arg(long)]
    pub key: PathBuf,
    /// glibc floor to record for glibc builds (e.g. 2.17).
    #[arg(long)]
    pub glibc_floor: Option<String>,
    /// Files named by the napi convention.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `package ...`.
/// The repository's writer lock ([`x0x_dist_repository::lock`]): waits (and says so) while a running server commits.
fn writer_lock(repo: &std::path::Path) -> anyhow::Result<x0x_dist_repository::lock::WriterLock> {
    if !x0x_dist_repository::repo::Layout::new(repo)
        .metadata()
        .is_dir()
    {
        return Err(x0x_dist_repository::Error::NotFound(repo.to_owned()).into());
    }
    x0x_dist_repository::lock::lock(repo, || {
        eprintln!(
            "waiting for {} (a server is committing to this repository)",
            x0x_dist_repository::lock::lock_path(repo).display()
        );
    })
    .with_context(|| {
        format!(
            "locking {}",
            x0x_dist_repository::lock::lock_path(repo).display()
        )
    })
}

pub fn run(cmd: &PackageCommand) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        PackageCommand::Add(a) => {
            let name: PackageName = a.name.parse()?;
            let keys = a
                .publisher_keys
                .iter()
                .map(|p| {
                    repo::read_public_key(p)
                        .with_context(|| format!("reading publisher key {}", p.display()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let _writer = writer_lock(&a.repo)?;
            let v = repo::add_package(&a.repo, &name, &keys, a.threshold, now, &Expiry::default())
                .with_context(|| format!("delegating package {name} in {}", a.repo.display()))?;
            println!(
                "delegated {name}/*/* to {} key(s), threshold {} (targets version {v})",
                keys.len(),
                a.threshold
            );
            Ok(())
        }
        PackageCommand::Release(a) => {
            let name: PackageName = a.name.parse()?;
            let version: Version = a.version.parse()?;
            let key = repo::read_secret_key(&a.key)
                .with_context(|| format!("reading key {}", a.key.display()))?;
            let mut artifacts = Vec::new();
            for f in &a.files {
                let file_name = f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("{} has no UTF-8 file name", f.display()))?
                    .to_owned();
                let data = fs_err::read(f)?;
                artifacts.push(Artifact {
                    file_name,
                    data,
                    glibc_floor: a.glibc_floor.clone(),
                });
            }
            let _writer = writer_lock(&a.repo)?;
            let v = repo::release(
                &a.repo,
                &name,
                &version,
                &artifacts,
                &key,
                now,
                &Expiry::default(),
            )
            .with_context(|| format!("releasing {name} {version} into {}", a.repo.display()))?;
            println!(
                "released {name} {version} ({} file(s), role version {v})",
                artifacts.len()
            );
            Ok(())
        }
    }
}
