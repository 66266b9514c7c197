//! Shared support for the integration tests that run real `raft-kv` processes: where the node
//! binary is (built into this target directory when missing), and a local cluster made with the
//! harness's own process layer (`harness::db::raft_kv::RaftKv`, the same code `gauntlet test`
//! uses), with a client of the raft-kv client library over every node. Each test file includes it
//! with `mod support;`; the process guard of `RaftKv` kills every node when the cluster is
//! dropped, so no process survives a test, even one that panics.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use harness::db::raft_kv::{RaftKv, RaftKvOptions};
use harness::db::{Db, NodeId};
use raft::client::{Client, ClientConfig};

/// The `raft-kv` binary beside this package's `gauntlet` (same target directory), built with
/// `cargo build -p raft --bin raft-kv` the first time it is missing.
pub fn node_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let gauntlet = Path::new(env!("CARGO_BIN_EXE_gauntlet"));
        let dir = gauntlet.parent().expect("target directory").to_path_buf();
        let bin = dir.join("raft-kv");
        if !bin.is_file() {
            let target = dir.parent().expect("target root");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "raft", "--bin", "raft-kv"])
                .env("CARGO_TARGET_DIR", target)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("running cargo build for raft-kv");
            assert!(status.success(), "cargo build -p raft --bin raft-kv failed");
        }
        assert!(bin.is_file(), "no raft-kv at {}", bin.display());
        bin
    })
}

/// A local raft-kv cluster in a temporary directory (kept alive as long as the cluster).
pub struct LocalCluster {
    pub db: RaftKv,
    pub dir: tempfile::TempDir,
}

impl LocalCluster {
    /// Starts `nodes` nodes that snapshot every `snapshot_every` entries, with `extra_args` for
    /// every `raft-kv serve`; panics (with the node's log) if one does not become ready.
    pub fn start(nodes: usize, snapshot_every: u64, extra_args: &[&str]) -> LocalCluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = RaftKvOptions::local(node_bin().into(), dir.path().into(), nodes);
        options.snapshot_every = snapshot_every;
        options.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        let mut cluster = LocalCluster {
            db: RaftKv::plan(options).expect("planning the cluster"),
            dir,
        };
        for node in 1..=nodes as NodeId {
            cluster.restart(node);
        }
        cluster
    }

    /// (Re)starts node `node`; panics with its log if it does not become ready.
    pub fn restart(&mut self, node: NodeId) {
        if let Err(err) = self.db.start(node) {
            panic!(
                "node {node} did not start: {}\n{}",
                err.describe(),
                self.db.log_text(node)
            );
        }
    }

    /// SIGKILLs node `node` (no-op when it is not running).
    pub fn kill(&mut self, node: NodeId) {
        self.db.kill(node).expect("kill");
    }

    /// Waits up to `within` for a leader; panics when there is none.
    pub async fn wait_for_leader(&mut self, within: Duration) -> NodeId {
        match self.db.wait_for_leader(within).await {
            Some(node) => node,
            None => panic!("no leader within {within:?}"),
        }
    }

    /// A client of the raft-kv client library over every node's client port.
    pub fn client(&self) -> Client {
        let mut config = ClientConfig::new(self.db.client_addrs());
        config.op_timeout = Duration::from_secs(10);
        config.attempt_timeout = Duration::from_millis(500);
        Client::new(config)
    }
}

impl LocalCluster {
    /// Everything node `node` wrote to stderr so far.
    pub fn stderr(&self, node: NodeId) -> String {
        self.db.log_text(node)
    }

    pub fn data_dir(&self, node: NodeId) -> PathBuf {
        self.db.data_dir(node).expect("a planned node")
    }

    pub fn client_addr(&self, node: NodeId) -> std::net::SocketAddr {
        self.db.client_addr(node).expect("a planned node")
    }

    pub fn peer_addr(&self, node: NodeId) -> std::net::SocketAddr {
        self.db.peer_addr(node).expect("a planned node")
    }

    /// SIGTERM, then its exit status (panics if it ignores SIGTERM for 10 s).
    pub fn terminate(&mut self, node: NodeId) -> std::process::ExitStatus {
        self.db
            .terminate(node, Duration::from_secs(10))
            .unwrap_or_else(|err| panic!("node {node}: {}", err.describe()))
    }

    /// Starts node `node` expecting it to refuse: panics if it becomes ready.
    pub fn start_expecting_failure(&mut self, node: NodeId) -> harness::db::DbError {
        match self.db.start(node) {
            Ok(()) => panic!("node {node} started although it should have refused"),
            Err(err) => err,
        }
    }

    /// The leader now, if any.
    pub async fn leader(&mut self) -> Option<NodeId> {
        self.db.leader().await
    }
}

/// Live (not zombie) processes whose command line passes `matches` (read from `/proc`).
pub fn live_processes_where(matches: impl Fn(&str) -> bool) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && matches(&String::from_utf8_lossy(&cmdline))
        })
        .collect()
}

/// True when `program --version` runs and succeeds; otherwise prints `SKIPPED: <why>` (so a test
/// that needs the program says it did not run, rather than passing silently) and returns false.
pub fn program_present(program: &str, why: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        println!("SKIPPED: {why}");
    }
    found
}

/// [`program_present`] for etcd, which the etcd tests need.
pub fn etcd_installed() -> bool {
    program_present("etcd", "etcd not installed (apt-get install etcd-server)")
}

/// `gauntlet test --store STORE --node-bin <the raft-kv of this target> ARGS...`, stdin closed:
/// a real run as the integration tests make it.
pub fn gauntlet_test(store: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    command
        .arg("test")
        .arg("--store")
        .arg(store)
        .arg("--node-bin")
        .arg(node_bin())
        .args(args)
        .stdin(std::process::Stdio::null());
    command
}
