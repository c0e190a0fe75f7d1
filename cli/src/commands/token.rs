//! `x0x-dist token create|list|revoke`: upload tokens.
use std::path::PathBuf;

/// Manage upload tokens.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an upload token scoped to one or more packages and print it on stdout (only its SHA-256 is stored,
    /// in DIR/tokens.json; a running server picks it up at once).
    Create(TokenCreateArgs),
    /// List the tokens of a repository: id, packages, creation time (never the token: only its hash is stored).
    List(TokenListArgs),
    /// Revoke a token by id (see `token list`); a running server refuses it from its next request on.
    Revoke(TokenRevokeArgs),
}

/// Arguments of `token list`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist token list --repo ./repo\n",
    "  x0x-dist token list --repo ./repo --json\n",
))]
pub struct TokenListArgs {
    /// Where the repository is: a directory, an object store (`tokens.json` there, as its single writer), or with
    /// `--database` the coordinator database of a deployment (the tokens live there; a change takes effect on
    /// every replica at once).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// Print JSON (an array of {id, packages, created}; created in full RFC 3339).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `token revoke`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist token revoke --repo ./repo 3f9c0a1b2d4e    # the id `token create` printed and `token list` shows\n",
))]
pub struct TokenRevokeArgs {
    /// Where the repository is: a directory, an object store (`tokens.json` there, as its single writer), or with
    /// `--database` the coordinator database of a deployment (the tokens live there; a change takes effect on
    /// every replica at once).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// The token's id.
    pub id: String,
}

fn require_repo(repo: &std::path::Path) -> anyhow::Result<()> {
    if x0x_dist_repository::repo::Layout::new(repo)
        .metadata()
        .is_dir()
    {
        return Ok(());
    }
    Err(x0x_dist_repository::Error::new(
        x0x_dist_manifests::codes::Code::RepoNotFound,
        format!(
            "{} is not a repository (run `x0x-dist init --repo DIR`)",
            repo.display()
        ),
    )
    .into())
}

/// Arguments of `token create`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist token create --repo ./repo --package x0x --out token    # 0600; X0X_DIST_TOKEN=$(cat token)\n",
    "  x0x-dist token create --storage s3://x0x-dist/prod --s3-endpoint http://garage:3900 --package x0x --out token\n",
))]
pub struct TokenCreateArgs {
    /// Where the repository is: a directory, an object store (`tokens.json` there, as its single writer), or with
    /// `--database` the coordinator database of a deployment (the tokens live there; a change takes effect on
    /// every replica at once).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// Package the token may publish (repeat for several).
    #[arg(long = "package", required = true)]
    pub packages: Vec<String>,
    /// Write the token to FILE (mode 0600, replaced atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A warning when stdout is a regular file others may read (`token create > token` under umask 022): the
/// token is a secret. `None` for a terminal, a pipe, or a file of mode 0600.
#[cfg(unix)]
fn stdout_file_warning() -> Option<String> {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::PermissionsExt as _;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    let mode = meta.permissions().mode() & 0o777;
    (meta.is_file() && mode & 0o077 != 0).then(|| {
        format!(
            "warning: stdout is a file with mode {mode:03o}: other users may read this token; \
             use `--out FILE` (written 0600) or `chmod 600` it"
        )
    })
}

#[cfg(not(unix))]
fn stdout_file_warning() -> Option<String> {
    None
}

/// `token list`'s table: a header (ID, CREATED, PACKAGES) and one row per token, columns padded to their
/// widest cell; the creation time to the second (UTC), packages comma-separated in the last column.
fn table(tokens: &[x0x_dist_repository::tokens::TokenRecord]) -> String {
    let rows: Vec<[String; 3]> = tokens
        .iter()
        .map(|t| {
            [
                t.id.clone(),
                to_the_second(&t.created),
                t.packages.join(", "),
            ]
        })
        .collect();
    let header = ["ID", "CREATED", "PACKAGES"].map(str::to_owned);
    let width = |i: usize| {
        std::iter::once(&header)
            .chain(&rows)
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1) = (width(0), width(1));
    let mut out = String::new();
    for [id, created, packages] in std::iter::once(&header).chain(&rows) {
        use std::fmt::Write as _;
        let _ = writeln!(out, "{id:<w0$}  {created:<w1$}  {packages}");
    }
    out
}

/// `2026-12-07T19:33:27.123456789Z` as `2026-12-07 19:33:27Z`; a value that is not RFC 3339 as it is.
fn to_the_second(created: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(created, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => created.to_owned(),
    }
}

/// `token create` without a database: the repository directory given.
struct Resolved<'a> {
    repo: PathBuf,
    a: &'a TokenCreateArgs,
}

impl std::ops::Deref for Resolved<'_> {
    type Target = TokenCreateArgs;
    fn deref(&self) -> &TokenCreateArgs {
        self.a
    }
}

/// `token list` without a database.
struct ResolvedList {
    repo: PathBuf,
    json: bool,
}

/// `token revoke` without a database.
struct ResolvedRevoke<'a> {
    repo: PathBuf,
    id: &'a str,
}

/// Runs `token ...`.
pub fn run(cmd: &TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create(a) if a.store.database.is_some() => super::token_db::create(
            a.store.database.as_deref().unwrap_or_default(),
            &a.packages,
            a.out.as_deref(),
        ),
        TokenCommand::List(a) if a.store.database.is_some() => {
            super::token_db::list(a.store.database.as_deref().unwrap_or_default(), a.json)
        }
        TokenCommand::Revoke(a) if a.store.database.is_some() => {
            super::token_db::revoke(a.store.database.as_deref().unwrap_or_default(), &a.id)
        }
        TokenCommand::Create(a) if a.store.storage.is_some() => {
            for p in &a.packages {
                p.parse::<x0x_dist_manifests::PackageName>()?;
            }
            let (token, rec) = x0x_dist_repository::tokens::new_token(&a.packages)?;
            a.store.with_admin(true, async |admin| {
                admin
                    .update_tokens(|f| {
                        f.tokens.push(rec.clone());
                        Ok(())
                    })
                    .await
            })?;
            eprintln!("created token {} for {}", rec.id, a.packages.join(", "));
            emit_token(&token, a.out.as_deref())
        }
        TokenCommand::List(a) if a.store.storage.is_some() => {
            let file = a
                .store
                .with_admin(false, async |admin| admin.tokens().await)?;
            print_list(&file.tokens, a.json, "the object store")
        }
        TokenCommand::Revoke(a) if a.store.storage.is_some() => {
            let rec = a.store.with_admin(true, async |admin| {
                admin
                    .update_tokens(|f| {
                        let i = f.tokens.iter().position(|t| t.id == a.id).ok_or_else(|| {
                            x0x_dist_repository::Error::new(
                                x0x_dist_manifests::codes::Code::UsageInvalid,
                                format!(
                                    "no token with id {} in the object store's tokens.json",
                                    a.id
                                ),
                            )
                        })?;
                        Ok(f.tokens.remove(i))
                    })
                    .await
            })?;
            eprintln!(
                "revoked token {} ({}); a running server refuses it from its next request on",
                rec.id,
                rec.packages.join(", ")
            );
            Ok(())
        }
        TokenCommand::Create(a) => {
            let repo = a.store.dir()?.to_owned();
            let a = &Resolved { repo, a };
            for p in &a.packages {
                p.parse::<x0x_dist_manifests::PackageName>()?;
            }
            require_repo(&a.repo)?;
            // A package the top-level targets role does not delegate is most likely a typo. (Only a
            // warning: a token may be made ahead of `package add`.)
            let delegated: Vec<String> = x0x_dist_repository::repo::load_trusted(
                &a.repo,
                None,
                time::OffsetDateTime::now_utc(),
            )
            .ok()
            .and_then(|set| set.targets("targets").cloned())
            .and_then(|t| t.signed().delegations.clone())
            .map(|d| d.roles.into_iter().map(|r| r.name).collect())
            .unwrap_or_default();
            for p in &a.packages {
                if !delegated.contains(p) {
                    eprintln!(
                        "warning: package {p} is not delegated in {} (yet): publishing with this token \
                         fails with package.not_found until `x0x-dist package add --repo {} {p} \
                         --publisher-key FILE.pub`",
                        a.repo.display(),
                        a.repo.display()
                    );
                }
            }
            let (token, rec) = x0x_dist_repository::tokens::create(&a.repo, &a.packages)?;
            eprintln!("created token {} for {}", rec.id, a.packages.join(", "));
            emit_token(&token, a.out.as_deref())
        }
        TokenCommand::List(a) => {
            let repo = a.store.dir()?.to_owned();
            let a = &ResolvedList { repo, json: a.json };
            require_repo(&a.repo)?;
            let tokens = x0x_dist_repository::tokens::list(&a.repo)?;
            print_list(&tokens, a.json, &a.repo.display().to_string())
        }
        TokenCommand::Revoke(a) => {
            let repo = a.store.dir()?.to_owned();
            let a = &ResolvedRevoke { repo, id: &a.id };
            require_repo(&a.repo)?;
            let rec = x0x_dist_repository::tokens::revoke(&a.repo, a.id)?;
            eprintln!(
                "revoked token {} ({}, created {}); a running server refuses it from its next request on",
                rec.id,
                rec.packages.join(", "),
                rec.created
            );
            Ok(())
        }
    }
}

/// Prints a new token (or writes it to `out`, 0600).
fn emit_token(token: &str, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    if let Some(out) = out {
        x0x_dist_durable::write_atomic(
            out,
            format!("{token}\n").as_bytes(),
            x0x_dist_durable::Mode::Private,
        )?;
        eprintln!("wrote {} (0600)", out.display());
    } else {
        if let Some(w) = stdout_file_warning() {
            eprintln!("{w}");
        }
        println!("{token}");
    }
    Ok(())
}

/// `token list`'s output: JSON, or the table (`where_`: for the message when there are none).
fn print_list(
    tokens: &[x0x_dist_repository::tokens::TokenRecord],
    json: bool,
    where_: &str,
) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = tokens
            .iter()
            .map(|t| serde_json::json!({"id": t.id, "packages": t.packages, "created": t.created}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if tokens.is_empty() {
        eprintln!("no tokens in {where_} (create one with `x0x-dist token create`)");
    } else {
        print!("{}", table(tokens));
    }
    Ok(())
}
