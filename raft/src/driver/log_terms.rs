//! The terms of a replica's log as its batches persisted them, kept by the event observer to
//! tell a truncation (an entry removed, or replaced by one of another term) from entries written
//! again the same.

use std::collections::VecDeque;

use crate::core::{Entry, Index, PersistedState, Term};

/// Entries that left the log: `from..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removed {
    pub from: Index,
    pub last: Index,
}

/// Index -> term of the entries after the snapshot.
#[derive(Clone, Debug, Default)]
pub struct LogTerms {
    /// Index of the snapshot (entries at or below it are not tracked).
    snapshot: Index,
    /// `terms[0]` is index `snapshot + 1`.
    terms: VecDeque<Term>,
}

impl LogTerms {
    /// The log a restarted replica's storage read back.
    pub fn from_persisted(state: &PersistedState) -> LogTerms {
        let mut log = LogTerms {
            snapshot: state.snapshot.as_ref().map_or(0, |s| s.index),
            terms: VecDeque::new(),
        };
        log.write(&state.entries);
        log
    }

    /// Index of the last entry (or of the snapshot).
    pub fn last_index(&self) -> Index {
        self.snapshot + self.terms.len() as Index
    }

    /// Entries written by a batch replace the log from their first index on (entries at or
    /// below the snapshot are ignored). Returns what left the log, if anything did.
    pub fn write(&mut self, entries: &[Entry]) -> Option<Removed> {
        let entries: Vec<&Entry> = entries.iter().filter(|e| e.index > self.snapshot).collect();
        let first = entries.first()?.index;
        let old_last = self.last_index();
        if first > old_last + 1 {
            // A gap (the core never writes one): the log restarts at `first`.
            tracing::warn!(first, old_last, "entries written after a gap in the log");
            self.terms.clear();
            self.snapshot = first - 1;
        }
        let removed = (first..=old_last)
            .find(|&index| {
                let held = self.terms[(index - self.snapshot - 1) as usize];
                entries.get((index - first) as usize).map(|e| e.term) != Some(held)
            })
            .map(|from| Removed {
                from,
                last: old_last,
            });
        self.terms
            .truncate((first.saturating_sub(self.snapshot + 1)) as usize);
        self.terms.extend(entries.iter().map(|e| e.term));
        removed
    }

    /// A snapshot this replica took: the entries up to `index` are freed.
    pub fn snapshot_taken(&mut self, index: Index) {
        if index <= self.snapshot {
            return;
        }
        let freed = ((index - self.snapshot) as usize).min(self.terms.len());
        self.terms.drain(..freed);
        self.snapshot = index;
    }

    /// A snapshot received from a leader replaced the whole log; returns the entries above it
    /// that left.
    pub fn snapshot_installed(&mut self, index: Index) -> Option<Removed> {
        let old_last = self.last_index();
        self.terms.clear();
        self.snapshot = index;
        (old_last > index).then_some(Removed {
            from: index + 1,
            last: old_last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::EntryKind;

    fn entries(first: Index, terms: &[Term]) -> Vec<Entry> {
        terms
            .iter()
            .enumerate()
            .map(|(i, &term)| Entry {
                index: first + i as Index,
                term,
                kind: EntryKind::Normal,
                data: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn appending_or_writing_the_same_entries_again_removes_nothing() {
        let mut log = LogTerms::default();
        assert_eq!(log.write(&entries(1, &[1, 1, 2])), None);
        assert_eq!(log.write(&entries(4, &[2])), None);
        assert_eq!(log.write(&entries(2, &[1, 2, 2])), None);
        assert_eq!(log.last_index(), 4);
    }

    #[test]
    fn a_shorter_or_conflicting_write_reports_what_left() {
        let mut log = LogTerms::default();
        log.write(&entries(1, &[1, 1, 1, 1, 1]));
        // The same entries 2..3, and nothing after: 4..5 left.
        assert_eq!(
            log.write(&entries(2, &[1, 1])),
            Some(Removed { from: 4, last: 5 })
        );
        // Entry 3 of another term.
        assert_eq!(
            log.write(&entries(2, &[1, 2])),
            Some(Removed { from: 3, last: 3 })
        );
        assert_eq!(log.last_index(), 3);
    }

    #[test]
    fn snapshots_free_or_replace_the_log() {
        let mut log = LogTerms::default();
        log.write(&entries(1, &[1, 1, 1, 1]));
        log.snapshot_taken(2);
        assert_eq!(log.last_index(), 4);
        assert_eq!(log.write(&entries(1, &[1, 1, 1, 1])), None);
        assert_eq!(
            log.snapshot_installed(3),
            Some(Removed { from: 4, last: 4 })
        );
        assert_eq!(log.snapshot_installed(9), None);
        assert_eq!(log.last_index(), 9);
    }
}
