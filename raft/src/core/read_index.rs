//! Read index: a linearizable read is released only after (1) the leader has committed an
//! entry of its own term (so its commit index covers every earlier commit) and (2) a quorum
//! answered a heartbeat round issued after the request (so it was still leader then).
//! Pending reads are dropped whenever the node stops being leader.

use std::collections::VecDeque;

use super::node::{Node, State};
use super::types::{Index, ReadState};
use crate::coverage::{self, Mark};

#[derive(Debug, Clone, Copy)]
struct PendingRead {
    request_id: u64,
    /// The commit index at request time, if it was already safe to use.
    index: Option<Index>,
    /// The heartbeat round confirming this read (0 until the round is issued).
    round: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ReadIndexState {
    /// The newest heartbeat round issued (monotonic across terms); every heartbeat broadcast
    /// is a round, and a read is confirmed by a quorum answering a round issued after it.
    pub(crate) last_round: u64,
    pending: VecDeque<PendingRead>,
    output: Vec<ReadState>,
}

impl ReadIndexState {
    pub(crate) fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    pub(crate) fn take_output(&mut self) -> Vec<ReadState> {
        std::mem::take(&mut self.output)
    }

    /// Some pending read still waits for its confirmation round to be issued.
    pub(crate) fn needs_round(&self) -> bool {
        self.pending.back().is_some_and(|r| r.round == 0)
    }

    /// Drops every pending read (the node is no longer leader).
    pub(crate) fn clear(&mut self) {
        if !self.pending.is_empty() {
            tracing::debug!(dropped = self.pending.len(), "dropping pending reads");
        }
        self.pending.clear();
    }
}

impl Node {
    pub(crate) fn committed_in_current_term(&self) -> bool {
        self.log.term(self.log.committed) == Some(self.term)
    }

    pub(crate) fn request_read(&mut self, request_id: u64) {
        let index = self
            .committed_in_current_term()
            .then_some(self.log.committed);
        self.reads.pending.push_back(PendingRead {
            request_id,
            index,
            round: 0,
        });
        if self.conf.voters.len() == 1 && self.conf.is_voter(self.id) {
            self.flush_read_round();
        }
    }

    /// Issues one heartbeat round for every read that has none yet.
    pub(crate) fn flush_read_round(&mut self) {
        if !self.reads.needs_round() {
            return;
        }
        self.broadcast_heartbeat();
        let round = self.reads.last_round;
        for r in self.reads.pending.iter_mut().rev() {
            if r.round != 0 {
                break;
            }
            r.round = round;
        }
        self.release_reads();
    }

    /// Releases the reads whose round a quorum acknowledged, once an entry of this term is
    /// committed.
    pub(crate) fn release_reads(&mut self) {
        if self.state != State::Leader
            || self.reads.pending.is_empty()
            || !self.committed_in_current_term()
        {
            return;
        }
        let confirmed = self.quorum_value(u64::MAX, |p| p.acked_read_round);
        let committed = self.log.committed;
        while let Some(r) = self.reads.pending.front() {
            if r.round == 0 || r.round > confirmed {
                break;
            }
            let r = *r;
            self.reads.pending.pop_front();
            coverage::hit_if(r.index.is_none(), Mark::ReadAfterLeaderChange);
            self.reads.output.push(ReadState {
                request_id: r.request_id,
                index: r.index.unwrap_or(committed),
            });
        }
    }
}
