//! The protocol messages exchanged between nodes. Every message carries the sender's term.

use serde::{Deserialize, Serialize};

use super::types::{Entry, Index, NodeId, SnapshotMeta, Term};

/// One protocol message. `term` is the sender's current term, except for pre-vote requests
/// (the term the sender would campaign in) and granted pre-vote responses (echo of that term).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    pub term: Term,
    pub body: MessageBody,
}

/// Where a follower's log stopped matching, so the leader can skip a whole term per round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectHint {
    /// The term of the follower's entry at the rejected prevLogIndex, or `None` when the
    /// follower's log is shorter than that.
    pub conflict_term: Option<Term>,
    /// The first index the follower holds of `conflict_term`, or its last index + 1.
    pub first_index: Index,
}

/// The bodies of the protocol messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageBody {
    /// Would you vote for me in `term` (the message term)? Does not change anyone's term.
    PreVote {
        last_log_index: Index,
        last_log_term: Term,
    },
    PreVoteResponse {
        granted: bool,
    },
    /// Vote for me in this term. `leadership_transfer` overrides the followers' leader lease.
    Vote {
        last_log_index: Index,
        last_log_term: Term,
        leadership_transfer: bool,
    },
    VoteResponse {
        granted: bool,
    },
    /// Append `entries` after (`prev_log_index`, `prev_log_term`); the leader's commit index.
    AppendEntries {
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry>,
        commit: Index,
    },
    /// On success `index` is the last index known to match the leader; on reject it is the
    /// rejected `prev_log_index` and `reject_hint` says where to retry.
    AppendEntriesResponse {
        success: bool,
        index: Index,
        reject_hint: Option<RejectHint>,
    },
    /// Leadership assertion. `commit` is at most what the follower is known to hold;
    /// `read_round` is the read-index confirmation round this heartbeat belongs to.
    Heartbeat {
        commit: Index,
        read_round: u64,
    },
    HeartbeatResponse {
        read_round: u64,
        last_index: Index,
    },
    /// One chunk of a snapshot for a follower too far behind for the log: `data` holds the
    /// snapshot's bytes from `offset` on, `done` marks the last chunk. The follower assembles
    /// the chunks of one snapshot (of this leader term) in order and installs it on `done`.
    InstallSnapshot {
        meta: SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        done: bool,
    },
    /// The answer to one chunk of the snapshot ending at `snapshot_index`. `received` is how
    /// many of its bytes the follower holds in order from offset 0 (where the leader resumes);
    /// `rejected` says the chunk was refused (not at the expected offset, or of an older
    /// snapshot than the one being assembled). The follower holds (committed) every entry up
    /// to `index`: at or past `snapshot_index`, the transfer is over.
    InstallSnapshotResponse {
        snapshot_index: Index,
        received: u64,
        rejected: bool,
        index: Index,
    },
    /// The leader hands leadership to the receiver: campaign at once, skipping pre-vote.
    TimeoutNow,
}

impl MessageBody {
    /// A short name, for logs and message statistics.
    pub fn kind_name(&self) -> &'static str {
        match self {
            MessageBody::PreVote { .. } => "PreVote",
            MessageBody::PreVoteResponse { .. } => "PreVoteResponse",
            MessageBody::Vote { .. } => "Vote",
            MessageBody::VoteResponse { .. } => "VoteResponse",
            MessageBody::AppendEntries { .. } => "AppendEntries",
            MessageBody::AppendEntriesResponse { .. } => "AppendEntriesResponse",
            MessageBody::Heartbeat { .. } => "Heartbeat",
            MessageBody::HeartbeatResponse { .. } => "HeartbeatResponse",
            MessageBody::InstallSnapshot { .. } => "InstallSnapshot",
            MessageBody::InstallSnapshotResponse { .. } => "InstallSnapshotResponse",
            MessageBody::TimeoutNow => "TimeoutNow",
        }
    }
}
