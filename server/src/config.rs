//! Server configuration: one struct per concern, read from a TOML file, then environment variables, then flags
//! (later sources win). Every environment variable is a constant in [`env`].
//!
//! ```toml
//! [bind]
//! listen = "127.0.0.1:8080"
//! [storage]
//! repo = "/srv/x0x-dist"
//! max_blob_bytes = 1073741824
//! [limits]
//! upload_idle_timeout_secs = 30
//! header_read_timeout_secs = 10
//! idle_timeout_secs = 30
//! max_connections = 480          # default: (soft RLIMIT_NOFILE - 64) / 2
//! request_timeout_secs = 3600
//! max_metadata_bytes = 4194304
//! shutdown_grace_secs = 30
//! [timestamp]
//! expiry_secs = 86400
//! refresh_before_secs = 21600
//! check_interval_secs = 60
//! [cache]
//! memory_bytes = 268435456
//! max_file_bytes = 1048576
//! [npm]
//! upstream = "https://registry.npmjs.org/"   # default: none (unknown packages are 404)
//! [log]
//! format = "text"   # or "json"
//! filter = "info"
//! [database]
//! url = "postgres://x0x@db.internal/x0x"   # the commit coordinator (docs/server.md, "Scale-out")
//! [writer]
//! claim_ttl_secs = 30   # object store without a database: how long a writer's claim lives unrenewed
//! ```
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Environment variables read by `x0x-dist serve` (each overrides the config file; flags override them).
pub mod env {
    /// Path of the TOML config file.
    pub const CONFIG: &str = "X0X_DIST_CONFIG";
    /// Repository directory (`[storage] repo`).
    pub const REPO: &str = "X0X_DIST_REPO";
    /// Listen address (`[bind] listen`).
    pub const LISTEN: &str = "X0X_DIST_LISTEN";
    /// Maximum blob size in bytes (`[storage] max_blob_bytes`).
    pub const MAX_BLOB_BYTES: &str = "X0X_DIST_MAX_BLOB_BYTES";
    /// Log format, `text` or `json` (`[log] format`).
    pub const LOG_FORMAT: &str = "X0X_DIST_LOG_FORMAT";
    /// Log filter, `tracing-subscriber` `EnvFilter` syntax (`[log] filter`).
    pub const LOG: &str = "X0X_DIST_LOG";
    /// Timestamp expiry in seconds (`[timestamp] expiry_secs`).
    pub const TIMESTAMP_EXPIRY_SECS: &str = "X0X_DIST_TIMESTAMP_EXPIRY_SECS";
    /// Re-sign the timestamp when less than this many seconds remain (`[timestamp] refresh_before_secs`).
    pub const TIMESTAMP_REFRESH_BEFORE_SECS: &str = "X0X_DIST_TIMESTAMP_REFRESH_BEFORE_SECS";
    /// Mirror mode: the upstream repository URL (`[mirror] upstream`, `serve --upstream`).
    pub const UPSTREAM: &str = "X0X_DIST_UPSTREAM";
    /// Upload token for `x0x-dist publish`.
    pub const TOKEN: &str = "X0X_DIST_TOKEN";
    /// Trusted publishing: a file holding the CI's OIDC ID token, exchanged by `x0x-dist publish` for an upload
    /// token (docs/trusted-publishing.md).
    pub const OIDC_TOKEN_FILE: &str = "X0X_DIST_OIDC_TOKEN_FILE";
    /// Object storage instead of the repository directory: `s3://BUCKET/PREFIX` (`[storage] url`).
    pub const STORAGE: &str = "X0X_DIST_STORAGE";
    /// S3 endpoint URL, e.g. `http://127.0.0.1:3900` for a self-hosted engine (`[storage.s3] endpoint`).
    pub const S3_ENDPOINT: &str = "X0X_DIST_S3_ENDPOINT";
    /// S3 region (`[storage.s3] region`). Default `us-east-1`.
    pub const S3_REGION: &str = "X0X_DIST_S3_REGION";
    /// S3 access key id (`[storage.s3] access_key_id`); `AWS_ACCESS_KEY_ID` is read too.
    pub const S3_ACCESS_KEY_ID: &str = "X0X_DIST_S3_ACCESS_KEY_ID";
    /// S3 secret access key (`[storage.s3] secret_access_key`); `AWS_SECRET_ACCESS_KEY` is read too.
    pub const S3_SECRET_ACCESS_KEY: &str = "X0X_DIST_S3_SECRET_ACCESS_KEY";
    /// `[storage.s3] reuse_connections` (`0`/`false` or `1`/`true`).
    pub const S3_REUSE_CONNECTIONS: &str = "X0X_DIST_S3_REUSE_CONNECTIONS";
    /// `[storage.s3] memo_bytes`: bytes of versioned metadata an S3 store keeps in memory.
    pub const S3_MEMO_BYTES: &str = "X0X_DIST_S3_MEMO_BYTES";
    /// Directory of the online keys (`[storage] keys`). Default: the repository directory's `online/`.
    pub const KEYS: &str = "X0X_DIST_KEYS";
    /// How often a replica checks the shared store's `timestamp.json` for another replica's publish, in
    /// seconds (`[storage] poll_secs`).
    pub const POLL_SECS: &str = "X0X_DIST_POLL_SECS";
    /// A replica that does not commit publishes itself: forwards them to this replica (`[replica] publish_via`).
    pub const PUBLISH_VIA: &str = "X0X_DIST_PUBLISH_VIA";
    /// Most connections open at once (`[limits] max_connections`).
    pub const MAX_CONNECTIONS: &str = "X0X_DIST_MAX_CONNECTIONS";
    /// The commit coordinator: a PostgreSQL URL (`[database] url`); every replica then publishes.
    pub const DATABASE_URL: &str = "X0X_DIST_DATABASE_URL";
    /// This replica's name in the audit log and the writer claim (`[replica] id`); default: host name and pid.
    pub const REPLICA_ID: &str = "X0X_DIST_REPLICA_ID";
    /// The npm registry that `/npm/` proxies packages it does not host to (`[npm] upstream`).
    pub const NPM_UPSTREAM: &str = "X0X_DIST_NPM_UPSTREAM";
}

/// The whole server configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where to listen.
    pub bind: BindConfig,
    /// Where the repository lives and blob limits.
    pub storage: StorageConfig,
    /// Timeouts and request size limits.
    pub limits: LimitsConfig,
    /// Timestamp re-signing.
    pub timestamp: TimestampConfig,
    /// In-memory cache of immutable files.
    pub cache: CacheConfig,
    /// Logging.
    pub log: LogConfig,
    /// Mirror mode (`serve --upstream`).
    pub mirror: MirrorConfig,
    /// Running as one of several replicas on one object store (`docs/server.md`, "Scale-out").
    pub replica: ReplicaConfig,
    /// The commit coordinator's database (`crate::coordinator`).
    pub database: DatabaseConfig,
    /// The single writer of an object store without a database (`crate::coordinator::single`).
    pub writer: WriterConfig,
    /// The npm registry view under `/npm/` (`docs/npm-registry.md`).
    pub npm: NpmConfig,
    /// What `GET /api/v1/packages/{name}/resolve` may answer (the release-age cooldown).
    pub resolve: ResolveConfig,
    /// Trusted publishing's OIDC exchange (`crate::oidc`).
    pub oidc: OidcConfig,
}

/// `[database]`: PostgreSQL as the commit coordinator. With it every replica publishes, re-signs the timestamp
/// and changes tokens; without it a directory store takes its file lock and an object store has one writer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`; `None`: no coordinator database.
    pub url: Option<String>,
    /// Most pooled connections per replica. Default 8.
    pub max_connections: Option<usize>,
    /// How many times a publish that lost the commit race is rebuilt on the winner and retried. Default 8.
    pub max_commit_retries: Option<u32>,
}

/// `[writer]`: the single writer of an object store without a database.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriterConfig {
    /// A claim not renewed for this long is dead and may be taken over. Default 30 s (renewed every third).
    pub claim_ttl_secs: u64,
    /// Take the store over even from a live claim (the operator knows the other writer is gone).
    pub take_over: bool,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            claim_ttl_secs: 30,
            take_over: false,
        }
    }
}

/// `[npm]`: the npm registry view under `/npm/`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NpmConfig {
    /// A registry (e.g. `https://registry.npmjs.org/`) that requests for packages this server does not host
    /// are proxied to, so one `.npmrc` line serves a whole project; `None`: those are `404 npm.not_hosted`.
    pub upstream: Option<String>,
}

/// `[replica]`: several `serve` processes on one object store. Exactly one of them commits publishes (the
/// publish leader: it holds the online keys and re-signs the timestamp); the others forward publishes to it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicaConfig {
    /// The leader's URL; `None`: this process commits publishes itself.
    pub publish_via: Option<String>,
    /// This replica's name in the audit log and the writer claim; default: host name and process id.
    pub id: Option<String>,
}

impl ReplicaConfig {
    /// [`ReplicaConfig::id`] or its default.
    pub fn id(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "host".into());
            format!("{host}:{}", std::process::id())
        })
    }
}

/// `[mirror]`: pull-through from an upstream repository (see `docs/mirror.md`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MirrorConfig {
    /// Upstream repository URL; `None`: not a pull-through mirror.
    pub upstream: Option<String>,
    /// Re-check the upstream's timestamp at most this often (seconds). Default 60.
    pub refresh_secs: u64,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        Self {
            upstream: None,
            refresh_secs: 60,
        }
    }
}

/// `[bind]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BindConfig {
    /// Listen address. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
}

impl Default for BindConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

/// `[storage]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Repository directory (required).
    pub repo: PathBuf,
    /// Largest accepted blob upload. Default 1 GiB.
    pub max_blob_bytes: u64,
    /// Object storage in place of `repo`: `s3://BUCKET/PREFIX`. `None`: the repository directory.
    pub url: Option<String>,
    /// Directory holding the online keys (`snapshot.key`, `timestamp.key`). Default: `repo/online`. With
    /// object storage the keys never go into the bucket.
    pub keys: Option<PathBuf>,
    /// How often to check the store's `timestamp.json` for a publish made by another process. Default 2 s.
    pub poll_secs: u64,
    /// `[storage.s3]`: how to reach the object store.
    pub s3: S3Settings,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            repo: PathBuf::new(),
            max_blob_bytes: 1 << 30,
            url: None,
            keys: None,
            poll_secs: 2,
            s3: S3Settings::default(),
        }
    }
}

impl StorageConfig {
    /// The directory of the online keys.
    pub fn keys_dir(&self) -> PathBuf {
        self.keys
            .clone()
            .unwrap_or_else(|| x0x_dist_repository::repo::Layout::new(&self.repo).online_keys())
    }
}

/// `[storage.s3]`: endpoint, region and credentials of an S3-compatible store. Credentials may also come from
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// Endpoint URL (`http://127.0.0.1:3900`); `None`: AWS.
    pub endpoint: Option<String>,
    /// Region. Default `us-east-1`.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Whether control requests (metadata reads and writes, `HEAD`s, small uploads) reuse idle connections to
    /// the engine. Default true; `false` opens a connection per request (`X0X_DIST_S3_REUSE_CONNECTIONS=0`): on
    /// an engine that answers a reused connection in two segments without `TCP_NODELAY`, each such request waits
    /// for the client's delayed ACK (~40 ms on Linux); BENCHMARKS.md, "Publishing with the commit coordinator".
    pub reuse_connections: Option<bool>,
    /// Bytes of versioned (immutable) metadata the store keeps in memory once read or written
    /// (`X0X_DIST_S3_MEMO_BYTES`); default 64 MiB. Each replica's memory grows to this bound as publishes add
    /// versions, then stays there (least recently used first out).
    pub memo_bytes: Option<u64>,
}

/// `[limits]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// An upload fails when no body bytes arrive for this long. Default 30 s.
    pub upload_idle_timeout_secs: u64,
    /// A connection is closed when its first request has not arrived this long after it was accepted (a
    /// client that sends nothing, half a head, or only the h2c preface), or when a later request head takes
    /// longer than this (slowloris). Default 10 s.
    pub header_read_timeout_secs: u64,
    /// A connection with no request in flight (idle keep-alive, an h2c connection with no open stream) is
    /// closed after this long. Default 30 s.
    pub idle_timeout_secs: u64,
    /// Most connections open at once; more are answered `503 server.overloaded` and closed. Default: half of
    /// the soft `RLIMIT_NOFILE` left after 64 reserved descriptors (see [`crate::connections`]).
    pub max_connections: Option<usize>,
    /// Upper bound on any request, uploads included. Default 3600 s.
    pub request_timeout_secs: u64,
    /// Largest accepted signed role submission. Default 4 MiB.
    pub max_metadata_bytes: usize,
    /// How long in-flight requests may finish after SIGTERM/SIGINT. Default 30 s.
    pub shutdown_grace_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            upload_idle_timeout_secs: 30,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 30,
            max_connections: None,
            request_timeout_secs: 3600,
            max_metadata_bytes: 4 << 20,
            shutdown_grace_secs: 30,
        }
    }
}

impl LimitsConfig {
    /// `max_connections`, or its default for this process's descriptor limit.
    pub fn max_connections(&self) -> usize {
        self.max_connections.unwrap_or_else(|| {
            crate::connections::default_max_connections(crate::connections::nofile_soft_limit())
        })
    }

    /// As a duration.
    pub fn upload_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.upload_idle_timeout_secs)
    }
}

/// `[timestamp]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimestampConfig {
    /// Lifetime of a timestamp the server signs. Default 1 day.
    pub expiry_secs: u64,
    /// Re-sign when less than this remains. Default 6 hours.
    pub refresh_before_secs: u64,
    /// How often to check. Default 60 s.
    pub check_interval_secs: u64,
    /// Lifetime of a snapshot the server signs. Default 7 days (re-signed with the timestamp when due).
    pub snapshot_expiry_secs: u64,
}

impl Default for TimestampConfig {
    fn default() -> Self {
        Self {
            expiry_secs: 86_400,
            refresh_before_secs: 21_600,
            check_interval_secs: 60,
            snapshot_expiry_secs: 7 * 86_400,
        }
    }
}

/// `[cache]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Memory budget for immutable files (versioned metadata, hashed targets). Default 256 MiB; 0 disables.
    pub memory_bytes: u64,
    /// Files larger than this are always streamed from storage (the OS page cache keeps them hot; measured no
    /// slower than serving them from our memory, and it keeps RSS flat). Default 1 MiB: all metadata and small
    /// targets are served from memory.
    pub max_file_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            max_file_bytes: 1 << 20,
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Text or JSON.
    pub format: LogFormat,
    /// `EnvFilter` directives. Default `info`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

/// `[resolve]`: what `GET /api/v1/packages/{name}/resolve` (this server's or a pull-through mirror's) may answer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResolveConfig {
    /// Minimum release age (`3600`, `90s`, `30m`, `12h`, `7d`, as `X0X_DIST_MIN_RELEASE_AGE`): a release whose
    /// signed publish time (`custom.published`, the newest of its targets) is younger is never the answer
    /// (a release without one counts as old). Default: off.
    pub min_release_age: Option<String>,
}

impl ResolveConfig {
    /// The parsed age (`None`: off); an invalid value is a startup error.
    pub fn min_release_age(&self) -> anyhow::Result<Option<time::Duration>> {
        match self.min_release_age.as_deref() {
            None => Ok(None),
            Some(v) => x0x_dist_loader::env::parse_age(v)
                .map(|a| a.map(|a| a.age))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "[resolve] min_release_age = {v:?} is not an age (seconds, or a number with s, m, h or d)"
                    )
                }),
        }
    }
}

/// `[oidc]`: trusted publishing's token exchange.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// An issuer's cached JWK set is re-read on a token naming an unknown `kid` (key rotation) at most once
    /// per this many seconds (a stream of tokens with random `kid`s cannot make the server hammer the issuer).
    /// Default 30.
    pub jwks_refresh_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            jwks_refresh_secs: 30,
        }
    }
}

impl Config {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = fs_err::read_to_string(path)?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_sections_and_defaults() {
        let c: Config =
            toml::from_str("[bind]\nlisten = \"0.0.0.0:9000\"\n[timestamp]\nexpiry_secs = 10\n")
                .unwrap();
        assert_eq!(c.bind.listen.port(), 9000);
        assert_eq!(c.timestamp.expiry_secs, 10);
        assert_eq!(c.timestamp.refresh_before_secs, 21_600);
        assert_eq!(c.storage.max_blob_bytes, 1 << 30);
        assert!(toml::from_str::<Config>("[bind]\nlisten_typo = 1\n").is_err());
        let c: Config = toml::from_str("[resolve]\nmin_release_age = \"7d\"\n").unwrap();
        assert_eq!(
            c.resolve.min_release_age().unwrap(),
            Some(time::Duration::days(7))
        );
        assert_eq!(c.oidc.jwks_refresh_secs, 30);
        let c: Config = toml::from_str("[resolve]\nmin_release_age = \"7w\"\n").unwrap();
        assert!(c.resolve.min_release_age().is_err());
    }
}
