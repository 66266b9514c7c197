//! Property tests: random sequences of appends, syncs, compactions and reopens against a simple
//! model, for the WAL and for the Raft layer on top of it.

mod storage_types;

use proptest::prelude::*;
use raft::storage::{RaftDisk, Wal, WalOptions};
use storage_types::{Entry, Snap};

#[derive(Clone, Debug)]
enum WalOp {
    Append(Vec<u8>),
    Sync,
    Compact(u8),
    Reopen,
}

fn wal_op() -> impl Strategy<Value = WalOp> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(WalOp::Append),
        3 => Just(WalOp::Sync),
        1 => any::<u8>().prop_map(WalOp::Compact),
        1 => Just(WalOp::Reopen),
    ]
}

const WAL_OPTIONS: WalOptions = WalOptions {
    segment_bytes: 96,
    max_record_bytes: 1024,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Reopening returns exactly the synced records from the first kept segment on; compaction
    /// never drops a record at or above its cut; sequence numbers stay dense.
    #[test]
    fn wal_reopen_returns_exactly_the_synced_records(ops in proptest::collection::vec(wal_op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), WAL_OPTIONS).unwrap();
        // model[seq] = the record appended with that sequence number
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut durable = 0usize;
        let mut floor = 0u64; // every record >= floor must survive
        for op in ops {
            match op {
                WalOp::Append(r) => {
                    let seq = wal.append(&r).unwrap();
                    prop_assert_eq!(seq, model.len() as u64);
                    model.push(r);
                }
                WalOp::Sync => {
                    wal.sync().unwrap();
                    durable = model.len();
                }
                WalOp::Compact(c) => {
                    let keep = (c as u64) % (model.len() as u64 + 1);
                    wal.compact(keep).unwrap();
                    floor = floor.max(keep);
                    prop_assert!(wal.stats().first_seq <= floor);
                }
                WalOp::Reopen => {
                    drop(wal);
                    let (reopened, recovered) = Wal::<Vec<u8>>::open(dir.path(), WAL_OPTIONS).unwrap();
                    wal = reopened;
                    model.truncate(durable);
                    let first = recovered.first_seq as usize;
                    prop_assert!(first as u64 <= floor && first <= durable);
                    floor = floor.min(durable as u64);
                    prop_assert_eq!(&recovered.records[..], &model[first..]);
                    prop_assert_eq!(recovered.torn_tail, None);
                    prop_assert_eq!(wal.next_seq(), durable as u64);
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
enum RaftOp {
    /// Append `count` entries, overwriting from `back` entries before the end.
    Append {
        back: u8,
        count: u8,
        hard_state: bool,
    },
    /// Install a snapshot `ahead` entries past the current end.
    Install {
        ahead: u8,
    },
    /// Take a local snapshot `back` entries before the end and compact below it.
    LocalSnapshot {
        back: u8,
    },
    Reopen,
}

fn raft_op() -> impl Strategy<Value = RaftOp> {
    prop_oneof![
        8 => (0u8..4, 1u8..6, any::<bool>()).prop_map(|(back, count, hard_state)| RaftOp::Append { back, count, hard_state }),
        1 => (0u8..5).prop_map(|ahead| RaftOp::Install { ahead }),
        2 => (0u8..6).prop_map(|back| RaftOp::LocalSnapshot { back }),
        2 => Just(RaftOp::Reopen),
    ]
}

/// What the core would believe: snapshot, the entries after it, the latest hard state.
#[derive(Default)]
struct RaftModel {
    snapshot: Option<Snap>,
    entries: Vec<Entry>,
    hard_state: Option<u64>,
    term: u64,
}

impl RaftModel {
    fn first_index(&self) -> u64 {
        self.snapshot.as_ref().map_or(1, |s| s.index + 1)
    }
    fn last_index(&self) -> u64 {
        self.entries
            .last()
            .map_or(self.first_index() - 1, |e| e.index)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Whatever the mix of overwrites, snapshots, compactions and restarts, reopening returns
    /// exactly the snapshot, the log after it and the hard state that were persisted.
    #[test]
    fn raft_disk_reopen_returns_what_was_persisted(ops in proptest::collection::vec(raft_op(), 1..50)) {
        type Disk = RaftDisk<Entry, u64, Snap>;
        let options = WalOptions { segment_bytes: 128, max_record_bytes: 1024 };
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, _) = Disk::open(dir.path(), options).unwrap();
        let mut model = RaftModel::default();
        for op in ops {
            match op {
                RaftOp::Append { back, count, hard_state } => {
                    model.term += 1;
                    let start = (model.last_index() + 1)
                        .saturating_sub(back as u64)
                        .max(model.first_index());
                    let new: Vec<Entry> = (start..start + count as u64)
                        .map(|index| Entry { index, term: model.term, data: vec![index as u8; 5] })
                        .collect();
                    let hs = hard_state.then_some(model.term * 1000 + start);
                    disk.persist(hs.as_ref(), &new, None).unwrap();
                    model.entries.retain(|e| e.index < start);
                    model.entries.extend(new);
                    if hs.is_some() {
                        model.hard_state = hs;
                    }
                }
                RaftOp::Install { ahead } => {
                    model.term += 1;
                    let snap = Snap { index: model.last_index() + ahead as u64, term: model.term };
                    if snap.index == 0 {
                        continue;
                    }
                    disk.persist(None, &[], Some(&snap)).unwrap();
                    model.entries.clear();
                    model.snapshot = Some(snap);
                }
                RaftOp::LocalSnapshot { back } => {
                    let Some(at) = model.entries.len().checked_sub(1 + back as usize) else { continue };
                    let e = &model.entries[at];
                    let snap = Snap { index: e.index, term: e.term };
                    disk.save_snapshot(&snap).unwrap();
                    disk.compact_below(snap.index + 1).unwrap();
                    model.entries.drain(..=at);
                    model.snapshot = Some(snap);
                }
                RaftOp::Reopen => {
                    drop(disk);
                    let (reopened, state) = Disk::open(dir.path(), options).unwrap();
                    disk = reopened;
                    prop_assert_eq!(&state.snapshot, &model.snapshot);
                    prop_assert_eq!(&state.entries, &model.entries);
                    prop_assert_eq!(state.hard_state, model.hard_state);
                }
            }
        }
    }
}
