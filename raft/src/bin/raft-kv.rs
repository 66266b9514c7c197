//! `raft-kv`: the replicated key/value node (`serve`), a command-line client (`client`) and a
//! load generator (`bench`). See `docs/server.md`.
#![forbid(unsafe_code)]

#[path = "raft-kv/addrs.rs"]
mod addrs;
#[path = "raft-kv/bench.rs"]
mod bench;
#[path = "raft-kv/client_cmd.rs"]
mod client_cmd;
#[path = "raft-kv/conn_args.rs"]
mod conn_args;
#[path = "raft-kv/security_args.rs"]
mod security_args;
#[path = "raft-kv/serve.rs"]
mod serve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "raft-kv", version, about = "A Raft replicated key/value store")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one node.
    Serve(serve::ServeArgs),
    /// Run one operation against a cluster.
    Client(client_cmd::ClientArgs),
    /// Load a cluster and print throughput and latency.
    Bench(bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("raft-kv: cannot start the tokio runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Client(args) => runtime.block_on(client_cmd::run(args)),
        Command::Bench(args) => runtime.block_on(bench::run(args)),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("raft-kv: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
