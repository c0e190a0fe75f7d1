//! `x0x-dist mirror init` and `x0x-dist mirror sync`: set up and fill a self-hosted mirror.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use x0x_dist_loader::fetch::Progress;
use x0x_dist_repository::mirror::{self, Selection, Settings};

/// Mirror commands.
#[derive(Debug, clap::Subcommand)]
pub enum MirrorCommand {
    /// Create a mirror directory: record the upstream URL and the upstream root to trust, then pull and
    /// verify the upstream's current metadata (no targets: `serve --upstream` pulls them on demand, `mirror
    /// sync` ahead of time).
    Init(InitArgs),
    /// Fill a mirror ahead of time: verify the upstream's metadata, then download the selected targets (all
    /// platforms of all versions of all packages by default), each verified before it is stored. Idempotent;
    /// an interrupted sync resumes where it stopped (partial downloads continue with Range).
    Sync(SyncArgs),
}

/// `mirror init`
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist mirror init --repo /srv/x0x-mirror --upstream https://dist.x0x.example --root root.json\n",
))]
pub struct InitArgs {
    /// Mirror directory (created if missing).
    #[arg(long)]
    pub repo: PathBuf,
    /// Upstream repository: server base URL (or a file:// directory).
    #[arg(long, alias = "mirror-of")]
    pub upstream: String,
    /// The upstream's root.json to trust (obtained out of band, e.g. shipped in the x0x npm package).
    #[arg(long)]
    pub root: PathBuf,
}

/// `mirror sync`
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist mirror sync --repo /srv/x0x-mirror\n",
    "  x0x-dist mirror sync --repo /srv/x0x-mirror --package x0x --versions '^0.3' --targets linux-x64-gnu,wasm32-wasip1\n",
    "  x0x-dist mirror sync --from https://dist.x0x.example --repo /srv/new --root root.json    # a new mirror\n",
    "\n",
    "Environment: X0X_DIST_CA_CERTS, NODE_EXTRA_CA_CERTS, HTTPS_PROXY/NO_PROXY\n",
))]
pub struct SyncArgs {
    /// Upstream repository URL [default: the one recorded by `mirror init`].
    #[arg(long)]
    pub from: Option<String>,
    /// Mirror directory (created if missing; then --root is required).
    #[arg(long)]
    pub repo: PathBuf,
    /// The upstream root.json to trust [default: the one recorded by `mirror init`].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// What to sync.
    #[command(flatten)]
    pub select: SelectionArgs,
    /// Parallel downloads.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--package`, `--versions`, `--targets`: which packages, versions and platforms `mirror sync` and `bundle
/// export` take.
#[derive(Debug, clap::Args)]
pub struct SelectionArgs {
    /// Only this package (repeatable) [default: every delegated package].
    #[arg(long)]
    pub package: Vec<String>,
    /// Only versions matching this semver range (`^0.3`, `>=0.3.1`, `0.3.1`) [default: all].
    #[arg(long)]
    pub versions: Option<String>,
    /// Only these targets: napi platform names, Rust triples or file names, comma-separated or repeated
    /// [default: all platforms].
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<String>,
    /// Skip releases published (signed `custom.published`) less than this long ago: seconds, or a number
    /// with s, m, h or d (`7d`) [default: off; releases without a publish time count as old].
    #[arg(long, value_name = "AGE")]
    pub min_release_age: Option<String>,
}

impl SelectionArgs {
    /// The selection, once `--versions` parses (else a usage error).
    pub fn selection(&self) -> anyhow::Result<Selection> {
        let versions = self
            .versions
            .as_deref()
            .map(semver::VersionReq::parse)
            .transpose()
            .map_err(|e| x0x_dist_repository::Error::Usage(format!("--versions: {e}")))?;
        // A typo would otherwise select nothing and succeed: an empty mirror or bundle, found out too late.
        for t in &self.targets {
            if t.parse::<x0x_dist_manifests::Platform>().is_err() {
                x0x_dist_manifests::Platform::parse_file_name(t).with_context(|| {
                    format!(
                        "--targets {t:?}: not a napi platform name, Rust triple or napi file name"
                    )
                })?;
            }
        }
        let published_before = match self.min_release_age.as_deref() {
            Some(a) => x0x_dist_loader::env::parse_age(a)
                .map_err(|_| {
                    x0x_dist_repository::Error::Usage(format!(
                        "--min-release-age {a:?}: not an age (seconds, or a number with s, m, h or d)"
                    ))
                })?
                .map(|m| time::OffsetDateTime::now_utc() - m.age),
            None => None,
        };
        Ok(Selection {
            packages: self.package.clone(),
            versions,
            targets: self.targets.clone(),
            published_before,
        })
    }
}

/// Runs a mirror command.
pub fn run(c: &MirrorCommand) -> anyhow::Result<()> {
    match c {
        MirrorCommand::Init(a) => init(a),
        MirrorCommand::Sync(a) => sync(a),
    }
}

/// The multi-threaded runtime the mirror and bundle commands block on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Reads a trusted root.json given on the command line or recorded in a mirror.
pub fn read_root(p: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    fs_err::read(p).with_context(|| format!("reading the trusted root {}", p.display()))
}

fn init(a: &InitArgs) -> anyhow::Result<()> {
    if x0x_dist_repository::repo::Layout::new(&a.repo)
        .online_keys()
        .exists()
    {
        return Err(x0x_dist_repository::Error::Usage(format!(
            "{} is an origin repository (it holds online keys), not a mirror",
            a.repo.display()
        ))
        .into());
    }
    let settings = Settings {
        upstream: Some(a.upstream.clone()),
        root: read_root(&a.root)?,
    };
    fs_err::create_dir_all(&a.repo)?;
    let fetcher = mirror::upstream_fetcher(&a.upstream)?;
    let (_, report) = runtime()?.block_on(mirror::pull_metadata(
        &a.repo,
        &fetcher,
        &settings.root,
        time::OffsetDateTime::now_utc(),
    ))?;
    settings.save(&a.repo)?;
    println!(
        "mirror {} of {}: timestamp v{}, snapshot v{} verified ({} metadata files)",
        a.repo.display(),
        x0x_dist_loader::fetch::redact(&a.upstream),
        report.timestamp_version,
        report.snapshot_version,
        report.written
    );
    println!(
        "serve it: x0x-dist serve --repo {} --upstream {}",
        a.repo.display(),
        x0x_dist_loader::fetch::redact(&a.upstream)
    );
    Ok(())
}

fn sync(a: &SyncArgs) -> anyhow::Result<()> {
    let recorded = Settings::load(&a.repo).ok();
    let root = match (&a.root, &recorded) {
        (Some(p), _) => read_root(p)?,
        (None, Some(s)) => s.root.clone(),
        (None, None) => {
            return Err(x0x_dist_repository::Error::Usage(format!(
                "{} is not a mirror yet: pass --root ROOT.json (the upstream root you trust)",
                a.repo.display()
            ))
            .into())
        }
    };
    let from = match (&a.from, recorded.as_ref().and_then(|s| s.upstream.clone())) {
        (Some(f), _) => f.clone(),
        (None, Some(u)) => u,
        (None, None) => {
            return Err(
                x0x_dist_repository::Error::Usage("no upstream: pass --from URL".into()).into(),
            )
        }
    };
    let sel = a.select.selection()?;
    fs_err::create_dir_all(&a.repo)?;
    let fetcher = mirror::upstream_fetcher(&from)?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !a.json;
    let bar = terminal.then(|| {
        let b = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::stderr(),
        );
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:30} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    });
    let progress: Arc<dyn Progress> = match &bar {
        Some(b) => Arc::new(crate::progress::TotalBar(b.clone())),
        None => mirror::no_progress(),
    };
    let start = std::time::Instant::now();
    let report = runtime()?.block_on(mirror::sync(
        &a.repo,
        &fetcher,
        &root,
        &sel,
        a.parallel,
        progress,
        time::OffsetDateTime::now_utc(),
    ));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = report?;
    if recorded.is_none() {
        Settings {
            upstream: Some(from.clone()),
            root,
        }
        .save(&a.repo)?;
    }
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "selected": report.selected, "downloaded": report.downloaded, "present": report.present,
                "bytes": report.bytes, "metadata_written": report.metadata_written, "seconds": secs,
            }))?
        );
    } else {
        #[allow(clippy::cast_precision_loss)]
        let mibs = report.bytes as f64 / 1_048_576.0 / secs.max(1e-9);
        println!(
            "synced {} targets from {}: {} downloaded ({} bytes, {mibs:.1} MiB/s), {} already present; {} metadata files updated",
            report.selected,
            x0x_dist_loader::fetch::redact(&from),
            report.downloaded,
            report.bytes,
            report.present,
            report.metadata_written
        );
    }
    Ok(())
}
