//! Client requests waiting inside a replica: writes by the log index of their proposal, reads by
//! read-index request id and then by the index they must wait for, leadership transfers by their
//! target.

use std::collections::BTreeMap;

use crate::core::{ConfChange, Index, NodeId};
use crate::kv::Op;

use super::batch::Token;

/// What a proposal at some index was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// A KV command of `(client_id, seq)`; `op` is kept only when `ack-before-commit` needs it.
    Kv {
        client_id: u64,
        seq: u64,
        op: Option<Op>,
    },
    /// A membership change.
    Admin(ConfChange),
}

/// A client waiting for its proposal to be applied.
#[derive(Clone, Debug)]
pub struct WriteWaiter {
    pub token: Token,
    pub kind: WriteKind,
}

/// A client waiting to read `key`.
#[derive(Clone, Debug)]
pub struct ReadWaiter {
    pub token: Token,
    pub key: String,
}

/// A client waiting for leadership to pass to `target`.
#[derive(Clone, Debug)]
pub struct TransferWaiter {
    pub token: Token,
    pub target: NodeId,
    /// Ticks left before the driver answers that the outcome is unknown.
    pub ticks_left: u32,
}

/// Every waiting client of one replica.
#[derive(Debug, Default)]
pub struct Waiters {
    /// Proposal index -> the client that proposed it.
    pub writes: BTreeMap<Index, WriteWaiter>,
    /// Reads collected since the last batch; one read-index request covers all of them.
    pub unsent_reads: Vec<ReadWaiter>,
    /// Read-index request id -> reads waiting for the leader's confirmation.
    pub confirming_reads: BTreeMap<u64, Vec<ReadWaiter>>,
    /// Confirmed reads waiting for the applied index to reach their read index.
    pub confirmed_reads: Vec<(Index, ReadWaiter)>,
    /// Leadership transfers this replica started as leader, not yet seen to finish.
    pub transfers: Vec<TransferWaiter>,
}

impl Waiters {
    /// How many clients are waiting.
    pub fn len(&self) -> usize {
        self.writes.len()
            + self.unsent_reads.len()
            + self.confirming_reads.values().map(Vec::len).sum::<usize>()
            + self.confirmed_reads.len()
            + self.transfers.len()
    }

    /// Removes and returns the confirmed reads whose index is applied.
    pub fn take_servable_reads(&mut self, applied: Index) -> Vec<ReadWaiter> {
        if self
            .confirmed_reads
            .iter()
            .all(|(index, _)| *index > applied)
        {
            return Vec::new();
        }
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.confirmed_reads)
            .into_iter()
            .partition(|(index, _)| *index <= applied);
        self.confirmed_reads = waiting;
        ready.into_iter().map(|(_, w)| w).collect()
    }
}
