//! The Ready cycle: whether there is work for the application, and the `Ready` that hands it
//! out (entries to persist, messages to send, committed entries to apply, reads to serve).

use super::node::{Node, State};
use super::types::EntryKind;
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
        self.log.mark_stable();
        self.log.debug_check();
        Ready {
            hard_state,
            entries,
            snapshot: self.pending_snapshot.take(),
            messages: std::mem::take(&mut self.msgs),
            committed_entries,
            read_states: self.reads.take_output(),
        }
    }

    /// The last Ready has been fully handled. (All bookkeeping already happened in `ready`;
    /// this exists so drivers keep the etcd-style rhythm and for future use.)
    pub fn advance(&mut self) {}

    /// Does the leader have an AppendEntries or InstallSnapshot to send?
    fn wants_to_send(&self) -> bool {
        let last = self.log.last_index();
        let max = self.cfg.max_inflight_msgs;
        self.progress.values().any(|p| {
            p.can_send(max)
                && (p.next_index <= last
                    || p.needs_empty_probe()
                    || self.log.term(p.next_index - 1).is_none())
        })
    }
}
