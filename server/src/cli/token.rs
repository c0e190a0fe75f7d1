//! `x0x-dist token create`: mint an upload token.
use std::path::PathBuf;

/// Manage upload tokens.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an upload token scoped to one or more packages and print it on stdout (only its SHA-256 is stored,
    /// in DIR/tokens.json; a running server picks it up at once).
    Create(TokenCreateArgs),
}

/// Arguments of `token create`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist token create --repo ./repo --package x0x > token    # pass it to publish --token\n",
))]
pub struct TokenCreateArgs {
    /// Repository directory.
    #[arg(long)]
    pub repo: PathBuf,
    /// Package the token may publish (repeat for several).
    #[arg(long = "package", required = true)]
    pub packages: Vec<String>,
}

/// Runs `token ...`.
pub fn run(cmd: &TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create(a) => {
            for p in &a.packages {
                p.parse::<x0x_dist_manifests::PackageName>()?;
            }
            if !a.repo.join("metadata").is_dir() {
                return Err(x0x_dist::client::CliError::new(
                    "repo.not_found",
                    format!(
                        "{} is not a repository (run `x0x-dist init --repo DIR`)",
                        a.repo.display()
                    ),
                )
                .into());
            }
            // A package the top-level targets role does not delegate is most likely a typo. (Only a
            // warning: a token may be made ahead of `package add`.)
            let delegated: Vec<String> =
                x0x_dist::repo::load_trusted(&a.repo, None, time::OffsetDateTime::now_utc())
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
            let (token, rec) = x0x_dist::tokens::create(&a.repo, &a.packages)?;
            eprintln!("created token {} for {}", rec.id, a.packages.join(", "));
            println!("{token}");
            Ok(())
        }
    }
}
