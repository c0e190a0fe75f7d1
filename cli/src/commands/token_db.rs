//! `x0x-dist token create|list|revoke --database URL`: the tokens of a deployment with a coordinator database
//! (`serve --database`). A change is one transaction with its audit-log row (who: `cli` and the local user),
//! and takes effect on every replica from its next request on.
use x0x_dist_server::coordinator::postgres::Postgres;

fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into())
    )
}

fn with_db<T>(
    url: &str,
    f: impl AsyncFnOnce(&Postgres) -> Result<T, x0x_dist_server::error::ApiError>,
) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let cfg = x0x_dist_server::config::DatabaseConfig::default();
        let db = Postgres::new(url, &cfg, actor())?;
        db.migrate_only().await?;
        f(&db).await
    })
    .map_err(Into::into)
}

/// `token create --database URL`.
pub fn create(url: &str, packages: &[String], out: Option<&std::path::Path>) -> anyhow::Result<()> {
    for p in packages {
        p.parse::<x0x_dist_manifests::PackageName>()?;
    }
    let (token, rec) = with_db(url, async |db| db.create_token(packages, &actor()).await)?;
    eprintln!(
        "created token {} for {} in the database; every replica accepts it at once",
        rec.id,
        packages.join(", ")
    );
    if let Some(out) = out {
        x0x_dist_durable::write_atomic(
            out,
            format!("{token}\n").as_bytes(),
            x0x_dist_durable::Mode::Private,
        )?;
        eprintln!("wrote {} (0600)", out.display());
    } else {
        println!("{token}");
    }
    Ok(())
}

/// `token list --database URL`.
pub fn list(url: &str, json: bool) -> anyhow::Result<()> {
    let tokens = with_db(url, async |db| db.list_tokens().await)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&tokens)?);
    } else {
        println!("ID  CREATED  REVOKED  LAST-USED  PACKAGES");
        for t in &tokens {
            println!(
                "{}  {}  {}  {}  {}",
                t.record.id,
                t.record.created,
                t.revoked_at.as_deref().unwrap_or("-"),
                t.last_used_at.as_deref().unwrap_or("-"),
                t.record.packages.join(", ")
            );
        }
    }
    Ok(())
}

/// `token revoke --database URL ID`.
pub fn revoke(url: &str, id: &str) -> anyhow::Result<()> {
    let revoked = with_db(url, async |db| db.revoke_token(id, &actor()).await)?;
    if !revoked {
        return Err(x0x_dist_repository::Error::new(
            x0x_dist_manifests::codes::Code::UsageInvalid,
            format!(
                "no live token with id {id} in the database (`x0x-dist token list --database URL`)"
            ),
        )
        .into());
    }
    eprintln!("revoked token {id}; every replica refuses it from its next request on");
    Ok(())
}
