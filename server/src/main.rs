//! `x0x-dist`: the command-line tool.
use clap::Parser;

/// Build, sign, serve, mirror and fetch x0x's binaries.
#[derive(Parser)]
#[command(name = "x0x-dist", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
