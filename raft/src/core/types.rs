//! Plain data types shared by every part of the core: log entries, hard state, membership
//! configuration, snapshots, read states, roles and the status report.

use serde::{Deserialize, Serialize};

/// Identifies a member of the cluster.
pub type NodeId = u64;
/// A Raft term (election epoch).
pub type Term = u64;
/// A position in the replicated log (the first entry has index 1).
pub type Index = u64;

/// What an entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// Application data.
    Normal,
    /// The empty entry a new leader appends so that it can commit an entry of its own term.
    Noop,
    /// A membership change; `data` is `postcard(ConfChange)`.
    ConfChange,
}

/// One replicated log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub term: Term,
    pub index: Index,
    pub kind: EntryKind,
    pub data: Vec<u8>,
}

impl Entry {
    /// Approximate wire size, used for the per-message byte budget.
    pub(crate) fn approx_bytes(&self) -> usize {
        self.data.len() + 24
    }
}

/// A position in a node's log handed out in a [`super::Ready`] (its last entry, or its snapshot
/// when the Ready holds no entries). Once that Ready's writes are durable, the application hands
/// it back through [`super::Node::on_persisted`]: only then do they count toward commit here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogMark {
    pub index: Index,
    pub term: Term,
}

/// The state that must be durable before any message of the same `Ready` is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    pub term: Term,
    pub vote: Option<NodeId>,
    pub commit: Index,
}

/// Cluster membership: voters and learners, each sorted and disjoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfState {
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
}

impl ConfState {
    /// A configuration with the given voters and no learners.
    pub fn with_voters(voters: impl IntoIterator<Item = NodeId>) -> ConfState {
        let mut conf = ConfState {
            voters: voters.into_iter().collect(),
            learners: Vec::new(),
        };
        conf.normalize();
        conf
    }

    /// Sorts and deduplicates both lists.
    pub(crate) fn normalize(&mut self) {
        self.voters.sort_unstable();
        self.voters.dedup();
        self.learners.sort_unstable();
        self.learners.dedup();
    }

    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.binary_search(&id).is_ok()
    }

    pub fn is_learner(&self, id: NodeId) -> bool {
        self.learners.binary_search(&id).is_ok()
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.is_learner(id)
    }

    /// Number of voters whose agreement forms a majority.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

/// A membership change, proposed one at a time through `Node::propose_conf_change`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfChange {
    /// Add a non-voting member that receives the log.
    AddLearner(NodeId),
    /// Turn a learner into a voter.
    Promote(NodeId),
    /// Remove a voter or learner (possibly the leader itself).
    Remove(NodeId),
}

impl ConfChange {
    /// The node the change is about.
    pub fn node(&self) -> NodeId {
        match *self {
            ConfChange::AddLearner(id) | ConfChange::Promote(id) | ConfChange::Remove(id) => id,
        }
    }
}

/// A state machine snapshot covering every entry up to and including `index`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub index: Index,
    pub term: Term,
    pub conf: ConfState,
    pub data: Vec<u8>,
}

impl Snapshot {
    /// What identifies the snapshot, without its data (what every InstallSnapshot chunk carries).
    pub fn meta(&self) -> SnapshotMeta {
        SnapshotMeta {
            index: self.index,
            term: self.term,
            conf: self.conf.clone(),
        }
    }
}

/// A snapshot's last index and term and the membership in effect there: everything of a
/// [`Snapshot`] but its data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub index: Index,
    pub term: Term,
    pub conf: ConfState,
}

/// A linearizable read that became safe: serve it once the applied index reaches `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    pub request_id: u64,
    pub index: Index,
}

/// The role a node currently plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
    /// A non-voting member (it follows the leader but never campaigns or counts in a quorum).
    Learner,
}

/// A snapshot of a node's volatile and durable state, for tests and operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub id: NodeId,
    pub role: Role,
    pub term: Term,
    pub leader: Option<NodeId>,
    pub commit: Index,
    pub applied: Index,
    pub last_index: Index,
    pub conf: ConfState,
}
