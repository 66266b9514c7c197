//! The `gauntlet` command line: subcommands and their flags (parsing only; the work is elsewhere).

use std::path::PathBuf;

use checker::formats::Format;
use checker::ModelKind;
use clap::{Args, Parser, Subcommand};

/// gauntlet: a Jepsen-style torture harness and linearizability checker.
#[derive(Debug, Parser)]
#[command(name = "gauntlet", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check recorded histories for linearizability.
    ///
    /// Exit code: 0 linearizable, 1 not linearizable, 2 unknown (time or memory bound reached),
    /// 3 unusable input (unreadable, over a read limit, malformed or ill-formed history, or bad
    /// arguments); for several files, the worst of theirs.
    Check(CheckArgs),
    /// Run a cluster under faults, record a history, and check it.
    ///
    /// Exit code: 0 valid, 1 violation found, 2 unknown (checker gave up, or no liveness),
    /// 3 the harness itself failed.
    Test(crate::test_cmd::TestArgs),
    /// Deterministic simulation: one seed, a sweep of seeds, shrink or replay a failing run.
    ///
    /// Exit code: 0 valid, 1 violation, 2 unknown, 3 harness failure.
    Sim(crate::sim_cmd::SimArgs),
    /// Summarize a store: every real run, simulated sweep and fuzz result in it, as summary.md,
    /// summary.json and junit.xml, with what changed since the previous night (trend.jsonl).
    ///
    /// Exit code: 0 everything passed, 1 a violation or fuzz crash, 2 an unknown, 3 a harness
    /// failure, an unreadable run directory, or an unreadable store.
    Summarize(crate::summarize::SummarizeArgs),
    /// Rebuild a run directory's derived artifacts (the plots latency.svg and throughput.svg)
    /// from its history.jsonl, and print the path of each file written.
    ///
    /// Exit code: 0 written, 3 not a run directory or an artifact could not be written.
    Report(crate::report_cmd::ReportArgs),
    /// Throughput and latency of a fresh raft-kv or etcd cluster under the same closed-loop load:
    /// ops/s, p50, p99, max and failed operations per system, operation and number of clients.
    ///
    /// Exit code: 0 measured, 3 bad flags, a cluster that would not start, or interrupted.
    Bench(crate::bench_cmd::BenchArgs),
}

/// Flags of `gauntlet check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The history files, or directories of them (every file below, by name); `-` reads standard
    /// input. One file prints its full report; several print one line each and a summary, and
    /// exit with the worst of their codes.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    pub files: Vec<PathBuf>,
    /// The file's format (default: detected from its content).
    #[arg(long, value_name = "jsonl|jepsen|porcupine-kv|jepsen-etcd-log", value_parser = parse_format)]
    pub format: Option<Format>,
    /// The model to check against (default: from the file's header or format, or the functions it uses).
    #[arg(long, value_name = "register|cas-register|kv|list-append|set", value_parser = parse_model)]
    pub model: Option<ModelKind>,
    /// Print the result as JSON on standard output: one object per file, one a line.
    #[arg(long)]
    pub json: bool,
    /// Give up with "unknown" (exit code 2) after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Give up with "unknown" when the search would need more memory than this many MiB.
    #[arg(long, value_name = "N")]
    pub memory_mb: Option<usize>,
    /// For a linearizable history, also print a witness linearization.
    #[arg(long)]
    pub witness: bool,
    /// Also write the history's timeline page to this file: one self-contained HTML page with
    /// each operation as a bar per process, the nemesis's fault windows and the counterexample
    /// (`docs/inspecting.md`). One history only: with several files or a directory, exit code 3.
    /// Default: no page.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
    /// Refuse (exit code 3) a history larger than this many MiB [default: 1024 for a regular
    /// file, 128 for standard input or a pipe, whose size is not known up front].
    #[arg(long, value_name = "N")]
    pub max_input_mb: Option<u64>,
    /// Refuse (exit code 3) a history with a line longer than this many MiB.
    #[arg(long, value_name = "N", default_value_t = checker::formats::DEFAULT_MAX_LINE_BYTES >> 20)]
    pub max_line_mb: u64,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: checker::formats::UnknownFormat| e.to_string())
}

fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
        .map_err(|e: checker::check::UnknownModel| e.to_string())
}
