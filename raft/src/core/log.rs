//! The in-memory log: the entries since the last snapshot, plus the markers of what has been
//! handed to the application for persistence (`unstable_from`), what the application has
//! acknowledged as durable (`durable`), and what has been handed out for application (`applied`).
//!
//! Invariants: `entries[i].index == snapshot_index + 1 + i`,
//! `snapshot_index <= applied <= committed <= last_index()`, and
//! `durable < unstable_from`, `durable <= last_index()`.
//!
//! Durability is tracked per Ready: each Ready that writes entries or a snapshot gets a
//! [`LogMark`] (its last entry) and joins the queue of writes in flight. Writes become durable in
//! the order they were handed out, so an acknowledgement of one also covers every write before
//! it. A rewrite handed out later (a truncation, a snapshot with the log tail) lowers what every
//! earlier write in flight vouches for: the rewrite may reach the disk in part before a crash, so
//! only the entries below it stay durable through the earlier write.

use std::collections::VecDeque;

use super::types::{Entry, Index, LogMark, Term};

/// A Ready's writes, handed out and not yet acknowledged as durable.
#[derive(Clone, Copy, Debug)]
struct WriteInFlight {
    mark: LogMark,
    /// The highest index whose durability this write vouches for: `mark.index`, lowered by
    /// every rewrite handed out after it.
    vouches_for: Index,
}

#[derive(Debug, Default)]
pub(crate) struct RaftLog {
    snapshot_index: Index,
    snapshot_term: Term,
    entries: Vec<Entry>,
    pub(crate) committed: Index,
    /// The last index handed out in `Ready::committed_entries` (or covered by a snapshot).
    pub(crate) applied: Index,
    /// The first index not yet handed out in `Ready::entries`.
    pub(crate) unstable_from: Index,
    /// Every entry up to here is durable on this node, as acknowledged through
    /// `Node::on_persisted` (or found on disk at restart).
    durable: Index,
    /// Writes handed out and not yet acknowledged, oldest first.
    in_flight: VecDeque<WriteInFlight>,
}

impl RaftLog {
    /// An empty log positioned after a snapshot at (`index`, `term`).
    pub(crate) fn new(snapshot_index: Index, snapshot_term: Term) -> RaftLog {
        RaftLog {
            snapshot_index,
            snapshot_term,
            entries: Vec::new(),
            committed: snapshot_index,
            applied: snapshot_index,
            unstable_from: snapshot_index + 1,
            durable: snapshot_index,
            in_flight: VecDeque::new(),
        }
    }

    pub(crate) fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    pub(crate) fn first_index(&self) -> Index {
        self.snapshot_index + 1
    }

    pub(crate) fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term of the entry at `index`, if known (the snapshot's last entry included).
    pub(crate) fn term(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }

    pub(crate) fn entry(&self, index: Index) -> Option<&Entry> {
        if index <= self.snapshot_index {
            return None;
        }
        self.entries.get((index - self.snapshot_index - 1) as usize)
    }

    /// Entries in `[lo, hi]` (clamped to what the log holds).
    pub(crate) fn slice(&self, lo: Index, hi: Index) -> &[Entry] {
        let lo = lo.max(self.first_index());
        let hi = hi.min(self.last_index());
        if lo > hi {
            return &[];
        }
        let start = (lo - self.snapshot_index - 1) as usize;
        let end = (hi - self.snapshot_index) as usize;
        &self.entries[start..end]
    }

    /// Entries from `lo` on, at most `max_bytes` of them but always at least one.
    pub(crate) fn slice_bytes(&self, lo: Index, max_bytes: usize) -> &[Entry] {
        let all = self.slice(lo, self.last_index());
        let mut bytes = 0usize;
        for (i, e) in all.iter().enumerate() {
            bytes += e.approx_bytes();
            if bytes > max_bytes && i > 0 {
                return &all[..i];
            }
        }
        all
    }

    /// Appends one entry at the end (its index must be `last_index() + 1`).
    pub(crate) fn push(&mut self, entry: Entry) {
        debug_assert_eq!(entry.index, self.last_index() + 1);
        self.entries.push(entry);
    }

    /// Drops every entry at index `>= from` (never a committed one).
    pub(crate) fn truncate_from(&mut self, from: Index) {
        assert!(
            from > self.committed,
            "truncating committed entries (from {from}, committed {})",
            self.committed
        );
        if from <= self.last_index() {
            self.entries
                .truncate((from.max(self.first_index()) - self.snapshot_index - 1) as usize);
        }
        self.rewind_unstable(self.unstable_from.min(from));
    }

    /// The entries from `from` on go out again (rewritten): none of them is durable until that
    /// rewrite is acknowledged, whatever earlier writes still in flight held.
    fn rewind_unstable(&mut self, from: Index) {
        self.unstable_from = from;
        let below = from.saturating_sub(1);
        self.durable = self.durable.min(below);
        for write in &mut self.in_flight {
            write.vouches_for = write.vouches_for.min(below);
        }
    }

    /// The first index of the run of entries with the same term as the entry at `index`
    /// (never below the first index held).
    pub(crate) fn first_index_of_term_at(&self, index: Index) -> Index {
        let Some(term) = self.term(index) else {
            return index;
        };
        // Terms never decrease along a log: binary search for the start of the run.
        let pos = self.entries.partition_point(|e| e.term < term);
        (self.snapshot_index + 1 + pos as Index).min(index)
    }

    /// The last index whose term is `<= term`, with its term (terms never decrease in a log).
    pub(crate) fn last_index_with_term_at_most(&self, term: Term) -> Option<(Index, Term)> {
        let pos = self.entries.partition_point(|e| e.term <= term);
        if pos == 0 {
            if self.snapshot_term <= term {
                return Some((self.snapshot_index, self.snapshot_term));
            }
            return None;
        }
        let e = &self.entries[pos - 1];
        Some((e.index, e.term))
    }

    /// Asserts the log's invariants (debug builds).
    pub(crate) fn debug_check(&self) {
        debug_assert!(
            self.snapshot_index <= self.applied
                && self.applied <= self.committed
                && self.committed <= self.last_index(),
            "log invariant broken: snapshot {} applied {} commit {} last {}",
            self.snapshot_index,
            self.applied,
            self.committed,
            self.last_index()
        );
        debug_assert!(self
            .entries
            .first()
            .is_none_or(|e| e.index == self.snapshot_index + 1));
        debug_assert!(
            self.durable < self.unstable_from && self.durable <= self.last_index(),
            "durability invariant broken: durable {} unstable from {} last {}",
            self.durable,
            self.unstable_from,
            self.last_index()
        );
        debug_assert!(
            self.in_flight
                .iter()
                .all(|w| w.vouches_for <= w.mark.index && w.vouches_for < self.unstable_from),
            "a write in flight vouches for entries not handed out"
        );
    }

    /// Is a log ending at (`last_index`, `last_term`) at least as up to date as ours?
    pub(crate) fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }

    /// Entries not yet handed out for persistence.
    pub(crate) fn unstable(&self) -> &[Entry] {
        self.slice(self.unstable_from, self.last_index())
    }

    /// Everything held is on disk already (a restart from persisted state).
    pub(crate) fn mark_all_durable(&mut self) {
        self.unstable_from = self.last_index() + 1;
        self.durable = self.last_index();
        self.in_flight.clear();
    }

    /// The unstable entries (and any snapshot) are handed out for persistence now: returns the
    /// mark the application acknowledges once they are durable.
    pub(crate) fn hand_out(&mut self) -> LogMark {
        let mark = LogMark {
            index: self.last_index(),
            term: self.last_term(),
        };
        self.unstable_from = mark.index + 1;
        self.in_flight.push_back(WriteInFlight {
            mark,
            vouches_for: mark.index,
        });
        mark
    }

    /// The write handed out with `mark` is durable, and with it every write handed out before
    /// it. Returns whether the durable index rose. An unknown mark (never handed out, or
    /// acknowledged already) changes nothing; a mark whose entries were rewritten since counts
    /// only for the entries below the rewrite.
    pub(crate) fn persisted(&mut self, mark: LogMark) -> bool {
        let Some(pos) = self.in_flight.iter().position(|w| w.mark == mark) else {
            return false;
        };
        let vouches_for = self.in_flight[pos].vouches_for;
        self.in_flight.drain(..=pos);
        if vouches_for <= self.durable {
            return false;
        }
        debug_assert!(
            self.term(vouches_for).is_some() || vouches_for < self.snapshot_index,
            "a durable index beyond the log"
        );
        self.durable = vouches_for;
        true
    }

    /// Every entry up to here is durable on this node.
    pub(crate) fn durable(&self) -> Index {
        self.durable
    }

    /// How many handed-out writes wait for their acknowledgement.
    #[cfg(test)]
    pub(crate) fn writes_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Committed entries not yet handed out for application.
    pub(crate) fn to_apply(&self) -> &[Entry] {
        self.slice(self.applied + 1, self.committed)
    }

    /// Discards entries up to and including `index` (which must be held or be the snapshot).
    pub(crate) fn compact(&mut self, index: Index, term: Term) {
        if index <= self.snapshot_index {
            return;
        }
        let drop = ((index - self.snapshot_index) as usize).min(self.entries.len());
        self.entries.drain(..drop);
        self.snapshot_index = index;
        self.snapshot_term = term;
        // A Ready snapshot replaces the whole stored log, so the tail goes out again with it.
        self.rewind_unstable(index.saturating_add(1));
        self.committed = self.committed.max(index);
        self.applied = self.applied.max(index);
    }

    /// Replaces the whole log by a snapshot at (`index`, `term`).
    pub(crate) fn restore(&mut self, index: Index, term: Term) {
        self.entries.clear();
        self.snapshot_index = index;
        self.snapshot_term = term;
        self.committed = index;
        self.applied = index;
        self.rewind_unstable(index.saturating_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::EntryKind;

    fn entry(index: Index, term: Term) -> Entry {
        Entry {
            term,
            index,
            kind: EntryKind::Normal,
            data: vec![],
        }
    }

    fn log_with_terms(terms: &[Term]) -> RaftLog {
        let mut log = RaftLog::new(0, 0);
        for (i, t) in terms.iter().enumerate() {
            log.push(entry(i as Index + 1, *t));
        }
        log
    }

    #[test]
    fn term_lookup_covers_snapshot_and_entries() {
        let mut log = log_with_terms(&[1, 1, 2, 3]);
        assert_eq!(log.term(0), Some(0));
        assert_eq!(log.term(3), Some(2));
        assert_eq!(log.term(5), None);
        log.committed = 4;
        log.compact(2, 1);
        assert_eq!(log.term(1), None);
        assert_eq!(log.term(2), Some(1));
        assert_eq!(log.term(4), Some(3));
        assert_eq!(log.first_index(), 3);
        assert_eq!(log.last_index(), 4);
    }

    #[test]
    fn first_index_of_term_skips_the_whole_run() {
        let log = log_with_terms(&[1, 2, 2, 2, 3]);
        assert_eq!(log.first_index_of_term_at(4), 2);
        assert_eq!(log.first_index_of_term_at(5), 5);
        assert_eq!(log.first_index_of_term_at(1), 1);
        let mut compacted = log_with_terms(&[1, 2, 2, 2, 3]);
        compacted.committed = 2;
        compacted.compact(2, 2);
        assert_eq!(
            compacted.first_index_of_term_at(4),
            3,
            "never below the first held"
        );
        assert_eq!(
            compacted.first_index_of_term_at(2),
            2,
            "the snapshot index itself"
        );
    }

    #[test]
    fn last_index_with_term_at_most_uses_monotonic_terms() {
        let log = log_with_terms(&[1, 2, 2, 4, 4]);
        assert_eq!(log.last_index_with_term_at_most(2), Some((3, 2)));
        assert_eq!(log.last_index_with_term_at_most(3), Some((3, 2)));
        assert_eq!(log.last_index_with_term_at_most(9), Some((5, 4)));
        assert_eq!(log.last_index_with_term_at_most(0), Some((0, 0)));
    }

    #[test]
    fn slice_bytes_always_returns_one_entry() {
        let mut log = RaftLog::new(0, 0);
        for i in 1..=3 {
            log.push(Entry {
                term: 1,
                index: i,
                kind: EntryKind::Normal,
                data: vec![0; 100],
            });
        }
        assert_eq!(log.slice_bytes(1, 10).len(), 1);
        assert_eq!(log.slice_bytes(1, 250).len(), 2);
        assert_eq!(log.slice_bytes(2, 10_000).len(), 2);
    }

    #[test]
    fn truncate_moves_the_unstable_marker_back() {
        let mut log = log_with_terms(&[1, 1, 1]);
        log.mark_all_durable();
        log.truncate_from(2);
        assert_eq!(log.last_index(), 1);
        assert_eq!(log.unstable_from, 2);
        assert_eq!(log.durable(), 1);
        assert!(log.unstable().is_empty());
    }

    #[test]
    fn an_acknowledgement_covers_its_write_and_every_earlier_one() {
        let mut log = log_with_terms(&[1, 1]);
        let first = log.hand_out();
        log.push(entry(3, 1));
        let second = log.hand_out();
        assert_eq!(log.durable(), 0);
        assert!(log.persisted(second));
        assert_eq!(log.durable(), 3);
        assert_eq!(log.writes_in_flight(), 0);
        // The first write's acknowledgement came too late and is unknown now.
        assert!(!log.persisted(first));
        assert_eq!(log.durable(), 3);
    }

    #[test]
    fn a_rewrite_limits_what_earlier_writes_in_flight_vouch_for() {
        let mut log = log_with_terms(&[1, 1, 1]);
        let old = log.hand_out();
        log.truncate_from(2);
        log.push(entry(2, 2));
        log.push(entry(3, 2));
        let new = log.hand_out();
        // The old write only vouches for index 1: the rewrite of 2.. may be torn.
        assert!(log.persisted(old));
        assert_eq!(log.durable(), 1);
        assert!(log.persisted(new));
        assert_eq!(log.durable(), 3);
        log.debug_check();
    }

    #[test]
    fn an_acknowledgement_of_a_rewritten_mark_matches_the_oldest_write_first() {
        // (3, 1) written, overwritten by (3, 2), then written again as (3, 1): the first
        // acknowledgement of (3, 1) is the oldest write's, which vouches for index 1 only.
        let mut log = log_with_terms(&[1, 1, 1]);
        let a = log.hand_out();
        log.truncate_from(2);
        log.push(entry(2, 2));
        log.push(entry(3, 2));
        let b = log.hand_out();
        log.truncate_from(2);
        log.push(entry(2, 1));
        log.push(entry(3, 1));
        let c = log.hand_out();
        assert_eq!(a, c);
        assert!(log.persisted(a));
        assert_eq!(log.durable(), 1);
        assert!(!log.persisted(b), "all of b's entries were rewritten");
        assert!(log.persisted(c));
        assert_eq!(log.durable(), 3);
    }

    #[test]
    fn a_taken_snapshot_rewrites_the_tail_so_it_waits_for_its_own_acknowledgement() {
        let mut log = log_with_terms(&[1, 1, 1, 1]);
        let tail = log.hand_out();
        log.committed = 3;
        log.applied = 3;
        log.compact(2, 1);
        let with_snapshot = log.hand_out();
        assert!(log.persisted(tail));
        assert_eq!(log.durable(), 2);
        assert!(log.persisted(with_snapshot));
        assert_eq!(log.durable(), 4);
    }

    #[test]
    #[should_panic]
    fn truncating_committed_entries_is_refused() {
        let mut log = log_with_terms(&[1, 1, 1]);
        log.committed = 2;
        log.truncate_from(2);
    }
}
