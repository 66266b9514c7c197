//! The Ready cycle: whether there is work for the application, the `Ready` that hands it out
//! (entries to persist, messages to send, committed entries to apply, reads to serve), and the
//! acknowledgement that a Ready's writes are durable.

use super::node::{Node, State};
use super::progress::ProgressState;
use super::types::{EntryKind, Index, LogMark};
use super::Ready;

impl Node {
    /// Is there anything for the application to do?
    pub fn has_ready(&self) -> bool {
        self.hard_state() != self.prev_hard_state
            || !self.log.unstable().is_empty()
            || self.pending_snapshot.is_some()
            || !self.msgs.is_empty()
            || self.log.committed > self.log.applied
            || self.reads.has_output()
            || (self.state == State::Leader && (self.wants_to_send() || self.reads.needs_round()))
    }

    /// Everything the application must do now (see the module documentation for the order).
    pub fn ready(&mut self) -> Ready {
        let committed_entries = self.log.to_apply().to_vec();
        if let Some(last) = committed_entries.last() {
            self.log.applied = last.index;
        }
        for entry in &committed_entries {
            if entry.kind == EntryKind::ConfChange {
                self.apply_conf_entry(entry);
            }
        }
        if self.state == State::Leader {
            self.flush_read_round();
            self.flush_appends();
        }
        let hs = self.hard_state();
        let hard_state = (hs != self.prev_hard_state).then_some(hs);
        self.prev_hard_state = hs;
        let entries = self.log.unstable().to_vec();
        let snapshot = self.pending_snapshot.take();
        let ack_when_durable =
            (!entries.is_empty() || snapshot.is_some()).then(|| self.log.hand_out());
        self.log.debug_check();
        Ready {
            hard_state,
            entries,
            snapshot,
            ack_when_durable,
            messages: std::mem::take(&mut self.msgs),
            committed_entries,
            read_states: self.reads.take_output(),
        }
    }

    /// The last Ready has been fully handled. (All bookkeeping already happened in `ready`;
    /// this exists so drivers keep the etcd-style rhythm and for future use. Durability is
    /// reported apart, through [`Node::on_persisted`].)
    pub fn advance(&mut self) {}

    /// The writes of the Ready that carried `mark` in `ack_when_durable` are durable (fsynced),
    /// and so are those of every Ready handed out before it: they count toward commit on this
    /// node from now on (a leader's own copy is counted only up to here). Call it any time after
    /// the fsync, also while later Readys are still being written. A mark that is unknown or was
    /// acknowledged already changes nothing; entries rewritten after the mark was handed out (a
    /// truncation, a snapshot) wait for the acknowledgement of their rewrite.
    pub fn on_persisted(&mut self, mark: LogMark) {
        if self.log.persisted(mark) {
            self.maybe_commit();
        }
        self.log.debug_check();
    }

    /// Every entry up to here is durable on this node (acknowledged through
    /// [`Node::on_persisted`], or found on disk at restart).
    pub fn durable_index(&self) -> Index {
        self.log.durable()
    }

    /// Does the leader have an AppendEntries or a snapshot chunk to send?
    fn wants_to_send(&self) -> bool {
        let last = self.log.last_index();
        let max = self.cfg.max_inflight_msgs;
        let newest_snapshot = self.snapshot.as_ref().map(|s| s.index);
        self.progress.values().any(|p| match &p.state {
            // More chunks fit in the window, or a newer snapshot restarts the transfer.
            ProgressState::Snapshot(transfer) => {
                p.can_send(max) || newest_snapshot.is_some_and(|i| i != transfer.index)
            }
            _ => {
                p.can_send(max)
                    && (p.next_index <= last
                        || p.needs_empty_probe()
                        || self.log.term(p.next_index - 1).is_none())
            }
        })
    }
}
