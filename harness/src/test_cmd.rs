//! `gauntlet test`: its flags, and running one test with signal handling so that Ctrl-C or
//! SIGTERM of gauntlet kills every node before it exits.
//!
//! Exits with the run's [`ExitVerdict`]: 0 valid, 1 violation found, 2 unknown (checker gave up,
//! no liveness, malformed replies) or a combination the chosen `--db` refuses (say, etcd with the
//! membership nemesis), 3 the harness itself failed (or was interrupted).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use crate::console_log;
use crate::db::command_target::CommandTarget;
use crate::db::etcd_target::{EtcdTarget, ReadConsistency};
use crate::db::guard;
use crate::db::raft_kv_target::{
    RaftKvTarget, DEFAULT_ELECTION_MS, DEFAULT_HEARTBEAT_MS, DEFAULT_SNAPSHOT_EVERY,
};
use crate::nemesis::schedule::{parse_nemesis_list, NemesisKind};
use crate::run::{self, RunOptions, RunResults, Target};
use crate::verdict::ExitVerdict;
use crate::workload::{WorkloadKind, WorkloadOptions};

/// Flags of `gauntlet test`.
#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// The system to torture: raft-kv (the nodes built beside gauntlet), etcd (real etcd
    /// members, `--etcd-bin`) or command (any system, started by the commands of a config file,
    /// `--db-config`; docs/your-system.md).
    #[arg(long, default_value = "raft-kv", value_parser = parse_db)]
    pub db: DbKind,
    /// The config file of `--db command`: how to start a node, when it is ready, how clients
    /// talk to it (docs/your-system.md). No default; required with `--db command`.
    #[arg(long, value_name = "FILE")]
    pub db_config: Option<PathBuf>,
    /// The `etcd` executable for `--db etcd`: a path, or a name looked up on PATH (Debian's
    /// etcd-server installs /usr/bin/etcd).
    #[arg(long, default_value = "etcd")]
    pub etcd_bin: PathBuf,
    /// How the workload reads with `--db etcd`: linearizable (through Raft) or serializable
    /// (served by the member asked, stale by design when it is cut off; final reads stay
    /// linearizable). raft-kv refuses serializable (its stale reads are `--unsafe-bug
    /// stale-read`).
    #[arg(long, default_value = "linearizable", value_parser = parse_read_consistency)]
    pub read_consistency: ReadConsistency,
    /// Number of nodes (five as in Jepsen: majorities of three, room for every partition
    /// shape; `--nodes 3` for a smaller, faster cluster).
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Seconds of workload and faults.
    #[arg(long, default_value_t = 30.0)]
    pub time: f64,
    /// register, kv or append.
    #[arg(long, default_value = "append", value_parser = parse_workload)]
    pub workload: WorkloadKind,
    /// Faults to use: comma-separated partition, kill, pause, delay, stale-links,
    /// client-partition, lag-kill, diverge, membership, power-loss, disk-error (or none, or all:
    /// the first four, plus power-loss where FUSE is available;
    /// `all,stale-links,client-partition,lag-kill,diverge,membership,disk-error` for everything).
    /// `membership` adds spare nodes as learners, promotes them, removes and replaces voters.
    /// `client-partition` puts the clients' links behind the fault proxy and cuts them from one
    /// node, or drops only that node's replies. `power-loss` and `disk-error` put each node's
    /// data directory on the harness's FUSE file system (root and /dev/fuse needed).
    #[arg(long, default_value = "partition,kill", value_parser = parse_nemesis)]
    pub nemesis: NemesisList,
    /// Mean seconds a fault lasts, and between faults.
    #[arg(long, default_value_t = 3.0)]
    pub nemesis_interval: f64,
    /// Concurrent logical clients.
    #[arg(long, default_value_t = 5)]
    pub concurrency: usize,
    /// Total operations per second over all clients (0: as fast as they go).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Keys in use at once (kv and append workloads).
    #[arg(long, default_value_t = 5)]
    pub keys: usize,
    /// A client moves to fresh keys after this many of its operations (0: never).
    #[arg(long, default_value_t = 100)]
    pub key_churn: usize,
    /// Seed of everything random (default: random, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where run directories go.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// The raft-kv executable (default: next to gauntlet, else on PATH). raft-kv only.
    #[arg(long)]
    pub node_bin: Option<PathBuf>,
    /// Planted bug to switch on in the nodes (repeatable): stale-read, no-dedup,
    /// ack-before-commit, ack-before-sync, vote-any, truncate-matching, snapshot-keeps-suffix,
    /// promote-unready, two-changes-in-flight (these two need `--nemesis membership`),
    /// snapshot-drops-sessions, skip-fsync, unsynced-vote (the last two caught only by
    /// `--nemesis power-loss`: docs/power-loss.md). Default: none. raft-kv only.
    #[arg(long = "unsafe-bug", value_name = "NAME")]
    pub unsafe_bugs: Vec<String>,
    /// Seconds the cluster has to serve again after healing before it counts as a liveness failure.
    #[arg(long, default_value_t = 20.0)]
    pub recovery_timeout: f64,
    /// Seconds the checker may take before the verdict is unknown.
    #[arg(long, default_value_t = 60.0)]
    pub check_timeout: f64,
    /// Election timeout of the nodes, ms (raft-kv only; etcd members use 500).
    #[arg(long, default_value_t = DEFAULT_ELECTION_MS)]
    pub election_ms: u64,
    /// Heartbeat interval of the nodes, ms (raft-kv only; etcd members use 50).
    #[arg(long, default_value_t = DEFAULT_HEARTBEAT_MS)]
    pub heartbeat_ms: u64,
    /// Nodes snapshot every this many applied entries (raft-kv only).
    #[arg(long, default_value_t = DEFAULT_SNAPSHOT_EVERY)]
    pub snapshot_every: u64,
}

/// The systems `gauntlet test --db` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    RaftKv,
    Etcd,
    Command,
}

fn parse_db(s: &str) -> Result<DbKind, String> {
    match s {
        "raft-kv" => Ok(DbKind::RaftKv),
        "etcd" => Ok(DbKind::Etcd),
        "command" => Ok(DbKind::Command),
        other => Err(format!("unknown db {other:?}: raft-kv, etcd or command")),
    }
}

fn parse_read_consistency(s: &str) -> Result<ReadConsistency, String> {
    s.parse()
}

/// Parsed `--nemesis`: the kinds named, and whether `all` was among them.
#[derive(Debug, Clone)]
pub struct NemesisList(pub Vec<NemesisKind>, pub bool);

fn parse_nemesis(s: &str) -> Result<NemesisList, String> {
    let kinds = parse_nemesis_list(s).map_err(|e| e.to_string())?;
    let all = s.split(',').any(|part| part.trim() == "all");
    Ok(NemesisList(kinds, all))
}

/// The run's nemeses: those named, plus `power-loss` for `all` when the power-loss file system
/// can be mounted (`unavailable`: why it cannot). Naming `power-loss` or `disk-error` where it
/// cannot is an error.
pub fn real_run_nemeses(
    list: &NemesisList,
    unavailable: Option<&str>,
) -> anyhow::Result<Vec<NemesisKind>> {
    let mut kinds = list.0.clone();
    if let Some(named) = kinds.iter().find(|k| k.needs_power_loss_fs()) {
        if let Some(reason) = unavailable {
            bail!(
                "--nemesis {} needs the power-loss file system (FUSE), which cannot be mounted here: {reason}",
                named.name()
            );
        }
    }
    if list.1 && unavailable.is_none() && !kinds.contains(&NemesisKind::PowerLoss) {
        kinds.push(NemesisKind::PowerLoss);
        kinds.sort_unstable();
    }
    Ok(kinds)
}

fn parse_workload(s: &str) -> Result<WorkloadKind, String> {
    s.parse()
        .map_err(|e: crate::workload::UnknownWorkload| e.to_string())
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    if !value.is_finite() || value <= 0.0 {
        bail!("{flag} must be a positive number of seconds, found {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// Where the raft-kv binary is: the flag, else next to the running gauntlet, else `raft-kv` on PATH.
pub fn default_node_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("raft-kv")))
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("raft-kv"))
}

impl TestArgs {
    /// Resolves the flags into run options (choosing the seed if none was given).
    pub fn options(&self) -> anyhow::Result<RunOptions> {
        if self.nodes == 0 || self.concurrency == 0 {
            bail!("--nodes and --concurrency must be at least 1");
        }
        if !self.rate.is_finite() || self.rate < 0.0 {
            bail!("--rate must be a non-negative number, found {}", self.rate);
        }
        let seed = self.seed.unwrap_or_else(rand::random::<u64>) % (1 << 53);
        Ok(RunOptions {
            nodes: self.nodes,
            time: seconds("--time", self.time)?,
            workload: WorkloadOptions {
                kind: self.workload,
                seed,
                concurrency: self.concurrency,
                keys: self.keys.max(1),
                key_churn_ops: self.key_churn,
            },
            nemesis: real_run_nemeses(&self.nemesis, self.power_loss_unavailable().as_deref())?,
            nemesis_interval: seconds("--nemesis-interval", self.nemesis_interval)?,
            seed,
            store: self.store.clone(),
            rate: self.rate,
            recovery_timeout: seconds("--recovery-timeout", self.recovery_timeout)?,
            check_timeout: seconds("--check-timeout", self.check_timeout)?,
        })
    }

    /// Refuses raft-kv's own flags for another `--db`.
    fn refuse_raft_kv_flags(&self, db: &str) -> Result<(), String> {
        let raft_kv_only = [
            (self.node_bin.is_some(), "--node-bin"),
            (!self.unsafe_bugs.is_empty(), "--unsafe-bug"),
            (self.election_ms != DEFAULT_ELECTION_MS, "--election-ms"),
            (self.heartbeat_ms != DEFAULT_HEARTBEAT_MS, "--heartbeat-ms"),
            (
                self.snapshot_every != DEFAULT_SNAPSHOT_EVERY,
                "--snapshot-every",
            ),
        ];
        match raft_kv_only.iter().find(|(given, _)| *given) {
            Some((_, flag)) => Err(format!("{flag} is for --db raft-kv, not --db {db}")),
            None => Ok(()),
        }
    }

    /// Why the nodes' data cannot sit on the power-loss file system (`None`: it can): FUSE is
    /// unavailable here, or the `--db` does not use it.
    pub fn power_loss_unavailable(&self) -> Option<String> {
        match self.db {
            DbKind::RaftKv => crate::powerloss::unavailable_reason(),
            DbKind::Etcd => Some("--db etcd keeps its data on the ordinary file system".into()),
            DbKind::Command => {
                Some("--db command keeps its data on the ordinary file system".into())
            }
        }
    }

    /// The system to torture, with its own options; `Err` says why the flags do not fit it
    /// (a refused combination: exit 2).
    pub fn target(&self) -> Result<Box<dyn Target>, String> {
        let target: Box<dyn Target> = match self.db {
            DbKind::RaftKv => {
                if self.read_consistency != ReadConsistency::Linearizable {
                    return Err(format!(
                        "--read-consistency {} is for --db etcd: raft-kv reads are always \
                         linearizable (its planted stale reads are --unsafe-bug stale-read)",
                        self.read_consistency.name()
                    ));
                }
                Box::new(RaftKvTarget {
                    binary: self.node_bin.clone().unwrap_or_else(default_node_bin),
                    election_ms: self.election_ms,
                    heartbeat_ms: self.heartbeat_ms,
                    snapshot_every: self.snapshot_every,
                    unsafe_bugs: self.unsafe_bugs.clone(),
                })
            }
            DbKind::Etcd => {
                self.refuse_raft_kv_flags("etcd")?;
                Box::new(EtcdTarget {
                    binary: self.etcd_bin.clone(),
                    read_consistency: self.read_consistency,
                })
            }
            DbKind::Command => {
                self.refuse_raft_kv_flags("command")?;
                if self.read_consistency != ReadConsistency::Linearizable {
                    return Err("--read-consistency is for --db etcd, not --db command".into());
                }
                let Some(config) = self.db_config.clone() else {
                    return Err("--db command needs --db-config FILE (docs/your-system.md)".into());
                };
                Box::new(CommandTarget::load(config)?)
            }
        };
        if self.db != DbKind::Command && self.db_config.is_some() {
            return Err("--db-config is for --db command".into());
        }
        target.check_nemeses(&self.nemesis.0)?;
        Ok(target)
    }
}

/// Exit code of a combination of flags the chosen `--db` refuses.
pub const EXIT_REFUSED: u8 = 2;

/// Runs `gauntlet test` and returns its exit code.
pub fn run(args: &TestArgs) -> anyhow::Result<u8> {
    let target = match args.target() {
        Ok(target) => target,
        Err(refused) => {
            let line = format!("gauntlet: refused: {refused}");
            console_log::shown(&line);
            eprintln!("{line}");
            return Ok(EXIT_REFUSED);
        }
    };
    let options = args.options()?;
    if args.nemesis.1 {
        if let Some(reason) = args.power_loss_unavailable() {
            let line = format!("gauntlet: warning: --nemesis all leaves power-loss out ({reason})");
            console_log::shown(&line);
            eprintln!("{line}");
        }
    }
    let store = options.store.clone();
    let seed = options.seed;
    guard::install_panic_hook();
    let line = format!(
        "gauntlet: seed {} (repeat with --seed {})",
        options.seed, options.seed
    );
    console_log::shown(&line);
    eprintln!("{line}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let code = runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt()).context("watching SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("watching SIGTERM")?;
        let mut hangup = signal(SignalKind::hangup()).context("watching SIGHUP")?;
        tokio::select! {
            outcome = run::run(options, target.as_ref()) => {
                let outcome = outcome?;
                console_log::shown(&outcome.summary);
                println!("{}", outcome.summary);
                anyhow::Ok(outcome.exit_code())
            }
            _ = interrupt.recv() => Ok(interrupted("SIGINT", &store, seed)),
            _ = terminate.recv() => Ok(interrupted("SIGTERM", &store, seed)),
            _ = hangup.recv() => Ok(interrupted("SIGHUP", &store, seed)),
        }
    });
    guard::kill_all();
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Kills every node, notes the interruption in the run's `results.json`, and returns exit code 3.
fn interrupted(signal: &str, store: &std::path::Path, seed: u64) -> u8 {
    guard::kill_all();
    let path = store.join("latest").join("results.json");
    let results = RunResults::interrupted(seed, signal);
    if path.parent().is_some_and(|dir| dir.is_dir()) && !path.exists() {
        let _ = crate::artifacts::write_json_atomic(&path, &results);
    }
    let line = format!(
        "gauntlet: {signal}: every node killed; the run is incomplete (history so far in {})",
        store.join("latest").display()
    );
    console_log::shown(&line);
    eprintln!("{line}");
    ExitVerdict::HarnessFailure.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_brings_power_loss_only_where_fuse_works() {
        let all = parse_nemesis("all").unwrap();
        let with_fuse = real_run_nemeses(&all, None).unwrap();
        assert!(with_fuse.contains(&NemesisKind::PowerLoss));
        assert!(!with_fuse.contains(&NemesisKind::DiskError));
        let without = real_run_nemeses(&all, Some("no /dev/fuse")).unwrap();
        assert_eq!(without, NemesisKind::ALL.to_vec());
        let named = parse_nemesis("kill,power-loss").unwrap();
        let err = real_run_nemeses(&named, Some("no /dev/fuse")).unwrap_err();
        assert!(
            err.to_string()
                .contains("--nemesis power-loss needs the power-loss file system"),
            "{err}"
        );
        assert_eq!(
            real_run_nemeses(&named, None).unwrap(),
            vec![NemesisKind::Kill, NemesisKind::PowerLoss]
        );
    }
}
