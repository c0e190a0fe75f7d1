//! `x0x-dist bundle export` and `x0x-dist bundle import`: air-gapped installs (docs/air-gapped.md).
use std::path::PathBuf;

use x0x_dist_repository::bundle;
use x0x_dist_repository::mirror;

use super::mirror::{read_root, runtime, SelectionArgs};

/// Bundle commands.
#[derive(Debug, clap::Subcommand)]
pub enum BundleCommand {
    /// Write one bundle file (an uncompressed tar: bundle.json table of contents, the signed metadata chain,
    /// the chosen targets; all platforms by default), verifying the chain and every target while writing.
    Export(ExportArgs),
    /// Load a bundle into a mirror directory (--repo, served by `x0x-dist serve --repo DIR`) or a loader cache
    /// (--cache), verifying everything first. Expired metadata is refused unless the operator sets
    /// X0X_DIST_ALLOW_EXPIRED_AFTER (see docs/air-gapped.md).
    Import(ImportArgs),
}

/// `bundle export`
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist bundle export --from https://dist.x0x.example --root root.json --out x0x.bundle\n",
    "  x0x-dist bundle export --repo /srv/x0x-mirror --versions '^0.3' --targets linux-x64-gnu --out x0x.bundle\n",
))]
#[command(group(clap::ArgGroup::new("source").required(true).args(["repo", "from"])))]
pub struct ExportArgs {
    /// A local repository directory (origin or mirror) to export from.
    #[arg(long)]
    pub repo: Option<PathBuf>,
    /// A repository URL to export from (synced into a temporary mirror first).
    #[arg(long)]
    pub from: Option<String>,
    /// The root.json to verify with [default: the mirror's recorded root, or the repository's 1.root.json].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// What to export.
    #[command(flatten)]
    pub select: SelectionArgs,
    /// The bundle file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `bundle import`
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist bundle import x0x.bundle --repo /srv/x0x-mirror --root root.json\n",
    "  x0x-dist bundle import x0x.bundle --cache ~/.cache/x0x-dist --root root.json\n",
    "\n",
    "Environment: X0X_DIST_ALLOW_EXPIRED_AFTER (accept metadata that expired after this RFC 3339 time; docs/air-gapped.md)\n",
))]
#[command(group(clap::ArgGroup::new("dest").required(true).args(["repo", "cache"])))]
pub struct ImportArgs {
    /// The bundle file.
    pub bundle: PathBuf,
    /// Import into this mirror directory (created if missing).
    #[arg(long)]
    pub repo: Option<PathBuf>,
    /// Import into this loader cache directory.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// The trusted root.json [required for a new mirror or a cache; default: the mirror's recorded root].
    #[arg(long, env = x0x_dist_loader::env::ROOT, hide_env_values = true)]
    pub root: Option<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs a bundle command.
pub fn run(c: &BundleCommand) -> anyhow::Result<()> {
    match c {
        BundleCommand::Export(a) => export(a),
        BundleCommand::Import(a) => import(a),
    }
}

fn usage(msg: String) -> anyhow::Error {
    x0x_dist_repository::Error::Usage(msg).into()
}

fn export(a: &ExportArgs) -> anyhow::Result<()> {
    let sel = a.select.selection()?;
    let now = bundle::policy_clock(time::OffsetDateTime::now_utc())?;
    let start = std::time::Instant::now();
    let report = if let Some(url) = &a.from {
        let root = read_root(a.root.as_deref().ok_or_else(|| {
            usage("--from needs --root ROOT.json (the upstream root you trust)".into())
        })?)?;
        let tmp = tempfile::tempdir()?;
        let fetcher = mirror::upstream_fetcher(url)?;
        runtime()?.block_on(mirror::sync(
            tmp.path(),
            &fetcher,
            &root,
            &sel,
            4,
            mirror::no_progress(),
            now,
        ))?;
        bundle::export(tmp.path(), &root, &sel, &a.out, now)?
    } else {
        let dir = a.repo.as_ref().expect("clap requires --repo or --from");
        if !x0x_dist_repository::repo::Layout::new(dir)
            .metadata()
            .is_dir()
        {
            return Err(x0x_dist_repository::Error::new(
                x0x_dist_manifests::codes::Code::RepoNotFound,
                format!(
                    "{} is not a repository or mirror (no metadata/ in it): pass the directory `x0x-dist serve \
                     --repo` serves, or --from URL to export from a server",
                    dir.display()
                ),
            )
            .into());
        }
        let root = match &a.root {
            Some(p) => read_root(p)?,
            None if mirror::is_mirror(dir) => mirror::Settings::load(dir)?.root,
            None => read_root(
                &x0x_dist_repository::repo::Layout::new(dir).metadata_file("1.root.json"),
            )?,
        };
        bundle::export(dir, &root, &sel, &a.out, now)?
    };
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": report.file, "bytes": report.bytes, "seconds": secs, "toc": report.toc,
            }))?
        );
    } else {
        println!(
            "wrote {} ({} bytes): {} metadata files, {} targets of {:?}; timestamp v{} expires {}",
            report.file.display(),
            report.bytes,
            report.toc.metadata.len(),
            report.toc.targets.len(),
            report.toc.packages,
            report.toc.timestamp_version,
            report.toc.timestamp_expires
        );
    }
    Ok(())
}

fn import(a: &ImportArgs) -> anyhow::Result<()> {
    let root = a.root.as_deref().map(read_root).transpose()?;
    let report = if let Some(dir) = &a.repo {
        bundle::import_repo(
            &a.bundle,
            dir,
            root.as_deref(),
            time::OffsetDateTime::now_utc(),
        )?
    } else {
        let cache = a.cache.as_ref().expect("clap requires --repo or --cache");
        let root = root.ok_or_else(|| usage("--cache needs --root ROOT.json".into()))?;
        runtime()?.block_on(bundle::import_cache(&a.bundle, cache, &root))?
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "imported {}: {} metadata files, {} targets verified ({} bytes, {} new), timestamp v{}",
            a.bundle.display(),
            report.metadata,
            report.targets,
            report.bytes,
            report.added,
            report.timestamp_version
        );
    }
    Ok(())
}
