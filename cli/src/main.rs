//! `x0x-dist`: the command-line tool. One subcommand per module in `commands/`; each has an `Args` struct (or a
//! nested subcommand enum) and a `run` function returning `anyhow::Result<()>`. Errors are printed once, with
//! their cause chain (`{:#}`) and stable code, and the exit status comes from the codes table
//! (`docs/error-codes.md`).
//!
//! To add a command: a module in `commands/`, a variant in [`Command`], an arm in `main`.
mod commands;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Build, sign, serve, mirror and fetch x0x's binaries.
///
/// Exit statuses: 0 ok, 1 internal, 2 usage, 3 trust failure, 4 integrity failure, 5 not found, 6 conflict,
/// 7 network, 8 local I/O, 9 auth, 10 no usable binary (full list: docs/error-codes.md).
#[derive(Parser)]
#[command(name = "x0x-dist", version, max_term_width = 100, after_help = concat!(
    "A repository from scratch: init, keygen, package add, token create, serve, publish (README.md, \"By hand\").\n",
    "Every command's flags, defaults, environment variables and examples: x0x-dist <COMMAND> --help.\n",
    "Mirrors: docs/mirror.md. Air-gapped bundles and expired metadata: docs/air-gapped.md.",
))]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new repository: root, targets, snapshot and timestamp keys (offline keys under DIR/keys/,
    /// the server's online keys under DIR/online/) and the initial signed metadata.
    Init(commands::init::InitArgs),
    /// Generate a publisher key pair: FILE (secret, mode 0600) and FILE.pub (public).
    Keygen(commands::keygen::KeygenArgs),
    /// Manage packages of a local repository (delegations, local releases).
    #[command(subcommand)]
    Package(commands::package::PackageCommand),
    /// Rotate the root keys of a local repository (`root rotate`): the next root, signed by the old and the new
    /// root keys (key files or PKCS#11 URIs).
    #[command(subcommand)]
    Root(commands::root::RootCommand),
    /// Verify every metadata file and every target of a local repository.
    Verify(commands::verify::VerifyArgs),
    /// Serve a repository: TUF metadata and targets, the upload API, convenience JSON, health and metrics.
    #[command(long_about = commands::serve::LONG_ABOUT)]
    Serve(commands::serve::ServeArgs),
    /// Manage upload tokens: `token create --repo DIR --package NAME` prints a new token on stdout; `token list`,
    /// `token revoke ID`.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Publish a release (napi-named files) to a server: upload, sign the package role, submit.
    #[command(long_about = commands::publish::LONG_ABOUT)]
    Publish(commands::publish::PublishArgs),
    /// Approve or reject a staged release (`publish --stage`), as another identity than the stager.
    #[command(subcommand)]
    Release(commands::release::ReleaseCommand),
    /// Download a release verified against TUF metadata (best build for this host, --target, or --all-targets).
    #[command(long_about = commands::fetch::LONG_ABOUT)]
    Fetch(commands::fetch::FetchArgs),
    /// Show host detection (libc, glibc), metadata freshness and every candidate with why it is taken or rejected.
    #[command(long_about = commands::doctor::LONG_ABOUT)]
    Doctor(commands::doctor::DoctorArgs),
    /// Self-hosted mirrors: `mirror init` (record upstream and trusted root), `mirror sync` (fill ahead of time).
    #[command(subcommand)]
    Mirror(commands::mirror::MirrorCommand),
    /// Air-gapped installs: `bundle export` (one file) and `bundle import` (into a mirror or a loader cache).
    #[command(subcommand)]
    Bundle(commands::bundle::BundleCommand),
    /// Copy a repository between stores (directory, s3://BUCKET/PREFIX) and verify the copy; resumable.
    #[command(long_about = commands::migrate::LONG_ABOUT)]
    Migrate(commands::migrate::MigrateArgs),
    /// Remove blobs, targets and versioned metadata no current role references, older than a grace period
    /// (a dry run unless --apply: prints what and the bytes freed).
    Gc(commands::gc::GcArgs),
    /// Print a shell completion script: `x0x-dist completions bash > /etc/bash_completion.d/x0x-dist`
    /// (zsh: a file `_x0x-dist` on $fpath; fish: ~/.config/fish/completions/x0x-dist.fish).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Rust ignores SIGPIPE, so a write to a closed pipe (`x0x-dist doctor --json | head -1`, `token list | true`)
/// fails with EPIPE and `println!` panics (exit 101). Every command but `serve` restores the default, so a
/// closed stdout ends the process quietly like any Unix filter. (Sockets never raise it: Rust sends with
/// `MSG_NOSIGNAL` / `SO_NOSIGPIPE`.)
#[cfg(unix)]
#[allow(unsafe_code)]
fn default_sigpipe() {
    // SAFETY: `signal` with SIG_DFL installs no handler; called at the start of `main` on the only thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}

fn main() -> ExitCode {
    let serving = std::env::args_os().nth(1).is_some_and(|a| a == "serve");
    if !serving {
        default_sigpipe();
    }
    if std::env::args_os().len() == 1 {
        // A bare `x0x-dist` asks what the tool does: the help on stdout, not a usage error.
        use clap::CommandFactory as _;
        let _ = Cli::command().print_help();
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help, --version: printed on stdout, exit 0.
        Err(e) if !e.use_stderr() => e.exit(),
        // A missing or unknown flag carries the stable code like every other failure (exit 2), followed by
        // clap's usage line and pointer to --help.
        Err(e) => {
            let text = e.render().to_string();
            let code = x0x_dist_manifests::codes::Code::UsageInvalid;
            eprint!(
                "error[{code}]: {}",
                text.strip_prefix("error: ").unwrap_or(&text)
            );
            return ExitCode::from(code.exit());
        }
    };
    if !matches!(cli.command, Command::Serve(_)) {
        commands::log::init();
    }
    let result = match &cli.command {
        Command::Init(a) => commands::init::run(a),
        Command::Keygen(a) => commands::keygen::run(a),
        Command::Package(c) => commands::package::run(c),
        Command::Root(c) => commands::root::run(c),
        Command::Verify(a) => commands::verify::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Token(c) => commands::token::run(c),
        Command::Publish(a) => commands::publish::run(a),
        Command::Release(c) => commands::release::run(c),
        Command::Fetch(a) => commands::fetch::run(a),
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Mirror(c) => commands::mirror::run(c),
        Command::Bundle(c) => commands::bundle::run(c),
        Command::Migrate(a) => commands::migrate::run(a),
        Command::Gc(a) => commands::gc::run(a),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "x0x-dist",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match cli.command {
        // A repository on this disk: its hints name DIR and verify's own flags, not a server's.
        Command::Verify(_) => commands::finish_with(result, |_, code| {
            commands::verify::next_step(code).map(str::to_owned)
        }),
        Command::Serve(_) => commands::finish_with(result, commands::serve::next_step),
        _ => commands::finish(result),
    }
}
