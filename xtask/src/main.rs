//! `cargo xtask`: the one entry point for developer tasks, called by CI and the release workflow alike.
use clap::Parser;

/// Developer tasks for x0x-dist.
#[derive(Parser)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
