//! Before a run starts anything: the fault schedule, planned from the seed, and the cluster it
//! will act on (the nodes, planned but not started, with every peer link routed through the fault
//! proxy, on ports that do not collide; spare nodes for membership churn included).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use super::options::RunOptions;
use crate::artifacts::RunDir;
use crate::db::raft_kv::{RaftKv, RaftKvOptions};
use crate::db::Db;
use crate::nemesis::{Cluster, Fault, Schedule, ScheduleOptions};
use crate::proxy::{LinkId, LinkSpec, Proxy, ProxyConfig, ProxyHandle};

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

/// How many spare nodes the schedule's membership steps may start: one per `add-learner` and
/// per `replace` (each takes a fresh id).
pub fn spare_count(schedule: &Schedule) -> usize {
    schedule
        .steps
        .iter()
        .filter(|step| matches!(step.fault, Fault::AddLearner | Fault::Replace { .. }))
        .count()
}

/// How many times the nodes' ports are chosen again when the proxy took one of them.
const PORT_ATTEMPTS: usize = 5;

/// Plans the raft-kv nodes in the run directory and starts the fault proxy between them. The
/// nodes' ports are chosen free and released before the nodes bind them, and the proxy's
/// listeners bind free ports after that, so the kernel may hand one of the nodes' ports to the
/// proxy (the more nodes, the likelier): then the ports are chosen again.
pub async fn set_up_cluster(options: &RunOptions, dir: &RunDir) -> anyhow::Result<Cluster> {
    for attempt in 1..=PORT_ATTEMPTS {
        let (raft_kv, proxy) = plan_nodes_and_proxy(options, dir).await?;
        let node_ports: Vec<SocketAddr> = raft_kv
            .peer_addrs()
            .into_values()
            .chain(raft_kv.client_addrs())
            .collect();
        let taken = proxy
            .links()
            .into_iter()
            .filter_map(|link| proxy.addr(link))
            .find(|addr| node_ports.contains(addr));
        match taken {
            None => {
                let mut raft_kv = raft_kv;
                if options.nemesis.iter().any(|k| k.needs_power_loss_fs()) {
                    raft_kv.use_power_loss_fs().context(
                        "putting the nodes' data directories on the power-loss file system",
                    )?;
                }
                return Ok(route_through(raft_kv, proxy));
            }
            Some(addr) => {
                tracing::info!(%addr, attempt, "the proxy took a node's port; choosing ports again");
                proxy.shutdown().await;
            }
        }
    }
    anyhow::bail!(
        "the fault proxy took one of the nodes' ports {PORT_ATTEMPTS} times in a row; is something \
         else binding loopback ports in a loop?"
    )
}

/// The planned nodes and a started proxy with one listener per directed link.
async fn plan_nodes_and_proxy(
    options: &RunOptions,
    dir: &RunDir,
) -> anyhow::Result<(RaftKv, ProxyHandle)> {
    let raft_kv = RaftKv::plan(RaftKvOptions {
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
        extra_args: Vec::new(),
        spares: spare_count(&plan_schedule(options)),
    })?;
    // Every planned node, spares included: a spare's links exist before it starts.
    let nodes: Vec<u64> = raft_kv.peer_addrs().into_keys().collect();
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
    Ok((raft_kv, proxy))
}

/// Points every node's peers at the proxy listener of its link.
fn route_through(mut raft_kv: RaftKv, proxy: ProxyHandle) -> Cluster {
    raft_kv.route_peers(|from, to| {
        proxy
            .addr(LinkId::new(from, to))
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    });
    Cluster {
        db: Arc::new(Mutex::new(Box::new(raft_kv) as Box<dyn Db>)),
        proxy: Arc::new(proxy),
    }
}
