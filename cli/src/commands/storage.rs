//! The storage settings every command that reads or changes a repository takes, as `serve` does: `--repo DIR` or
//! `--storage s3://…` with `--s3-endpoint`, the online keys (`--keys`), the coordinator database (`--database`).
//! One clap struct, flattened into each verb's arguments.
use std::path::PathBuf;

use x0x_dist_manifests::codes::Code;
use x0x_dist_server::config::{env, Config};

/// See the module docs.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct StorageArgs {
    /// Repository directory (created by `x0x-dist init`).
    #[arg(long, env = env::REPO, hide_env_values = true)]
    pub repo: Option<PathBuf>,
    /// Keep the repository in an S3-compatible object store instead of --repo: `s3://BUCKET/PREFIX`
    /// (credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or [storage.s3]; see docs/server.md, "Scale-out").
    #[arg(long, env = env::STORAGE, hide_env_values = true)]
    pub storage: Option<String>,
    /// Endpoint of the object store, e.g. http://127.0.0.1:3900 [default: AWS].
    #[arg(long, env = env::S3_ENDPOINT, hide_env_values = true)]
    pub s3_endpoint: Option<String>,
    /// Region of the object store [default: us-east-1].
    #[arg(long, env = env::S3_REGION, hide_env_values = true)]
    pub s3_region: Option<String>,
    /// Directory of the online keys (snapshot.key, timestamp.key) [default: REPO/online].
    #[arg(long, env = env::KEYS, hide_env_values = true)]
    pub keys: Option<PathBuf>,
    /// The commit coordinator: a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DB). With it every
    /// replica publishes, re-signs the timestamp and checks tokens against the database, and a command here
    /// commits as a replica does (docs/coordinator.md); without it an object store has a single writer.
    #[arg(long, env = env::DATABASE_URL, hide_env_values = true)]
    pub database: Option<String>,
    /// This process's name in the audit log and the writer claim [default: host name and process id].
    #[arg(long, env = env::REPLICA_ID, hide_env_values = true)]
    pub replica_id: Option<String>,
    /// Object store without a database: take the store over from another writer's live claim (only when that
    /// writer is known to be gone).
    #[arg(long)]
    pub take_over: bool,
}

impl StorageArgs {
    /// Applies these settings over `c` (a config file's, or the defaults).
    pub fn apply(&self, c: &mut Config) {
        if let Some(r) = &self.repo {
            c.storage.repo.clone_from(r);
        }
        if let Some(u) = &self.storage {
            c.storage.url = Some(u.clone());
        }
        if let Some(u) = &self.s3_endpoint {
            c.storage.s3.endpoint = Some(u.clone());
        }
        if let Some(r) = &self.s3_region {
            c.storage.s3.region = Some(r.clone());
        }
        if let Some(k) = &self.keys {
            c.storage.keys = Some(k.clone());
        }
        if let Some(u) = &self.database {
            c.database.url = Some(u.clone());
        }
        if let Some(id) = &self.replica_id {
            c.replica.id = Some(id.clone());
        }
        if self.take_over {
            c.writer.take_over = true;
        }
    }

    /// Whether the repository is anything but a plain directory without a database (an object store, or a
    /// coordinator database): then a command goes through [`x0x_dist_server::admin`].
    pub fn is_live(&self) -> bool {
        self.storage.is_some() || self.database.is_some()
    }

    /// The directory of `--repo` (usage error without it).
    pub fn dir(&self) -> anyhow::Result<&std::path::Path> {
        self.repo.as_deref().ok_or_else(|| {
            x0x_dist_repository::Error::new(
                Code::UsageInvalid,
                "no repository: pass --repo DIR or --storage s3://BUCKET/PREFIX",
            )
            .into()
        })
    }

    /// The configuration of these settings alone (defaults for the rest); a usage error without --repo or
    /// --storage.
    pub fn config(&self) -> anyhow::Result<Config> {
        if self.storage.is_none() {
            self.dir()?;
        }
        let mut c = Config::default();
        self.apply(&mut c);
        if self.replica_id.is_none() {
            c.replica.id = Some(format!(
                "{}:{}",
                x0x_dist_server::admin::cli_actor(),
                std::process::id()
            ));
        }
        Ok(c)
    }

    /// Runs `f` on the repository opened as `serve` opens it ([`x0x_dist_server::admin::Admin`]; `write`: to
    /// commit, so claiming the store), then gives the writer claim up.
    pub fn with_admin<T>(
        &self,
        write: bool,
        f: impl AsyncFnOnce(&x0x_dist_server::admin::Admin) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let config = self.config()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let admin = x0x_dist_server::admin::Admin::open(&config, write).await?;
            let r = f(&admin).await;
            let closed = admin.close().await;
            let v = r?;
            closed?;
            Ok(v)
        })
    }
}
