//! The `gauntlet` command line.
#![forbid(unsafe_code)]

use clap::Parser;

/// gauntlet: a Jepsen-style torture harness and linearizability checker.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
