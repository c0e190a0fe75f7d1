//! `x0x-dist gc`: removes blobs, targets and versioned metadata no current role references, older than a grace
//! period (`x0x_dist_server::gc`). A dry run unless `--apply`.

/// Arguments of `gc`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist gc --repo ./repo                                  # dry run: what would go, bytes freed\n",
    "  x0x-dist gc --repo ./repo --apply\n",
    "  x0x-dist gc --storage s3://x0x-dist/prod --s3-endpoint http://garage:3900 --database postgres://db/x0x --apply\n",
))]
pub struct GcArgs {
    /// Where the repository is (`--database`: the current timestamp is the database's).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// Only objects older than this many seconds are removed (uploads and commits in progress are younger).
    #[arg(long, default_value_t = 86_400)]
    pub grace_secs: u64,
    /// Remove (without it: print what would be removed and the bytes freed, change nothing).
    #[arg(long)]
    pub apply: bool,
}

/// Runs `gc`.
pub fn run(a: &GcArgs) -> anyhow::Result<()> {
    let s3 = super::migrate::s3_settings(a.store.s3_endpoint.as_ref(), a.store.s3_region.as_ref());
    let spec = match (&a.store.storage, a.store.dir()) {
        (Some(s), _) => s.clone(),
        (None, Err(e)) => return Err(e),
        (None, Ok(r)) => {
            if !x0x_dist_repository::repo::Layout::new(r)
                .metadata()
                .is_dir()
            {
                return Err(x0x_dist_repository::Error::NotFound(r.to_owned()).into());
            }
            r.display().to_string()
        }
    };
    let store = x0x_dist_server::storage::open(&spec, &s3)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let db = match &a.store.database {
            Some(url) => {
                let db = x0x_dist_server::coordinator::postgres::Postgres::new(
                    url,
                    &x0x_dist_server::config::DatabaseConfig::default(),
                    "gc".into(),
                )?;
                db.migrate_only().await?;
                Some(db)
            }
            None => None,
        };
        let coord = db
            .as_ref()
            .map(|d| d as &dyn x0x_dist_server::coordinator::Coordinator);
        let plan = x0x_dist_server::gc::plan(
            &*store,
            coord,
            std::time::Duration::from_secs(a.grace_secs),
            std::time::SystemTime::now(),
        )
        .await?;
        let verb = if a.apply { "removing" } else { "would remove" };
        for g in &plan.garbage {
            println!("{verb} {} ({} bytes)", g.key(), g.size);
        }
        let freed = if a.apply {
            x0x_dist_server::gc::apply(&*store, &plan).await?
        } else {
            plan.bytes()
        };
        eprintln!(
            "{} {} objects, {freed} bytes{}; kept {} referenced, {} younger than {} s",
            if a.apply { "removed" } else { "would remove" },
            plan.garbage.len(),
            if a.apply {
                " freed"
            } else {
                " (dry run: pass --apply)"
            },
            plan.referenced,
            plan.young,
            a.grace_secs
        );
        Ok::<_, anyhow::Error>(())
    })
}
