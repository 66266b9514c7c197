//! Crash and corruption recovery of the WAL: a log cut at every byte offset, single bit flips at
//! every bit, zero-filled tails, garbage files. The rule under test: recovery returns exactly the
//! durable prefix (cutting a torn tail off the last segment) or refuses with an error naming the
//! file and the offset of the bad record; never a panic, never a record that was not written.

use std::fs;
use std::path::Path;

use raft::storage::{recover_segment_bytes, SegmentError, StorageError, Wal, WalOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MAX_RECORD: u32 = 4096;
const FIRST_SEGMENT: &str = "00000000000000000000.seg";

fn options() -> WalOptions {
    WalOptions {
        segment_bytes: 1 << 20,
        max_record_bytes: MAX_RECORD,
    }
}

/// Records of varied sizes, the last one about 100 bytes.
fn sample_records(n: usize) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..n)
        .map(|i| {
            let len = if i + 1 == n {
                100
            } else {
                rng.random_range(0..60)
            };
            (0..len).map(|_| rng.random()).collect()
        })
        .collect()
}

/// Writes `records` through a real WAL (one batch each) and returns the segment's bytes and the
/// start offset of every record (plus the end of the file).
fn write_segment(records: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap();
    let mut boundaries = vec![0];
    for r in records {
        wal.append(r).unwrap();
        wal.sync().unwrap();
        boundaries.push(wal.stats().bytes_on_disk as usize);
    }
    let bytes = fs::read(dir.path().join(FIRST_SEGMENT)).unwrap();
    assert_eq!(*boundaries.last().unwrap(), bytes.len());
    (bytes, boundaries)
}

/// A fresh WAL directory holding exactly `segments` (name, bytes).
fn dir_with(segments: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in segments {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// Index of the record containing byte `pos`.
fn record_at(boundaries: &[usize], pos: usize) -> usize {
    boundaries.partition_point(|&b| b <= pos) - 1
}

fn assert_corrupt_at(err: &StorageError, file: &Path, offset: usize) {
    match err {
        StorageError::CorruptSegment {
            file: f, offset: o, ..
        } => {
            assert_eq!(f, file, "{err}");
            assert_eq!(*o, offset as u64, "{err}");
            let text = err.to_string();
            assert!(
                text.contains(&file.display().to_string()) && text.contains(&offset.to_string())
            );
        }
        other => panic!("expected CorruptSegment at {offset}, got {other}"),
    }
}

#[test]
fn cutting_the_log_at_every_offset_of_its_last_record_recovers_the_durable_prefix() {
    let records = sample_records(12);
    let (bytes, bounds) = write_segment(&records);
    let last_start = bounds[records.len() - 1];
    for cut in last_start..=bytes.len() {
        let dir = dir_with(&[(FIRST_SEGMENT, &bytes[..cut])]);
        let (mut wal, recovered) = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap();
        let expected = if cut == bytes.len() {
            &records[..]
        } else {
            &records[..records.len() - 1]
        };
        assert_eq!(recovered.records, expected, "cut at {cut}");
        match &recovered.torn_tail {
            Some((file, torn)) => {
                assert!(cut > last_start && cut < bytes.len(), "cut at {cut}");
                assert_eq!(file, &dir.path().join(FIRST_SEGMENT));
                assert_eq!(torn.offset, last_start as u64);
                assert_eq!(torn.dropped_bytes, (cut - last_start) as u64);
            }
            None => assert!(cut == last_start || cut == bytes.len(), "cut at {cut}"),
        }
        // The torn tail is gone from the file: new records land right after the prefix.
        wal.append(&b"after".to_vec()).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (_, again) = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap();
        assert_eq!(again.records.len(), expected.len() + 1);
        assert_eq!(again.records.last().unwrap(), b"after");
        assert_eq!(again.torn_tail, None);
    }
}

#[test]
fn every_prefix_of_a_segment_recovers_the_whole_records_it_holds() {
    let records = sample_records(20);
    let (bytes, bounds) = write_segment(&records);
    for cut in 0..=bytes.len() {
        let rec = recover_segment_bytes::<Vec<u8>>(&bytes[..cut], true, MAX_RECORD).unwrap();
        let whole = bounds.partition_point(|&b| b <= cut) - 1;
        assert_eq!(rec.records, &records[..whole], "cut at {cut}");
        assert_eq!(rec.valid_len, bounds[whole] as u64);
    }
}

#[test]
fn a_cut_inside_a_sealed_segment_is_corruption_naming_file_and_offset() {
    let records = sample_records(6);
    let (bytes, bounds) = write_segment(&records);
    let cut = bounds[3] + 5;
    let second = format!("{:020}.seg", 3);
    let dir = dir_with(&[(FIRST_SEGMENT, &bytes[..cut]), (&second, &[])]);
    let err = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap_err();
    assert_corrupt_at(&err, &dir.path().join(FIRST_SEGMENT), bounds[3]);
}

#[test]
fn every_single_bit_flip_gives_the_exact_prefix_or_an_error_at_the_damaged_record() {
    let records = sample_records(16);
    let (bytes, bounds) = write_segment(&records);
    let n = records.len();
    for bit in 0..bytes.len() * 8 {
        let pos = bit / 8;
        let mut damaged = bytes.clone();
        damaged[pos] ^= 1 << (bit % 8);
        let k = record_at(&bounds, pos);
        for is_last in [true, false] {
            match recover_segment_bytes::<Vec<u8>>(&damaged, is_last, MAX_RECORD) {
                Ok(rec) => {
                    // Only damage to the very last record of the last segment may read as torn.
                    assert!(is_last && k == n - 1, "bit {bit} (record {k}) accepted");
                    assert_eq!(rec.records, &records[..n - 1], "bit {bit}");
                    assert_eq!(rec.torn_tail.unwrap().offset, bounds[k] as u64);
                }
                Err(c) => {
                    assert_eq!(c.offset, bounds[k] as u64, "bit {bit}: {c}");
                    if is_last {
                        assert!(
                            matches!(c.error, SegmentError::BadRecordBeforeValidData { .. }),
                            "bit {bit}: {c}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn bit_flips_through_open_name_the_file_and_offset() {
    let records = sample_records(16);
    let (bytes, bounds) = write_segment(&records);
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for _ in 0..40 {
        let bit = rng.random_range(0..bytes.len() * 8);
        let pos = bit / 8;
        let mut damaged = bytes.clone();
        damaged[pos] ^= 1 << (bit % 8);
        let k = record_at(&bounds, pos);
        let dir = dir_with(&[(FIRST_SEGMENT, &damaged)]);
        match Wal::<Vec<u8>>::open(dir.path(), options()) {
            Ok((_, recovered)) => {
                assert_eq!(k, records.len() - 1, "bit {bit}");
                assert_eq!(recovered.records, &records[..k]);
                assert!(recovered.torn_tail.is_some());
            }
            Err(err) => assert_corrupt_at(&err, &dir.path().join(FIRST_SEGMENT), bounds[k]),
        }
    }
}

#[test]
fn a_zero_filled_tail_is_cut_but_zeroed_records_before_good_data_are_refused() {
    let records = sample_records(8);
    let (bytes, bounds) = write_segment(&records);

    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0u8; 4096]);
    let dir = dir_with(&[(FIRST_SEGMENT, &padded)]);
    let (_, recovered) = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap();
    assert_eq!(recovered.records, records);
    let (_, torn) = recovered.torn_tail.unwrap();
    assert!(torn.all_zero);
    assert_eq!(torn.offset, bytes.len() as u64);
    assert_eq!(
        fs::metadata(dir.path().join(FIRST_SEGMENT)).unwrap().len(),
        bytes.len() as u64
    );

    let mut holed = bytes.clone();
    holed[bounds[2]..bounds[4]].fill(0);
    let dir = dir_with(&[(FIRST_SEGMENT, &holed)]);
    let err = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap_err();
    assert_corrupt_at(&err, &dir.path().join(FIRST_SEGMENT), bounds[2]);
}

#[test]
fn garbage_segments_never_yield_records_and_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for round in 0..300 {
        let len = rng.random_range(0..3000);
        let garbage: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        for is_last in [true, false] {
            match recover_segment_bytes::<Vec<u8>>(&garbage, is_last, MAX_RECORD) {
                Ok(rec) => {
                    assert!(rec.records.is_empty(), "round {round}: invented a record");
                    assert!(is_last || garbage.is_empty(), "round {round}");
                }
                Err(c) => assert!((c.offset as usize) < garbage.len().max(1)),
            }
        }
    }
}

#[test]
fn a_garbage_sealed_segment_refuses_to_open_and_a_garbage_last_one_holds_nothing() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let garbage: Vec<u8> = (0..1000).map(|_| rng.random()).collect();
    let (good, _) = write_segment(&sample_records(3));
    let second = format!("{:020}.seg", 0);
    let third = format!("{:020}.seg", 3);

    let dir = dir_with(&[(&second, &garbage), (&third, &good)]);
    let err = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap_err();
    assert_corrupt_at(&err, &dir.path().join(&second), 0);

    let dir = dir_with(&[(&second, &good), (&third, &garbage)]);
    match Wal::<Vec<u8>>::open(dir.path(), options()) {
        Ok((_, recovered)) => assert_eq!(recovered.records, sample_records(3)),
        Err(err) => assert_corrupt_at(&err, &dir.path().join(&third), 0),
    }
}

#[test]
fn random_multi_byte_damage_never_invents_records() {
    let records = sample_records(16);
    let (bytes, _) = write_segment(&records);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..2000 {
        let mut damaged = bytes.clone();
        for _ in 0..rng.random_range(1..6) {
            let pos = rng.random_range(0..damaged.len());
            damaged[pos] = rng.random();
        }
        let cut = rng.random_range(0..=damaged.len());
        damaged.truncate(cut);
        if let Ok(rec) = recover_segment_bytes::<Vec<u8>>(&damaged, true, MAX_RECORD) {
            assert!(rec.records.len() <= records.len());
            assert_eq!(rec.records, &records[..rec.records.len()]);
        }
    }
}

#[test]
fn a_torn_last_segment_keeps_the_sealed_ones_and_cuts_only_its_own_tail() {
    let first = sample_records(5);
    let (sealed, _) = write_segment(&first);
    let second_records = sample_records(4);
    let (last, bounds) = write_segment(&second_records);
    let second = format!("{:020}.seg", first.len());
    let last_start = bounds[second_records.len() - 1];
    for cut in last_start..last.len() {
        let dir = dir_with(&[(FIRST_SEGMENT, &sealed), (&second, &last[..cut])]);
        let (mut wal, recovered) = Wal::<Vec<u8>>::open(dir.path(), options()).unwrap();
        let mut expected = first.clone();
        expected.extend_from_slice(&second_records[..second_records.len() - 1]);
        assert_eq!(recovered.records, expected, "cut at {cut}");
        assert_eq!(wal.next_seq(), expected.len() as u64);
        if cut > last_start {
            let (file, torn) = recovered.torn_tail.unwrap();
            assert_eq!(file, dir.path().join(&second));
            assert_eq!(torn.offset, last_start as u64);
        }
        assert_eq!(wal.append(&vec![1]).unwrap(), expected.len() as u64);
    }
}
