//! `x0x-dist fetch`: a verified download of a release (or one/all of its targets) into a directory, through the
//! loader library's TUF client and cache.
use std::path::PathBuf;
use x0x_dist_manifests::codes::Code;

use anyhow::Context as _;
use x0x_dist_loader::cache::Cache;
use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location, NoProgress, Progress};
use x0x_dist_loader::host::Host;
use x0x_dist_loader::tuf::ClientOptions;
use x0x_dist_loader::{env, Client};

/// The long description of `fetch` (its `--help`).
pub const LONG_ABOUT: &str = concat!(
    "Download a release verified against TUF metadata: root rotation, timestamp → snapshot → targets ",
    "→ the package's role, then each file's length and SHA-256. Without --target/--all-targets, picks ",
    "the best build for this host (native → WASM with threads → WASM) and checks a native ELF's glibc ",
    "needs against the host. Files are written to --out under their napi names; the verified blobs ",
    "stay in the cache.",
);

/// Arguments of `fetch`: see [`LONG_ABOUT`].
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist fetch --server http://127.0.0.1:8080 --root repo/metadata/1.root.json \\\n",
    "      --package x0x --version '^0.1' --out out    # the best build for this host\n",
    "  x0x-dist fetch --bundle x0x.bundle --root root.json --package x0x --all-targets --out out\n",
    "\n",
    "Environment: X0X_DIST_CACHE, X0X_DIST_OFFLINE=1, X0X_DIST_ALLOW_EXPIRED_AFTER (docs/air-gapped.md), X0X_DIST_CA_CERTS, NODE_EXTRA_CA_CERTS, HTTPS_PROXY/NO_PROXY\n",
))]
#[command(group(clap::ArgGroup::new("source").args(["server", "bundle"])))]
pub struct FetchArgs {
    /// Repository: server base URL (http://127.0.0.1:8080) or a file:// directory (not needed with --offline).
    #[arg(long, env = env::URL, hide_env_values = true)]
    pub server: Option<String>,
    /// An air-gapped bundle file (`x0x-dist bundle export`): unpacked into a temporary directory (entries checked
    /// against its table of contents), then verified exactly like a repository (docs/air-gapped.md).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The trusted root.json to start from (rotations are followed and remembered in the cache): the
    /// repository's DIR/metadata/1.root.json, or the root.json shipped in the x0x npm package.
    #[arg(long, env = env::ROOT, hide_env_values = true)]
    pub root: PathBuf,
    /// Package name.
    #[arg(long)]
    pub package: String,
    /// Version: exact (`0.3.1`) or a semver range (`^0.3`, `~0.3.1`, `*`): the highest match is used.
    #[arg(long, default_value = "*")]
    pub version: String,
    /// Only this target: a Rust triple or a napi platform name.
    #[arg(long, conflicts_with = "all_targets")]
    pub target: Option<String>,
    /// Every target of the release.
    #[arg(long)]
    pub all_targets: bool,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Cache directory [default: $X0X_DIST_CACHE or the per-user cache dir].
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// No network: only verified metadata and targets already in the cache (also X0X_DIST_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A terminal progress bar for long transfers (drawn only when stderr is a terminal).
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Self(bar)
    }
}

impl Progress for Bar {
    fn start(&self, name: &str, total: u64, already: u64) {
        self.0.reset();
        self.0.set_length(total);
        self.0.set_position(already);
        self.0
            .set_message(name.rsplit('/').next().unwrap_or(name).to_owned());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Builds a loader client from the common flags.
pub fn make_client(
    server: &str,
    root: &std::path::Path,
    cache: Option<&PathBuf>,
    offline: bool,
) -> anyhow::Result<Client> {
    if !server.contains("://") && !std::path::Path::new(server).is_dir() {
        // `127.0.0.1:8080` would otherwise be read as a directory of that name and fail later, confusingly.
        return Err(x0x_dist_repository::Error::new(
            Code::UsageInvalid,
            format!(
                "repository {server:?} is neither a URL (http://, https://, file://) nor a directory; \
                 did you mean http://{server}?"
            ),
        )
        .into());
    }
    let location = Location::parse(server)?;
    let fetcher = Fetcher::new(location, FetchOptions::from_env())?;
    let cache_dir = cache.cloned().unwrap_or_else(Cache::default_dir);
    let cache = Cache::open(&cache_dir)?;
    let root_bytes = fs_err::read(root)
        .with_context(|| format!("reading the trusted root {}", root.display()))?;
    let options = ClientOptions {
        offline: offline || env::offline(),
        now: None,
        min_release_age: env::min_release_age()?,
        require_provenance: x0x_dist_loader::provenance::RequireProvenance::from_env()?,
    };
    Ok(Client::new(fetcher, cache, root_bytes, options))
}

/// A candidate that failed verification while another one was taken is a security event, not a routine
/// fallback: one warning per failed file on stderr, every time (issue 21).
fn warn_verify_failures(
    res: &x0x_dist_loader::resolve::Resolution,
    sel: &x0x_dist_loader::Selected,
) {
    for c in &res.candidates {
        if let Some(code) = c.verify_failure {
            eprintln!(
                "warning[{code}]: {} failed verification ({}); fetched {} instead. A verification failure \
                 is a security event: report it to the repository operator",
                c.path,
                c.reason.trim_start_matches("rejected: "),
                sel.candidate.platform_name()
            );
        }
    }
}

/// Runs `fetch`.
pub fn run(a: &FetchArgs) -> anyhow::Result<()> {
    // A bundle is read as the bare repository it unpacks to; nothing in it is trusted before verification.
    let unpacked = match &a.bundle {
        Some(bundle) => {
            let dir = tempfile::tempdir()?;
            x0x_dist_repository::bundle::unpack(bundle, dir.path())?;
            Some(dir)
        }
        None => None,
    };
    let server = match &unpacked {
        Some(d) => d.path().to_str().context("temporary directory path")?,
        None => match a.server.as_deref() {
            Some(s) => s,
            // Offline, everything comes from the cache (e.g. filled by `bundle import --cache`): no
            // repository is contacted (an http location, never a file:// one, which offline still reads).
            None if a.offline || env::offline() => "http://offline.invalid/",
            None => {
                return Err(x0x_dist_repository::Error::new(
                    Code::UsageInvalid,
                    format!(
                    "no repository: pass --server URL (or {}) or --bundle FILE (with --offline, \
                         neither: the cache is used)",
                    env::URL
                ),
                )
                .into())
            }
        },
    };
    // A bare version is exact (`0.1.0` is `=0.1.0`, as users read it); ranges say so (`^0.1`, `~0.1.0`, `*`).
    let exact = semver::Version::parse(a.version.trim()).is_ok();
    let spec = if exact {
        format!("={}", a.version.trim())
    } else {
        a.version.clone()
    };
    let range = semver::VersionReq::parse(&spec).map_err(|e| {
        x0x_dist_repository::Error::new(
            Code::UsageInvalid,
            format!(
                "--version {:?} is not a version or semver range (`0.3.1`, `^0.3`, `*`): {e}",
                a.version
            ),
        )
    })?;
    let mut client = make_client(server, &a.root, a.cache.as_ref(), a.offline)?;
    if unpacked.is_some() {
        // A bundle is local, so it is read even offline (X0X_DIST_OFFLINE=1 forbids the network, not files).
        let root_bytes = fs_err::read(&a.root)?;
        let cache = a.cache.clone().unwrap_or_else(Cache::default_dir);
        client = Client::new(
            Fetcher::new(Location::parse(server)?, FetchOptions::default())?,
            Cache::open(&cache)?,
            root_bytes,
            ClientOptions::default(),
        );
    }
    let host = Host::detect();
    let progress: Box<dyn Progress> =
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) && !a.json {
            Box::new(Bar::new())
        } else {
            Box::new(NoProgress)
        };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(t) = a.target.as_deref() {
        use x0x_dist_manifests::Platform;
        if Platform::from_name(t).is_err() && Platform::from_triple(t).is_err() {
            let known: Vec<&str> = Platform::ALL.iter().map(|p| p.name()).collect();
            return Err(x0x_dist_repository::Error::new(
                x0x_dist_manifests::codes::Code::PlatformUnknown,
                format!(
                    "--target {t} is neither a napi platform name nor a Rust triple x0x-dist knows (one of: {})",
                    known.join(", ")
                ),
            )
            .into());
        }
    }
    let (version, fetched) = rt.block_on(async {
        if a.all_targets || a.target.is_some() {
            let (repo, res) = client
                .resolve(&a.package, &range, &host, a.target.as_deref())
                .await?;
            let wanted: Vec<_> = res
                .candidates
                .iter()
                .filter(|c| a.all_targets || c.rank.is_some())
                .cloned()
                .collect();
            if wanted.is_empty() {
                return Err(x0x_dist_loader::Error::TargetNotFound {
                    package: a.package.clone(),
                    version: res.version.clone(),
                    target: a.target.clone().unwrap_or_default(),
                }
                .into());
            }
            let mut out = Vec::new();
            for c in wanted {
                let path = client.download(&repo, &c, progress.as_ref()).await?;
                out.push(x0x_dist_loader::Selected { candidate: c, path });
            }
            Ok::<_, anyhow::Error>((res.version, out))
        } else {
            let (_, res, sel) = client
                .best(&a.package, &range, &host, progress.as_ref())
                .await?;
            warn_verify_failures(&res, &sel);
            Ok((res.version, vec![sel]))
        }
    })?;
    let mut report = Vec::new();
    for s in &fetched {
        let name = s
            .candidate
            .path
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or(s.candidate.path.as_str());
        let dest = a.out.join(name);
        client.cache().export(&s.path, &dest)?;
        if !a.json {
            println!(
                "{}  {}  {} bytes  -> {}",
                s.candidate.path,
                s.candidate.sha256_hex(),
                s.candidate.length,
                dest.display()
            );
        }
        report.push(serde_json::json!({
            "path": s.candidate.path.as_str(), "platform": s.candidate.platform_name(),
            "triple": s.candidate.triple(), "sha256": s.candidate.sha256_hex(), "length": s.candidate.length, "file": dest, "reason": s.candidate.reason,
        }));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"package": a.package, "version": version, "files": report})
            )?
        );
    }
    Ok(())
}
