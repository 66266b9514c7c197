//! `gauntlet bench`: its flags, and the order of its measurements. For every run (a fresh
//! cluster each), for every system: start the cluster, then for every operation (gets first put
//! every key once) and every number of clients, one measurement; then stop the cluster. Runs
//! interleave the systems so that a change in the machine's load touches both alike.
//!
//! Ctrl-C, SIGTERM or SIGHUP kill every node before gauntlet exits. Exit code: 0 measured (failed
//! operations are figures, not errors), 3 bad flags, a cluster that would not start, or
//! interrupted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use crate::bench::cluster::{BenchCluster, ClusterSpec, System, LEADER_TIMEOUT};
use crate::bench::generator::{self, BenchOp, Load};
use crate::bench::output::{self, Measurement, Settings};
use crate::bench::stats::Figures;
use crate::db::{guard, ClientProfile};

/// The most clients one measurement may have (a raft-kv node accepts 1,024 client connections).
pub const MAX_CLIENTS: usize = 1024;
/// The largest value a put may write (etcd refuses requests over 1.5 MiB, and the gateway sends
/// values in base64).
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// How many clients put the key space before gets are measured.
const PRELOAD_CLIENTS: usize = 16;

/// Exit code of a bench that measured.
const EXIT_MEASURED: u8 = 0;
/// Exit code of a bench that failed or was interrupted.
const EXIT_FAILED: u8 = 3;

/// Flags of `gauntlet bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The system(s) to drive, comma-separated: raft-kv, etcd, or raft-kv,etcd (side by side,
    /// interleaved per run).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "raft-kv",
        value_name = "raft-kv|etcd"
    )]
    pub db: Vec<System>,
    /// Concurrent clients, or a comma-separated list of counts measured one after the other
    /// (e.g. 1,16,64,256), each from 1 to 1024.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1",
        value_name = "N[,N...]"
    )]
    pub clients: Vec<usize>,
    /// Seconds of each measured window.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub duration: f64,
    /// Seconds of load before each measured window, not counted (connections, leader hints).
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    pub warmup: f64,
    /// What each operation is, comma-separated: put (a value of --value-bytes bytes) or get (a
    /// linearizable read of a key put before).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "put",
        value_name = "put|get"
    )]
    pub op: Vec<BenchOp>,
    /// Bytes of every value put, up to 1048576.
    #[arg(long, default_value_t = 100, value_name = "B")]
    pub value_bytes: usize,
    /// Size of the key space the clients walk through.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub keys: usize,
    /// The clients' kind. patient: a raft-kv client follows leader hints and keeps asking the
    /// leader it learned, an etcd client keeps asking the member that answered (the first one);
    /// 5 s (raft-kv) or 10 s (etcd) per operation. workload: the clients of `gauntlet test`, each
    /// bound to a home node (handed out in turn) where every operation starts, 2 s per operation;
    /// a raft-kv client homed on a follower is redirected and pauses 20 ms (its retry pause)
    /// before every operation reaches the leader, an etcd follower forwards the request itself.
    #[arg(long, default_value = "patient", value_name = "patient|workload", value_parser = parse_profile)]
    pub client_profile: ClientProfile,
    /// Nodes per cluster.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub nodes: usize,
    /// Runs, each on a fresh cluster; with several, a table gives each figure's spread.
    #[arg(long, default_value_t = 1, value_name = "R")]
    pub runs: usize,
    /// The raft-kv executable (default: next to gauntlet, else on PATH).
    #[arg(long, value_name = "PATH")]
    pub node_bin: Option<PathBuf>,
    /// The etcd executable (default: etcd on PATH).
    #[arg(long, value_name = "PATH")]
    pub etcd_bin: Option<PathBuf>,
    /// Where the clusters' data and logs go, one subdirectory per system and run, kept
    /// afterwards (default: a fresh directory under the system's temporary directory, deleted).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the result as one JSON object on standard output (the per-measurement lines go to
    /// standard error).
    #[arg(long)]
    pub json: bool,
}

fn parse_profile(s: &str) -> Result<ClientProfile, String> {
    match s {
        "patient" => Ok(ClientProfile::Patient),
        "workload" => Ok(ClientProfile::Workload),
        other => Err(format!(
            "unknown client profile {other:?} (expected patient or workload)"
        )),
    }
}

/// The `--client-profile` name.
pub fn profile_name(profile: ClientProfile) -> &'static str {
    match profile {
        ClientProfile::Patient => "patient",
        ClientProfile::Workload => "workload",
    }
}

/// The validated plan of a bench.
#[derive(Clone, Debug)]
struct Plan {
    args: BenchArgs,
    warmup: Duration,
    duration: Duration,
    node_bin: PathBuf,
    etcd_bin: PathBuf,
    /// The directory holding every cluster, and whether it is ours to delete.
    base: PathBuf,
    temporary: bool,
}

fn seconds(flag: &str, value: f64, zero_ok: bool) -> anyhow::Result<Duration> {
    if !value.is_finite() || value < 0.0 || (value == 0.0 && !zero_ok) {
        let what = if zero_ok { "non-negative" } else { "positive" };
        bail!("{flag} must be a {what} number of seconds, found {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

impl BenchArgs {
    fn plan(&self) -> anyhow::Result<Plan> {
        if self.db.is_empty() || self.op.is_empty() || self.clients.is_empty() {
            bail!("--db, --op and --clients need at least one value each");
        }
        if let Some(&bad) = self.clients.iter().find(|&&n| n == 0 || n > MAX_CLIENTS) {
            bail!("--clients must be from 1 to {MAX_CLIENTS}, found {bad}");
        }
        if self.nodes == 0 || self.runs == 0 || self.keys == 0 {
            bail!("--nodes, --runs and --keys must be at least 1");
        }
        if self.value_bytes > MAX_VALUE_BYTES {
            bail!(
                "--value-bytes must be at most {MAX_VALUE_BYTES}, found {}",
                self.value_bytes
            );
        }
        let (base, temporary) = match &self.dir {
            Some(dir) => (dir.clone(), false),
            None => (
                std::env::temp_dir().join(format!("gauntlet-bench-{}", std::process::id())),
                true,
            ),
        };
        Ok(Plan {
            args: self.clone(),
            warmup: seconds("--warmup", self.warmup, true)?,
            duration: seconds("--duration", self.duration, false)?,
            node_bin: self
                .node_bin
                .clone()
                .unwrap_or_else(crate::test_cmd::default_node_bin),
            etcd_bin: self.etcd_bin.clone().unwrap_or_else(|| "etcd".into()),
            base,
            temporary,
        })
    }
}

impl Plan {
    fn settings(&self) -> Settings {
        let a = &self.args;
        Settings {
            dbs: a.db.iter().map(|d| d.name()).collect(),
            ops: a.op.iter().map(|o| o.name()).collect(),
            clients: a.clients.clone(),
            runs: a.runs,
            nodes: a.nodes,
            warmup_s: self.warmup.as_secs_f64(),
            duration_s: self.duration.as_secs_f64(),
            value_bytes: a.value_bytes,
            keys: a.keys,
            client_profile: profile_name(a.client_profile),
        }
    }

    /// The directory of one cluster: fresh, never a leftover of an earlier bench.
    fn cluster_dir(&self, system: System, run: usize) -> anyhow::Result<PathBuf> {
        let dir = self.base.join(format!("{}-run-{run}", system.name()));
        if dir.exists() {
            bail!(
                "{} already exists: a bench starts fresh clusters; choose another --dir",
                dir.display()
            );
        }
        Ok(dir)
    }

    /// Where a progress line goes: standard output, or standard error with `--json`.
    fn show(&self, line: &str) {
        if self.args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
}

/// Runs `gauntlet bench` and returns its exit code.
pub fn run(args: &BenchArgs) -> anyhow::Result<u8> {
    let plan = args.plan()?;
    guard::install_panic_hook();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let outcome = runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt()).context("watching SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("watching SIGTERM")?;
        let mut hangup = signal(SignalKind::hangup()).context("watching SIGHUP")?;
        // The bench runs as a task of its own, so that a signal is seen while a node is starting
        // (starts block their worker thread).
        let bench = tokio::spawn(bench(plan.clone()));
        let stopped_by = tokio::select! {
            joined = bench => return joined.context("the bench task failed").and_then(|code| code),
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
            _ = hangup.recv() => "SIGHUP",
        };
        guard::kill_all();
        eprintln!("gauntlet bench: {stopped_by}: every node killed; the bench is incomplete");
        anyhow::Ok(EXIT_FAILED)
    });
    guard::kill_all();
    runtime.shutdown_timeout(Duration::from_secs(1));
    if plan.temporary {
        remove_dir(&plan.base);
    }
    outcome
}

fn remove_dir(dir: &Path) {
    if let Err(err) = std::fs::remove_dir_all(dir) {
        if err.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), %err, "could not delete the bench directory");
        }
    }
}

/// Every measurement of the plan, printed as it completes, then the summary.
async fn bench(plan: Plan) -> anyhow::Result<u8> {
    let settings = plan.settings();
    plan.show(&output::header_line(&settings));
    let mut measurements = Vec::new();
    for run in 1..=plan.args.runs {
        for &system in &plan.args.db {
            let dir = plan.cluster_dir(system, run)?;
            let spec = ClusterSpec {
                system,
                nodes: plan.args.nodes,
                node_bin: plan.node_bin.clone(),
                etcd_bin: plan.etcd_bin.clone(),
                dir: dir.clone(),
                label: format!("{}-{run}", std::process::id()),
            };
            let measured = measure_cluster(&plan, &spec, run).await;
            if plan.temporary {
                remove_dir(&dir);
            }
            for m in measured? {
                measurements.push(m);
            }
        }
    }
    let summaries = output::summarize(&measurements);
    if plan.args.json {
        let report = output::json_report(&settings, &measurements, &summaries);
        println!("{}", serde_json::to_string(&report)?);
    } else if plan.args.runs > 1 || measurements.len() > 1 {
        println!("{}", output::summary_table(&summaries).trim_end());
    }
    Ok(EXIT_MEASURED)
}

/// Starts one cluster, takes every measurement of one run on it, and stops it.
async fn measure_cluster(
    plan: &Plan,
    spec: &ClusterSpec,
    run: usize,
) -> anyhow::Result<Vec<Measurement>> {
    let mut cluster = tokio::task::block_in_place(|| BenchCluster::start(spec))?;
    cluster.wait_for_leader(LEADER_TIMEOUT).await?;
    let mut measurements = Vec::new();
    for &op in &plan.args.op {
        if op == BenchOp::Get {
            let loaders =
                cluster.clients(PRELOAD_CLIENTS.min(plan.args.keys), ClientProfile::Patient);
            generator::preload(loaders, plan.args.keys, plan.args.value_bytes, 20)
                .await
                .map_err(|reason| {
                    anyhow::anyhow!(
                        "{}: putting the keys before gets: {reason}",
                        spec.system.name()
                    )
                })?;
        }
        for &clients in &plan.args.clients {
            let load = Load {
                op,
                warmup: plan.warmup,
                duration: plan.duration,
                value_bytes: plan.args.value_bytes,
                keys: plan.args.keys,
            };
            let sample =
                generator::drive(cluster.clients(clients, plan.args.client_profile), &load).await;
            let measurement = Measurement {
                db: spec.system.name(),
                op: op.name(),
                clients,
                run,
                figures: Figures::of(sample),
            };
            plan.show(&output::measurement_line(&measurement, plan.args.runs));
            measurements.push(measurement);
        }
    }
    // Stops every node (blocking: etcd members get up to 3 s to exit after SIGTERM).
    tokio::task::block_in_place(|| drop(cluster));
    Ok(measurements)
}
