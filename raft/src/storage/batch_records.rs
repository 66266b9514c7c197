//! The writes one [`RaftDisk::persist`](super::RaftDisk::persist) call makes, in the order it
//! makes them: an installed snapshot's file, then the WAL records (snapshot marker, truncation,
//! entries, hard state). `RaftDisk` writes exactly this list, and a crash simulator can use it to
//! tell which prefixes of a batch a crash may leave behind.

use super::raft_log::{LogEntry, SnapshotMeta};

/// One write of a persisted batch.
#[derive(Debug, PartialEq, Eq)]
pub enum BatchRecord<'a, E, H, S> {
    /// The snapshot file is replaced (atomically, with its own fsyncs) by an installed snapshot.
    SnapshotFile(&'a S),
    /// WAL: the log restarts after the installed snapshot's last entry.
    SnapshotInstalled { index: u64, term: u64 },
    /// WAL: every stored entry at this index or above is dropped.
    TruncateFrom(u64),
    /// WAL: one log entry.
    Entry(&'a E),
    /// WAL: the hard state.
    HardState(&'a H),
}

/// The writes of persisting `(hard_state, entries, snapshot)` when the WAL's log ends at
/// `last_logged` (`None`: empty), in write order. A truncation is written only when a new entry
/// would overwrite a stored one; an installed snapshot empties the log first.
pub fn batch_records<'a, E: LogEntry, H, S: SnapshotMeta>(
    last_logged: Option<u64>,
    hard_state: Option<&'a H>,
    entries: &'a [E],
    snapshot: Option<&'a S>,
) -> impl Iterator<Item = BatchRecord<'a, E, H, S>> + 'a {
    let snapshot_writes = snapshot.into_iter().flat_map(|snap| {
        [
            BatchRecord::SnapshotFile(snap),
            BatchRecord::SnapshotInstalled {
                index: snap.index(),
                term: snap.term(),
            },
        ]
    });
    let last_logged = if snapshot.is_some() {
        None
    } else {
        last_logged
    };
    let truncate = entries
        .first()
        .map(|first| first.index())
        .filter(|&first| last_logged.is_some_and(|last| last >= first))
        .map(BatchRecord::TruncateFrom);
    snapshot_writes
        .chain(truncate)
        .chain(entries.iter().map(BatchRecord::Entry))
        .chain(hard_state.map(BatchRecord::HardState))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    struct E(u64);
    impl LogEntry for E {
        fn index(&self) -> u64 {
            self.0
        }
        fn term(&self) -> u64 {
            1
        }
    }
    #[derive(Debug, PartialEq, Eq)]
    struct S(u64, u64);
    impl SnapshotMeta for S {
        fn index(&self) -> u64 {
            self.0
        }
        fn term(&self) -> u64 {
            self.1
        }
    }

    type Record<'a> = BatchRecord<'a, E, u8, S>;

    #[test]
    fn appending_writes_entries_then_hard_state_without_truncation() {
        let entries = [E(4), E(5)];
        let got: Vec<Record> = batch_records(Some(3), Some(&7), &entries, None).collect();
        assert_eq!(
            got,
            vec![
                BatchRecord::Entry(&entries[0]),
                BatchRecord::Entry(&entries[1]),
                BatchRecord::HardState(&7)
            ]
        );
    }

    #[test]
    fn overwriting_stored_entries_writes_a_truncation_first() {
        let entries = [E(2)];
        let got: Vec<Record> = batch_records(Some(3), None, &entries, None).collect();
        assert_eq!(
            got,
            vec![
                BatchRecord::TruncateFrom(2),
                BatchRecord::Entry(&entries[0])
            ]
        );
        // Nothing stored, or only a hard state: no truncation, no entries.
        assert_eq!(
            batch_records::<E, u8, S>(None, None, &entries, None).count(),
            1
        );
        let hs_only: Vec<Record> = batch_records(Some(9), Some(&1), &[], None).collect();
        assert_eq!(hs_only, vec![BatchRecord::HardState(&1)]);
    }

    #[test]
    fn an_installed_snapshot_comes_first_and_empties_the_log() {
        let snap = S(10, 2);
        let entries = [E(11)];
        let got: Vec<Record> = batch_records(Some(20), Some(&3), &entries, Some(&snap)).collect();
        assert_eq!(
            got,
            vec![
                BatchRecord::SnapshotFile(&snap),
                BatchRecord::SnapshotInstalled { index: 10, term: 2 },
                BatchRecord::Entry(&entries[0]),
                BatchRecord::HardState(&3)
            ]
        );
    }
}
