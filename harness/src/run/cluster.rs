//! Before a run starts anything: the fault schedule, planned from the seed, and the cluster it
//! will act on (the target's nodes, planned but not started, with every peer link routed through the fault
//! proxy, on ports that do not collide; spare nodes for membership churn included). When the
//! schedule can cut clients (`client-partition`), the clients' links to every node go through the
//! proxy too: one listener per link `clients -> node` (the pseudo-node id
//! [`CLIENTS`](crate::nemesis::schedule::CLIENTS)), which every workload client and final read
//! dials; the nemesis's leader probes still go to the nodes directly.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use super::options::RunOptions;
use super::target::{NodePlan, PeerRouting, PlannedNodes, Target};
use crate::artifacts::RunDir;
use crate::nemesis::schedule::CLIENTS;
use crate::nemesis::{Cluster, Fault, NemesisKind, Schedule, ScheduleOptions};
use crate::proxy::{DestinationSpec, LinkId, LinkSpec, Proxy, ProxyConfig, ProxyHandle};

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

/// True when the run puts its clients' links behind the proxy: a nemesis that cuts them is named.
pub fn routes_clients(options: &RunOptions) -> bool {
    options.nemesis.contains(&NemesisKind::ClientPartition)
}

/// How many times the nodes' ports are chosen again when the proxy took one of them.
const PORT_ATTEMPTS: usize = 5;

/// Plans the target's nodes in the run directory and starts the fault proxy between them. The
/// nodes' ports are chosen free and released before the nodes bind them, and the proxy's
/// listeners bind free ports after that, so the kernel may hand one of the nodes' ports to the
/// proxy (the more nodes, the likelier): then the ports are chosen again.
pub async fn set_up_cluster(
    options: &RunOptions,
    target: &dyn Target,
    dir: &RunDir,
) -> anyhow::Result<Cluster> {
    for attempt in 1..=PORT_ATTEMPTS {
        let (nodes, proxy) = plan_nodes_and_proxy(options, target, dir).await?;
        let node_ports: Vec<SocketAddr> = nodes
            .peer_addrs()
            .into_values()
            .chain(nodes.client_addrs())
            .collect();
        let taken = proxy
            .links()
            .into_iter()
            .filter_map(|link| proxy.addr(link))
            .find(|addr| node_ports.contains(addr));
        match taken {
            None => {
                let mut nodes = nodes;
                if options.nemesis.iter().any(|k| k.needs_power_loss_fs()) {
                    nodes.use_power_loss_fs().context(
                        "putting the nodes' data directories on the power-loss file system",
                    )?;
                }
                return route_through(nodes, proxy, routes_clients(options));
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

/// The planned nodes and a started proxy: one listener per directed link, or one per node when
/// the target's nodes each have one advertised peer address.
async fn plan_nodes_and_proxy(
    options: &RunOptions,
    target: &dyn Target,
    dir: &RunDir,
) -> anyhow::Result<(Box<dyn PlannedNodes>, ProxyHandle)> {
    let nodes = target.plan(&NodePlan {
        dir: dir.path.clone(),
        nodes: options.nodes,
        spares: spare_count(&plan_schedule(options)),
        seed: options.seed,
    })?;
    let config = ProxyConfig {
        seed: options.seed,
        ..ProxyConfig::default()
    };
    // Every planned node, spares included: a spare's links exist before it starts.
    let peers = nodes.peer_addrs();
    let clients = client_links(options, target, nodes.as_ref())?;
    let proxy = match nodes.routing() {
        PeerRouting::PerLink => {
            let mut links = Vec::new();
            for (&to, &target) in &peers {
                for &from in peers.keys() {
                    if from != to {
                        links.push(LinkSpec::loopback(LinkId::new(from, to), target));
                    }
                }
            }
            links.extend(clients);
            Proxy::start_with(config, links).await
        }
        PeerRouting::PerDestination => {
            let destinations = peers
                .iter()
                .map(|(&to, &target)| DestinationSpec::loopback(to, target))
                .collect();
            Proxy::start_by_destination_and_links(config, destinations, clients).await
        }
    }
    .context("starting the fault proxy")?;
    Ok((nodes, proxy))
}

/// The proxy's listeners of the clients' links, `clients -> node` for every planned node, when
/// the run routes its clients (none otherwise).
fn client_links(
    options: &RunOptions,
    target: &dyn Target,
    nodes: &dyn PlannedNodes,
) -> anyhow::Result<Vec<LinkSpec>> {
    if !routes_clients(options) {
        return Ok(Vec::new());
    }
    let addrs: BTreeMap<_, _> = nodes.client_addrs_by_node();
    if addrs.is_empty() {
        anyhow::bail!(
            "--nemesis client-partition: {} does not give its client addresses by node, so its \
             clients cannot be put behind the fault proxy",
            target.name()
        );
    }
    Ok(addrs
        .into_iter()
        .map(|(node, addr)| LinkSpec::loopback(LinkId::new(CLIENTS, node), addr))
        .collect())
}

/// Points every node's peers (and, when the run routes them, the clients) at the proxy
/// listener of its link.
fn route_through(
    mut nodes: Box<dyn PlannedNodes>,
    proxy: ProxyHandle,
    clients: bool,
) -> anyhow::Result<Cluster> {
    if clients {
        nodes
            .route_clients(&|node| {
                proxy
                    .addr(LinkId::new(CLIENTS, node))
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
            })
            .context("routing the clients through the fault proxy")?;
    }
    nodes
        .route_peers(&|from, to| {
            proxy
                .addr(LinkId::new(from, to))
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
        })
        .context("routing the peers through the fault proxy")?;
    Ok(Cluster {
        db: Arc::new(Mutex::new(nodes.into_db())),
        proxy: Arc::new(proxy),
    })
}
