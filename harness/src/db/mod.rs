//! The system under test, behind a trait: how to set up, start, kill, pause, resume and wipe a
//! node, where its log is, and how to make a client.
//!
//! [`raft_kv::RaftKv`] is the first implementation, [`etcd::EtcdDb`] the second. A system
//! implements [`Db`] and [`DbClient`], and `crate::run::Target` to plan its nodes for a run
//! (`raft_kv_target`, `etcd_target`); the rest of the harness (nemesis, workload, recorder, run)
//! works unchanged.
//! Process control is synchronous (a start waits for the node to say it is ready); callers in
//! async code use `tokio::task::block_in_place`.

pub mod command;
pub mod command_target;
pub mod etcd;
pub mod etcd_client;
pub mod etcd_http;
pub mod etcd_target;
pub mod guard;
pub mod ports;
pub mod processes;
pub mod raft_kv;
pub mod raft_kv_client;
pub mod raft_kv_target;

use std::net::SocketAddr;
use std::path::PathBuf;

use futures::future::BoxFuture;
use raft::client::ErrorKind;
use raft::kv::Op;

pub use crate::nemesis::schedule::NodeId;

/// A successful reply, narrowed to what a history records. Not a copy of raft-kv's `OpResult`:
/// a cas is only swapped or not (no current value), and there is no delete; a [`DbClient`] for
/// another system produces it from that system's replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvReply {
    /// A read's value (`None`: absent).
    Value(Option<String>),
    /// A put or append took effect.
    Written,
    /// A cas ran: `true` swapped, `false` compared and did not match.
    Cas(bool),
}

/// A failed request, whether it surely did not take effect, and what kind of trouble ended it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFailure {
    /// `true`: the request surely did not take effect (history `fail`); `false`: it may have
    /// (history `info`).
    pub definite: bool,
    /// The history's `error_kind` (a client of another system maps its errors to these kinds).
    pub kind: ErrorKind,
    pub reason: String,
}

/// A client of the system under test: one operation at a time. Operations are the one KV
/// operation type, [`raft::kv::Op`] (plain data; the wire framing is elsewhere): raft-kv's client
/// sends it as it is, a client of another system maps it to that system's protocol.
pub trait DbClient: Send {
    fn call(&mut self, op: Op) -> BoxFuture<'_, Result<KvReply, ClientFailure>>;
    /// The node that answered the latest call, or for a failed one the node last tried (the
    /// history's `node`); `None` when unknown.
    fn last_node(&self) -> Option<NodeId>;
}

/// Process control failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("node {node}: {what}")]
    Io {
        node: NodeId,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "node {node} did not become ready within {waited_ms} ms ({detail}); see its log {log}"
    )]
    NotReady {
        node: NodeId,
        waited_ms: u64,
        detail: String,
        log: PathBuf,
    },
    #[error("node {node}: {what}")]
    Control { node: NodeId, what: String },
    #[error("no node with id {0}")]
    UnknownNode(NodeId),
    #[error("{db} does not support {what}")]
    Unsupported {
        db: &'static str,
        what: &'static str,
    },
    /// A membership change failed: `definite` when it surely did not take effect.
    #[error("membership change {change} failed ({}): {reason}", if *definite { "refused" } else { "outcome unknown" })]
    Membership {
        change: String,
        definite: bool,
        reason: String,
    },
}

/// A fault of a node's disk ([`Db::disk_fault`]), carried out by a file system the harness
/// controls (`crate::powerloss`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFault {
    /// Power loss: the node is killed (SIGKILL; its syncs in progress do not complete) and what
    /// it wrote but did not sync is dropped (files and directory entries).
    PowerLoss,
    /// The node's next `fsync`/`fdatasync` (of any file or directory) fails with `EIO`.
    FailNextSync,
    /// The power starts to go: no sync of the node completes any more (each fails with `EIO`)
    /// until its [`DiskFault::PowerLoss`]. Lets several nodes lose power at one instant.
    FreezeSyncs,
    /// Every sync of the node takes this many milliseconds before it completes (a stalling
    /// disk); 0 makes syncs immediate again.
    SlowSyncs { delay_ms: u64 },
    /// Disarms [`DiskFault::FailNextSync`] if it has not fired yet and makes syncs immediate.
    Heal,
}

impl std::fmt::Display for DiskFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DiskFault::PowerLoss => "power-loss",
            DiskFault::FailNextSync => "fail-next-sync",
            DiskFault::SlowSyncs { .. } => "slow-syncs",
            DiskFault::FreezeSyncs => "freeze-syncs",
            DiskFault::Heal => "heal-disk",
        })
    }
}

/// A membership change sent to the cluster (raft-kv's admin requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    /// Add a node (started with [`Db::take_spare`]) as a learner.
    AddLearner(NodeId),
    /// Promote a learner to voter.
    Promote(NodeId),
    /// Remove a voter or learner; `force` lets it go below the node's voter floor.
    Remove { node: NodeId, force: bool },
    /// Ask the leader to hand leadership to this voter.
    TransferLeader(NodeId),
}

impl MembershipChange {
    /// The node the change is about.
    pub fn node(self) -> NodeId {
        match self {
            MembershipChange::AddLearner(n)
            | MembershipChange::Promote(n)
            | MembershipChange::Remove { node: n, .. }
            | MembershipChange::TransferLeader(n) => n,
        }
    }
}

impl std::fmt::Display for MembershipChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MembershipChange::AddLearner(n) => write!(f, "add-learner {n}"),
            MembershipChange::Promote(n) => write!(f, "promote {n}"),
            MembershipChange::Remove { node, force: false } => write!(f, "remove {node}"),
            MembershipChange::Remove { node, force: true } => write!(f, "remove {node} (forced)"),
            MembershipChange::TransferLeader(n) => write!(f, "transfer-leader {n}"),
        }
    }
}

impl DbError {
    /// The message with every underlying cause, for logs and results.
    pub fn describe(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(err) = cause {
            text.push_str(": ");
            text.push_str(&err.to_string());
            cause = err.source();
        }
        text
    }
}

/// How to run one system under test.
pub trait Db: Send {
    /// A short name, such as `raft-kv`.
    fn name(&self) -> &'static str;
    /// The node ids, in order: the current members (with membership churn, nodes added by
    /// [`Db::take_spare`] join and nodes [`Db::retire`]d leave).
    fn nodes(&self) -> Vec<NodeId>;
    /// Starts a node (first start or restart after a kill) and waits until it serves.
    fn start(&mut self, node: NodeId) -> Result<(), DbError>;
    /// SIGKILL: the node stops at once, without any chance to flush.
    fn kill(&mut self, node: NodeId) -> Result<(), DbError>;
    /// SIGSTOP.
    fn pause(&mut self, node: NodeId) -> Result<(), DbError>;
    /// SIGCONT.
    fn resume(&mut self, node: NodeId) -> Result<(), DbError>;
    /// Deletes the node's data (it must be stopped).
    fn wipe(&mut self, node: NodeId) -> Result<(), DbError>;
    /// True when the node's process is running (possibly paused).
    fn is_running(&mut self, node: NodeId) -> bool;
    /// The process id of a running node.
    fn pid(&self, node: NodeId) -> Option<u32>;
    /// Stops every node for good (gracefully if possible, then SIGKILL).
    fn teardown(&mut self);
    /// The node's log file.
    fn log_path(&self, node: NodeId) -> PathBuf;
    /// Client addresses of all nodes.
    fn client_addrs(&self) -> Vec<SocketAddr>;
    /// A client for the workload or the final reads, talking to every node.
    fn client(&self, profile: ClientProfile) -> Box<dyn DbClient>;
    /// Asks one node for a linearizable read: `true` when that node served it itself (it is the
    /// leader). Used to aim faults at the leader.
    fn is_leader(&self, node: NodeId) -> BoxFuture<'static, bool>;

    /// True when the nodes write Raft event streams (`events-<id>.jsonl` in the run directory,
    /// see `raft_check`) that the run checks after the nodes stopped. Default: no streams.
    fn writes_event_streams(&self) -> bool {
        false
    }

    /// Membership churn: starts a fresh spare node (an id beyond the initial ones, an empty data
    /// directory, the initial configuration, so it is no member until a change adds it) and
    /// counts it among [`Db::nodes`]. Its id; an error when no spare is left.
    fn take_spare(&mut self) -> Result<NodeId, DbError> {
        Err(DbError::Unsupported {
            db: self.name(),
            what: "spare nodes",
        })
    }

    /// Membership churn: stops a node that left the configuration and drops it from
    /// [`Db::nodes`] (so healing does not start it again).
    fn retire(&mut self, node: NodeId) -> Result<(), DbError> {
        let _ = node;
        Err(DbError::Unsupported {
            db: self.name(),
            what: "retiring nodes",
        })
    }

    /// Membership churn: sends a change to the cluster's leader and waits until it is committed.
    fn change_membership(
        &self,
        change: MembershipChange,
    ) -> BoxFuture<'static, Result<(), DbError>> {
        let _ = change;
        let err = DbError::Unsupported {
            db: self.name(),
            what: "membership changes",
        };
        Box::pin(futures::future::ready(Err(err)))
    }

    /// Disk faults (power loss, a failing fsync) on the node's data directory; only a db whose
    /// data directories sit on the harness's power-loss file system supports them.
    fn disk_fault(&mut self, node: NodeId, fault: DiskFault) -> Result<(), DbError> {
        let _ = (node, fault);
        Err(DbError::Unsupported {
            db: self.name(),
            what: "disk faults",
        })
    }

    /// How many syncs of the node's disk completed so far (`None` without disk faults): lets a
    /// power loss wait for the moment right after a node made something durable.
    fn disk_syncs(&self, node: NodeId) -> Option<u64> {
        let _ = node;
        None
    }
}

/// How patient a client is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientProfile {
    /// Workload clients: bounded time per operation, so a fault shows as fail/info quickly.
    Workload,
    /// Final reads and recovery probes: more patient.
    Patient,
}
