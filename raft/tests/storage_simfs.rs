//! `RaftDisk` over `SimFs` with crashes at random points: random batches (appends that overwrite,
//! installed snapshots, local snapshots with compaction) whose syncs complete only when the test
//! says so, and seeded crashes in between. After each crash the reopened state must be what the
//! completed syncs made durable plus a prefix of the writes issued after: the state after some
//! unsynced step, or part-way through one in `RaftDisk`'s write order (snapshot file, its WAL
//! marker, a truncation, the entries, the hard state). So never a hole in the log and never a
//! hard state without the entries written before it.

mod storage_types;

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

use raft::storage::{RaftDisk, RaftState, SimFs, WalOptions};
use storage_types::{Entry, Snap};

type Disk = RaftDisk<Entry, u64, Snap, SimFs>;
type State = RaftState<Entry, u64, Snap>;

const DIR: &str = "/node";
const OPTIONS: WalOptions = WalOptions {
    segment_bytes: 256,
    max_record_bytes: 1024,
};

#[derive(Clone, Debug)]
enum Op {
    /// Entries from `back` before the end (overwriting), `count` of them, maybe a hard state.
    Append {
        back: u8,
        count: u8,
        hard_state: bool,
    },
    /// An installed snapshot `ahead` past the last entry, then `count` entries and a hard state.
    Install { ahead: u8, count: u8 },
    /// A snapshot of the entry `back` before the last, then compaction below it.
    LocalSnapshot { back: u8 },
    /// The simulated fsyncs complete up to a point between the last completed and the latest.
    Complete { fraction: u8 },
    /// A crash drawing its choices from `seed`, then a reopen.
    Crash { seed: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..4, 0u8..4, any::<bool>())
            .prop_map(|(back, count, hard_state)| Op::Append { back, count, hard_state }),
        1 => (0u8..3, 0u8..3).prop_map(|(ahead, count)| Op::Install { ahead, count }),
        1 => (0u8..4).prop_map(|back| Op::LocalSnapshot { back }),
        3 => (0u8..=4).prop_map(|fraction| Op::Complete { fraction }),
        2 => any::<u64>().prop_map(|seed| Op::Crash { seed }),
    ]
}

/// One persisting call: the states a crash may leave it in (in write order, the last is the
/// complete state) and the number of the last sync it issued.
struct Step {
    states: Vec<State>,
    last_sync: u64,
}

fn first_index(s: &State) -> u64 {
    s.snapshot.as_ref().map_or(1, |snap| snap.index + 1)
}

fn last_index(s: &State) -> u64 {
    s.entries.last().map_or(first_index(s) - 1, |e| e.index)
}

/// The log after a snapshot file appears without its WAL marker, as `RaftDisk::open` rules:
/// kept if it holds the snapshot's last entry with its term (or starts right after it).
fn under_snapshot(entries: &[Entry], snap: &Snap) -> Vec<Entry> {
    match entries.iter().position(|e| e.index == snap.index) {
        Some(pos) if entries[pos].term == snap.term => entries[pos + 1..].to_vec(),
        None if entries.first().is_none_or(|e| e.index == snap.index + 1) => entries.to_vec(),
        _ => Vec::new(),
    }
}

fn open(fs: &SimFs) -> (Disk, State) {
    let opened = Disk::open_in(fs.clone(), Path::new(DIR), OPTIONS);
    let (disk, state) = opened.unwrap_or_else(|e| panic!("reopening after a crash failed: {e}"));
    fs.complete_all_syncs();
    (disk, state)
}

fn check_shape(state: &State) {
    let first = first_index(state);
    for (k, e) in state.entries.iter().enumerate() {
        assert_eq!(e.index, first + k as u64, "a hole in the log: {state:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_crash_keeps_the_durable_state_and_a_prefix_of_the_rest(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let fs = SimFs::new();
        let (mut disk, mut base) = open(&fs);
        let mut steps: Vec<Step> = Vec::new();
        let mut synced_steps = 0;
        let mut completed = fs.syncs_issued();
        let mut term = 0;
        let mut hard_states = 0;
        for op in ops {
            let current = steps.last().map_or(&base, |s| s.states.last().unwrap()).clone();
            let mut states = Vec::new();
            match op {
                Op::Append { back, count, hard_state } => {
                    if count == 0 && !hard_state {
                        continue;
                    }
                    term += 1;
                    // No entries, no truncation: a lone hard state only.
                    let back = if count == 0 { 0 } else { back as u64 };
                    let start = (last_index(&current) + 1)
                        .saturating_sub(back)
                        .max(first_index(&current));
                    let new: Vec<Entry> = (start..start + count as u64)
                        .map(|index| Entry { index, term, data: vec![index as u8; 24] })
                        .collect();
                    hard_states += 1;
                    let hs = hard_state.then_some(hard_states);
                    disk.persist(hs.as_ref(), &new, None).unwrap();
                    let mut s = current.clone();
                    s.entries.retain(|e| e.index < start);
                    states.push(s.clone());
                    for e in new {
                        s.entries.push(e);
                        states.push(s.clone());
                    }
                    if hs.is_some() {
                        s.hard_state = hs;
                        states.push(s);
                    }
                }
                Op::Install { ahead, count } => {
                    term += 1;
                    let snap = Snap { index: last_index(&current) + ahead as u64, term };
                    if snap.index == 0 {
                        continue;
                    }
                    let new: Vec<Entry> = (snap.index + 1..=snap.index + count as u64)
                        .map(|index| Entry { index, term, data: vec![index as u8; 24] })
                        .collect();
                    hard_states += 1;
                    disk.persist(Some(&hard_states), &new, Some(&snap)).unwrap();
                    let mut s = current.clone();
                    s.entries = under_snapshot(&current.entries, &snap);
                    s.snapshot = Some(snap);
                    states.push(s.clone());
                    s.entries.clear();
                    states.push(s.clone());
                    for e in new {
                        s.entries.push(e);
                        states.push(s.clone());
                    }
                    s.hard_state = Some(hard_states);
                    states.push(s);
                }
                Op::LocalSnapshot { back } => {
                    let Some(at) = current.entries.len().checked_sub(1 + back as usize) else {
                        continue;
                    };
                    let e = &current.entries[at];
                    let snap = Snap { index: e.index, term: e.term };
                    disk.save_snapshot(&snap).unwrap();
                    disk.compact_below(snap.index + 1).unwrap();
                    let mut s = current.clone();
                    s.entries.drain(..=at);
                    s.snapshot = Some(snap);
                    states.push(s);
                }
                Op::Complete { fraction } => {
                    let latest = fs.syncs_issued();
                    let through = completed + (latest - completed) * fraction as u64 / 4;
                    fs.complete_syncs_through(through);
                    completed = completed.max(through);
                    while steps.get(synced_steps).is_some_and(|s| s.last_sync <= completed) {
                        synced_steps += 1;
                    }
                    continue;
                }
                Op::Crash { seed } => {
                    drop(disk);
                    fs.crash(&mut ChaCha8Rng::seed_from_u64(seed));
                    let (reopened, state) = open(&fs);
                    disk = reopened;
                    check_shape(&state);
                    let durable = match synced_steps {
                        0 => &base,
                        n => steps[n - 1].states.last().unwrap(),
                    };
                    let allowed: Vec<&State> = std::iter::once(durable)
                        .chain(steps[synced_steps..].iter().flat_map(|s| s.states.iter()))
                        .collect();
                    prop_assert!(
                        allowed.contains(&&state),
                        "after a crash with {} of {} steps synced the disk holds {:?}, which is \
                         not the durable state or a prefix of the writes after it: {:?}",
                        synced_steps, steps.len(), state, allowed
                    );
                    base = state;
                    steps.clear();
                    synced_steps = 0;
                    completed = fs.syncs_issued();
                    continue;
                }
            }
            steps.push(Step { states, last_sync: fs.syncs_issued() });
        }
    }
}

/// The reason the simulator must not complete a sync early: a batch whose sync is pending is lost
/// whole by the worst crash, and one whose sync completed is never lost.
#[test]
fn a_batch_waits_for_its_sync_to_complete() {
    let fs = SimFs::new();
    let (mut disk, _) = open(&fs);
    let e = |index| Entry {
        index,
        term: 1,
        data: vec![1; 8],
    };
    disk.persist(Some(&1), &[e(1), e(2)], None).unwrap();
    let first = fs.syncs_issued();
    disk.persist(Some(&2), &[e(3)], None).unwrap();
    fs.complete_syncs_through(first);
    drop(disk);
    fs.crash_losing_unsynced();
    let (_, state) = open(&fs);
    assert_eq!(state.hard_state, Some(1));
    assert_eq!(state.entries, vec![e(1), e(2)]);
}

/// A fresh data directory's own entry is synced into its parent: a node that persisted a batch
/// right after its first start still finds it after the worst crash.
#[test]
fn a_new_data_directory_survives_a_crash() {
    let fs = SimFs::new();
    let (mut disk, _) = open(&fs);
    let e = Entry {
        index: 1,
        term: 1,
        data: vec![1],
    };
    disk.persist(Some(&7), std::slice::from_ref(&e), None)
        .unwrap();
    fs.complete_all_syncs();
    drop(disk);
    fs.crash_losing_unsynced();
    let (_, state) = open(&fs);
    assert_eq!(state.hard_state, Some(7));
    assert_eq!(state.entries, vec![e]);
}
