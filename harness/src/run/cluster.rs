//! Before a run starts anything: the fault schedule, planned from the seed, and the cluster it
//! will act on (the nodes, planned but not started, with every peer link routed through the fault
//! proxy).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use super::options::RunOptions;
use crate::artifacts::RunDir;
use crate::db::raft_kv::{RaftKv, RaftKvOptions};
use crate::db::Db;
use crate::nemesis::{Cluster, Schedule, ScheduleOptions};
use crate::proxy::{LinkId, LinkSpec, Proxy, ProxyConfig};

/// The run's fault schedule: a pure function of its options.
pub fn plan_schedule(options: &RunOptions) -> Schedule {
    Schedule::generate(&ScheduleOptions {
        seed: options.seed,
        nodes: (1..=options.nodes as u64).collect(),
        kinds: options.nemesis.clone(),
        duration_ms: options.time.as_millis() as u64,
        interval_ms: options.nemesis_interval.as_millis() as u64,
    })
}

/// Plans the raft-kv nodes in the run directory and starts the fault proxy between them.
pub async fn set_up_cluster(options: &RunOptions, dir: &RunDir) -> anyhow::Result<Cluster> {
    let mut raft_kv = RaftKv::plan(RaftKvOptions {
        binary: options.node_bin.clone(),
        nodes: options.nodes,
        dir: dir.path.clone(),
        cluster_id: options.seed | 1,
        election_ms: options.election_ms,
        heartbeat_ms: options.heartbeat_ms,
        snapshot_every: options.snapshot_every,
        unsafe_bugs: options.unsafe_bugs.clone(),
        seed: options.seed,
        ready_timeout: Duration::from_secs(15),
    })?;
    let nodes: Vec<u64> = (1..=options.nodes as u64).collect();
    let mut links = Vec::new();
    for (&to, &target) in &raft_kv.peer_addrs() {
        for &from in &nodes {
            if from != to {
                links.push(LinkSpec::loopback(LinkId::new(from, to), target));
            }
        }
    }
    let proxy = Proxy::start_with(
        ProxyConfig {
            seed: options.seed,
            ..ProxyConfig::default()
        },
        links,
    )
    .await
    .context("starting the fault proxy")?;
    raft_kv.route_peers(|from, to| {
        proxy
            .addr(LinkId::new(from, to))
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    });
    Ok(Cluster {
        db: Arc::new(Mutex::new(Box::new(raft_kv) as Box<dyn Db>)),
        proxy: Arc::new(proxy),
    })
}
