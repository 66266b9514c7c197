//! [`RaftKv`]: the raft-kv node as a [`Db`]. Each node is a real `raft-kv serve` process in its own
//! process group, with stdout read for the `ready <id> <addr>` line, stderr appended to
//! `node-<id>.log` and its event stream (`raft-kv serve --events`) to `events-<id>.jsonl` in the
//! run directory. Ports are chosen free once and kept across restarts.
//!
//! Peer routing: [`RaftKv::plan`] picks the real peer and client addresses; the caller puts its
//! fault proxy in front of the peer addresses and tells [`RaftKv::route_peers`] which address node
//! `i` must dial to reach node `j` (the proxy listener for link `i -> j`).
//!
//! Disk faults: after [`RaftKv::use_power_loss_fs`], each node's data directory `data-<id>` is a
//! mount of the harness's power-loss file system (its durable state kept in `disk-<id>`), so
//! [`Db::disk_fault`] can drop what a node did not sync or fail its next fsync. The mounts are
//! unmounted by [`Db::teardown`] and when the `RaftKv` is dropped.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use nix::sys::signal::Signal;

use super::processes::{wipe_data_dir, NodeProcesses};
use super::raft_kv_client::{probe_is_leader, RaftKvClient};
use super::{
    guard, ports, ClientProfile, Db, DbClient, DbError, DiskFault, MembershipChange, NodeId,
};
use crate::powerloss::{PowerLossFs, PowerLossMount};
use raft::client::{Client, ClientConfig};
use raft::kv::{AdminRequest, AuthorizedAdmin};

/// How to run a raft-kv cluster.
#[derive(Clone, Debug)]
pub struct RaftKvOptions {
    /// The `raft-kv` executable.
    pub binary: PathBuf,
    pub nodes: usize,
    /// Where node data directories and logs go.
    pub dir: PathBuf,
    pub cluster_id: u64,
    pub election_ms: u64,
    pub heartbeat_ms: u64,
    pub snapshot_every: u64,
    /// Planted bugs to switch on (`--unsafe-bug`).
    pub unsafe_bugs: Vec<String>,
    pub seed: u64,
    /// How long a start may take before the node counts as failed.
    pub ready_timeout: Duration,
    /// More `raft-kv serve` arguments for every node (e.g. `--voters 1,2,3`).
    pub extra_args: Vec<String>,
    /// Spare nodes for membership churn, ids `nodes + 1 ..`: planned (ports, proxy links) but
    /// started only by [`Db::take_spare`]. With spares, every node starts with `--voters 1..nodes`.
    pub spares: usize,
}

impl RaftKvOptions {
    /// A local cluster of `nodes` nodes of `binary` in `dir`, with the timing the integration
    /// tests use (election 300 ms, heartbeat 30 ms), a snapshot every 1,000 entries and no
    /// planted bug; change the fields for anything else.
    pub fn local(binary: PathBuf, dir: PathBuf, nodes: usize) -> RaftKvOptions {
        RaftKvOptions {
            binary,
            nodes,
            dir,
            cluster_id: 7,
            election_ms: 300,
            heartbeat_ms: 30,
            snapshot_every: 1_000,
            unsafe_bugs: Vec::new(),
            seed: 1,
            ready_timeout: Duration::from_secs(20),
            extra_args: Vec::new(),
            spares: 0,
        }
    }
}

struct NodePlan {
    peer_addr: SocketAddr,
    client_addr: SocketAddr,
    /// Where clients dial this node: `client_addr`, or the fault proxy's listener of the
    /// clients' link to it (see [`RaftKv::route_clients`]).
    client_route: SocketAddr,
    /// What this node dials for each other node.
    routes: BTreeMap<NodeId, SocketAddr>,
    data_dir: PathBuf,
    log: PathBuf,
    events: PathBuf,
    starts: u32,
}

/// A raft-kv cluster of real processes.
pub struct RaftKv {
    options: RaftKvOptions,
    plans: BTreeMap<NodeId, NodePlan>,
    processes: NodeProcesses,
    /// How many clients were made: each workload client's home node is the next one in turn.
    clients_made: AtomicUsize,
    /// The current members ([`Db::nodes`]): the initial nodes, plus spares taken, minus nodes
    /// retired.
    members: std::collections::BTreeSet<NodeId>,
    /// Spare ids not taken yet, lowest first.
    spares: std::collections::VecDeque<NodeId>,
    /// Each node's power-loss mount on its data directory ([`RaftKv::use_power_loss_fs`]).
    mounts: BTreeMap<NodeId, PowerLossMount>,
}

impl RaftKv {
    /// Chooses free ports and paths for every node; starts nothing.
    pub fn plan(mut options: RaftKvOptions) -> Result<RaftKv, DbError> {
        let planned = options.nodes + options.spares;
        let addrs = ports::free_loopback_addrs(planned * 2).map_err(|source| DbError::Io {
            node: 0,
            what: "choosing free ports".into(),
            source,
        })?;
        if options.spares > 0 {
            let voters: Vec<String> = (1..=options.nodes).map(|n| n.to_string()).collect();
            options.extra_args.push("--voters".into());
            options.extra_args.push(voters.join(","));
        }
        let mut plans = BTreeMap::new();
        for index in 0..planned {
            let id = index as NodeId + 1;
            plans.insert(
                id,
                NodePlan {
                    peer_addr: addrs[2 * index],
                    client_addr: addrs[2 * index + 1],
                    client_route: addrs[2 * index + 1],
                    routes: BTreeMap::new(),
                    data_dir: options.dir.join(format!("data-{id}")),
                    log: options.dir.join(format!("node-{id}.log")),
                    events: options.dir.join(crate::raft_check::stream_file(id)),
                    starts: 0,
                },
            );
        }
        // Until `route_peers` says otherwise, nodes dial each other directly.
        let peer_addrs: Vec<(NodeId, SocketAddr)> =
            plans.iter().map(|(&id, p)| (id, p.peer_addr)).collect();
        for plan in plans.values_mut() {
            plan.routes = peer_addrs.iter().copied().collect();
        }
        let initial = options.nodes as NodeId;
        Ok(RaftKv {
            members: (1..=initial).collect(),
            spares: (initial + 1..=planned as NodeId).collect(),
            options,
            plans,
            processes: NodeProcesses::new("node"),
            clients_made: AtomicUsize::new(0),
            mounts: BTreeMap::new(),
        })
    }

    /// Puts every planned node's data directory (spares' included) on its own mount of the
    /// power-loss file system, its durable state in `disk-<id>` next to it; call before any
    /// node starts. Mount points a killed run left in the store (the directory two levels above
    /// the run's, `<store>/<test>/<run>`) are cleaned up first.
    pub fn use_power_loss_fs(&mut self) -> Result<(), DbError> {
        let mut above = self.options.dir.ancestors().skip(1);
        if let Some(store) = above.nth(1).or(self.options.dir.parent()) {
            crate::powerloss::unmount_stale(store);
        }
        for (&node, plan) in &self.plans {
            if self.mounts.contains_key(&node) {
                continue;
            }
            let backing = self.options.dir.join(format!("disk-{node}"));
            for dir in [&backing, &plan.data_dir] {
                std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
                    node,
                    what: format!("creating {}", dir.display()),
                    source,
                })?;
            }
            let mount =
                PowerLossFs::mount(&backing, &plan.data_dir).map_err(|err| DbError::Control {
                    node,
                    what: err.to_string(),
                })?;
            self.mounts.insert(node, mount);
        }
        Ok(())
    }

    /// True when the data directories sit on the power-loss file system.
    pub fn has_power_loss_fs(&self) -> bool {
        !self.mounts.is_empty()
    }

    /// How many syncs of node `node` failed with an armed disk error.
    pub fn sync_failures(&self, node: NodeId) -> u64 {
        self.mounts
            .get(&node)
            .map_or(0, PowerLossMount::sync_failures)
    }

    /// The power-loss mount of node `node`'s data directory, if it has one.
    pub fn power_loss_mount(&self, node: NodeId) -> Option<&PowerLossMount> {
        self.mounts.get(&node)
    }

    /// The real Raft address of every node (the targets of the proxy's links).
    pub fn peer_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.plans
            .iter()
            .map(|(&id, p)| (id, p.peer_addr))
            .collect()
    }

    /// Sets the address node `from` dials to reach node `to`, for every pair.
    pub fn route_peers(&mut self, route: impl Fn(NodeId, NodeId) -> SocketAddr) {
        for (&from, plan) in self.plans.iter_mut() {
            for (&to, addr) in plan.routes.iter_mut() {
                if to != from {
                    *addr = route(from, to);
                }
            }
        }
    }

    /// Sets where clients dial each node (say, the fault proxy's client links): every client
    /// made from now on, and the client addresses the nodes give as leader hints.
    pub fn route_clients(&mut self, route: impl Fn(NodeId) -> SocketAddr) {
        for (&id, plan) in self.plans.iter_mut() {
            plan.client_route = route(id);
        }
    }

    /// The address node `node` serves clients on.
    pub fn client_addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.plans.get(&node).map(|p| p.client_addr)
    }

    /// The real Raft (peer) address of node `node`.
    pub fn peer_addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.plans.get(&node).map(|p| p.peer_addr)
    }

    /// Node `node`'s data directory.
    pub fn data_dir(&self, node: NodeId) -> Option<PathBuf> {
        self.plans.get(&node).map(|p| p.data_dir.clone())
    }

    /// Where node `node` appends its event stream (over all its starts).
    pub fn events_path(&self, node: NodeId) -> Option<PathBuf> {
        self.plans.get(&node).map(|p| p.events.clone())
    }

    /// Everything node `node` wrote to stderr so far, over all its starts (empty if none).
    pub fn log_text(&self, node: NodeId) -> String {
        std::fs::read_to_string(self.log_path(node)).unwrap_or_default()
    }

    /// Sends SIGTERM to node `node` and waits up to `within` for it to exit; its exit status.
    pub fn terminate(&mut self, node: NodeId, within: Duration) -> Result<ExitStatus, DbError> {
        self.processes.terminate(node, within)
    }

    /// The running node that serves a linearizable read itself (the leader), if any.
    pub async fn leader(&mut self) -> Option<NodeId> {
        let nodes: Vec<NodeId> = self.plans.keys().copied().collect();
        for node in nodes {
            if self.is_running(node) && self.is_leader(node).await {
                return Some(node);
            }
        }
        None
    }

    /// Waits up to `within` for a leader; `None` when there is none by then.
    pub async fn wait_for_leader(&mut self, within: Duration) -> Option<NodeId> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(node) = self.leader().await {
                return Some(node);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn plan_of(&self, node: NodeId) -> Result<&NodePlan, DbError> {
        self.plans.get(&node).ok_or(DbError::UnknownNode(node))
    }

    fn command(&self, node: NodeId, plan: &NodePlan) -> Command {
        let list = |addrs: &mut dyn Iterator<Item = (NodeId, SocketAddr)>| {
            addrs
                .map(|(id, addr)| format!("{id}={addr}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let peers = list(
            &mut plan
                .routes
                .iter()
                .map(|(&id, &addr)| (id, if id == node { plan.peer_addr } else { addr })),
        );
        let client_peers = list(&mut self.plans.iter().map(|(&id, p)| (id, p.client_route)));
        let mut command = Command::new(&self.options.binary);
        command
            .arg("serve")
            .args(["--id", &node.to_string()])
            .args(["--peers", &peers])
            .args(["--client-peers", &client_peers])
            .args(["--listen", &plan.peer_addr.to_string()])
            .args(["--client-listen", &plan.client_addr.to_string()])
            .arg("--data-dir")
            .arg(&plan.data_dir)
            .arg("--events")
            .arg(&plan.events)
            .args(["--cluster-id", &self.options.cluster_id.to_string()])
            .args(["--election-ms", &self.options.election_ms.to_string()])
            .args(["--heartbeat-ms", &self.options.heartbeat_ms.to_string()])
            .args(["--snapshot-every", &self.options.snapshot_every.to_string()])
            .args([
                "--seed",
                &(self.options.seed ^ node ^ u64::from(plan.starts) << 32).to_string(),
            ]);
        for bug in &self.options.unsafe_bugs {
            command.args(["--unsafe-bug", bug]);
        }
        // Every client of a local run comes from 127.0.0.1: the per-source limit (256 by default,
        // there to keep one source from starving others) is raised to the port's global limit, so
        // `--concurrency` in the hundreds is not refused by it.
        command.args(["--client-max-per-source", "1024"]);
        command.args(&self.options.extra_args);
        // The node stops by itself if this process dies without stopping it (SIGKILL).
        command.args(["--exit-with-parent", &std::process::id().to_string()]);
        command.process_group(0);
        command
    }

    fn open_log(&self, node: NodeId, plan: &NodePlan) -> Result<File, DbError> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&plan.log)
            .map_err(|source| DbError::Io {
                node,
                what: format!("opening the log {}", plan.log.display()),
                source,
            })
    }
}

impl Db for RaftKv {
    fn name(&self) -> &'static str {
        "raft-kv"
    }

    fn writes_event_streams(&self) -> bool {
        true
    }

    fn nodes(&self) -> Vec<NodeId> {
        self.members.iter().copied().collect()
    }

    fn start(&mut self, node: NodeId) -> Result<(), DbError> {
        if self.is_running(node) {
            return Ok(());
        }
        let plan = self.plan_of(node)?;
        std::fs::create_dir_all(&plan.data_dir).map_err(|source| DbError::Io {
            node,
            what: format!("creating {}", plan.data_dir.display()),
            source,
        })?;
        let mut log = self.open_log(node, plan)?;
        let _ = writeln!(
            log,
            "=== gauntlet: starting node {node} (start #{}) ===",
            plan.starts + 1
        );
        let log_path = plan.log.clone();
        let mut command = self.command(node, plan);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = command.spawn().map_err(|source| DbError::Io {
            node,
            what: format!("starting {}", self.options.binary.display()),
            source,
        })?;
        guard::register(child.id());
        tracing::info!(node, pid = child.id(), "node started");
        if let Some(plan) = self.plans.get_mut(&node) {
            plan.starts += 1;
        }
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line.starts_with("ready ") {
                        let _ = ready_tx.send(line);
                    }
                }
            });
        }
        self.processes.insert(node, child, None);
        let started = Instant::now();
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(_line) => return Ok(()),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if !self.is_running(node) {
                return Err(DbError::NotReady {
                    node,
                    waited_ms: started.elapsed().as_millis() as u64,
                    detail: "the process exited".into(),
                    log: log_path,
                });
            }
            if started.elapsed() > self.options.ready_timeout {
                let _ = self.kill(node);
                return Err(DbError::NotReady {
                    node,
                    waited_ms: started.elapsed().as_millis() as u64,
                    detail: "no `ready` line on stdout".into(),
                    log: log_path,
                });
            }
        }
    }

    fn kill(&mut self, node: NodeId) -> Result<(), DbError> {
        self.processes.kill(node);
        Ok(())
    }

    fn pause(&mut self, node: NodeId) -> Result<(), DbError> {
        self.processes.signal(node, Signal::SIGSTOP)
    }

    fn resume(&mut self, node: NodeId) -> Result<(), DbError> {
        self.processes.signal(node, Signal::SIGCONT)
    }

    fn wipe(&mut self, node: NodeId) -> Result<(), DbError> {
        let running = self.is_running(node);
        let dir = self.plan_of(node)?.data_dir.clone();
        if self.mounts.contains_key(&node) && !running {
            return wipe_mounted_dir(node, &dir);
        }
        wipe_data_dir(node, "node", running, &dir)
    }

    fn is_running(&mut self, node: NodeId) -> bool {
        self.processes.poll(node, true)
    }

    fn pid(&self, node: NodeId) -> Option<u32> {
        self.processes.pid(node)
    }

    fn teardown(&mut self) {
        self.processes.teardown();
        for (node, mount) in std::mem::take(&mut self.mounts) {
            if let Err(err) = mount.unmount() {
                tracing::warn!(node, %err, "cannot unmount a node's power-loss file system");
            }
        }
    }

    fn log_path(&self, node: NodeId) -> PathBuf {
        self.plans
            .get(&node)
            .map(|p| p.log.clone())
            .unwrap_or_else(|| self.options.dir.join(format!("node-{node}.log")))
    }

    fn client_addrs(&self) -> Vec<SocketAddr> {
        self.plans.values().map(|p| p.client_addr).collect()
    }

    /// Every planned node, spares included: a client reaches the members a churn added (and
    /// follows leader hints to them) without being told.
    fn client(&self, profile: ClientProfile) -> Box<dyn DbClient> {
        // Homes are the initial nodes (a spare may never start).
        let home = self.clients_made.fetch_add(1, Ordering::Relaxed) % self.options.nodes.max(1);
        let cluster = self.plans.iter().map(|(&id, p)| (id, p.client_route));
        Box::new(RaftKvClient::new(cluster.collect(), profile, home))
    }

    fn is_leader(&self, node: NodeId) -> BoxFuture<'static, bool> {
        match self.plans.get(&node) {
            Some(plan) => probe_is_leader(plan.client_addr).boxed(),
            None => futures::future::ready(false).boxed(),
        }
    }

    fn disk_fault(&mut self, node: NodeId, fault: DiskFault) -> Result<(), DbError> {
        if !self.mounts.contains_key(&node) {
            return Err(DbError::Unsupported {
                db: "raft-kv without --nemesis power-loss or disk-error",
                what: "disk faults",
            });
        }
        if fault == DiskFault::PowerLoss {
            if let Some(mount) = self.mounts.get(&node) {
                mount.begin_power_cut();
            }
            self.kill(node)?;
        }
        let Some(mount) = self.mounts.get(&node) else {
            return Err(DbError::UnknownNode(node));
        };
        match fault {
            DiskFault::PowerLoss => mount.power_loss().map_err(|err| DbError::Control {
                node,
                what: err.to_string(),
            }),
            DiskFault::FailNextSync => {
                mount.fail_next_sync(true);
                Ok(())
            }
            DiskFault::FreezeSyncs => {
                mount.begin_power_cut();
                Ok(())
            }
            DiskFault::SlowSyncs { delay_ms } => {
                mount.set_sync_delay(Duration::from_millis(delay_ms));
                Ok(())
            }
            DiskFault::Heal => {
                mount.fail_next_sync(false);
                mount.set_sync_delay(Duration::ZERO);
                Ok(())
            }
        }
    }

    fn disk_syncs(&self, node: NodeId) -> Option<u64> {
        self.mounts.get(&node).map(PowerLossMount::syncs_completed)
    }

    fn take_spare(&mut self) -> Result<NodeId, DbError> {
        let node = self.spares.pop_front().ok_or(DbError::Control {
            node: 0,
            what: format!(
                "no spare node left (the run planned {})",
                self.options.spares
            ),
        })?;
        self.wipe(node)?;
        self.start(node)?;
        self.members.insert(node);
        Ok(node)
    }

    fn retire(&mut self, node: NodeId) -> Result<(), DbError> {
        self.kill(node)?;
        self.members.remove(&node);
        Ok(())
    }

    fn change_membership(
        &self,
        change: MembershipChange,
    ) -> BoxFuture<'static, Result<(), DbError>> {
        let addrs = |node: NodeId| self.plans.get(&node).map(|p| (p.peer_addr, p.client_route));
        let request = match change {
            MembershipChange::AddLearner(id) => match addrs(id) {
                Some((peer, client)) => AdminRequest::AddLearner {
                    id,
                    peer_addr: peer.to_string(),
                    client_addr: client.to_string(),
                },
                None => return futures::future::ready(Err(DbError::UnknownNode(id))).boxed(),
            },
            MembershipChange::Promote(id) => AdminRequest::Promote { id },
            MembershipChange::Remove { node, .. } => AdminRequest::Remove { id: node },
            MembershipChange::TransferLeader(to) => AdminRequest::TransferLeadership { to },
        };
        let force = matches!(change, MembershipChange::Remove { force: true, .. });
        let mut config = ClientConfig::new(self.client_addrs());
        config.op_timeout = Duration::from_secs(5);
        config.attempt_timeout = Duration::from_secs(1);
        async move {
            let mut client = Client::new(config);
            let admin = AuthorizedAdmin {
                request,
                token: None,
                force,
            };
            client
                .authorized_admin(admin)
                .await
                .map_err(|err| DbError::Membership {
                    change: change.to_string(),
                    definite: err.is_definite(),
                    reason: err.to_string(),
                })
        }
        .boxed()
    }
}

/// Empties a data directory that is a mount point (which itself cannot be removed) and syncs it,
/// so the wipe is durable.
fn wipe_mounted_dir(node: NodeId, dir: &std::path::Path) -> Result<(), DbError> {
    let io = |what: String| move |source| DbError::Io { node, what, source };
    let entries = std::fs::read_dir(dir).map_err(io(format!("listing {}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(io(format!("listing {}", dir.display())))?
            .path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(io(format!("removing {}", path.display())))?;
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing {}", dir.display())))
}
