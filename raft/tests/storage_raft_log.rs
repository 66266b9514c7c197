//! The Raft-shaped storage layer: what `persist` made durable is what `open` returns, through
//! suffix overwrites, installed and local snapshots, compaction and the crash window between
//! writing a snapshot file and recording it in the WAL.

use std::fs;

use raft::storage::{
    write_value, LogEntry, RaftDisk, RaftState, SnapshotMeta, StorageError, WalOptions,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    term: u64,
    index: u64,
    data: Vec<u8>,
}
impl LogEntry for Entry {
    fn index(&self) -> u64 {
        self.index
    }
    fn term(&self) -> u64 {
        self.term
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct HardState {
    term: u64,
    vote: Option<u64>,
    commit: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Snapshot {
    index: u64,
    term: u64,
    data: Vec<u8>,
}
impl SnapshotMeta for Snapshot {
    fn index(&self) -> u64 {
        self.index
    }
    fn term(&self) -> u64 {
        self.term
    }
}

type Disk = RaftDisk<Entry, HardState, Snapshot>;
type State = RaftState<Entry, HardState, Snapshot>;

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        term,
        index,
        data: format!("e{index}t{term}").into_bytes(),
    }
}

fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
    range.map(|i| entry(i, term)).collect()
}

fn hs(term: u64, commit: u64) -> HardState {
    HardState {
        term,
        vote: Some(1),
        commit,
    }
}

fn small_segments() -> WalOptions {
    WalOptions {
        segment_bytes: 256,
        max_record_bytes: 1 << 16,
    }
}

fn reopen(dir: &std::path::Path) -> (Disk, State) {
    Disk::open(dir, small_segments()).unwrap()
}

#[test]
fn a_fresh_directory_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (_, state) = reopen(dir.path());
    assert_eq!(state.hard_state, None);
    assert_eq!(state.snapshot, None);
    assert!(state.entries.is_empty());
}

#[test]
fn hard_state_and_entries_round_trip_with_one_sync_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    let syncs = disk.wal_stats().data_syncs;
    disk.persist(Some(&hs(1, 0)), &entries(1..=5, 1), None)
        .unwrap();
    assert_eq!(disk.wal_stats().data_syncs, syncs + 1);
    disk.persist(Some(&hs(1, 3)), &entries(6..=7, 1), None)
        .unwrap();
    disk.persist(None, &[], None).unwrap();
    assert_eq!(
        disk.wal_stats().data_syncs,
        syncs + 2,
        "an empty batch must not sync"
    );
    assert_eq!(disk.last_index(), Some(7));
    drop(disk);
    let (_, state) = reopen(dir.path());
    assert_eq!(state.hard_state, Some(hs(1, 3)));
    assert_eq!(state.entries, entries(1..=7, 1));
}

#[test]
fn overwriting_a_suffix_replaces_it_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    disk.persist(Some(&hs(1, 2)), &entries(1..=6, 1), None)
        .unwrap();
    disk.persist(Some(&hs(2, 2)), &entries(4..=5, 2), None)
        .unwrap();
    drop(disk);
    let (mut disk, state) = reopen(dir.path());
    let mut expected = entries(1..=3, 1);
    expected.extend(entries(4..=5, 2));
    assert_eq!(state.entries, expected);
    // Overwrite again after the restart, at the very start of the log.
    disk.persist(None, &entries(1..=2, 3), None).unwrap();
    drop(disk);
    let (_, state) = reopen(dir.path());
    assert_eq!(state.entries, entries(1..=2, 3));
    assert_eq!(state.hard_state, Some(hs(2, 2)));
}

#[test]
fn gaps_and_unordered_batches_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    disk.persist(None, &entries(1..=3, 1), None).unwrap();
    let err = disk.persist(None, &entries(5..=6, 1), None).unwrap_err();
    assert!(matches!(err, StorageError::InvalidLogWrite(_)), "{err}");
    let err = disk
        .persist(None, &[entry(4, 1), entry(6, 1)], None)
        .unwrap_err();
    assert!(matches!(err, StorageError::InvalidLogWrite(_)), "{err}");
    drop(disk);
    let (_, state) = reopen(dir.path());
    assert_eq!(state.entries, entries(1..=3, 1));
}

#[test]
fn an_installed_snapshot_replaces_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    disk.persist(Some(&hs(1, 2)), &entries(1..=6, 1), None)
        .unwrap();
    let snap = Snapshot {
        index: 10,
        term: 2,
        data: b"state".to_vec(),
    };
    disk.persist(Some(&hs(2, 10)), &entries(11..=12, 2), Some(&snap))
        .unwrap();
    drop(disk);
    let (mut disk, state) = reopen(dir.path());
    assert_eq!(state.snapshot, Some(snap.clone()));
    assert_eq!(state.hard_state, Some(hs(2, 10)));
    assert_eq!(state.entries, entries(11..=12, 2));
    assert_eq!(disk.last_index(), Some(12));
    let err = disk
        .persist(None, &entries(10..=10, 2), Some(&snap))
        .unwrap_err();
    assert!(matches!(err, StorageError::InvalidLogWrite(_)), "{err}");
}

#[test]
fn local_snapshot_and_compaction_keep_the_log_after_it_and_the_hard_state() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    // The hard state is written once, early, so compaction has to carry it forward.
    disk.persist(Some(&hs(3, 1)), &entries(1..=1, 3), None)
        .unwrap();
    for i in 2..=60 {
        disk.persist(None, &entries(i..=i, 3), None).unwrap();
    }
    let segments_before = disk.wal_stats().segments;
    assert!(segments_before >= 3, "{segments_before}");

    let err = disk.compact_below(10).unwrap_err();
    assert!(
        matches!(err, StorageError::InvalidLogWrite(_)),
        "no snapshot yet: {err}"
    );

    let snap = Snapshot {
        index: 40,
        term: 3,
        data: b"kv".to_vec(),
    };
    disk.save_snapshot(&snap).unwrap();
    assert!(disk.compact_below(42).is_err(), "beyond the snapshot");
    let deleted = disk.compact_below(41).unwrap();
    assert!(deleted > 0);
    assert!(disk.wal_stats().segments < segments_before);
    disk.persist(None, &entries(61..=62, 3), None).unwrap();
    drop(disk);

    let (_, state) = reopen(dir.path());
    assert_eq!(state.snapshot, Some(snap));
    assert_eq!(state.hard_state, Some(hs(3, 1)));
    assert_eq!(state.entries, entries(41..=62, 3));
}

#[test]
fn a_snapshot_file_newer_than_the_wal_wins_over_a_log_that_does_not_match_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    disk.persist(Some(&hs(1, 2)), &entries(1..=8, 1), None)
        .unwrap();
    drop(disk);
    // A crash after the installed snapshot's file was renamed into place but before the WAL
    // recorded it: its entry 5 has term 2, the log's has term 1.
    let snap = Snapshot {
        index: 5,
        term: 2,
        data: vec![],
    };
    write_value(&dir.path().join("snapshot"), &snap).unwrap();
    let (mut disk, state) = reopen(dir.path());
    assert_eq!(state.snapshot, Some(snap.clone()));
    assert!(state.entries.is_empty(), "{:?}", state.entries);
    // The decision is recorded: the log continues after the snapshot across restarts.
    disk.persist(None, &entries(6..=7, 2), None).unwrap();
    drop(disk);
    let (_, state) = reopen(dir.path());
    assert_eq!(state.entries, entries(6..=7, 2));
}

#[test]
fn a_snapshot_that_matches_the_log_keeps_the_entries_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    disk.persist(None, &entries(1..=8, 1), None).unwrap();
    drop(disk);
    let snap = Snapshot {
        index: 5,
        term: 1,
        data: vec![],
    };
    write_value(&dir.path().join("snapshot"), &snap).unwrap();
    let (_, state) = reopen(dir.path());
    assert_eq!(state.entries, entries(6..=8, 1));
}

#[test]
fn a_log_that_starts_after_a_gap_beyond_the_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    disk.persist(None, &entries(10..=12, 1), None).unwrap();
    drop(disk);
    write_value(
        &dir.path().join("snapshot"),
        &Snapshot {
            index: 5,
            term: 1,
            data: vec![],
        },
    )
    .unwrap();
    let err = Disk::open(dir.path(), small_segments()).unwrap_err();
    assert!(matches!(err, StorageError::InconsistentLog { .. }), "{err}");
}

#[test]
fn a_damaged_snapshot_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let (mut disk, _) = reopen(dir.path());
    disk.save_snapshot(&Snapshot {
        index: 1,
        term: 1,
        data: vec![1; 32],
    })
    .unwrap();
    drop(disk);
    let path = dir.path().join("snapshot");
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    fs::write(&path, bytes).unwrap();
    let err = Disk::open(dir.path(), small_segments()).unwrap_err();
    assert!(
        matches!(&err, StorageError::CorruptValueFile { file, .. } if file == &path),
        "{err}"
    );
}

#[test]
fn two_nodes_cannot_share_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (_first, _) = reopen(dir.path());
    let err = Disk::open(dir.path(), small_segments()).unwrap_err();
    assert!(matches!(err, StorageError::Locked { .. }), "{err}");
}

#[test]
fn a_batch_that_fails_half_way_poisons_the_disk_and_reopen_recovers_the_previous_state() {
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions {
        segment_bytes: 1 << 20,
        max_record_bytes: 64,
    };
    let (mut disk, _) = Disk::open(dir.path(), options).unwrap();
    disk.persist(Some(&hs(1, 1)), &entries(1..=2, 1), None)
        .unwrap();
    let mut batch = entries(3..=5, 1);
    batch[1].data = vec![0; 500]; // over the record limit: entry 3 is already buffered
    let err = disk.persist(Some(&hs(1, 4)), &batch, None).unwrap_err();
    assert!(matches!(err, StorageError::RecordTooLarge { .. }), "{err}");
    let err = disk.persist(None, &entries(3..=3, 1), None).unwrap_err();
    assert!(matches!(err, StorageError::Poisoned(_)), "{err}");
    drop(disk);
    let (_, state) = Disk::open(dir.path(), options).unwrap();
    assert_eq!(state.entries, entries(1..=2, 1));
    assert_eq!(state.hard_state, Some(hs(1, 1)));
}
