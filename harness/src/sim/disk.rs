//! The simulated disk of one node, with the storage layer's crash semantics at the level of its
//! writes. A `PersistBatch` is written at once but durable only when its simulated fsync
//! completes. Written-but-unsynced batches are kept as the list of writes `RaftDisk` makes for
//! them (`raft::storage::batch_records`: snapshot file, WAL records in order; a taken snapshot's
//! file last, as the server saves it after the batch's sync). A crash keeps the synced state plus
//! a random prefix of those writes (the page cache may have flushed some); the first write not
//! kept counts as the torn tail that recovery drops, and everything after it is gone.

use std::collections::VecDeque;

use raft::core::{Entry, HardState, PersistedState, Snapshot};
use raft::driver::{PersistBatch, SnapshotToPersist};
use raft::storage::{batch_records, BatchRecord};

/// One node's durable state and its writes in flight.
#[derive(Clone, Debug, Default)]
pub struct SimDisk {
    durable: PersistedState,
    /// Written, not yet synced, in write order.
    unsynced: VecDeque<Pending>,
    next_batch: u64,
    /// Index of the last entry of the log as written, synced or not (`None`: empty), which
    /// decides whether the storage layer writes a truncation before a batch's entries.
    last_logged: Option<u64>,
    /// When the disk finishes the syncs queued so far (simulated microseconds).
    pub busy_until: u64,
}

/// A written batch waiting for its fsync.
#[derive(Clone, Debug)]
struct Pending {
    number: u64,
    batch: PersistBatch,
    /// `last_logged` when it was written (its writes depend on it).
    last_logged: Option<u64>,
    /// How many writes it makes.
    writes: usize,
}

/// One write of a batch: a storage-layer record, or the file of a snapshot the node took.
#[derive(Debug)]
enum Write<'a> {
    Storage(BatchRecord<'a, Entry, HardState, Snapshot>),
    TakenSnapshot(&'a Snapshot),
}

/// The writes of `batch`, in order, when the written log ends at `last_logged`.
fn writes(batch: &PersistBatch, last_logged: Option<u64>) -> impl Iterator<Item = Write<'_>> {
    let (installed, taken) = match &batch.snapshot {
        Some(SnapshotToPersist::Installed(s)) => (Some(s), None),
        Some(SnapshotToPersist::Taken(s)) => (None, Some(s)),
        None => (None, None),
    };
    batch_records(
        last_logged,
        batch.hard_state.as_ref(),
        &batch.entries,
        installed,
    )
    .map(Write::Storage)
    .chain(taken.map(Write::TakenSnapshot))
}

impl SimDisk {
    /// Writes a batch (not yet durable); returns its number for [`SimDisk::sync_through`].
    pub fn write(&mut self, batch: PersistBatch) -> u64 {
        let number = self.next_batch;
        self.next_batch += 1;
        let last_logged = self.last_logged;
        let writes = writes(&batch, last_logged).count();
        let installed = matches!(batch.snapshot, Some(SnapshotToPersist::Installed(_)));
        self.last_logged = match batch.entries.last() {
            Some(last) => Some(last.index),
            None if installed => None,
            None => last_logged,
        };
        self.unsynced.push_back(Pending {
            number,
            batch,
            last_logged,
            writes,
        });
        number
    }

    /// Makes every batch up to and including `number` durable.
    pub fn sync_through(&mut self, number: u64) {
        while self.unsynced.front().is_some_and(|p| p.number <= number) {
            if let Some(pending) = self.unsynced.pop_front() {
                apply_batch(&mut self.durable, pending.batch);
            }
        }
    }

    /// Makes everything written durable.
    pub fn sync_all(&mut self) {
        while let Some(pending) = self.unsynced.pop_front() {
            apply_batch(&mut self.durable, pending.batch);
        }
    }

    /// How many writes (records) of written batches are not durable yet.
    pub fn unsynced_writes(&self) -> usize {
        self.unsynced.iter().map(|p| p.writes).sum()
    }

    /// A crash: the first `survivors` unsynced writes reached the disk, the rest are lost (the
    /// first lost one is the torn tail recovery drops).
    pub fn crash(&mut self, survivors: usize) {
        let mut left = survivors;
        while let Some(pending) = self.unsynced.pop_front() {
            if left >= pending.writes {
                left -= pending.writes;
                apply_batch(&mut self.durable, pending.batch);
                continue;
            }
            for write in writes(&pending.batch, pending.last_logged).take(left) {
                apply_write(&mut self.durable, write);
            }
            break;
        }
        self.unsynced.clear();
        self.last_logged = self.durable.entries.last().map(|e| e.index);
        self.busy_until = 0;
    }

    /// The last log index that is durable (an entry, else the snapshot's), 0 when none: what
    /// the node could still claim after a crash right now.
    pub fn durable_last_index(&self) -> u64 {
        match (self.durable.entries.last(), &self.durable.snapshot) {
            (Some(entry), _) => entry.index,
            (None, Some(snapshot)) => snapshot.index,
            (None, None) => 0,
        }
    }

    /// What a restarting node reads back.
    pub fn durable(&self) -> &PersistedState {
        &self.durable
    }
}

/// Applies one whole batch to a stored state, with the same result as applying its writes one by
/// one: snapshot first, then entries (replacing every stored entry from the first new index on),
/// then the hard state. Stored entries are contiguous, so a truncation is found by index.
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

/// Applies one write to a stored state as recovery would see it if it were the last to survive.
fn apply_write(state: &mut PersistedState, write: Write<'_>) {
    match write {
        Write::Storage(BatchRecord::SnapshotFile(snapshot)) => {
            // The file is in place but the WAL does not say so yet: recovery keeps the log only
            // if it continues the snapshot (it holds the snapshot's last entry, or starts right
            // after it), else the snapshot wins. (A log starting further on cannot happen: a
            // node never installs a snapshot older than one it has.)
            let position = state.entries.iter().position(|e| e.index == snapshot.index);
            match position {
                Some(pos) if state.entries[pos].term == snapshot.term => {
                    state.entries.drain(..=pos);
                }
                None if state
                    .entries
                    .first()
                    .is_none_or(|e| e.index == snapshot.index + 1) => {}
                _ => state.entries.clear(),
            }
            state.snapshot = Some(snapshot.clone());
        }
        Write::Storage(BatchRecord::SnapshotInstalled { .. }) => state.entries.clear(),
        Write::Storage(BatchRecord::TruncateFrom(index)) => {
            let keep = entries_below(&state.entries, index);
            state.entries.truncate(keep);
        }
        Write::Storage(BatchRecord::Entry(entry)) => state.entries.push(entry.clone()),
        Write::Storage(BatchRecord::HardState(hard_state)) => state.hard_state = *hard_state,
        Write::TakenSnapshot(snapshot) => {
            let covered = entries_below(&state.entries, snapshot.index + 1);
            state.entries.drain(..covered);
            state.snapshot = Some(snapshot.clone());
        }
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
    use raft::core::{ConfState, EntryKind};

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            term,
            index,
            kind: EntryKind::Normal,
            data: vec![index as u8, term as u8],
        }
    }

    fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
        range.map(|i| entry(i, term)).collect()
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

    fn snapshot(index: u64, term: u64) -> Snapshot {
        Snapshot {
            index,
            term,
            conf: ConfState::with_voters([1, 2, 3]),
            data: vec![7],
        }
    }

    fn terms(disk: &SimDisk) -> Vec<(u64, u64)> {
        disk.durable()
            .entries
            .iter()
            .map(|e| (e.index, e.term))
            .collect()
    }

    #[test]
    fn synced_batches_survive_a_crash_and_unsynced_ones_keep_a_prefix_of_writes() {
        let mut disk = SimDisk::default();
        let a = disk.write(batch(entries(1..=2, 1), 1));
        disk.write(batch(vec![entry(3, 1)], 2));
        disk.write(batch(vec![entry(2, 3)], 3));
        disk.sync_through(a);
        assert_eq!(disk.durable().entries.len(), 2);
        // Batch 2: entry 3, hard state. Batch 3: truncate from 2, entry 2, hard state.
        assert_eq!(disk.unsynced_writes(), 5);
        disk.crash(3);
        assert_eq!(terms(&disk), vec![(1, 1)]);
        assert_eq!(disk.durable().hard_state.term, 2);
        assert_eq!(disk.unsynced_writes(), 0);
        // After the crash the log ends at 1: entry 2 is appended without a truncation.
        disk.write(batch(vec![entry(2, 3)], 3));
        assert_eq!(disk.unsynced_writes(), 2);
        disk.sync_all();
        assert_eq!(terms(&disk), vec![(1, 1), (2, 3)]);
    }

    #[test]
    fn a_torn_batch_keeps_entries_without_its_hard_state_but_never_the_reverse() {
        let mut base = SimDisk::default();
        base.write(batch(entries(1..=3, 1), 1));
        base.sync_all();
        // Overwrites 2..=3 with term 2 and adds 4: truncate, 3 entries, hard state.
        base.write(batch(entries(2..=4, 2), 2));
        assert_eq!(base.unsynced_writes(), 5);
        let expected: [&[(u64, u64)]; 6] = [
            &[(1, 1), (2, 1), (3, 1)],
            &[(1, 1)],
            &[(1, 1), (2, 2)],
            &[(1, 1), (2, 2), (3, 2)],
            &[(1, 1), (2, 2), (3, 2), (4, 2)],
            &[(1, 1), (2, 2), (3, 2), (4, 2)],
        ];
        for (kept, want) in expected.iter().enumerate() {
            let mut disk = base.clone();
            disk.crash(kept);
            assert_eq!(terms(&disk), want.to_vec(), "{kept} writes kept");
            let hard_state_kept = disk.durable().hard_state.term == 2;
            assert_eq!(hard_state_kept, kept == 5, "{kept} writes kept");
        }
    }

    #[test]
    fn a_hard_state_only_batch_is_one_write_after_the_entries_before_it() {
        let mut base = SimDisk::default();
        base.write(batch(entries(1..=2, 1), 1));
        base.write(batch(vec![], 5));
        assert_eq!(base.unsynced_writes(), 4);
        for kept in 0..=4 {
            let mut disk = base.clone();
            disk.crash(kept);
            let entries_kept = disk.durable().entries.len();
            // The later hard state only survives with every entry written before it.
            if disk.durable().hard_state.term == 5 {
                assert_eq!(entries_kept, 2);
            }
            assert_eq!(entries_kept, kept.min(2));
        }
    }

    #[test]
    fn an_installed_snapshot_torn_after_its_file_keeps_only_a_log_that_continues_it() {
        let installed = |entries: Vec<Entry>| PersistBatch {
            hard_state: Some(HardState {
                term: 4,
                ..HardState::default()
            }),
            entries,
            snapshot: Some(SnapshotToPersist::Installed(snapshot(3, 2))),
        };
        // The stored log holds the snapshot's last entry with its term: entries after it stay.
        let mut disk = SimDisk::default();
        disk.write(batch(
            vec![entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 2)],
            2,
        ));
        disk.sync_all();
        disk.write(installed(vec![entry(4, 4)]));
        assert_eq!(disk.unsynced_writes(), 4);
        let mut torn = disk.clone();
        torn.crash(1);
        assert_eq!(terms(&torn), vec![(4, 2)]);
        assert_eq!(torn.durable().snapshot.as_ref().map(|s| s.index), Some(3));
        disk.crash(4);
        assert_eq!(terms(&disk), vec![(4, 4)]);
        assert_eq!(disk.durable().hard_state.term, 4);
        // A log that does not hold it (different term there): the snapshot wins.
        let mut disk = SimDisk::default();
        disk.write(batch(entries(1..=4, 1), 1));
        disk.sync_all();
        disk.write(installed(vec![]));
        disk.crash(1);
        assert!(disk.durable().entries.is_empty());
        assert_eq!(disk.durable().snapshot.as_ref().map(|s| s.term), Some(2));
    }

    #[test]
    fn a_taken_snapshot_is_saved_after_the_batch_and_frees_what_it_covers() {
        let mut base = SimDisk::default();
        base.write(batch(entries(1..=4, 1), 1));
        base.sync_all();
        base.write(PersistBatch {
            hard_state: None,
            entries: vec![entry(5, 1)],
            snapshot: Some(SnapshotToPersist::Taken(snapshot(3, 1))),
        });
        assert_eq!(base.unsynced_writes(), 2);
        let mut disk = base.clone();
        disk.crash(1);
        assert_eq!(disk.durable().entries.len(), 5);
        assert!(disk.durable().snapshot.is_none());
        base.crash(2);
        assert_eq!(terms(&base), vec![(4, 1), (5, 1)]);
        assert_eq!(base.durable().snapshot.as_ref().map(|s| s.index), Some(3));
    }

    #[test]
    fn applying_a_batch_whole_equals_applying_all_its_writes() {
        let stored = PersistedState {
            entries: entries(1..=6, 1),
            ..PersistedState::default()
        };
        let batches = [
            batch(entries(7..=8, 2), 2),
            batch(entries(4..=5, 2), 2),
            batch(vec![], 3),
            PersistBatch {
                hard_state: None,
                entries: entries(7..=7, 1),
                snapshot: Some(SnapshotToPersist::Taken(snapshot(5, 1))),
            },
            PersistBatch {
                hard_state: Some(HardState::default()),
                entries: entries(10..=11, 3),
                snapshot: Some(SnapshotToPersist::Installed(snapshot(9, 3))),
            },
        ];
        for b in batches {
            let mut whole = stored.clone();
            apply_batch(&mut whole, b.clone());
            let mut one_by_one = stored.clone();
            for write in writes(&b, Some(6)) {
                apply_write(&mut one_by_one, write);
            }
            assert_eq!(
                (whole.hard_state, &whole.snapshot, &whole.entries),
                (
                    one_by_one.hard_state,
                    &one_by_one.snapshot,
                    &one_by_one.entries
                ),
                "{b:?}"
            );
        }
    }
}
