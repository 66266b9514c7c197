//! `raft-kv bench`: N concurrent clients (one session and connection each) doing puts or
//! linearizable gets for a fixed time; prints one line with throughput and p50/p99 latency.
//!
//! [`BenchOp`] is only the `--op` choice (a kind, without key or value); each request is the one
//! KV operation type, [`raft::kv::Op`], made by [`BenchOp::request`].

use std::{
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use raft::client::{Client, ClientConfig};
use raft::kv::Op;

use super::addrs::parse_addrs;

#[derive(Clone, Copy, ValueEnum)]
enum BenchOp {
    Put,
    Get,
}

impl BenchOp {
    /// The operation one request of this kind sends.
    fn request(self, key: String, value: &str) -> Op {
        match self {
            BenchOp::Put => Op::Put {
                key,
                value: value.to_string(),
            },
            BenchOp::Get => Op::Get { key },
        }
    }

    /// The `--op` name.
    fn name(self) -> &'static str {
        match self {
            BenchOp::Put => "put",
            BenchOp::Get => "get",
        }
    }
}

#[derive(Args)]
pub struct BenchArgs {
    /// Client ports of the nodes: `127.0.0.1:8001,127.0.0.1:8002,...`.
    #[arg(long)]
    cluster: String,
    /// Concurrent clients, each with its own session and connection.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// What each request does: a put (through the log) or a linearizable get (of keys put first).
    #[arg(long, value_enum, default_value = "put")]
    op: BenchOp,
    /// Size of each value put.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// Distinct keys touched.
    #[arg(long, default_value_t = 1000)]
    keys: usize,
}

pub async fn run(args: BenchArgs) -> Result<ExitCode> {
    let cluster = parse_addrs(&args.cluster)?;
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let value = "x".repeat(args.value_bytes);
    if matches!(args.op, BenchOp::Get) {
        let mut loader = Client::new(ClientConfig::new(cluster.clone()));
        for k in 0..args.keys.min(100) {
            loader.put(&format!("key{k}"), &value).await?;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..args.clients {
        let cluster = cluster.clone();
        let stop = stop.clone();
        let value = value.clone();
        let op = args.op;
        let keys = match op {
            BenchOp::Put => args.keys,
            BenchOp::Get => args.keys.min(100),
        };
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(ClientConfig::new(cluster));
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("key{}", n % keys.max(1));
                n = n.wrapping_add(7919);
                let started = Instant::now();
                let ok = client.execute(op.request(key, &value)).await.is_ok();
                if ok {
                    latencies.push(started.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len() - 1);
        latencies[i].as_secs_f64() * 1000.0
    };
    let op = args.op.name();
    println!(
        "op={op} clients={} ops={} errors={errors} throughput={:.0}/s p50={:.2}ms p99={:.2}ms",
        args.clients,
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    Ok(ExitCode::SUCCESS)
}
