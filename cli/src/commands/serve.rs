//! `x0x-dist serve`: run the artifact server.
use std::net::SocketAddr;
use std::path::PathBuf;
use x0x_dist_manifests::codes::Code;

use x0x_dist_server::config::{env, Config, LogFormat};

/// The long description of `serve` (its `--help`).
pub const LONG_ABOUT: &str = concat!(
    "Serve a repository over HTTP: the TUF metadata and targets (read-only, no auth), the upload API ",
    "(bearer tokens), convenience JSON, and /healthz, /readyz, /metrics, /openapi.json. ",
    "Configuration: a TOML file (`--config`), then environment variables, then these flags. Stops ",
    "gracefully on SIGTERM/SIGINT.",
);

/// Arguments of `serve`: see [`LONG_ABOUT`].
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist serve --repo ./repo --listen 127.0.0.1:8080\n",
    "  x0x-dist serve --repo /srv/x0x-mirror --upstream https://dist.x0x.example --listen 0.0.0.0:8080    # a mirror\n",
    "  x0x-dist serve --repo /srv/x0x-dist --publish-via http://10.0.0.5:8080 --listen 0.0.0.0:8080    # a follower replica\n",
))]
pub struct ServeArgs {
    /// Where the repository is: --repo DIR or --storage s3://…, the online keys, the database.
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// Address to listen on: IP:PORT or localhost:PORT [default: 127.0.0.1:8080].
    #[arg(long, env = env::LISTEN, hide_env_values = true, value_parser = parse_listen)]
    pub listen: Option<SocketAddr>,
    /// TOML config file (sections [bind], [storage], [limits], [timestamp], [cache], [log]; see docs/server.md).
    #[arg(long, env = env::CONFIG, hide_env_values = true)]
    pub config: Option<PathBuf>,
    /// Largest accepted blob upload in bytes [default: 1 GiB].
    #[arg(long, env = env::MAX_BLOB_BYTES, hide_env_values = true)]
    pub max_blob_bytes: Option<u64>,
    /// Lifetime of the timestamps the server signs, in seconds [default: 86400].
    #[arg(long, env = env::TIMESTAMP_EXPIRY_SECS, hide_env_values = true)]
    pub timestamp_expiry_secs: Option<u64>,
    /// Re-sign the timestamp when less than this many seconds remain [default: 21600].
    #[arg(long, env = env::TIMESTAMP_REFRESH_BEFORE_SECS, hide_env_values = true)]
    pub timestamp_refresh_before_secs: Option<u64>,
    /// Log format.
    #[arg(long, env = env::LOG_FORMAT, hide_env_values = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter (tracing EnvFilter syntax, e.g. `info,x0x_dist=debug`) [default: info].
    #[arg(long, env = env::LOG, hide_env_values = true)]
    pub log: Option<String>,
    /// Mirror mode: pull through from this upstream repository (the directory must have been set up by
    /// `x0x-dist mirror init`, which records the upstream root to trust; see docs/mirror.md).
    #[arg(long, env = env::UPSTREAM, hide_env_values = true)]
    pub upstream: Option<String>,
    /// The npm registry that `/npm/` proxies the packages it does not host to, e.g.
    /// https://registry.npmjs.org/ [default: none: they are 404 npm.not_hosted] (docs/npm-registry.md).
    #[arg(long, env = env::NPM_UPSTREAM, hide_env_values = true)]
    pub npm_upstream: Option<String>,
    /// How often to look for a publish made through another replica, in seconds [default: 2].
    #[arg(long, env = env::POLL_SECS, hide_env_values = true)]
    pub poll_secs: Option<u64>,
    /// Run as a replica that forwards publishes to this leader URL (which holds the online keys) instead of
    /// committing them itself.
    #[arg(long, env = env::PUBLISH_VIA, hide_env_values = true)]
    pub publish_via: Option<String>,
    /// Most connections open at once; more are answered 503 `server.overloaded` [default: (soft
    /// RLIMIT_NOFILE - 64) / 2; see docs/server.md, "Deployment"].
    #[arg(long, env = env::MAX_CONNECTIONS, hide_env_values = true)]
    pub max_connections: Option<usize>,
}

impl ServeArgs {
    /// The merged configuration (file, then environment and flags).
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut c = match &self.config {
            // A file that does not parse is the operator's mistake (config.invalid), not a bug; a missing
            // one stays io.error.
            Some(p) => Config::from_file(p).map_err(|e| {
                if e.chain()
                    .any(|c| c.downcast_ref::<std::io::Error>().is_some())
                {
                    e
                } else {
                    x0x_dist_repository::Error::new(
                        Code::ConfigInvalid,
                        format!("{e:#} (keys and sections: docs/server.md, \"Configuration\")"),
                    )
                    .into()
                }
            })?,
            None => Config::default(),
        };
        self.store.apply(&mut c);
        if let Some(l) = self.listen {
            c.bind.listen = l;
        }
        if let Some(m) = self.max_blob_bytes {
            c.storage.max_blob_bytes = m;
        }
        if let Some(s) = self.timestamp_expiry_secs {
            c.timestamp.expiry_secs = s;
        }
        if let Some(s) = self.timestamp_refresh_before_secs {
            c.timestamp.refresh_before_secs = s;
        }
        if let Some(f) = self.log_format {
            c.log.format = f;
        }
        if let Some(f) = &self.log {
            c.log.filter.clone_from(f);
        }
        if let Some(u) = &self.upstream {
            c.mirror.upstream = Some(u.clone());
        }
        if let Some(u) = &self.npm_upstream {
            c.npm.upstream = Some(u.clone());
        }
        if let Some(p) = self.poll_secs {
            c.storage.poll_secs = p;
        }
        if let Some(u) = &self.publish_via {
            c.replica.publish_via = Some(u.clone());
        }
        if let Some(n) = self.max_connections {
            c.limits.max_connections = Some(n);
        }
        if let Err(e) = c.resolve.min_release_age() {
            return Err(
                x0x_dist_repository::Error::new(Code::ConfigInvalid, format!("{e:#}")).into(),
            );
        }
        if c.storage.repo.as_os_str().is_empty() && c.storage.url.is_none() {
            return Err(x0x_dist_repository::Error::new(
                x0x_dist_manifests::codes::Code::UsageInvalid,
                format!(
                    "no repository: pass --repo DIR (or set {} or [storage] repo)",
                    env::REPO
                ),
            )
            .into());
        }
        if c.timestamp.refresh_before_secs >= c.timestamp.expiry_secs {
            return Err(x0x_dist_repository::Error::new(
                x0x_dist_manifests::codes::Code::UsageInvalid,
                "timestamp refresh_before_secs must be below expiry_secs",
            )
            .into());
        }
        Ok(c)
    }
}

/// `--listen`: `IP:PORT` or `localhost:PORT` (the loopback address, IPv4 first: what `localhost` means to a
/// user typing it; no name lookup).
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{port:?} is not a port number (1-65535)"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Err(format!(
        "{s:?} is not IP:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080) or localhost:PORT"
    ))
}

/// Runs `serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let repo = &config.storage.repo;
    // A typo in --repo is a usage mistake with a next step, not an internal error at startup. A mirror
    // (`--upstream`, or the upstream `mirror init` recorded) says what it lacks itself; with --storage the
    // repository is in the object store (checked when it opens) and the keys come from --keys.
    if config.storage.url.is_none()
        && config.mirror.upstream.is_none()
        && !repo.join("mirror/upstream.json").exists()
        && !repo.join("metadata/root.json").exists()
    {
        return Err(x0x_dist_repository::Error::NotFound(repo.clone()).into());
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)?;
    let sub = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: escape codes in a log file or journald are noise for an operator.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match config.log.format {
        LogFormat::Json => sub.json().init(),
        LogFormat::Text => sub.init(),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listen = config.bind.listen;
    rt.block_on(x0x_dist_server::server::serve(
        config,
        x0x_dist_server::server::shutdown_signal(),
    ))
    .map_err(|e| {
        let in_use = e.chain().find_map(|c| {
            c.downcast_ref::<std::io::Error>()
                .filter(|io| io.kind() == std::io::ErrorKind::AddrInUse)
        });
        match in_use {
            Some(io) => PortInUse(listen, std::io::Error::new(io.kind(), io.to_string())).into(),
            None => e,
        }
    })
}

/// `--listen` names an address another process holds (`io.error`, with the way out as its `help:` line).
#[derive(Debug, thiserror::Error)]
#[error("{0} is already in use")]
pub struct PortInUse(pub SocketAddr, #[source] pub std::io::Error);

/// `serve`'s `help:` line for a port in use (the general one, [`super::next_step`], for everything else).
pub fn next_step(e: &anyhow::Error, _code: x0x_dist_manifests::codes::Code) -> Option<String> {
    let PortInUse(listen, _) = e.chain().find_map(|c| c.downcast_ref::<PortInUse>())?;
    Some(format!(
        "another `x0x-dist serve`? `ss -ltnp 'sport = :{}'` shows which process: stop it, or listen \
         elsewhere with --listen 127.0.0.1:PORT (or localhost:PORT)",
        listen.port()
    ))
}
