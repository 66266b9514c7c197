//! Typed errors of the core: bad configuration or persisted state, refused proposals.

use super::types::{Index, NodeId};

/// Errors from constructing or driving a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("invalid membership configuration: {0}")]
    InvalidConfState(String),
    #[error("invalid persisted state: {0}")]
    InvalidPersistedState(String),
    #[error("message addressed to node {to} was stepped into node {me}")]
    WrongRecipient { to: NodeId, me: NodeId },
    #[error("malformed message from node {from}: {reason}")]
    MalformedMessage { from: NodeId, reason: String },
    #[error("snapshot at index {index} is beyond the applied index {applied}; snapshot only applied state")]
    SnapshotBeyondApplied { index: Index, applied: Index },
    #[error("snapshot at index {index} is not newer than the current snapshot at {current}")]
    SnapshotOutOfDate { index: Index, current: Index },
}

/// The node is not the leader (or is handing leadership over); try `leader_hint` if known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not the leader (leader hint: {leader_hint:?})")]
pub struct NotLeader {
    pub leader_hint: Option<NodeId>,
}

/// Why a membership change or leadership transfer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    NotLeader(#[from] NotLeader),
    #[error("the leader has not yet committed an entry of its term; retry shortly")]
    NoCommitInTerm,
    #[error("a membership change is still pending (index {pending}); retry once it is applied")]
    ConfChangePending { pending: Index },
    #[error("invalid membership change: {0}")]
    InvalidConfChange(String),
    #[error("node {id} has not caught up: it holds the log up to index {matched}, the commit index is {commit}; retry once it has")]
    LearnerBehind {
        id: NodeId,
        matched: Index,
        commit: Index,
    },
    #[error("node {0} is not a voter of the cluster")]
    NotAVoter(NodeId),
}
