//! The running processes of a [`super::Db`]'s nodes, whatever the system: each node a process
//! group of its own, registered with [`super::guard`] (so no exit path leaves it behind), with an
//! optional companion process (the watchdog of etcd members and config-driven nodes,
//! [`spawn_watchdog`]) that lives and dies with it. Signals, kill, reap,
//! polling for an exit and the graceful stop of every node are here once; `RaftKv` and `EtcdDb`
//! only say how to start a node and when it is ready.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::{guard, DbError, NodeId};

/// How long [`NodeProcesses::teardown`] waits after SIGTERM before SIGKILL.
const TEARDOWN_GRACE: Duration = Duration::from_secs(3);

/// One node's process (the leader of its own process group) and its companion, if any.
struct NodeProcess {
    child: Child,
    companion: Option<Child>,
}

/// The running node processes, by node id. Dropping it kills every one of them.
pub struct NodeProcesses {
    /// What a node is called in messages (`node`, `member`).
    noun: &'static str,
    running: BTreeMap<NodeId, NodeProcess>,
}

impl NodeProcesses {
    pub fn new(noun: &'static str) -> NodeProcesses {
        NodeProcesses {
            noun,
            running: BTreeMap::new(),
        }
    }

    /// Keeps a node's freshly spawned process (already registered with the guard by the
    /// caller, right after the spawn) and its companion.
    pub fn insert(&mut self, node: NodeId, child: Child, companion: Option<Child>) {
        self.running.insert(node, NodeProcess { child, companion });
    }

    /// The process id of a running node.
    pub fn pid(&self, node: NodeId) -> Option<u32> {
        self.running.get(&node).map(|p| p.child.id())
    }

    /// The process groups of every running node and companion.
    pub fn process_groups(&self) -> Vec<u32> {
        self.running
            .values()
            .flat_map(|p| std::iter::once(p.child.id()).chain(p.companion.as_ref().map(Child::id)))
            .collect()
    }

    /// The nodes with a process (running, or exited and not yet polled).
    pub fn nodes(&self) -> Vec<NodeId> {
        self.running.keys().copied().collect()
    }

    /// Sends `signal` to the node's process group.
    pub fn signal(&self, node: NodeId, signal: Signal) -> Result<(), DbError> {
        let process = self.running.get(&node).ok_or_else(|| DbError::Control {
            node,
            what: format!("cannot send {signal}: the {} is not running", self.noun),
        })?;
        let group = i32::try_from(process.child.id()).map_err(|_| DbError::Control {
            node,
            what: "pid out of range".into(),
        })?;
        killpg(Pid::from_raw(group), signal).map_err(|errno| DbError::Control {
            node,
            what: format!("sending {signal}: {errno}"),
        })
    }

    /// SIGKILL to the node's process group, then reaps it.
    pub fn kill(&mut self, node: NodeId) {
        if let Some(process) = self.running.get(&node) {
            guard::kill_group(process.child.id());
        }
        self.reap(node);
    }

    /// Waits for the node's process to be gone and forgets it (its companion is killed).
    pub fn reap(&mut self, node: NodeId) {
        if let Some(mut process) = self.running.remove(&node) {
            let _ = process.child.wait();
            guard::unregister(process.child.id());
            if let Some(mut companion) = process.companion {
                guard::kill_group(companion.id());
                let _ = companion.wait();
                guard::unregister(companion.id());
            }
        }
    }

    /// True while the node's process runs; reaps it once it exited (a warning if `unexpected`).
    pub fn poll(&mut self, node: NodeId, unexpected: bool) -> bool {
        let exited = match self.running.get_mut(&node) {
            None => return false,
            Some(process) => !matches!(process.child.try_wait(), Ok(None)),
        };
        if exited {
            if unexpected {
                tracing::warn!(node, "{} process exited on its own", self.noun);
            }
            self.reap(node);
        }
        !exited
    }

    /// SIGTERM to the node, then waits up to `within` for it to exit; its exit status.
    pub fn terminate(&mut self, node: NodeId, within: Duration) -> Result<ExitStatus, DbError> {
        self.signal(node, Signal::SIGTERM)?;
        let deadline = Instant::now() + within;
        loop {
            let process = self
                .running
                .get_mut(&node)
                .ok_or(DbError::UnknownNode(node))?;
            match process.child.try_wait() {
                Ok(Some(status)) => {
                    self.reap(node);
                    return Ok(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    return Err(DbError::Control {
                        node,
                        what: format!("still running {} ms after SIGTERM", within.as_millis()),
                    })
                }
                Err(source) => {
                    return Err(DbError::Io {
                        node,
                        what: "waiting for the process".into(),
                        source,
                    })
                }
            }
        }
    }

    /// Stops every node: SIGCONT and SIGTERM to all, up to [`TEARDOWN_GRACE`] to exit, then
    /// SIGKILL to the rest.
    pub fn teardown(&mut self) {
        let nodes = self.nodes();
        for &node in &nodes {
            let _ = self.signal(node, Signal::SIGCONT);
            let _ = self.signal(node, Signal::SIGTERM);
        }
        let deadline = Instant::now() + TEARDOWN_GRACE;
        while Instant::now() < deadline && nodes.iter().any(|&n| self.poll(n, false)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for node in nodes {
            self.kill(node);
        }
    }
}

impl Drop for NodeProcesses {
    fn drop(&mut self) {
        for process in self.running.values() {
            guard::kill_group(process.child.id());
        }
        for node in self.nodes() {
            self.reap(node);
        }
    }
}

/// Deletes a stopped node's data directory (`running`: whether its process still runs, which
/// makes the wipe an error).
pub fn wipe_data_dir(node: NodeId, noun: &str, running: bool, dir: &Path) -> Result<(), DbError> {
    if running {
        return Err(DbError::Control {
            node,
            what: format!("cannot wipe a running {noun}"),
        });
    }
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(DbError::Io {
            node,
            what: format!("removing {}", dir.display()),
            source: err,
        }),
        _ => Ok(()),
    }
}

/// Starts a watchdog for the process group `pgid`: a `sh` in its own group that SIGKILLs the
/// group once gauntlet itself is gone (even by SIGKILL, when no guard can run). `None` (with a
/// warning naming `what`) when it cannot be started.
pub fn spawn_watchdog(pgid: u32, what: &str) -> Option<Child> {
    use std::os::unix::process::CommandExt;
    let script = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -KILL -{pgid} 2>/dev/null",
        std::process::id()
    );
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    match command.spawn() {
        Ok(child) => {
            guard::register(child.id());
            Some(child)
        }
        Err(err) => {
            tracing::warn!(pgid, %err, "no watchdog for the {what}");
            None
        }
    }
}
