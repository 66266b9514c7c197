//! A fresh cluster for one bench run: raft-kv or etcd, `nodes` real processes in a directory of
//! their own, peers connected directly (no fault proxy), started and waited on until a leader
//! serves; stopped when the [`BenchCluster`] is dropped (also on an error or a panic; Ctrl-C is
//! handled by the command, through [`crate::db::guard`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::db::etcd::{EtcdDb, EtcdOptions};
use crate::db::raft_kv::{RaftKv, RaftKvOptions};
use crate::db::{ClientProfile, Db, DbClient};

/// How long a fresh cluster may take to elect a leader once every node runs.
pub const LEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// The system a bench drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    RaftKv,
    Etcd,
}

impl System {
    /// The `--db` name.
    pub fn name(self) -> &'static str {
        match self {
            System::RaftKv => "raft-kv",
            System::Etcd => "etcd",
        }
    }
}

impl std::str::FromStr for System {
    type Err = String;

    fn from_str(s: &str) -> Result<System, String> {
        match s {
            "raft-kv" => Ok(System::RaftKv),
            "etcd" => Ok(System::Etcd),
            other => Err(format!(
                "unknown system {other:?} (expected raft-kv or etcd)"
            )),
        }
    }
}

/// What cluster to start.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub system: System,
    pub nodes: usize,
    /// The `raft-kv` executable.
    pub node_bin: PathBuf,
    /// The `etcd` executable.
    pub etcd_bin: PathBuf,
    /// Where the nodes' data directories and logs go (created if missing).
    pub dir: PathBuf,
    /// Tells this cluster apart from the others of the same bench (etcd's cluster token).
    pub label: String,
}

/// A running cluster; dropping it stops every node.
pub struct BenchCluster {
    db: Box<dyn Db>,
}

impl BenchCluster {
    /// Plans and starts every node (blocking: call from `block_in_place` or a plain thread),
    /// then waits until one of them leads.
    pub fn start(spec: &ClusterSpec) -> anyhow::Result<BenchCluster> {
        std::fs::create_dir_all(&spec.dir)
            .with_context(|| format!("creating {}", spec.dir.display()))?;
        let db: Box<dyn Db> = match spec.system {
            System::RaftKv => {
                let mut options =
                    RaftKvOptions::local(spec.node_bin.clone(), spec.dir.clone(), spec.nodes);
                // The timing `gauntlet test` and etcd's options use: heartbeat 50 ms, election 500 ms.
                options.heartbeat_ms = 50;
                options.election_ms = 500;
                let mut raft_kv =
                    RaftKv::plan(options).map_err(|e| anyhow::anyhow!(e.describe()))?;
                // No fault proxy: every node dials the others' own peer addresses.
                let peers = raft_kv.peer_addrs();
                raft_kv.route_peers(|_from, to| peers[&to]);
                Box::new(raft_kv)
            }
            System::Etcd => {
                let mut options = EtcdOptions::local(spec.dir.clone(), spec.nodes);
                options.binary = spec.etcd_bin.clone();
                options.cluster_token = format!("gauntlet-bench-{}", spec.label);
                Box::new(EtcdDb::plan(options).map_err(|e| anyhow::anyhow!(e.describe()))?)
            }
        };
        let mut cluster = BenchCluster { db };
        for node in cluster.db.nodes() {
            cluster.db.start(node).map_err(|e| {
                anyhow::anyhow!("starting {}: {}", spec.system.name(), e.describe())
            })?;
        }
        Ok(cluster)
    }

    /// Waits up to `within` until some node says it leads (`&mut`: the future must be `Send`,
    /// and `Db` is not `Sync`).
    pub async fn wait_for_leader(&mut self, within: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            for node in self.db.nodes() {
                if self.db.is_leader(node).await {
                    return Ok(());
                }
            }
            if started.elapsed() > within {
                bail!(
                    "{}: no leader within {} s; see the logs in {}",
                    self.db.name(),
                    within.as_secs(),
                    self.db
                        .log_path(1)
                        .parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `count` fresh clients of `profile` (see [`crate::bench_cmd::BenchArgs::client_profile`]).
    pub fn clients(&self, count: usize, profile: ClientProfile) -> Vec<Box<dyn DbClient>> {
        (0..count).map(|_| self.db.client(profile)).collect()
    }
}

impl Drop for BenchCluster {
    fn drop(&mut self) {
        self.db.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_parse_from_their_names_only() {
        for system in [System::RaftKv, System::Etcd] {
            assert_eq!(system.name().parse::<System>(), Ok(system));
        }
        assert!("raft_kv".parse::<System>().is_err());
        assert!("RaftKv".parse::<System>().is_err());
    }
}
