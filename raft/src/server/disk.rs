//! The node's durable storage: `raft::storage::RaftDisk` bound to the core's types, taking one
//! driver batch per call with one `fdatasync` (group commit). With the planted bug
//! `ack-before-sync` the batches are only kept in process memory and written now and then, so a
//! SIGKILL loses what the node already acknowledged.
//!
//! A batch whose only change is the commit index (same term and vote as the durable hard state,
//! no entries, no snapshot) is not synced on its own: the commit index is volatile in Raft (a
//! restarted node learns it again from the leader), so it rides along with the next batch that
//! must be synced anyway. That takes one fsync off the path of every acknowledged write.
//!
//! With the planted bug `unsynced-vote` ([`NodeDisk::set_unsynced_vote`]), a batch that changes
//! only the term or the vote is written to the WAL without a sync: a power loss before the next
//! synced batch makes the node forget the vote it already sent.
//!
//! Generic over the file system (`raft::storage::Fs`): the server uses the real one
//! ([`NodeDisk::open`]), the simulator a `SimFs` ([`NodeDisk::open_in`]). The lazy mode's clock is
//! the caller's ([`NodeDisk::flush_lazy_at`]); only the server's [`NodeDisk::flush_lazy`] reads the
//! wall clock, so the simulator never does.

use std::{path::Path, time::Duration, time::Instant};

use crate::core::{Entry, HardState, PersistedState, Snapshot};
use crate::driver::{PersistBatch, SnapshotToPersist};
use crate::storage::{Fs, LogEntry, RaftDisk, SnapshotMeta, StdFs, StorageError, WalOptions};

impl LogEntry for Entry {
    fn index(&self) -> u64 {
        self.index
    }
    fn term(&self) -> u64 {
        self.term
    }
}

impl SnapshotMeta for Snapshot {
    fn index(&self) -> u64 {
        self.index
    }
    fn term(&self) -> u64 {
        self.term
    }
}

/// The storage layer of `raft::storage`, for the core's types.
pub type RaftStorage<F = StdFs> = RaftDisk<Entry, HardState, Snapshot, F>;

/// A node's disk: durable on return of [`NodeDisk::persist`] unless `lazy` (the planted bug).
pub struct NodeDisk<F: Fs = StdFs> {
    disk: RaftStorage<F>,
    /// `ack-before-sync`: batches waiting in memory, and when they were last written.
    lazy: Option<LazyBuffer>,
    /// Term and vote of the durable hard state.
    durable_term_vote: (u64, Option<u64>),
    /// A commit-only hard state not yet written (written with the next batch).
    deferred: Option<HardState>,
    /// The server's wall clock for [`NodeDisk::flush_lazy`]: when the disk was opened.
    opened_at: Option<Instant>,
    /// `unsynced-vote`: term and vote changes are written but not synced.
    unsynced_vote: bool,
}

struct LazyBuffer {
    pending: Vec<PersistBatch>,
    interval: Duration,
    /// On the caller's clock: time since the disk was opened.
    last_flush: Duration,
}

impl NodeDisk {
    /// Opens the data directory on the real file system and returns what was durable there. A
    /// corrupt WAL is an error naming the file and offset.
    pub fn open(
        dir: &Path,
        lazy_interval: Option<Duration>,
    ) -> Result<(NodeDisk, PersistedState), StorageError> {
        NodeDisk::open_on_wall_clock(StdFs, dir, lazy_interval)
    }
}

impl<F: Fs> NodeDisk<F> {
    /// [`NodeDisk::open`] on the real file system `fs` (the node's [`NodeFs`](crate::storage::NodeFs),
    /// which can skip its syncs for the `skip-fsync` bug); the lazy mode runs on the wall clock.
    pub fn open_on_wall_clock(
        fs: F,
        dir: &Path,
        lazy_interval: Option<Duration>,
    ) -> Result<(NodeDisk<F>, PersistedState), StorageError> {
        let (mut disk, persisted) =
            NodeDisk::open_in(fs, dir, WalOptions::default(), lazy_interval)?;
        disk.opened_at = Some(Instant::now());
        Ok((disk, persisted))
    }

    /// In `lazy` mode, writes the buffered batches when the interval has passed on the wall
    /// clock; `force` (at shutdown) writes everything, the deferred commit index included.
    pub fn flush_lazy(&mut self, force: bool) -> Result<(), StorageError> {
        let since_open = self.opened_at.map_or(Duration::ZERO, |t| t.elapsed());
        self.flush_lazy_at(force, since_open)
    }

    /// Opens the data directory `dir` of the file system `fs` and returns what was durable there.
    /// The lazy mode's clock starts at zero now ([`NodeDisk::flush_lazy_at`]).
    pub fn open_in(
        fs: F,
        dir: &Path,
        options: WalOptions,
        lazy_interval: Option<Duration>,
    ) -> Result<(NodeDisk<F>, PersistedState), StorageError> {
        let (disk, state) = RaftStorage::open_in(fs, dir, options)?;
        let persisted = PersistedState {
            hard_state: state.hard_state.unwrap_or_default(),
            snapshot: state.snapshot,
            entries: state.entries,
        };
        let lazy = lazy_interval.map(|interval| LazyBuffer {
            pending: Vec::new(),
            interval,
            last_flush: Duration::ZERO,
        });
        let durable_term_vote = (persisted.hard_state.term, persisted.hard_state.vote);
        Ok((
            NodeDisk {
                disk,
                lazy,
                durable_term_vote,
                deferred: None,
                opened_at: None,
                unsynced_vote: false,
            },
            persisted,
        ))
    }

    /// Switches the planted bug `unsynced-vote` on or off (see the module comment).
    pub fn set_unsynced_vote(&mut self, on: bool) {
        self.unsynced_vote = on;
    }

    /// Makes `batch` durable (one fsync for the WAL part), or buffers it in `lazy` mode.
    pub fn persist(&mut self, mut batch: PersistBatch) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        if let Some(lazy) = &mut self.lazy {
            lazy.pending.push(batch);
            return Ok(());
        }
        if batch.entries.is_empty() && batch.snapshot.is_none() {
            if let Some(hs) = batch.hard_state {
                if (hs.term, hs.vote) == self.durable_term_vote {
                    self.deferred = Some(hs);
                    return Ok(());
                }
                if self.unsynced_vote {
                    // The bug: the new term or vote goes to the file, not to the disk.
                    self.deferred = None;
                    self.disk.persist_hard_state_unsynced(&hs)?;
                    self.durable_term_vote = (hs.term, hs.vote);
                    return Ok(());
                }
            }
        }
        match batch.hard_state {
            Some(_) => self.deferred = None,
            None => batch.hard_state = self.deferred.take(),
        }
        let written = batch.hard_state.map(|hs| (hs.term, hs.vote));
        write_batch(&mut self.disk, batch)?;
        if let Some(term_vote) = written {
            self.durable_term_vote = term_vote;
        }
        Ok(())
    }

    /// In `lazy` mode, writes the buffered batches when the interval has passed; `force` (at
    /// shutdown) writes everything, the deferred commit index included. `since_open` is the
    /// caller's clock: the time since the disk was opened.
    pub fn flush_lazy_at(&mut self, force: bool, since_open: Duration) -> Result<(), StorageError> {
        if force {
            if let Some(hs) = self.deferred.take() {
                self.disk.persist(Some(&hs), &[], None)?;
            }
        }
        let Some(lazy) = &mut self.lazy else {
            return Ok(());
        };
        if !force && since_open.saturating_sub(lazy.last_flush) < lazy.interval {
            return Ok(());
        }
        lazy.last_flush = since_open;
        for batch in std::mem::take(&mut lazy.pending) {
            write_batch(&mut self.disk, batch)?;
        }
        Ok(())
    }

    /// WAL statistics (syncs, segments).
    pub fn wal_stats(&self) -> crate::storage::WalStats {
        self.disk.wal_stats()
    }

    /// Index of the last entry written (or of the snapshot when the log is empty), synced or
    /// not; batches still buffered in `lazy` mode do not count.
    pub fn last_index(&self) -> Option<u64> {
        self.disk.last_index()
    }
}

fn write_batch<F: Fs>(disk: &mut RaftStorage<F>, batch: PersistBatch) -> Result<(), StorageError> {
    match batch.snapshot {
        Some(SnapshotToPersist::Installed(snapshot)) => {
            disk.persist(batch.hard_state.as_ref(), &batch.entries, Some(&snapshot))
        }
        Some(SnapshotToPersist::Taken(snapshot)) => {
            disk.persist(batch.hard_state.as_ref(), &batch.entries, None)?;
            disk.save_snapshot(&snapshot)?;
            let freed = disk.compact_below(snapshot.index + 1)?;
            tracing::debug!(
                index = snapshot.index,
                segments_freed = freed,
                "snapshot saved, log compacted"
            );
            Ok(())
        }
        None => disk.persist(batch.hard_state.as_ref(), &batch.entries, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::EntryKind;
    use crate::storage::SimFs;

    fn entry(index: u64) -> Entry {
        Entry {
            term: 1,
            index,
            kind: EntryKind::Normal,
            data: vec![index as u8],
        }
    }

    fn batch(hs: Option<HardState>, entries: Vec<Entry>) -> PersistBatch {
        PersistBatch {
            hard_state: hs,
            entries,
            snapshot: None,
        }
    }

    fn hs(commit: u64) -> HardState {
        HardState {
            term: 1,
            vote: Some(1),
            commit,
        }
    }

    #[test]
    fn persisted_batches_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, _) = NodeDisk::open(dir.path(), None).unwrap();
        disk.persist(batch(Some(hs(0)), vec![entry(1), entry(2)]))
            .unwrap();
        drop(disk);
        let (_, state) = NodeDisk::open(dir.path(), None).unwrap();
        assert_eq!(state.entries, vec![entry(1), entry(2)]);
        assert_eq!(state.hard_state, hs(0));
    }

    #[test]
    fn a_commit_only_change_waits_for_the_next_synced_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, _) = NodeDisk::open(dir.path(), None).unwrap();
        disk.persist(batch(Some(hs(0)), vec![entry(1), entry(2)]))
            .unwrap();
        let syncs = disk.wal_stats().data_syncs;
        disk.persist(batch(Some(hs(2)), vec![])).unwrap();
        assert_eq!(
            disk.wal_stats().data_syncs,
            syncs,
            "commit-only batch was synced"
        );
        disk.persist(batch(None, vec![entry(3)])).unwrap();
        drop(disk);
        let (_, state) = NodeDisk::open(dir.path(), None).unwrap();
        assert_eq!(state.hard_state, hs(2));
        assert_eq!(state.entries.len(), 3);
    }

    #[test]
    fn ack_before_sync_loses_buffered_batches_on_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let lazy = Some(Duration::from_secs(3600));
        let (mut disk, _) = NodeDisk::open(dir.path(), lazy).unwrap();
        disk.persist(batch(Some(hs(0)), vec![entry(1)])).unwrap();
        disk.flush_lazy(false).unwrap();
        drop(disk); // a crash: nothing forced out
        let (mut disk, state) = NodeDisk::open(dir.path(), lazy).unwrap();
        assert!(state.entries.is_empty());
        disk.persist(batch(Some(hs(0)), vec![entry(1)])).unwrap();
        disk.flush_lazy(true).unwrap();
        drop(disk);
        let (_, state) = NodeDisk::open(dir.path(), None).unwrap();
        assert_eq!(state.entries, vec![entry(1)]);
    }

    fn sim_open(fs: &SimFs, lazy: Option<Duration>) -> (NodeDisk<SimFs>, PersistedState) {
        let opened = NodeDisk::open_in(fs.clone(), Path::new("/n"), WalOptions::default(), lazy);
        let opened = opened.unwrap();
        fs.complete_all_syncs();
        opened
    }

    /// Seed 9744 of the simulator: a batch taking a snapshot carried again an entry an earlier
    /// batch had synced; the rewrite put a truncation before the entry's copy, and a crash that
    /// kept the truncation but tore the copy lost the synced entry.
    #[test]
    fn a_synced_entry_written_again_survives_a_crash_before_the_next_sync() {
        use rand::SeedableRng;
        let mut lost = Vec::new();
        for seed in 0..64 {
            let fs = SimFs::new();
            let (mut disk, _) = sim_open(&fs, None);
            disk.persist(batch(Some(hs(0)), vec![entry(1), entry(2)]))
                .unwrap();
            fs.complete_all_syncs();
            let snapshot = crate::core::Snapshot {
                index: 1,
                term: 1,
                conf: Default::default(),
                data: vec![1],
            };
            disk.persist(PersistBatch {
                hard_state: None,
                entries: vec![entry(2)],
                snapshot: Some(SnapshotToPersist::Taken(snapshot)),
            })
            .unwrap();
            drop(disk);
            fs.crash(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let (_, state) = sim_open(&fs, None);
            if !state.entries.iter().any(|e| e.index == 2) {
                lost.push(seed);
            }
        }
        assert!(
            lost.is_empty(),
            "entry 2 lost after crashes of seeds {lost:?}"
        );
    }

    #[test]
    fn entries_written_again_still_end_the_log_at_the_batch() {
        let fs = SimFs::new();
        let (mut disk, _) = sim_open(&fs, None);
        disk.persist(batch(Some(hs(0)), vec![entry(1), entry(2), entry(3)]))
            .unwrap();
        disk.persist(batch(None, vec![entry(1), entry(2)])).unwrap();
        assert_eq!(disk.last_index(), Some(2));
        fs.complete_all_syncs();
        drop(disk);
        fs.crash_losing_unsynced();
        let indexes: Vec<u64> = sim_open(&fs, None)
            .1
            .entries
            .iter()
            .map(|e| e.index)
            .collect();
        assert_eq!(indexes, vec![1, 2]);
    }

    #[test]
    fn a_vote_is_synced_and_lost_only_while_its_sync_is_pending() {
        let fs = SimFs::new();
        let (mut disk, _) = sim_open(&fs, None);
        let vote = HardState {
            term: 2,
            vote: Some(3),
            commit: 0,
        };
        let before = fs.syncs_issued();
        disk.persist(batch(Some(vote), vec![])).unwrap();
        assert!(
            fs.syncs_issued() > before,
            "a vote must be synced before it is sent"
        );
        drop(disk);
        fs.crash_losing_unsynced();
        let (mut disk, state) = sim_open(&fs, None);
        assert_eq!(
            state.hard_state,
            HardState::default(),
            "its sync never completed"
        );
        disk.persist(batch(Some(vote), vec![])).unwrap();
        fs.complete_all_syncs();
        drop(disk);
        fs.crash_losing_unsynced();
        assert_eq!(sim_open(&fs, None).1.hard_state, vote);
    }

    #[test]
    fn unsynced_vote_writes_a_vote_without_syncing_it() {
        let fs = SimFs::new();
        let (mut disk, _) = sim_open(&fs, None);
        disk.set_unsynced_vote(true);
        disk.persist(batch(Some(hs(0)), vec![entry(1)])).unwrap();
        fs.complete_all_syncs();
        let vote = HardState {
            term: 2,
            vote: Some(3),
            commit: 0,
        };
        let before = fs.syncs_issued();
        disk.persist(batch(Some(vote), vec![])).unwrap();
        assert_eq!(fs.syncs_issued(), before, "the bug syncs no vote");
        drop(disk);
        let kept = fs.clone();
        kept.crash_losing_unsynced();
        let (_, state) = sim_open(&kept, None);
        assert_eq!(state.hard_state, hs(0), "a power loss forgets the vote");
        // Without the power loss (a process crash) the vote was written: a reopen reads it.
        let fs = SimFs::new();
        let (mut disk, _) = sim_open(&fs, None);
        disk.set_unsynced_vote(true);
        disk.persist(batch(Some(vote), vec![])).unwrap();
        drop(disk);
        assert_eq!(sim_open(&fs, None).1.hard_state, vote);
    }

    #[test]
    fn the_lazy_flush_runs_on_the_callers_clock() {
        let fs = SimFs::new();
        let (mut disk, _) = sim_open(&fs, Some(Duration::from_secs(1)));
        disk.persist(batch(Some(hs(0)), vec![entry(1)])).unwrap();
        disk.flush_lazy_at(false, Duration::from_millis(999))
            .unwrap();
        assert_eq!(disk.last_index(), None, "flushed before the interval");
        disk.flush_lazy_at(false, Duration::from_secs(1)).unwrap();
        assert_eq!(disk.last_index(), Some(1));
        fs.complete_all_syncs();
        drop(disk);
        fs.crash_losing_unsynced();
        assert_eq!(sim_open(&fs, None).1.entries, vec![entry(1)]);
    }
}
