//! [`CommandDb`]: any system as a [`Db`], driven by a config file ([`config::CommandConfig`]):
//! a start command template per node, an optional stop command, a ready signal, and clients
//! speaking the command protocol ([`protocol`], JSON lines over TCP, [`client::CommandClient`]).
//!
//! Each node is a real process in its own process group (registered with [`guard`], watched by a
//! companion `sh` that SIGKILLs the group once gauntlet is gone), its standard output and error
//! appended to `node-<id>.log`, its data in `data-<id>` (kept across kill + restart), its peer
//! and client ports chosen free once. kill is SIGKILL of the group, pause and resume SIGSTOP and
//! SIGCONT, wipe deletes the data directory.
//!
//! Peer routing, as for raft-kv: [`CommandDb::peer_addrs`] are the real peer addresses; the caller
//! puts its fault proxy in front of them and tells [`CommandDb::route_peers`] which address node
//! `i` dials to reach node `j`, which the start template receives as `{peers}`.

pub mod client;
pub mod config;
pub mod protocol;
pub mod template;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use nix::sys::signal::Signal;

use self::client::{probe_is_leader, CommandClient};
use self::config::{CommandConfig, ReadySignal};
use super::processes::{wipe_data_dir, NodeProcesses};
use super::{guard, ports, ClientProfile, Db, DbClient, DbError, NodeId};

struct NodePlan {
    peer_addr: SocketAddr,
    client_addr: SocketAddr,
    /// What this node dials for each node (itself: its own peer address).
    routes: BTreeMap<NodeId, SocketAddr>,
    data_dir: PathBuf,
    log: PathBuf,
    starts: u32,
}

/// A cluster of a command-driven system.
pub struct CommandDb {
    config: CommandConfig,
    dir: PathBuf,
    plans: BTreeMap<NodeId, NodePlan>,
    processes: NodeProcesses,
    clients_made: AtomicUsize,
}

impl CommandDb {
    /// Chooses free ports and paths in `dir` for `config.nodes` nodes; starts nothing.
    pub fn plan(config: CommandConfig, dir: PathBuf) -> Result<CommandDb, DbError> {
        let addrs = ports::free_loopback_addrs(config.nodes * 2).map_err(|source| DbError::Io {
            node: 0,
            what: "choosing free ports".into(),
            source,
        })?;
        let peers: BTreeMap<NodeId, SocketAddr> = (0..config.nodes)
            .map(|index| (index as NodeId + 1, addrs[2 * index]))
            .collect();
        let plans = (0..config.nodes)
            .map(|index| {
                let id = index as NodeId + 1;
                let plan = NodePlan {
                    peer_addr: addrs[2 * index],
                    client_addr: addrs[2 * index + 1],
                    routes: peers.clone(),
                    data_dir: dir.join(format!("data-{id}")),
                    log: dir.join(format!("node-{id}.log")),
                    starts: 0,
                };
                (id, plan)
            })
            .collect();
        Ok(CommandDb {
            config,
            dir,
            plans,
            processes: NodeProcesses::new("node"),
            clients_made: AtomicUsize::new(0),
        })
    }

    /// The system's name from its config.
    pub fn system_name(&self) -> &str {
        &self.config.name
    }

    /// The real peer address of every node (the targets of the proxy's links).
    pub fn peer_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.plans
            .iter()
            .map(|(&id, p)| (id, p.peer_addr))
            .collect()
    }

    /// Sets the address node `from` dials to reach node `to`, for every pair. Nodes started
    /// from then on get these routes in `{peers}`.
    pub fn route_peers(&mut self, route: impl Fn(NodeId, NodeId) -> SocketAddr) {
        for (&from, plan) in self.plans.iter_mut() {
            for (&to, addr) in plan.routes.iter_mut() {
                if to != from {
                    *addr = route(from, to);
                }
            }
        }
    }

    /// The address node `node` serves clients on.
    pub fn client_addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.plans.get(&node).map(|p| p.client_addr)
    }

    /// Node `node`'s data directory.
    pub fn data_dir(&self, node: NodeId) -> Option<PathBuf> {
        self.plans.get(&node).map(|p| p.data_dir.clone())
    }

    /// The process group of every running node and of its watchdog.
    pub fn process_groups(&self) -> Vec<u32> {
        self.processes.process_groups()
    }

    /// Everything node `node` wrote so far, over all its starts (empty if none).
    pub fn log_text(&self, node: NodeId) -> String {
        std::fs::read_to_string(self.log_path(node)).unwrap_or_default()
    }

    fn plan_of(&self, node: NodeId) -> Result<&NodePlan, DbError> {
        self.plans.get(&node).ok_or(DbError::UnknownNode(node))
    }

    /// The placeholder values for node `node`.
    fn values(&self, node: NodeId, plan: &NodePlan) -> BTreeMap<&'static str, String> {
        let list = |addrs: &mut dyn Iterator<Item = (NodeId, SocketAddr)>| {
            addrs
                .map(|(id, addr)| format!("{id}={addr}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let peers = list(&mut plan.routes.iter().map(|(&id, &addr)| (id, addr)));
        let client_peers = list(&mut self.plans.iter().map(|(&id, p)| (id, p.client_addr)));
        BTreeMap::from([
            ("id", node.to_string()),
            ("nodes", self.plans.len().to_string()),
            ("host", plan.client_addr.ip().to_string()),
            ("peer_port", plan.peer_addr.port().to_string()),
            ("client_port", plan.client_addr.port().to_string()),
            ("peer_addr", plan.peer_addr.to_string()),
            ("client_addr", plan.client_addr.to_string()),
            ("data_dir", plan.data_dir.display().to_string()),
            ("peers", peers),
            ("client_peers", client_peers),
            ("config_dir", self.config.config_dir.display().to_string()),
        ])
    }

    /// A `Command` for a rendered template, run in the config's directory with its environment.
    fn command(&self, argv: &[String]) -> Command {
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(&self.config.config_dir)
            .envs(&self.config.env);
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

    /// Waits for node `node`'s ready signal (`lines` carries its matching output lines).
    fn wait_ready(
        &mut self,
        node: NodeId,
        client_addr: SocketAddr,
        lines: Option<mpsc::Receiver<()>>,
        log: PathBuf,
    ) -> Result<(), DbError> {
        let started = Instant::now();
        let not_ready = |detail: &str| DbError::NotReady {
            node,
            waited_ms: started.elapsed().as_millis() as u64,
            detail: detail.to_string(),
            log: log.clone(),
        };
        loop {
            let ready = match &lines {
                Some(lines) => match lines.recv_timeout(Duration::from_millis(50)) {
                    Ok(()) => true,
                    Err(mpsc::RecvTimeoutError::Timeout) => false,
                    // Its output closed: only an exit (or the timeout) can end the wait now.
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(Duration::from_millis(50));
                        false
                    }
                },
                None => {
                    let open = TcpStream::connect_timeout(&client_addr, Duration::from_millis(200));
                    if open.is_err() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    open.is_ok()
                }
            };
            if ready {
                return Ok(());
            }
            if !self.is_running(node) {
                return Err(not_ready("the process exited"));
            }
            if started.elapsed() > self.config.ready_timeout {
                self.processes.kill(node);
                return Err(not_ready(match lines {
                    Some(_) => "no output line matched the ready pattern",
                    None => "the client port accepted no connection",
                }));
            }
        }
    }

    /// Runs the stop command for running node `node`, up to the config's stop timeout.
    fn run_stop_command(&mut self, node: NodeId) {
        let (Some(stop), Some(pid), Ok(plan)) = (
            &self.config.stop,
            self.processes.pid(node),
            self.plan_of(node),
        ) else {
            return;
        };
        let mut values = self.values(node, plan);
        values.insert("pid", pid.to_string());
        let argv = stop.render(&values);
        let Ok(log) = self.open_log(node, plan) else {
            return;
        };
        let mut command = self.command(&argv);
        command.stdin(Stdio::null()).process_group(0);
        if let Ok(out) = log.try_clone() {
            command.stdout(Stdio::from(out));
        }
        command.stderr(Stdio::from(log));
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                tracing::warn!(node, %err, "cannot run the stop command");
                return;
            }
        };
        guard::register(child.id());
        let deadline = Instant::now() + self.config.stop_timeout;
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        guard::kill_group(child.id());
        let _ = child.wait();
        guard::unregister(child.id());
    }
}

/// Copies a node's standard output to its log, line by line, and signals each line matching
/// `pattern` on `ready`.
fn forward_output(
    output: impl std::io::Read + Send + 'static,
    mut log: File,
    pattern: regex::Regex,
    ready: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(output);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let _ = log.write_all(&line);
            if pattern.is_match(String::from_utf8_lossy(&line).trim_end()) {
                let _ = ready.send(());
            }
        }
    });
}

/// A watchdog that SIGKILLs process group `pgid` once this process is gone (a SIGKILL of
/// gauntlet leaves no node behind).
impl Db for CommandDb {
    fn name(&self) -> &'static str {
        "command"
    }

    fn nodes(&self) -> Vec<NodeId> {
        self.plans.keys().copied().collect()
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
            "=== gauntlet: starting {} node {node} (start #{}) ===",
            self.config.name,
            plan.starts + 1
        );
        let argv = self.config.start.render(&self.values(node, plan));
        let (log_path, client_addr) = (plan.log.clone(), plan.client_addr);
        let share = |log: &File| {
            log.try_clone().map_err(|source| DbError::Io {
                node,
                what: "sharing the log".into(),
                source,
            })
        };
        let mut command = self.command(&argv);
        command
            .stdin(Stdio::null())
            .stderr(Stdio::from(share(&log)?))
            .process_group(0);
        match self.config.ready {
            ReadySignal::OutputLine(_) => command.stdout(Stdio::piped()),
            ReadySignal::ClientPortOpen => command.stdout(Stdio::from(share(&log)?)),
        };
        let mut child = command.spawn().map_err(|source| DbError::Io {
            node,
            what: format!("starting {}", argv[0]),
            source,
        })?;
        guard::register(child.id());
        let watchdog = super::processes::spawn_watchdog(child.id(), "node");
        tracing::info!(node, pid = child.id(), system = %self.config.name, "node started");
        let lines = match (&self.config.ready, child.stdout.take()) {
            (ReadySignal::OutputLine(pattern), Some(stdout)) => {
                let (tx, rx) = mpsc::channel();
                forward_output(stdout, log, pattern.clone(), tx);
                Some(rx)
            }
            _ => None,
        };
        if let Some(plan) = self.plans.get_mut(&node) {
            plan.starts += 1;
        }
        self.processes.insert(node, child, watchdog);
        self.wait_ready(node, client_addr, lines, log_path)
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
        wipe_data_dir(node, "node", running, &self.plan_of(node)?.data_dir)
    }

    fn is_running(&mut self, node: NodeId) -> bool {
        self.processes.poll(node, true)
    }

    fn pid(&self, node: NodeId) -> Option<u32> {
        self.processes.pid(node)
    }

    /// The stop command (if any) for every running node, then SIGTERM, then SIGKILL.
    fn teardown(&mut self) {
        for node in self.processes.nodes() {
            let _ = self.processes.signal(node, Signal::SIGCONT);
            self.run_stop_command(node);
        }
        self.processes.teardown();
    }

    fn log_path(&self, node: NodeId) -> PathBuf {
        self.plans
            .get(&node)
            .map(|p| p.log.clone())
            .unwrap_or_else(|| self.dir.join(format!("node-{node}.log")))
    }

    fn client_addrs(&self) -> Vec<SocketAddr> {
        self.plans.values().map(|p| p.client_addr).collect()
    }

    fn client(&self, profile: ClientProfile) -> Box<dyn DbClient> {
        let home = self.clients_made.fetch_add(1, Ordering::Relaxed);
        let nodes = self.plans.iter().map(|(&id, p)| (id, p.client_addr));
        Box::new(CommandClient::new(
            nodes.collect(),
            profile,
            home,
            self.config.client_timeout,
        ))
    }

    fn is_leader(&self, node: NodeId) -> BoxFuture<'static, bool> {
        match self.plans.get(&node) {
            Some(plan) => probe_is_leader(plan.client_addr).boxed(),
            None => futures::future::ready(false).boxed(),
        }
    }
}
