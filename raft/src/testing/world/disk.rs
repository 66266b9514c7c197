//! The world's disk of one node: the real storage code (`raft::server::NodeDisk`, hence
//! `RaftDisk`, the WAL and the value files) running over an in-memory `raft::storage::SimFs`, so
//! the simulator exercises the node's own writes, syncs, directory syncs and recovery (torn-tail
//! cutting included) rather than a model of them.
//!
//! Time: the storage code issues its fsyncs synchronously, but `SimFs` only numbers them. A batch
//! is persisted at once ([`SimDisk::write`] returns the number of its last sync); the world
//! completes those syncs when the batch's simulated fsync is over ([`SimDisk::sync_through`], on
//! the `Synced` event), which is also when its sends and replies go out. A crash
//! ([`SimDisk::crash`], with the world's RNG) keeps what completed syncs made durable plus a
//! seeded part of the rest (see `raft::storage::sim_fs`), and the next [`SimDisk::open`] recovers
//! from that with the node's real recovery code.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use crate::core::PersistedState;
use crate::driver::PersistBatch;
use crate::server::NodeDisk;
use crate::storage::{SimFs, StorageError, WalOptions};
use rand::Rng;

/// The node's data directory inside its file system.
const DATA_DIR: &str = "/data";

/// `ack-before-sync`: how often the lazy disk writes what it buffered (the world's `LazySync`
/// events come at this pace).
pub const LAZY_INTERVAL: Duration = Duration::from_secs(1);

/// Small segments, so that segment rotation, compaction and their directory syncs happen within
/// a short simulation.
const WAL_OPTIONS: WalOptions = WalOptions {
    segment_bytes: 64 << 10,
    max_record_bytes: 16 << 20,
};

/// One node's file system and the storage open on it.
pub struct SimDisk {
    fs: SimFs,
    /// The open storage; `None` between a crash and the next open.
    disk: Option<NodeDisk<SimFs>>,
    /// `ack-before-sync`: the storage buffers batches in memory.
    lazy: bool,
    /// Simulated time (µs) of the last open: the lazy flush's clock starts there.
    opened_at_us: u64,
    /// Syncs issued for written batches and not yet completed: (last sync number of the batch,
    /// last log index after it).
    unsynced: VecDeque<(u64, u64)>,
    durable_last_index: u64,
    /// When the disk finishes the syncs queued so far (simulated microseconds).
    pub busy_until: u64,
}

impl SimDisk {
    /// An empty disk; `lazy` for the planted bug `ack-before-sync`.
    pub fn new(lazy: bool) -> SimDisk {
        SimDisk {
            fs: SimFs::new(),
            disk: None,
            lazy,
            opened_at_us: 0,
            unsynced: VecDeque::new(),
            durable_last_index: 0,
            busy_until: 0,
        }
    }

    /// Opens the node's storage (creating it the first time) with the node's recovery code and
    /// returns what was durable. The syncs recovery issues complete at once (a restart is not
    /// timed).
    pub fn open(&mut self, now_us: u64) -> Result<PersistedState, StorageError> {
        self.disk = None;
        let lazy = self.lazy.then_some(LAZY_INTERVAL);
        let (disk, persisted) =
            NodeDisk::open_in(self.fs.clone(), Path::new(DATA_DIR), WAL_OPTIONS, lazy)?;
        self.fs.complete_all_syncs();
        self.durable_last_index = disk.last_index().unwrap_or(0);
        self.disk = Some(disk);
        self.opened_at_us = now_us;
        self.unsynced.clear();
        Ok(persisted)
    }

    fn disk(&mut self) -> Result<&mut NodeDisk<SimFs>, StorageError> {
        self.disk.as_mut().ok_or_else(|| {
            StorageError::Poisoned("the simulated disk is not open (node crashed)".to_string())
        })
    }

    /// Persists a batch through the node's storage. Returns the number of the last sync it
    /// issued, for [`SimDisk::sync_through`], or `None` when it issued none (a commit-only hard
    /// state the storage defers, or a batch the lazy disk buffered).
    pub fn write(&mut self, batch: PersistBatch) -> Result<Option<u64>, StorageError> {
        let before = self.fs.syncs_issued();
        let disk = self.disk()?;
        disk.persist(batch)?;
        let last_index = disk.last_index().unwrap_or(0);
        let after = self.fs.syncs_issued();
        if after == before {
            return Ok(None);
        }
        self.unsynced.push_back((after, last_index));
        Ok(Some(after))
    }

    /// The simulated fsyncs up to sync `number` completed: what they cover is durable.
    pub fn sync_through(&mut self, number: u64) {
        self.fs.complete_syncs_through(number);
        while let Some(&(last_sync, last_index)) = self.unsynced.front() {
            if last_sync > number {
                break;
            }
            self.durable_last_index = last_index;
            self.unsynced.pop_front();
        }
    }

    /// `ack-before-sync`: the lazy disk writes what it buffered if its interval has passed, and
    /// those syncs complete at once.
    pub fn flush_lazy(&mut self, now_us: u64) -> Result<(), StorageError> {
        let since_open = Duration::from_micros(now_us.saturating_sub(self.opened_at_us));
        let disk = self.disk()?;
        disk.flush_lazy_at(false, since_open)?;
        let last_index = disk.last_index().unwrap_or(0);
        self.fs.complete_all_syncs();
        self.unsynced.clear();
        self.durable_last_index = last_index;
        Ok(())
    }

    /// A crash: the process and its memory are gone, and the file system keeps what was synced
    /// plus a part of the rest drawn from `rng`.
    pub fn crash<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.disk = None;
        self.fs.crash(rng);
        self.unsynced.clear();
        self.busy_until = 0;
    }

    /// The last log index that is durable (an entry, else the snapshot's), 0 when none: what
    /// the node could still claim after a crash right now.
    pub fn durable_last_index(&self) -> u64 {
        self.durable_last_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Entry, EntryKind, HardState};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            term,
            index,
            kind: EntryKind::Normal,
            data: vec![index as u8; 40],
        }
    }

    fn batch(range: std::ops::RangeInclusive<u64>, term: u64) -> PersistBatch {
        PersistBatch {
            hard_state: Some(HardState {
                term,
                vote: Some(1),
                commit: 0,
            }),
            entries: range.map(|i| entry(i, term)).collect(),
            snapshot: None,
        }
    }

    fn indexes(state: &PersistedState) -> Vec<u64> {
        state.entries.iter().map(|e| e.index).collect()
    }

    #[test]
    fn a_batch_is_durable_only_once_its_sync_completes() {
        let mut lost = 0;
        for seed in 0..32 {
            let mut disk = SimDisk::new(false);
            disk.open(0).unwrap();
            let first = disk.write(batch(1..=2, 1)).unwrap().unwrap();
            let second = disk.write(batch(3..=4, 2)).unwrap().unwrap();
            assert!(second > first);
            disk.sync_through(first);
            assert_eq!(disk.durable_last_index(), 2);
            disk.crash(&mut ChaCha8Rng::seed_from_u64(seed));
            let state = disk.open(0).unwrap();
            let got = indexes(&state);
            assert!(
                got.starts_with(&[1, 2]),
                "seed {seed}: synced batch lost: {got:?}"
            );
            if state.hard_state.term == 2 {
                assert_eq!(
                    got,
                    vec![1, 2, 3, 4],
                    "seed {seed}: hard state without entries"
                );
            }
            lost += usize::from(got.len() < 4);
        }
        assert!(lost > 0, "an unsynced batch was never lost in 32 crashes");
    }

    #[test]
    fn the_lazy_disk_loses_what_it_buffered() {
        let mut disk = SimDisk::new(true);
        disk.open(0).unwrap();
        assert_eq!(disk.write(batch(1..=2, 1)).unwrap(), None);
        disk.flush_lazy(500_000).unwrap();
        assert_eq!(disk.durable_last_index(), 0, "flushed before its interval");
        disk.crash(&mut ChaCha8Rng::seed_from_u64(1));
        assert!(disk.open(0).unwrap().entries.is_empty());
        disk.write(batch(1..=2, 1)).unwrap();
        disk.flush_lazy(1_000_000).unwrap();
        assert_eq!(disk.durable_last_index(), 2);
        disk.crash(&mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(indexes(&disk.open(0).unwrap()), vec![1, 2]);
    }

    #[test]
    fn a_crashed_disk_refuses_writes_until_reopened() {
        let mut disk = SimDisk::new(false);
        disk.open(0).unwrap();
        disk.crash(&mut ChaCha8Rng::seed_from_u64(0));
        assert!(disk.write(batch(1..=1, 1)).is_err());
        disk.open(0).unwrap();
        assert!(disk.write(batch(1..=1, 1)).unwrap().is_some());
    }
}
