//! [`EtcdDb`]: an etcd 3.4 cluster as a [`Db`]. Each member is a real `etcd` process in its own
//! process group, with its own data directory (kept across kill + restart), stdout and stderr
//! appended to `node-<id>.log`, and a peer and a client port chosen free once.
//!
//! Peer routing: etcd names one peer URL per member (the member id is derived from it), so the
//! address every other member dials to reach member `j` is one address, set with
//! [`EtcdDb::route_peers`] before the first start (the caller's fault proxy listener for member
//! `j`); until then members dial each other directly.
//!
//! Orphan safety: etcd has no `--exit-with-parent`. Every member's process group is registered
//! with [`guard`] (normal end, errors, panics, Ctrl-C/SIGTERM), and beside each member runs a
//! watchdog (`sh`, its own process group, also registered) that SIGKILLs the member's group
//! once this process is gone, which covers a SIGKILL of gauntlet itself.
//!
//! Readiness: an etcd member answers HTTP only once its cluster has a quorum, so a first start
//! waits for an answer to `GET /version` when a quorum of members runs, and otherwise only for
//! its client listener to accept connections; a restart waits only for the listener (the member
//! may be cut off by a fault and answer only once it heals).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use nix::sys::signal::Signal;

use super::etcd_client::{probe_is_leader, EtcdClient};
use super::processes::{wipe_data_dir, NodeProcesses};
use super::{guard, ports, ClientProfile, Db, DbClient, DbError, NodeId};

/// How to run an etcd cluster.
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    /// The `etcd` executable (`--etcd-bin`; default `etcd` from `PATH`).
    pub binary: PathBuf,
    pub nodes: usize,
    /// Where member data directories and logs go.
    pub dir: PathBuf,
    /// `--initial-cluster-token`: keeps two clusters on one machine apart.
    pub cluster_token: String,
    /// `--heartbeat-interval`, ms.
    pub heartbeat_ms: u64,
    /// `--election-timeout`, ms.
    pub election_ms: u64,
    /// How long a start may take before the member counts as failed.
    pub ready_timeout: Duration,
    /// Workload clients read with `serializable: true` (may be stale by design).
    pub serializable_reads: bool,
    /// More `etcd` arguments for every member.
    pub extra_args: Vec<String>,
}

impl EtcdOptions {
    /// A local cluster of `nodes` members of `etcd` from `PATH` in `dir`, heartbeat 50 ms,
    /// election 500 ms, linearizable reads.
    pub fn local(dir: PathBuf, nodes: usize) -> EtcdOptions {
        EtcdOptions {
            binary: PathBuf::from("etcd"),
            nodes,
            dir,
            cluster_token: format!("gauntlet-{}", std::process::id()),
            heartbeat_ms: 50,
            election_ms: 500,
            ready_timeout: Duration::from_secs(20),
            serializable_reads: false,
            extra_args: Vec::new(),
        }
    }
}

struct MemberPlan {
    peer_addr: SocketAddr,
    client_addr: SocketAddr,
    /// Where clients dial this member: `client_addr`, or the fault proxy's listener of the
    /// clients' link to it (see [`EtcdDb::route_clients`]).
    client_route: SocketAddr,
    /// The peer address the other members dial (the proxy's listener in a real run).
    advertise: SocketAddr,
    data_dir: PathBuf,
    log: PathBuf,
    starts: u32,
}

/// An etcd cluster of real processes.
pub struct EtcdDb {
    options: EtcdOptions,
    plans: BTreeMap<NodeId, MemberPlan>,
    processes: NodeProcesses,
    clients_made: AtomicUsize,
}

impl EtcdDb {
    /// Chooses free ports and paths for every member; starts nothing.
    pub fn plan(options: EtcdOptions) -> Result<EtcdDb, DbError> {
        let addrs =
            ports::free_loopback_addrs(options.nodes * 2).map_err(|source| DbError::Io {
                node: 0,
                what: "choosing free ports".into(),
                source,
            })?;
        let plans = (0..options.nodes)
            .map(|index| {
                let id = index as NodeId + 1;
                let plan = MemberPlan {
                    peer_addr: addrs[2 * index],
                    client_addr: addrs[2 * index + 1],
                    client_route: addrs[2 * index + 1],
                    advertise: addrs[2 * index],
                    data_dir: options.dir.join(format!("data-{id}")),
                    log: options.dir.join(format!("node-{id}.log")),
                    starts: 0,
                };
                (id, plan)
            })
            .collect();
        Ok(EtcdDb {
            options,
            plans,
            processes: NodeProcesses::new("member"),
            clients_made: AtomicUsize::new(0),
        })
    }

    /// The real peer address of every member (the targets of the proxy).
    pub fn peer_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.plans
            .iter()
            .map(|(&id, p)| (id, p.peer_addr))
            .collect()
    }

    /// Sets the peer address every other member dials to reach member `to`. Must come before
    /// the first start: etcd stores the peer URLs in its membership.
    pub fn route_peers(&mut self, advertise: impl Fn(NodeId) -> SocketAddr) -> Result<(), DbError> {
        if let Some((&node, _)) = self.plans.iter().find(|(_, p)| p.starts > 0) {
            return Err(DbError::Control {
                node,
                what: "peer routes must be set before the first start".into(),
            });
        }
        for (&id, plan) in self.plans.iter_mut() {
            plan.advertise = advertise(id);
        }
        Ok(())
    }

    /// Sets where clients dial each member (say, the fault proxy's client links): every client
    /// made from now on.
    pub fn route_clients(&mut self, route: impl Fn(NodeId) -> SocketAddr) {
        for (&id, plan) in self.plans.iter_mut() {
            plan.client_route = route(id);
        }
    }

    /// The address member `node` serves clients on.
    pub fn client_addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.plans.get(&node).map(|p| p.client_addr)
    }

    /// Member `node`'s data directory.
    pub fn data_dir(&self, node: NodeId) -> Option<PathBuf> {
        self.plans.get(&node).map(|p| p.data_dir.clone())
    }

    /// The process group of every running member and of its watchdog.
    pub fn process_groups(&self) -> Vec<u32> {
        self.processes.process_groups()
    }

    /// Waits up to `within` until member `node` answers HTTP on its client URL.
    pub fn wait_serving(&mut self, node: NodeId, within: Duration) -> Result<(), DbError> {
        let plan = self.plan_of(node)?;
        let (addr, log) = (plan.client_addr, plan.log.clone());
        let started = Instant::now();
        while started.elapsed() < within {
            if answers_http(addr) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(DbError::NotReady {
            node,
            waited_ms: started.elapsed().as_millis() as u64,
            detail: "no answer to GET /version".into(),
            log,
        })
    }

    fn plan_of(&self, node: NodeId) -> Result<&MemberPlan, DbError> {
        self.plans.get(&node).ok_or(DbError::UnknownNode(node))
    }

    fn command(&self, node: NodeId, plan: &MemberPlan) -> Command {
        let initial_cluster = self
            .plans
            .iter()
            .map(|(id, p)| format!("n{id}=http://{}", p.advertise))
            .collect::<Vec<_>>()
            .join(",");
        // Data on disk: etcd ignores the bootstrap flags. No data and never started: a new
        // cluster. No data after a wipe: join the existing cluster under the same name.
        let state = if plan.starts == 0 { "new" } else { "existing" };
        let client_url = format!("http://{}", plan.client_addr);
        let mut command = Command::new(&self.options.binary);
        command
            .args(["--name", &format!("n{node}")])
            .arg("--data-dir")
            .arg(&plan.data_dir)
            .args(["--listen-peer-urls", &format!("http://{}", plan.peer_addr)])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://{}", plan.advertise),
            ])
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--initial-cluster", &initial_cluster])
            .args(["--initial-cluster-state", state])
            .args(["--initial-cluster-token", &self.options.cluster_token])
            .args([
                "--heartbeat-interval",
                &self.options.heartbeat_ms.to_string(),
            ])
            .args(["--election-timeout", &self.options.election_ms.to_string()])
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .args(&self.options.extra_args);
        command.process_group(0);
        command
    }

    fn open_log(&self, node: NodeId, plan: &MemberPlan) -> Result<File, DbError> {
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

    /// A watchdog that SIGKILLs process group `pgid` once this process is gone.
    fn quorum_running(&mut self) -> bool {
        let nodes: Vec<NodeId> = self.plans.keys().copied().collect();
        let running = nodes
            .into_iter()
            .filter(|&n| self.processes.poll(n, false))
            .count();
        running > self.plans.len() / 2
    }
}

/// True when something at `addr` answers `GET /version` with any HTTP status (blocking std I/O:
/// starts run in `block_in_place`, where no second runtime may be entered).
fn answers_http(addr: SocketAddr) -> bool {
    let limit = Duration::from_millis(500);
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, limit) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(limit));
    let _ = stream.set_write_timeout(Some(limit));
    let request = format!("GET /version HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut start = [0u8; 5];
    stream.read_exact(&mut start).is_ok() && &start == b"HTTP/"
}

fn listener_open(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

impl Db for EtcdDb {
    fn name(&self) -> &'static str {
        "etcd"
    }

    fn nodes(&self) -> Vec<NodeId> {
        self.plans.keys().copied().collect()
    }

    fn start(&mut self, node: NodeId) -> Result<(), DbError> {
        if self.is_running(node) {
            return Ok(());
        }
        let plan = self.plan_of(node)?;
        std::fs::create_dir_all(&self.options.dir).map_err(|source| DbError::Io {
            node,
            what: format!("creating {}", self.options.dir.display()),
            source,
        })?;
        let mut log = self.open_log(node, plan)?;
        let _ = writeln!(
            log,
            "=== gauntlet: starting etcd member {node} (start #{}) ===",
            plan.starts + 1
        );
        let log_path = plan.log.clone();
        let client_addr = plan.client_addr;
        let first_start = plan.starts == 0;
        let stdout = log.try_clone().map_err(|source| DbError::Io {
            node,
            what: "sharing the log".into(),
            source,
        })?;
        let mut command = self.command(node, plan);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(log));
        let child = command.spawn().map_err(|source| DbError::Io {
            node,
            what: format!("starting {}", self.options.binary.display()),
            source,
        })?;
        guard::register(child.id());
        let watchdog = super::processes::spawn_watchdog(child.id(), "etcd member");
        tracing::info!(node, pid = child.id(), "etcd member started");
        if let Some(plan) = self.plans.get_mut(&node) {
            plan.starts += 1;
        }
        self.processes.insert(node, child, watchdog);
        let started = Instant::now();
        loop {
            if !self.is_running(node) {
                return Err(DbError::NotReady {
                    node,
                    waited_ms: started.elapsed().as_millis() as u64,
                    detail: "the process exited".into(),
                    log: log_path,
                });
            }
            // A restarted member may be cut off from the others by the nemesis (it then answers
            // HTTP only once it reaches a quorum): bound ports are enough. A first start waits
            // for an answer when a quorum runs.
            let ready = if first_start && self.quorum_running() {
                answers_http(client_addr)
            } else {
                listener_open(client_addr)
            };
            if ready {
                return Ok(());
            }
            if started.elapsed() > self.options.ready_timeout {
                let _ = self.kill(node);
                return Err(DbError::NotReady {
                    node,
                    waited_ms: started.elapsed().as_millis() as u64,
                    detail: "no answer on the client URL".into(),
                    log: log_path,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
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
        wipe_data_dir(node, "member", running, &self.plan_of(node)?.data_dir)
    }

    fn is_running(&mut self, node: NodeId) -> bool {
        self.processes.poll(node, true)
    }

    fn pid(&self, node: NodeId) -> Option<u32> {
        self.processes.pid(node)
    }

    fn teardown(&mut self) {
        self.processes.teardown();
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

    fn client(&self, profile: ClientProfile) -> Box<dyn DbClient> {
        let home = self.clients_made.fetch_add(1, Ordering::Relaxed);
        let members = self.plans.iter().map(|(&id, p)| (id, p.client_route));
        let serializable = self.options.serializable_reads && profile == ClientProfile::Workload;
        Box::new(
            EtcdClient::new(members.collect(), profile, home).with_serializable_reads(serializable),
        )
    }

    fn is_leader(&self, node: NodeId) -> BoxFuture<'static, bool> {
        match self.plans.get(&node) {
            Some(plan) => probe_is_leader(plan.client_addr).boxed(),
            None => futures::future::ready(false).boxed(),
        }
    }
}
