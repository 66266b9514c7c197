//! The `gauntlet` binary: parses the command line, runs the subcommand, exits with its code.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use harness::check_cmd::{self, EXIT_UNUSABLE_INPUT};
use harness::cli::{Cli, Command};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version are not errors; a bad command line is unusable input (exit 3).
            let code = if err.use_stderr() {
                EXIT_UNUSABLE_INPUT
            } else {
                0
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Check(args) => check_cmd::run(&args),
        Command::Test(args) => harness::test_cmd::run(&args),
        Command::Sim(args) => harness::sim_cmd::run_cmd(&args),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("gauntlet: {err:#}");
            ExitCode::from(EXIT_UNUSABLE_INPUT)
        }
    }
}
