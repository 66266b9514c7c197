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
//!    `entries` replace every stored entry at index `>= entries[0].index`.
//! 2. Only then send `messages`.
//! 3. Apply: if `snapshot` is `Some` and `snapshot.index` is greater than the application's
//!    applied index, restore the state machine from it (a snapshot at or below the applied index
//!    is one the application itself took through [`Node::snapshot_taken`]: persist it only).
//!    Then apply `committed_entries` in order (`Noop` and `ConfChange` entries change nothing in
//!    the state machine; the core has already applied the membership change).
//! 4. Serve each `read_states` entry once the applied index is `>= its index`.
//! 5. Call [`Node::advance`].
//!
//! After a crash, [`Node::restart`] takes what the earlier Readys told the application to
//! persist; the application restores its state machine from `persisted.snapshot` itself, and
//! the core hands out the committed entries after the snapshot again.
//!
//! Files by concern: `log` (entries since the last snapshot), `progress` (per-follower flow
//! control), `election`, `replication` (append, commit), `read_index`, `snapshot`,
//! `membership`, `node` (state and public API), `restart` (construction), `ready` (the Ready
//! cycle).

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
mod types;

#[cfg(test)]
mod tests;

pub use config::{Config, PlantedBugs};
pub use error::{CoreError, NotLeader, ProposeError};
pub use message::{Message, MessageBody, RejectHint};
pub use node::Node;
pub use types::{
    ConfChange, ConfState, Entry, EntryKind, HardState, Index, NodeId, ReadState, Role, Snapshot,
    Status, Term,
};

/// Everything the application must do, in this order: (1) persist `hard_state`, `snapshot` (if
/// present it replaces the whole stored log), `entries` (replacing any stored entries at an
/// index at or after `entries[0].index`; after a snapshot they are the complete log tail);
/// fsync. (2) only then
/// send `messages`. (3) apply `committed_entries` in order (restore `snapshot` first if present and
/// newer than the applied index). (4) serve `read_states` once the applied index >= their index.
/// Then call [`Node::advance`].
#[derive(Clone, Debug, Default)]
pub struct Ready {
    pub hard_state: Option<HardState>,
    pub entries: Vec<Entry>,
    pub snapshot: Option<Snapshot>,
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
