//! `x0x-dist token create|list|revoke --database URL`: the tokens of a deployment with a coordinator database
//! (`serve --database`). A change is one transaction with its audit-log row (who: `cli` and the local user),
//! and takes effect on every replica from its next request on.
use x0x_dist_server::coordinator::postgres::Postgres;

use super::token::TokenCommand;

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

/// Runs the command against the database if it names one (`None`: it does not; the directory's token file).
pub fn run(cmd: &TokenCommand) -> Option<anyhow::Result<()>> {
    match cmd {
        TokenCommand::Create(a) => {
            let url = a.database.as_deref()?;
            Some((|| {
                for p in &a.packages {
                    p.parse::<x0x_dist_manifests::PackageName>()?;
                }
                let (token, rec) =
                    with_db(url, async |db| db.create_token(&a.packages, &actor()).await)?;
                eprintln!(
                    "created token {} for {} in the database; every replica accepts it at once",
                    rec.id,
                    a.packages.join(", ")
                );
                if let Some(out) = &a.out {
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
            })())
        }
        TokenCommand::List(a) => {
            let url = a.database.as_deref()?;
            Some((|| {
                let tokens = with_db(url, async |db| db.list_tokens().await)?;
                if a.json {
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
            })())
        }
        TokenCommand::Revoke(a) => {
            let url = a.database.as_deref()?;
            Some((|| {
                let revoked = with_db(url, async |db| db.revoke_token(&a.id, &actor()).await)?;
                if !revoked {
                    return Err(x0x_dist_repository::Error::new(
                        x0x_dist_manifests::codes::Code::UsageInvalid,
                        format!("no live token with id {} in the database (`x0x-dist token list --database URL`)", a.id),
                    )
                    .into());
                }
                eprintln!(
                    "revoked token {}; every replica refuses it from its next request on",
                    a.id
                );
                Ok(())
            })())
        }
    }
}
