//! The `gauntlet` binary: parses the command line, runs the subcommand, exits with its code.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use harness::check_cmd::{self, EXIT_UNUSABLE_INPUT};
use harness::cli::{Cli, Command};
use harness::console_log;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Exit status of a process whose output pipe was closed (128 + SIGPIPE), as shells expect.
const EXIT_BROKEN_PIPE: i32 = 141;

/// `println!` panics when stdout is a closed pipe (`gauntlet sim ... | head -1`). Such a panic is
/// not a bug: end quietly as SIGPIPE would have. The node guard installs its hook later and
/// calls this one after it has stopped every node, so no node outlives the exit.
fn exit_quietly_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        previous(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
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
    // The simulated nodes run the real node code, whose warnings (a torn WAL tail after a
    // simulated crash, ...) are expected there by the thousand: a sweep shows the raft crate's
    // errors only, unless RUST_LOG says otherwise.
    let default_filter = match cli.command {
        Command::Sim(_) => "warn,raft=error",
        _ => "warn",
    };
    // A real run also keeps what the console shows in its run directory (`gauntlet.log`).
    let keeps_console_log = matches!(cli.command, Command::Test(_));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(
                    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
                ),
        )
        .with(keeps_console_log.then(console_log::layer))
        .init();
    let code = match cli.command {
        Command::Check(args) => check_cmd::run(&args),
        Command::Test(args) => harness::test_cmd::run(&args),
        Command::Sim(args) => harness::sim_cmd::run_cmd(&args),
        Command::Summarize(args) => harness::summarize::run(&args),
        Command::Report(args) => harness::report_cmd::run(&args),
        Command::Bench(args) => harness::bench_cmd::run(&args),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let line = format!("gauntlet: {err:#}");
            console_log::shown(&line);
            eprintln!("{line}");
            ExitCode::from(EXIT_UNUSABLE_INPUT)
        }
    }
}
