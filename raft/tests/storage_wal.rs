//! WAL behaviour through its public API: round trips, group commit, segment rotation, compaction,
//! the directory lock, stray files and oversized records.

use std::fs;
use std::path::Path;

use raft::storage::{StorageError, Wal, WalOptions};

fn options(segment_bytes: u64) -> WalOptions {
    WalOptions {
        segment_bytes,
        max_record_bytes: 4096,
    }
}

fn record(i: usize) -> Vec<u8> {
    (0..(i % 37) + 1).map(|b| (b * 7 + i) as u8).collect()
}

fn segment_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".seg"))
        .collect();
    names.sort();
    names
}

#[test]
fn empty_directory_opens_empty_and_reopens_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(1024)).unwrap();
    assert_eq!(recovered.first_seq, 0);
    assert!(recovered.records.is_empty());
    assert_eq!(recovered.torn_tail, None);
    assert_eq!(wal.stats().segments, 1);
    drop(wal);
    let (_, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(1024)).unwrap();
    assert!(recovered.records.is_empty());
}

#[test]
fn synced_records_round_trip_and_sequence_numbers_continue() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options(1 << 20)).unwrap();
    for i in 0..50 {
        assert_eq!(wal.append(&record(i)).unwrap(), i as u64);
    }
    wal.sync().unwrap();
    drop(wal);

    let (mut wal, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(1 << 20)).unwrap();
    assert_eq!(recovered.first_seq, 0);
    assert_eq!(recovered.records, (0..50).map(record).collect::<Vec<_>>());
    assert_eq!(wal.append(&record(50)).unwrap(), 50);
    wal.sync().unwrap();
    drop(wal);
    let (_, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(1 << 20)).unwrap();
    assert_eq!(recovered.records.len(), 51);
}

#[test]
fn unsynced_records_are_not_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options(1 << 20)).unwrap();
    wal.append(&record(0)).unwrap();
    wal.sync().unwrap();
    wal.append(&record(1)).unwrap();
    drop(wal); // a crash before the sync: the buffered record never reached the file
    let (wal, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(1 << 20)).unwrap();
    assert_eq!(recovered.records, vec![record(0)]);
    assert_eq!(wal.next_seq(), 1);
}

#[test]
fn one_data_sync_per_batch_whatever_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options(1 << 20)).unwrap();
    for batch in [1usize, 16, 256] {
        let before = wal.stats().data_syncs;
        for i in 0..batch {
            wal.append(&record(i)).unwrap();
        }
        wal.sync().unwrap();
        assert_eq!(wal.stats().data_syncs, before + 1, "batch of {batch}");
        assert_eq!(wal.stats().durable_seq, wal.next_seq());
    }
    let before = wal.stats().data_syncs;
    wal.sync().unwrap();
    assert_eq!(
        wal.stats().data_syncs,
        before,
        "an empty sync must not fsync"
    );
}

#[test]
fn segments_rotate_between_batches_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options(100)).unwrap();
    // One batch much larger than a segment stays in one segment.
    for i in 0..40 {
        wal.append(&record(i)).unwrap();
    }
    wal.sync().unwrap();
    assert_eq!(wal.stats().segments, 1);
    // The next batch starts a new segment named after its first sequence number.
    wal.append(&record(40)).unwrap();
    wal.sync().unwrap();
    assert_eq!(wal.stats().segments, 2);
    assert_eq!(
        segment_names(dir.path()),
        vec!["00000000000000000000.seg", "00000000000000000040.seg"]
    );
    drop(wal);
    let (_, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(100)).unwrap();
    assert_eq!(recovered.records, (0..41).map(record).collect::<Vec<_>>());
}

#[test]
fn compaction_deletes_only_whole_segments_below_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options(64)).unwrap();
    for batch in 0..10 {
        for i in 0..5 {
            wal.append(&record(batch * 5 + i)).unwrap();
        }
        wal.sync().unwrap();
    }
    let segments_before = wal.stats().segments;
    assert!(segments_before >= 5, "{segments_before} segments");
    // Keep from 23: the segment holding 20..25 must stay, those wholly below it go.
    let deleted = wal.compact(23).unwrap();
    assert!(deleted > 0);
    let stats = wal.stats();
    assert_eq!(stats.segments, segments_before - deleted);
    assert!(stats.first_seq <= 23, "first_seq {}", stats.first_seq);
    drop(wal);
    let (mut wal, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(64)).unwrap();
    assert_eq!(recovered.first_seq, stats.first_seq);
    let expected: Vec<_> = (recovered.first_seq as usize..50).map(record).collect();
    assert_eq!(recovered.records, expected);
    // Compacting beyond the end never deletes the active segment.
    wal.compact(u64::MAX).unwrap();
    assert_eq!(wal.stats().segments, 1);
    assert_eq!(wal.append(&record(50)).unwrap(), 50);
}

#[test]
fn a_locked_directory_cannot_be_opened_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = Wal::<Vec<u8>>::open(dir.path(), options(1024)).unwrap();
    let err = Wal::<Vec<u8>>::open(dir.path(), options(1024)).unwrap_err();
    assert!(
        matches!(&err, StorageError::Locked { dir: d } if d == dir.path()),
        "{err}"
    );
    drop(first);
    Wal::<Vec<u8>>::open(dir.path(), options(1024)).unwrap();
}

#[test]
fn stray_files_are_ignored_but_a_missing_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options(32)).unwrap();
    for i in 0..12 {
        wal.append(&record(i)).unwrap();
        wal.sync().unwrap();
    }
    drop(wal);
    fs::write(dir.path().join("notes.txt"), b"garbage").unwrap();
    fs::write(dir.path().join("12.seg"), b"garbage").unwrap();
    let (wal, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(32)).unwrap();
    assert_eq!(recovered.records.len(), 12);
    drop(wal);

    let names = segment_names(dir.path());
    let middle = names
        .iter()
        .find(|n| n.len() == 24 && *n != &names[0] && *n != names.last().unwrap())
        .unwrap();
    fs::remove_file(dir.path().join(middle)).unwrap();
    let err = Wal::<Vec<u8>>::open(dir.path(), options(32)).unwrap_err();
    assert!(matches!(err, StorageError::InconsistentWal { .. }), "{err}");
}

#[test]
fn oversized_records_are_refused_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(
        dir.path(),
        WalOptions {
            segment_bytes: 1024,
            max_record_bytes: 16,
        },
    )
    .unwrap();
    wal.append(&vec![1u8; 8]).unwrap();
    let err = wal.append(&vec![1u8; 100]).unwrap_err();
    assert!(
        matches!(err, StorageError::RecordTooLarge { max: 16, .. }),
        "{err}"
    );
    assert_eq!(wal.append(&vec![2u8; 8]).unwrap(), 1);
    wal.sync().unwrap();
    drop(wal);
    let (_, recovered) = Wal::<Vec<u8>>::open(dir.path(), options(1024)).unwrap();
    assert_eq!(recovered.records, vec![vec![1u8; 8], vec![2u8; 8]]);
}

#[test]
fn a_record_over_the_recovery_limit_is_corruption_in_a_sealed_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options(16)).unwrap();
    wal.append(&vec![5u8; 100]).unwrap();
    wal.sync().unwrap();
    wal.append(&vec![6u8; 1]).unwrap();
    wal.sync().unwrap();
    drop(wal);
    // Reopened with a smaller limit, the first (sealed) segment's record is out of bounds.
    let err = Wal::<Vec<u8>>::open(
        dir.path(),
        WalOptions {
            segment_bytes: 16,
            max_record_bytes: 50,
        },
    )
    .unwrap_err();
    match err {
        StorageError::CorruptSegment { file, offset, .. } => {
            assert!(file.ends_with("00000000000000000000.seg"));
            assert_eq!(offset, 0);
        }
        other => panic!("expected CorruptSegment, got {other}"),
    }
}
