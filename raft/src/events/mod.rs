//! `raft::events`: the machine-readable event stream of one node, one JSON object per line
//! (`docs/events.md`): role, term and leader changes, votes, commit index jumps, the applied
//! index with the KV machine's digest at every checkpoint, snapshots taken and installed,
//! membership changes, log truncations (with what the node had acknowledged in that term), and
//! each start with what was recovered.
//!
//! The events are derived from what a replica does, outside the core, by
//! [`crate::driver::EventObserver`]; `raft-kv serve --events PATH` writes them with
//! [`EventWriter`] stamped with `CLOCK_MONOTONIC` ([`monotonic_ns`]), which every process on a
//! host shares, so a harness maps them onto its own clock without guessing. The simulator can
//! write the same records in virtual time. [`read_stream`] reads a stream back, tolerating the
//! truncated last line a killed node leaves.

mod clock;
mod reader;
mod writer;

use serde::{Deserialize, Serialize};

use crate::core::{Index, NodeId, Role, Term};
use crate::kv::Digest;

pub use clock::monotonic_ns;
pub use reader::{parse_stream, read_stream, ReadError, Stream};
pub use writer::EventWriter;

/// One line of a node's event stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// `CLOCK_MONOTONIC` nanoseconds when the node noticed (virtual nanoseconds in a simulation).
    pub time_ns: u64,
    pub node: NodeId,
    #[serde(flatten)]
    pub event: NodeEvent,
}

/// A node's role, as the stream names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleName {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
    Learner,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> RoleName {
        match role {
            Role::Follower => RoleName::Follower,
            Role::PreCandidate => RoleName::PreCandidate,
            Role::Candidate => RoleName::Candidate,
            Role::Leader => RoleName::Leader,
            Role::Learner => RoleName::Learner,
        }
    }
}

/// What removed entries from a node's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruncationCause {
    /// Entries written from an index at or below the last one replaced different (or more)
    /// entries there.
    Entries,
    /// A snapshot received from a leader replaced the whole log, entries above it included.
    InstalledSnapshot,
}

/// What happened on a node (the `event` field of a line, in kebab-case).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum NodeEvent {
    /// The process started from what its storage held (all zero for a new node).
    Started {
        term: Term,
        vote: Option<NodeId>,
        /// The commit index the node resumes with (its persisted one, or its snapshot's index
        /// when that is higher).
        commit: Index,
        /// What the KV machine holds after restoring the snapshot (entries after it are applied
        /// again as the commit index allows).
        applied: Index,
        applied_digest: Option<Digest>,
        snapshot_index: Index,
        snapshot_term: Term,
        last_index: Index,
        voters: Vec<NodeId>,
        learners: Vec<NodeId>,
    },
    /// The role, term or known leader changed.
    Role {
        role: RoleName,
        term: Term,
        leader: Option<NodeId>,
    },
    /// The node persisted a vote in `term`.
    Vote { term: Term, vote: NodeId },
    /// The commit index moved to `commit` (from `from`).
    Commit { commit: Index, from: Index },
    /// The KV machine applied up to `index`, a checkpoint (a multiple of
    /// [`crate::kv::digest::CHECKPOINT_EVERY`]), where its digest of the applied sequence was
    /// `digest`.
    Applied { index: Index, digest: Digest },
    /// The node took a snapshot of its own state up to `index`.
    SnapshotTaken { index: Index, term: Term },
    /// The node installed a snapshot up to `index` received from a leader.
    SnapshotInstalled { index: Index, term: Term },
    /// The configuration the node follows changed.
    Membership {
        voters: Vec<NodeId>,
        learners: Vec<NodeId>,
    },
    /// Entries `from_index..=last_index` left the log (some may have been written again the
    /// same; they left and came back). `acked_index` is the highest index the node had
    /// acknowledged to a leader in `term`, the term in force (0: none), as its own outgoing
    /// responses said.
    LogTruncated {
        cause: TruncationCause,
        term: Term,
        from_index: Index,
        last_index: Index,
        acked_index: Index,
    },
    /// The process is stopping gracefully (a killed node writes nothing).
    Stopped,
}

impl NodeEvent {
    /// The kebab-case name of the event (the `event` field).
    pub fn name(&self) -> &'static str {
        match self {
            NodeEvent::Started { .. } => "started",
            NodeEvent::Role { .. } => "role",
            NodeEvent::Vote { .. } => "vote",
            NodeEvent::Commit { .. } => "commit",
            NodeEvent::Applied { .. } => "applied",
            NodeEvent::SnapshotTaken { .. } => "snapshot-taken",
            NodeEvent::SnapshotInstalled { .. } => "snapshot-installed",
            NodeEvent::Membership { .. } => "membership",
            NodeEvent::LogTruncated { .. } => "log-truncated",
            NodeEvent::Stopped => "stopped",
        }
    }
}

#[cfg(test)]
mod tests;
