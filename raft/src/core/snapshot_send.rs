//! Leader side of a snapshot transfer: the snapshot goes out in chunks of
//! `Config::snapshot_chunk_bytes`, a small window of them in flight; the follower's answers say
//! how many bytes it holds, so a lost, reordered or refused chunk is resent from there (one
//! chunk at a time until the follower makes progress again), as is a chunk nobody answered
//! within two heartbeat intervals while the follower answered heartbeats. A transfer without
//! progress for two election timeouts is given up (the follower is probed again), and a newer
//! snapshot restarts the transfer from offset 0.

use super::message::MessageBody;
use super::node::Node;
use super::progress::ProgressState;
use super::types::{Index, NodeId};
use crate::coverage::{self, Mark};

/// At most this many chunks of one snapshot are in flight to one follower (fewer when
/// `Config::max_inflight_msgs` is smaller).
pub(crate) const MAX_INFLIGHT_SNAPSHOT_CHUNKS: usize = 4;

/// The state of one snapshot transfer to one follower (in [`ProgressState::Snapshot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SnapshotTransfer {
    /// The snapshot being sent (its last index).
    pub(crate) index: Index,
    /// Its size in bytes.
    len: u64,
    chunk_bytes: u64,
    /// Bytes the follower said it holds, in order from offset 0.
    pub(crate) acked: u64,
    /// Where the next chunk starts (everything before it was sent since the last rewind).
    pub(crate) sent: u64,
    /// The last chunk went out (since the last rewind).
    last_sent: bool,
    /// The highest chunk offset ever sent: a chunk at or below it is a resend.
    highest_sent: Option<u64>,
    /// After a loss or a refusal: one chunk in flight until the follower makes progress.
    pub(crate) probing: bool,
    /// Ticks since the last chunk went out or the last progress, whichever is later.
    ticks_waiting: u32,
    /// Ticks since the follower last made progress (or since the transfer started).
    ticks_stalled: u32,
}

/// One chunk to send: bytes `offset..end` of the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) offset: u64,
    pub(crate) end: u64,
    pub(crate) done: bool,
    /// This offset went out before in this transfer.
    pub(crate) resent: bool,
}

/// What a tick did to a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferTick {
    Waiting,
    /// Nothing answered within the resend timeout: the next chunk starts at the acknowledged
    /// offset again.
    Rewound,
    /// No progress for a long time: give the transfer up (the follower is probed again).
    Stalled,
}

impl SnapshotTransfer {
    pub(crate) fn new(index: Index, len: u64, chunk_bytes: u64) -> SnapshotTransfer {
        SnapshotTransfer {
            index,
            len,
            chunk_bytes: chunk_bytes.max(1),
            acked: 0,
            sent: 0,
            last_sent: false,
            highest_sent: None,
            probing: false,
            ticks_waiting: 0,
            ticks_stalled: 0,
        }
    }

    /// A transfer with nothing to send (the leader has no snapshot: a broken invariant); it
    /// stalls and is given up.
    pub(crate) fn parked(index: Index) -> SnapshotTransfer {
        let mut transfer = SnapshotTransfer::new(index, 0, 1);
        transfer.last_sent = true;
        transfer
    }

    fn window(&self, max_inflight: usize) -> usize {
        if self.probing {
            1
        } else {
            max_inflight.clamp(1, MAX_INFLIGHT_SNAPSHOT_CHUNKS)
        }
    }

    /// Chunks sent and not yet acknowledged.
    fn in_flight(&self) -> usize {
        let bytes = self.sent.saturating_sub(self.acked);
        usize::try_from(bytes.div_ceil(self.chunk_bytes)).unwrap_or(usize::MAX)
    }

    /// Another chunk may go out now.
    pub(crate) fn can_send(&self, max_inflight: usize) -> bool {
        !self.last_sent && self.in_flight() < self.window(max_inflight)
    }

    /// The next chunk, if the window allows one; recorded as sent.
    pub(crate) fn next_chunk(&mut self, max_inflight: usize) -> Option<Chunk> {
        if !self.can_send(max_inflight) {
            return None;
        }
        let offset = self.sent.min(self.len);
        let end = offset.saturating_add(self.chunk_bytes).min(self.len);
        let done = end == self.len;
        let resent = self.highest_sent.is_some_and(|h| offset <= h);
        self.highest_sent = Some(self.highest_sent.map_or(offset, |h| h.max(offset)));
        self.sent = end;
        self.last_sent = done;
        self.ticks_waiting = 0;
        Some(Chunk {
            offset,
            end,
            done,
            resent,
        })
    }

    /// The follower accepted a chunk and holds `received` bytes.
    pub(crate) fn on_accepted(&mut self, received: u64) {
        if received > self.acked {
            self.acked = received;
            self.probing = false;
            self.ticks_waiting = 0;
            self.ticks_stalled = 0;
        }
        if self.sent < self.acked {
            self.sent = self.acked;
        }
    }

    /// The follower refused a chunk and holds `received` bytes: resend from there. Returns
    /// false when the refusal is stale (the transfer already resends from `received`).
    pub(crate) fn on_rejected(&mut self, received: u64) -> bool {
        if self.probing && received == self.acked {
            return false;
        }
        self.rewind(received);
        true
    }

    fn rewind(&mut self, to: u64) {
        if to > self.acked {
            self.ticks_stalled = 0;
        }
        self.acked = to;
        self.sent = to;
        self.last_sent = false;
        self.probing = true;
        self.ticks_waiting = 0;
    }

    /// One leader tick: rewind when chunks went unanswered for `resend_after` ticks while the
    /// follower still answers other messages (`heard_recently`: so chunks were lost, rather
    /// than the follower being down), give up after `give_up_after` ticks without progress.
    pub(crate) fn tick(
        &mut self,
        resend_after: u32,
        give_up_after: u32,
        heard_recently: bool,
    ) -> TransferTick {
        self.ticks_waiting = self.ticks_waiting.saturating_add(1);
        self.ticks_stalled = self.ticks_stalled.saturating_add(1);
        if self.ticks_stalled >= give_up_after {
            return TransferTick::Stalled;
        }
        let unanswered = self.last_sent || self.sent > self.acked;
        if unanswered && heard_recently && self.ticks_waiting >= resend_after {
            self.rewind(self.acked);
            return TransferTick::Rewound;
        }
        TransferTick::Waiting
    }
}

impl Node {
    /// Sends `to` the chunks of its snapshot transfer that the window allows, first starting a
    /// transfer of the newest snapshot if the follower is not being sent that one.
    pub(crate) fn send_snapshot_chunks(&mut self, to: NodeId) {
        let max_inflight = self.cfg.max_inflight_msgs;
        let chunk_bytes = self.cfg.snapshot_chunk_bytes as u64;
        let Some(pr) = self.progress.get_mut(&to) else {
            return;
        };
        let Some(snapshot) = self.snapshot.as_ref() else {
            // Unreachable by construction; park the follower rather than spin.
            tracing::error!(id = self.id, to, "log compacted but no snapshot");
            if !matches!(pr.state, ProgressState::Snapshot(_)) {
                pr.become_snapshot(SnapshotTransfer::parked(self.log.snapshot_index()));
            }
            return;
        };
        let current = matches!(&pr.state, ProgressState::Snapshot(t) if t.index == snapshot.index);
        if !current {
            coverage::hit(Mark::SnapshotSent);
            tracing::debug!(
                id = self.id,
                to,
                index = snapshot.index,
                bytes = snapshot.data.len(),
                "sending snapshot"
            );
            let len = snapshot.data.len() as u64;
            pr.become_snapshot(SnapshotTransfer::new(snapshot.index, len, chunk_bytes));
        }
        let ProgressState::Snapshot(transfer) = &mut pr.state else {
            return;
        };
        let mut bodies = Vec::new();
        while let Some(chunk) = transfer.next_chunk(max_inflight) {
            coverage::hit_if(chunk.resent, Mark::SnapshotChunkResent);
            if chunk.resent {
                tracing::trace!(id = self.id, to, offset = chunk.offset, "resending chunk");
            }
            // Offsets never exceed the data's length, which fits in memory.
            let range = chunk.offset as usize..chunk.end as usize;
            bodies.push(MessageBody::InstallSnapshot {
                meta: snapshot.meta(),
                offset: chunk.offset,
                data: snapshot.data[range].to_vec(),
                done: chunk.done,
            });
        }
        for body in bodies {
            self.send(to, body);
        }
    }

    /// Leader side of InstallSnapshotResponse.
    pub(crate) fn handle_snapshot_response(
        &mut self,
        from: NodeId,
        snapshot_index: Index,
        received: u64,
        rejected: bool,
        index: Index,
    ) {
        let last = self.log.last_index();
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        pr.ticks_since_heard = 0;
        pr.acknowledge(index.min(last));
        let match_index = pr.match_index;
        if let ProgressState::Snapshot(transfer) = &mut pr.state {
            if match_index >= transfer.index {
                tracing::debug!(
                    id = self.id,
                    from,
                    index = match_index,
                    "snapshot delivered"
                );
                pr.become_pipeline();
            } else if transfer.index == snapshot_index {
                if !rejected {
                    transfer.on_accepted(received);
                } else if transfer.on_rejected(received) {
                    tracing::trace!(id = self.id, from, received, "chunk refused: resending");
                }
            }
        }
        self.maybe_commit();
        self.maybe_send_timeout_now(from);
    }

    /// Leader tick of every snapshot transfer: resend unanswered chunks, give up stalled ones.
    pub(crate) fn tick_snapshot_transfers(&mut self) {
        let resend_after = 2 * self.cfg.heartbeat_tick;
        let give_up_after = 2 * self.cfg.election_tick;
        for (id, p) in self.progress.iter_mut() {
            let ProgressState::Snapshot(transfer) = &mut p.state else {
                continue;
            };
            let heard_recently = p.ticks_since_heard <= resend_after;
            match transfer.tick(resend_after, give_up_after, heard_recently) {
                TransferTick::Waiting => {}
                TransferTick::Rewound => {
                    tracing::trace!(id = self.id, to = *id, "snapshot chunks unanswered");
                }
                TransferTick::Stalled => {
                    // The follower is gone or unreachable: probe it again.
                    let next = p.match_index + 1;
                    p.become_probe(next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(t: &mut SnapshotTransfer, max_inflight: usize) -> Vec<(u64, u64, bool)> {
        std::iter::from_fn(|| t.next_chunk(max_inflight))
            .map(|c| (c.offset, c.end, c.done))
            .collect()
    }

    #[test]
    fn chunks_go_out_within_the_window_and_acks_free_it() {
        let mut t = SnapshotTransfer::new(9, 25, 10);
        assert_eq!(offsets(&mut t, 2), [(0, 10, false), (10, 20, false)]);
        t.on_accepted(10);
        assert_eq!(offsets(&mut t, 2), [(20, 25, true)]);
        assert!(!t.can_send(2), "everything was sent");
    }

    #[test]
    fn the_window_is_small_even_when_appends_have_a_large_one() {
        let mut t = SnapshotTransfer::new(9, 100, 1);
        assert_eq!(offsets(&mut t, 256).len(), MAX_INFLIGHT_SNAPSHOT_CHUNKS);
    }

    #[test]
    fn an_empty_snapshot_is_one_done_chunk() {
        let mut t = SnapshotTransfer::new(9, 0, 10);
        assert_eq!(offsets(&mut t, 4), [(0, 0, true)]);
    }

    #[test]
    fn a_refusal_resends_from_the_follower_offset_one_chunk_at_a_time() {
        let mut t = SnapshotTransfer::new(9, 40, 10);
        assert_eq!(offsets(&mut t, 4).len(), 4);
        // The chunk at 10 was lost: the follower refuses 20 and 30, holding 10 bytes.
        t.on_accepted(10);
        assert!(t.on_rejected(10));
        let resent = t.next_chunk(4).expect("a resend");
        assert_eq!((resent.offset, resent.resent), (10, true));
        assert!(!t.can_send(4), "one chunk at a time while probing");
        assert!(!t.on_rejected(10), "the refusal of 30 is stale");
        t.on_accepted(20);
        assert!(!t.probing);
        assert_eq!(offsets(&mut t, 4), [(20, 30, false), (30, 40, true)]);
    }

    #[test]
    fn a_follower_that_lost_its_assembly_gets_everything_again() {
        let mut t = SnapshotTransfer::new(9, 40, 10);
        offsets(&mut t, 4);
        t.on_accepted(30);
        assert!(t.on_rejected(0));
        assert_eq!(t.next_chunk(4).map(|c| c.offset), Some(0));
    }

    #[test]
    fn unanswered_chunks_are_resent_after_the_timeout_and_a_stall_gives_up() {
        let mut t = SnapshotTransfer::new(9, 40, 10);
        offsets(&mut t, 4);
        t.on_accepted(10);
        assert_eq!(t.tick(2, 20, true), TransferTick::Waiting);
        assert_eq!(t.tick(2, 20, true), TransferTick::Rewound);
        assert_eq!(
            t.next_chunk(4).map(|c| (c.offset, c.resent)),
            Some((10, true))
        );
        let outcomes: Vec<TransferTick> = (0..18).map(|_| t.tick(2, 20, true)).collect();
        assert_eq!(outcomes.last(), Some(&TransferTick::Stalled));
    }

    #[test]
    fn nothing_is_resent_to_a_follower_that_answers_nothing() {
        let mut t = SnapshotTransfer::new(9, 40, 10);
        offsets(&mut t, 4);
        let outcomes: Vec<TransferTick> = (0..5).map(|_| t.tick(2, 20, false)).collect();
        assert!(outcomes.iter().all(|o| *o == TransferTick::Waiting));
        assert!(!t.can_send(4));
    }
}
