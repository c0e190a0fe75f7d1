//! `cargo xtask`: the one entry point for developer tasks, called by CI and the release workflow alike.
//!
//! - `cargo xtask build [--targets host,wasm,cross,all|<napi name>...] [--out DIR] [--rustup]` builds the x0x
//!   core (`core/`) for those targets into DIR with napi file names, checks each build in a real Node of its
//!   platform (or by Mach-O inspection for macOS), and writes `DIR/build-report.json`.
//! - `cargo xtask demo [--listen ADDR]` is the README's run command (see `demo.rs`).
//! - `cargo xtask check-builds [--dir DIR]` re-runs those checks on the files already in DIR.
//! - `cargo xtask collect --from DIR... --out DIR` merges per-runner build directories (release workflow),
//!   verifying each file against its build report.
//!
//! See docs/building.md for the toolchains behind each target.
mod build;
mod check;
mod collect;
mod ctx;
mod demo;
mod report;
mod targets;
use x0x_dist_loader::wasm_imports;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Developer tasks for x0x-dist.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the core for the given targets, check each build, write DIR/build-report.json.
    Build(build::BuildArgs),
    /// Build host + WASM, create ./demo-data if missing, publish the core, serve it and print how to install.
    Demo(demo::DemoArgs),
    /// Check the builds in DIR again (load each in a Node of its platform) and update its build-report.json.
    CheckBuilds {
        /// Directory holding the builds and build-report.json.
        #[arg(long, default_value = "dist/core")]
        dir: PathBuf,
        /// Fail when a build cannot be checked on this machine (instead of recording it as skipped).
        #[arg(long)]
        require_checks: bool,
    },
    /// Merge build directories (each with a build-report.json) into one, verifying every file's SHA-256.
    Collect {
        /// Build directories, or directories whose subdirectories are build directories.
        #[arg(long, required = true, num_args = 1..)]
        from: Vec<PathBuf>,
        /// The merged release directory.
        #[arg(long)]
        out: PathBuf,
        /// Comma-separated platforms that must be present.
        #[arg(long)]
        require: Option<String>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Build(args) => build::run(&args),
        Cmd::Demo(args) => demo::run(&args),
        Cmd::CheckBuilds {
            dir,
            require_checks,
        } => check::run_dir(&dir, require_checks),
        Cmd::Collect { from, out, require } => collect::run(&from, &out, require.as_deref()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
