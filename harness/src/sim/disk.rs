//! The simulated disk of one node, with the storage layer's crash semantics at the level of a
//! `PersistBatch`: a batch is written at once but durable only when its simulated fsync
//! completes. A crash keeps the synced state plus a random prefix of the written-but-unsynced
//! batches (the page cache may have flushed some); the first batch not kept counts as the torn
//! tail that recovery truncates, and everything after it is gone.

use std::collections::VecDeque;

use raft::core::{Entry, PersistedState};
use raft::driver::{PersistBatch, SnapshotToPersist};

/// One node's durable state and its writes in flight.
#[derive(Debug, Default)]
pub struct SimDisk {
    durable: PersistedState,
    /// Written, not yet synced, in write order, with their batch numbers.
    unsynced: VecDeque<(u64, PersistBatch)>,
    next_batch: u64,
    /// When the disk finishes the syncs queued so far (simulated microseconds).
    pub busy_until: u64,
}

impl SimDisk {
    /// Writes a batch (not yet durable); returns its number for [`SimDisk::sync_through`].
    pub fn write(&mut self, batch: PersistBatch) -> u64 {
        let number = self.next_batch;
        self.next_batch += 1;
        self.unsynced.push_back((number, batch));
        number
    }

    /// Makes every batch up to and including `number` durable.
    pub fn sync_through(&mut self, number: u64) {
        while let Some((n, _)) = self.unsynced.front() {
            if *n > number {
                break;
            }
            if let Some((_, batch)) = self.unsynced.pop_front() {
                apply_batch(&mut self.durable, batch);
            }
        }
    }

    /// Makes everything written durable.
    pub fn sync_all(&mut self) {
        while let Some((_, batch)) = self.unsynced.pop_front() {
            apply_batch(&mut self.durable, batch);
        }
    }

    /// How many written batches are not durable yet.
    pub fn unsynced_len(&self) -> usize {
        self.unsynced.len()
    }

    /// A crash: the first `survivors` unsynced batches reached the disk, the rest are lost.
    pub fn crash(&mut self, survivors: usize) {
        for _ in 0..survivors {
            if let Some((_, batch)) = self.unsynced.pop_front() {
                apply_batch(&mut self.durable, batch);
            }
        }
        self.unsynced.clear();
        self.busy_until = 0;
    }

    /// What a restarting node reads back.
    pub fn durable(&self) -> &PersistedState {
        &self.durable
    }
}

/// Applies one batch to a stored state the way the storage layer does: snapshot first, then
/// entries (replacing every stored entry from the first new index on), then the hard state.
/// Stored entries are contiguous, so a truncation is found by index, not by scanning the log.
pub fn apply_batch(state: &mut PersistedState, batch: PersistBatch) {
    match batch.snapshot {
        Some(SnapshotToPersist::Installed(snapshot)) => {
            state.entries.clear();
            state.snapshot = Some(snapshot);
        }
        Some(SnapshotToPersist::Taken(snapshot)) => {
            let covered = entries_below(&state.entries, snapshot.index + 1);
            state.entries.drain(..covered);
            state.snapshot = Some(snapshot);
        }
        None => {}
    }
    if let Some(first) = batch.entries.first() {
        let keep = entries_below(&state.entries, first.index);
        state.entries.truncate(keep);
        state.entries.extend(batch.entries);
    }
    if let Some(hard_state) = batch.hard_state {
        state.hard_state = hard_state;
    }
}

/// How many of the stored `entries` (in index order) have an index below `index`: by arithmetic
/// when they are contiguous (always, as the storage layer refuses gaps), else by binary search.
fn entries_below(entries: &[Entry], index: u64) -> usize {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return 0;
    };
    if last.index.checked_sub(first.index) == Some(entries.len() as u64 - 1) {
        (index.saturating_sub(first.index) as usize).min(entries.len())
    } else {
        entries.partition_point(|e| e.index < index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::core::{EntryKind, HardState};

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            term,
            index,
            kind: EntryKind::Normal,
            data: vec![index as u8],
        }
    }

    fn batch(entries: Vec<Entry>, term: u64) -> PersistBatch {
        PersistBatch {
            hard_state: Some(HardState {
                term,
                ..HardState::default()
            }),
            entries,
            snapshot: None,
        }
    }

    #[test]
    fn unsynced_batches_are_lost_on_crash_and_synced_ones_kept() {
        let mut disk = SimDisk::default();
        let a = disk.write(batch(vec![entry(1, 1), entry(2, 1)], 1));
        disk.write(batch(vec![entry(3, 1)], 2));
        disk.write(batch(vec![entry(2, 3)], 3));
        disk.sync_through(a);
        assert_eq!(disk.durable().entries.len(), 2);
        assert_eq!(disk.unsynced_len(), 2);
        disk.crash(1);
        assert_eq!(disk.durable().entries.len(), 3);
        assert_eq!(disk.durable().hard_state.term, 2);
        assert_eq!(disk.unsynced_len(), 0);
        // A later batch replaces entries from its first index on.
        disk.write(batch(vec![entry(2, 3)], 3));
        disk.sync_all();
        let terms: Vec<u64> = disk.durable().entries.iter().map(|e| e.term).collect();
        assert_eq!(terms, vec![1, 3]);
    }
}
