//! The Raft consensus state machine: deterministic and free of IO, clocks and threads.
//!
//! Time enters only through [`Node::tick`], messages through [`Node::step`], and all randomness
//! comes from a ChaCha RNG seeded from `(Config::seed, Config::id)`. The node never sends,
//! writes or sleeps: it hands the application a [`Ready`] describing what to do.
//!
//! # The Ready contract
//! After calling `tick`, `step`, `propose`, `propose_conf_change`, `read_index`,
//! `transfer_leadership`, `campaign` or `snapshot_taken`, check [`Node::has_ready`]; if true,
//! take [`Node::ready`] and handle it in exactly this order:
//! 1. Persist `hard_state` (if `Some`), `snapshot` and `entries`, then fsync. If `snapshot` is
//!    `Some`, it replaces the WHOLE stored log: drop every stored entry, keep the snapshot, then
//!    store `entries` (which then hold the complete log after `snapshot.index`). Otherwise
//!    `entries` replace every stored entry at index `>= entries[0].index`. Once that is durable,
//!    hand `ack_when_durable` (if `Some`) back through [`Node::on_persisted`].
//! 2. Only then send `messages`.
//! 3. Apply: if `snapshot` is `Some` and `snapshot.index` is greater than the application's
//!    applied index, restore the state machine from it (a snapshot at or below the applied index
//!    is one the application itself took through [`Node::snapshot_taken`]: persist it only).
//!    Then apply `committed_entries` in order (`Noop` and `ConfChange` entries change nothing in
//!    the state machine; the core has already applied the membership change).
//! 4. Serve each `read_states` entry once the applied index is `>= its index`.
//! 5. Call [`Node::advance`].
//!
//! # Durability before commit
//! The core never counts an entry toward commit before it is durable on the node that counts
//! it. A follower's acknowledgement is a message, sent only after its write is durable (step 2).
//! The leader's own copy counts only up to what it acknowledged through [`Node::on_persisted`],
//! not up to its last index, so a lone voter commits nothing before that call. Several Readys
//! may be in flight before the first is durable (take the next Ready while an fsync runs): their
//! writes must become durable in the order they were handed out, and acknowledging one
//! acknowledges every earlier one. Each acknowledgement counts only for entries that were not
//! rewritten (truncated and replaced, or written again with a snapshot) after it was handed out;
//! the rewrite counts once its own Ready is acknowledged. After [`Node::restart`] everything
//! persisted is durable. A driver that forgets to acknowledge stalls commit (never safety).
//! `on_persisted` may be called between any two calls; check `has_ready` after it.
//!
//! After a crash, [`Node::restart`] takes what the earlier Readys told the application to
//! persist; the application restores its state machine from `persisted.snapshot` itself, and
//! the core hands out the committed entries after the snapshot again.
//!
//! Files by concern: `log` (entries since the last snapshot), `progress` (per-follower flow
//! control), `election`, `replication` (append, commit), `read_index`, `snapshot` (taking and
//! installing), `snapshot_send` and `snapshot_receive` (the chunked transfer), `membership`,
//! `node` (state and public API), `restart` (construction), `ready` (the Ready cycle).

mod config;
mod election;
mod error;
mod log;
mod membership;
mod message;
mod node;
mod progress;
mod read_index;
mod ready;
mod replication;
mod restart;
mod snapshot;
mod snapshot_receive;
mod snapshot_send;
mod types;

#[cfg(test)]
mod tests;

pub use config::{Config, PlantedBugs, DEFAULT_SNAPSHOT_CHUNK_BYTES};
pub use error::{CoreError, NotLeader, ProposeError};
pub use message::{Message, MessageBody, RejectHint};
pub use node::Node;
pub use types::{
    ConfChange, ConfState, Entry, EntryKind, HardState, Index, LogMark, NodeId, ReadState, Role,
    Snapshot, SnapshotMeta, Status, Term,
};

/// Everything the application must do, in this order: (1) persist `hard_state`, `snapshot` (if
/// present it replaces the whole stored log), `entries` (replacing any stored entries at an
/// index at or after `entries[0].index`; after a snapshot they are the complete log tail);
/// fsync, then report `ack_when_durable` through [`Node::on_persisted`] (at once, or later from
/// the IO layer). (2) only then
/// send `messages`. (3) apply `committed_entries` in order (restore `snapshot` first if present and
/// newer than the applied index). (4) serve `read_states` once the applied index >= their index.
/// Then call [`Node::advance`].
#[derive(Clone, Debug, Default)]
pub struct Ready {
    pub hard_state: Option<HardState>,
    pub entries: Vec<Entry>,
    pub snapshot: Option<Snapshot>,
    /// `Some` when this Ready writes entries or a snapshot: the mark to hand back through
    /// [`Node::on_persisted`] once those writes are durable. Until then they do not count
    /// toward commit on this node.
    pub ack_when_durable: Option<LogMark>,
    pub messages: Vec<Message>,
    pub committed_entries: Vec<Entry>,
    pub read_states: Vec<ReadState>,
}

impl Ready {
    /// Nothing to persist, send, apply or serve.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.entries.is_empty()
            && self.snapshot.is_none()
            && self.messages.is_empty()
            && self.committed_entries.is_empty()
            && self.read_states.is_empty()
    }

    /// Something must be made durable (and fsynced) before the messages go out.
    pub fn needs_sync(&self) -> bool {
        self.hard_state.is_some() || !self.entries.is_empty() || self.snapshot.is_some()
    }
}

/// What survived a crash: what earlier Readys told the application to persist.
#[derive(Clone, Debug, Default)]
pub struct PersistedState {
    pub hard_state: HardState,
    pub snapshot: Option<Snapshot>,
    pub entries: Vec<Entry>,
}
