//! Process helpers for the `server_*` integration tests: a cluster of real `raft-kv` processes
//! on free loopback ports in a temporary directory. Every child is SIGKILLed when the cluster
//! (or the node) is dropped, so no process survives a test, even one that panics.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use raft::client::{Client, ClientConfig};
use raft::kv::{ClientRequest, ClientRequestFrame, ClientResponse, ClientResponseFrame, Op};
use raft::net::FramedClient;

pub const ELECTION_MS: u64 = 300;
pub const HEARTBEAT_MS: u64 = 30;

/// `n` distinct free loopback ports (all bound at once, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// One child process; SIGKILLed and reaped on drop.
pub struct NodeProc {
    child: Child,
}

impl NodeProc {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A three-node (or n-node) cluster of `raft-kv serve` processes.
pub struct ProcCluster {
    pub dir: tempfile::TempDir,
    pub peer_ports: Vec<u16>,
    pub client_ports: Vec<u16>,
    pub snapshot_every: u64,
    pub extra_args: Vec<String>,
    nodes: Vec<Option<NodeProc>>,
}

impl ProcCluster {
    /// Starts `n` nodes and waits until each printed its `ready` line.
    pub fn start(n: usize, snapshot_every: u64) -> ProcCluster {
        ProcCluster::start_with(n, snapshot_every, &[])
    }

    /// Starts `n` nodes with extra `serve` arguments (e.g. `--unsafe-bug`).
    pub fn start_with(n: usize, snapshot_every: u64, extra_args: &[&str]) -> ProcCluster {
        let ports = free_ports(2 * n);
        let mut cluster = ProcCluster {
            dir: tempfile::tempdir().expect("tempdir"),
            peer_ports: ports[..n].to_vec(),
            client_ports: ports[n..].to_vec(),
            snapshot_every,
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            nodes: (0..n).map(|_| None).collect(),
        };
        for id in 1..=n as u64 {
            cluster.restart(id);
        }
        cluster
    }

    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("node{id}"))
    }

    pub fn stderr_path(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("node{id}.stderr"))
    }

    pub fn stderr(&self, id: u64) -> String {
        std::fs::read_to_string(self.stderr_path(id)).unwrap_or_default()
    }

    pub fn client_addr(&self, id: u64) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.client_ports[id as usize - 1]))
    }

    pub fn peer_addr(&self, id: u64) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.peer_ports[id as usize - 1]))
    }

    fn command(&self, id: u64) -> Command {
        let list = |ports: &[u16]| {
            ports
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{}=127.0.0.1:{p}", i + 1))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_raft-kv"));
        cmd.arg("serve")
            .args(["--id", &id.to_string()])
            .args(["--peers", &list(&self.peer_ports)])
            .args(["--client-peers", &list(&self.client_ports)])
            .args(["--client-listen", &self.client_addr(id).to_string()])
            .arg("--data-dir")
            .arg(self.data_dir(id))
            .args(["--cluster-id", "7"])
            .args(["--election-ms", &ELECTION_MS.to_string()])
            .args(["--heartbeat-ms", &HEARTBEAT_MS.to_string()])
            .args(["--snapshot-every", &self.snapshot_every.to_string()])
            .args(&self.extra_args);
        cmd
    }

    /// Spawns node `id` and waits for its `ready` line; panics with its stderr if it fails.
    pub fn restart(&mut self, id: u64) {
        match self.try_start(id) {
            Ok(()) => {}
            Err(err) => panic!("node {id} did not start: {err}\n{}", self.stderr(id)),
        }
    }

    /// Spawns node `id`; `Err` with the exit status when it ends before printing `ready`.
    pub fn try_start(&mut self, id: u64) -> Result<(), String> {
        self.kill(id);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path(id))
            .expect("stderr file");
        let mut child = self
            .command(id)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn raft-kv");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep reading so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let mut node = NodeProc { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Some(Ok(line))) => {
                    let expected = format!("ready {id} {}", self.client_addr(id));
                    if line != expected {
                        return Err(format!("first stdout line {line:?}, expected {expected:?}"));
                    }
                    self.nodes[id as usize - 1] = Some(node);
                    return Ok(());
                }
                Ok(_) => {
                    let status = node.child.wait().expect("wait");
                    return Err(format!("exited before ready: {status}"));
                }
                Err(_) if Instant::now() > deadline => {
                    return Err("no ready line within 20 s".into())
                }
                Err(_) => {
                    if let Ok(Some(status)) = node.child.try_wait() {
                        return Err(format!("exited before ready: {status}"));
                    }
                }
            }
        }
    }

    /// Runs node `id` expecting it to refuse to start; returns its exit status.
    pub fn start_expecting_failure(&mut self, id: u64) -> ExitStatus {
        self.kill(id);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path(id))
            .expect("stderr file");
        let mut child = self
            .command(id)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn raft-kv");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {id} kept running although it should have refused to start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs node `id` (no-op when not running).
    pub fn kill(&mut self, id: u64) {
        if let Some(mut node) = self.nodes[id as usize - 1].take() {
            node.kill();
        }
    }

    /// Sends SIGTERM to node `id` and waits for it to exit; returns its status.
    pub fn terminate(&mut self, id: u64) -> ExitStatus {
        let mut node = self.nodes[id as usize - 1].take().expect("node is running");
        let pid = nix::unistd::Pid::from_raw(node.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = node.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "node {id} ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&self, id: u64) -> bool {
        self.nodes[id as usize - 1].is_some()
    }

    /// A client session over every node's client port.
    pub fn client(&self) -> Client {
        let cluster = (1..=self.size() as u64)
            .map(|id| self.client_addr(id))
            .collect();
        let mut cfg = ClientConfig::new(cluster);
        cfg.op_timeout = Duration::from_secs(10);
        cfg.attempt_timeout = Duration::from_millis(500);
        Client::new(cfg)
    }

    /// The running node that answers a linearizable read itself (the leader), if any.
    pub async fn leader(&self) -> Option<u64> {
        for id in 1..=self.size() as u64 {
            if !self.is_running(id) {
                continue;
            }
            let Ok(mut conn) = FramedClient::<ClientRequestFrame, ClientResponseFrame>::connect(
                self.client_addr(id),
                Duration::from_millis(500),
            )
            .await
            else {
                continue;
            };
            let frame = ClientRequestFrame {
                request_id: 1,
                request: ClientRequest::Kv {
                    client_id: 1,
                    seq: 0,
                    op: Op::Get {
                        key: "probe".into(),
                    },
                },
            };
            if conn.send(&frame).await.is_err() {
                continue;
            }
            if let Ok(answer) = conn.recv().await {
                if matches!(answer.response, ClientResponse::Ok(_)) {
                    return Some(id);
                }
            }
        }
        None
    }

    /// Waits up to `within` for a leader.
    pub async fn wait_for_leader(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(id) = self.leader().await {
                return id;
            }
            assert!(Instant::now() < deadline, "no leader within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
