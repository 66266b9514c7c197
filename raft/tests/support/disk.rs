//! A node's simulated disk: exactly what its Readys told it to persist, and nothing else.
//!
//! Entries follow the Ready contract: a batch replaces every stored entry at an index at or after
//! the batch's first index. A snapshot from a Ready replaces the whole stored log; the entries of
//! the same Ready (persisted after it) are then the complete log after the snapshot.

use raft::core::{Entry, HardState, Index, PersistedState, Snapshot, Term};

/// The durable state of one node.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    pub hard_state: HardState,
    pub snapshot: Option<Snapshot>,
    /// Contiguous entries after the snapshot (if any).
    pub entries: Vec<Entry>,
}

impl Disk {
    /// Index of the snapshot, 0 without one.
    pub fn snapshot_index(&self) -> Index {
        self.snapshot.as_ref().map_or(0, |s| s.index)
    }

    /// Index of the last stored entry (or of the snapshot when the log is empty).
    pub fn last_index(&self) -> Index {
        self.entries
            .last()
            .map_or(self.snapshot_index(), |e| e.index)
    }

    /// The stored entry at `index`, if it is in the log (not under the snapshot).
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        let first = self.entries.first()?.index;
        if index < first {
            return None;
        }
        self.entries.get((index - first) as usize)
    }

    /// The term at `index`, from the log or the snapshot; index 0 has term 0.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        if let Some(s) = &self.snapshot {
            if s.index == index {
                return Some(s.term);
            }
        }
        self.entry(index).map(|e| e.term)
    }

    /// Persist a batch of entries with truncation semantics. Entries at or below the snapshot
    /// index are ignored. Returns the (index, term) of every stored entry that was replaced by a
    /// different one, or an error for a batch that is not contiguous or leaves a gap.
    pub fn append(&mut self, mut batch: Vec<Entry>) -> Result<Vec<(Index, Term)>, String> {
        for pair in batch.windows(2) {
            if pair[1].index != pair[0].index + 1 {
                return Err(format!(
                    "Ready entries not contiguous: {} then {}",
                    pair[0].index, pair[1].index
                ));
            }
            if pair[1].term < pair[0].term {
                return Err(format!(
                    "Ready entries with decreasing terms at {}: {} then {}",
                    pair[1].index, pair[0].term, pair[1].term
                ));
            }
        }
        let snap = self.snapshot_index();
        let skip = batch.iter().take_while(|e| e.index <= snap).count();
        batch.drain(..skip);
        let Some(first) = batch.first().map(|e| e.index) else {
            return Ok(Vec::new());
        };
        if first > self.last_index() + 1 {
            return Err(format!(
                "Ready entries start at {first} but the stored log ends at {}",
                self.last_index()
            ));
        }
        if let Some(prev) = self.term_at(first - 1) {
            if batch[0].term < prev {
                return Err(format!(
                    "entry {first} has term {} below its predecessor's term {prev}",
                    batch[0].term
                ));
            }
        }
        // The stored log is contiguous, so the entries at or after `first` are a suffix.
        let keep = self.entries.first().map_or(0, |e| {
            (first.saturating_sub(e.index) as usize).min(self.entries.len())
        });
        let replaced = self.entries[keep..]
            .iter()
            .filter(|old| {
                batch
                    .get((old.index - first) as usize)
                    .is_none_or(|new| new != *old)
            })
            .map(|old| (old.index, old.term))
            .collect();
        self.entries.truncate(keep);
        self.entries.extend(batch);
        Ok(replaced)
    }

    /// Persist a snapshot handed out in a Ready: as the contract says, it replaces the whole
    /// stored log (the same Ready's entries then hold the complete log after it).
    pub fn install_snapshot(&mut self, snap: Snapshot) {
        self.entries.clear();
        self.snapshot = Some(snap);
    }

    /// What a restart reads back.
    pub fn persisted(&self) -> PersistedState {
        PersistedState {
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            entries: self.entries.clone(),
        }
    }
}
