//! What the leader knows about one follower: how far its log matches, where to send next, and
//! the flow-control state (probe: one message at a time until a match is found; pipeline:
//! optimistic sending within a bounded window of in-flight messages; snapshot: a chunked
//! snapshot transfer under way, see `snapshot_send`).

use std::collections::VecDeque;

use super::snapshot_send::SnapshotTransfer;
use super::types::Index;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProgressState {
    /// Looking for the match point; `paused` after one message until a response arrives.
    Probe { paused: bool },
    /// The match point is known; entries are streamed, bounded by the in-flight window.
    Pipeline,
    /// The follower needs compacted entries: a snapshot is being sent to it in chunks.
    Snapshot(SnapshotTransfer),
}

#[derive(Clone, Debug)]
pub(crate) struct Progress {
    pub(crate) match_index: Index,
    pub(crate) next_index: Index,
    pub(crate) state: ProgressState,
    /// Last index of each in-flight AppendEntries (pipeline only), oldest first.
    pub(crate) inflight: VecDeque<Index>,
    /// Leader ticks since this peer last answered (check-quorum).
    pub(crate) ticks_since_heard: u32,
    /// Highest read-index round this peer acknowledged.
    pub(crate) acked_read_round: u64,
    /// The heartbeat round current when the last AppendEntries went out: a heartbeat of a
    /// later round was sent after it, so its answer shows whether that append arrived.
    pub(crate) sent_round: u64,
    /// Planted bug `promote_unready` only: counted toward commit as holding the leader's log.
    pub(crate) assumed_caught_up: bool,
}

impl Progress {
    pub(crate) fn new(next_index: Index) -> Progress {
        Progress {
            match_index: 0,
            next_index,
            state: ProgressState::Probe { paused: false },
            inflight: VecDeque::new(),
            ticks_since_heard: 0,
            acked_read_round: 0,
            sent_round: 0,
            assumed_caught_up: false,
        }
    }

    pub(crate) fn become_probe(&mut self, next_index: Index) {
        self.state = ProgressState::Probe { paused: false };
        self.next_index = next_index.max(self.match_index + 1);
        self.inflight.clear();
    }

    pub(crate) fn become_pipeline(&mut self) {
        self.state = ProgressState::Pipeline;
        self.next_index = self.next_index.max(self.match_index + 1);
        self.inflight.clear();
    }

    pub(crate) fn become_snapshot(&mut self, transfer: SnapshotTransfer) {
        self.state = ProgressState::Snapshot(transfer);
        self.inflight.clear();
    }

    /// Can another AppendEntries (or snapshot chunk) go out now?
    pub(crate) fn can_send(&self, max_inflight: usize) -> bool {
        match &self.state {
            ProgressState::Probe { paused } => !paused,
            ProgressState::Pipeline => self.inflight.len() < max_inflight,
            ProgressState::Snapshot(transfer) => transfer.can_send(max_inflight),
        }
    }

    /// Records an AppendEntries whose last entry is `last` (None when it carried no entries).
    pub(crate) fn sent(&mut self, last: Option<Index>) {
        match &mut self.state {
            ProgressState::Probe { paused } => *paused = true,
            ProgressState::Pipeline => {
                if let Some(last) = last {
                    self.inflight.push_back(last);
                    self.next_index = last + 1;
                }
            }
            ProgressState::Snapshot(_) => {}
        }
    }

    /// The follower holds everything up to `index`. Returns true if that is news.
    pub(crate) fn acknowledge(&mut self, index: Index) -> bool {
        let mut progressed = false;
        if index > self.match_index {
            self.match_index = index;
            progressed = true;
        }
        if self.next_index <= index {
            self.next_index = index + 1;
        }
        while self.inflight.front().is_some_and(|&last| last <= index) {
            self.inflight.pop_front();
            progressed = true;
        }
        progressed
    }

    /// Probing with nothing new to send, but the match point is still unknown: an empty
    /// AppendEntries finds it.
    pub(crate) fn needs_empty_probe(&self) -> bool {
        matches!(self.state, ProgressState::Probe { paused: false })
            && self.match_index + 1 < self.next_index
    }

    /// The follower answered a heartbeat: a paused probe may send again.
    pub(crate) fn resume_probe(&mut self) {
        if let ProgressState::Probe { paused } = &mut self.state {
            *paused = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_sends_one_message_until_resumed() {
        let mut p = Progress::new(5);
        assert!(p.can_send(4));
        p.sent(Some(7));
        assert!(!p.can_send(4));
        assert_eq!(
            p.next_index, 5,
            "probe does not advance next optimistically"
        );
        p.resume_probe();
        assert!(p.can_send(4));
    }

    #[test]
    fn pipeline_window_is_bounded_and_freed_by_acks() {
        let mut p = Progress::new(1);
        p.become_pipeline();
        p.sent(Some(3));
        p.sent(Some(6));
        assert!(!p.can_send(2));
        assert_eq!(p.next_index, 7);
        assert!(p.acknowledge(3));
        assert!(p.can_send(2));
        assert_eq!(p.match_index, 3);
        assert_eq!(p.next_index, 7);
        assert!(!p.acknowledge(2), "a stale ack is not progress");
    }

    #[test]
    fn probe_never_goes_below_match() {
        let mut p = Progress::new(10);
        p.acknowledge(8);
        p.become_probe(3);
        assert_eq!(p.next_index, 9);
    }
}
