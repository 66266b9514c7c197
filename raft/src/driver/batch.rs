//! The output of one driver step: what to persist, then what to send, then whom to answer.

use crate::core::{Entry, HardState, LogMark, Message, Snapshot};
use crate::kv::ClientResponse;

/// Opaque id the IO layer gives each client request, echoed with its response.
pub type Token = u64;

/// Where a snapshot in a batch came from; storage handles the two differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotToPersist {
    /// Received from the leader: it replaces the whole stored log.
    Installed(Snapshot),
    /// Taken by this replica of its own state: save it, then free log entries up to its index.
    Taken(Snapshot),
}

/// What must be durable (one fsync) before anything of the same batch is sent or answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersistBatch {
    pub hard_state: Option<HardState>,
    /// Replace every stored entry at index >= `entries[0].index`.
    pub entries: Vec<Entry>,
    pub snapshot: Option<SnapshotToPersist>,
}

impl PersistBatch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none() && self.entries.is_empty() && self.snapshot.is_none()
    }
}

/// One step of work for the IO layer, to be done in this order: (1) make `persist` durable and
/// report `ack_when_durable` through [`super::Driver::on_persisted`], (2) only then send
/// `then_send`, (3) deliver `replies`.
#[derive(Clone, Debug, Default)]
pub struct DriverBatch {
    pub persist: PersistBatch,
    /// `Some` when `persist` writes entries or a snapshot: what it makes durable. Hand it to
    /// [`super::Driver::on_persisted`] once the fsync is done (the IO layer may take further
    /// batches meanwhile, writing them in order). Until then this replica's own copy of those
    /// entries does not count toward commit.
    pub ack_when_durable: Option<LogMark>,
    pub then_send: Vec<Message>,
    pub replies: Vec<(Token, ClientResponse)>,
}

impl DriverBatch {
    /// True when the batch asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty() && self.then_send.is_empty() && self.replies.is_empty()
    }
}
