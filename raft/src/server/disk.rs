//! The node's durable storage: `raft::storage::RaftDisk` bound to the core's types, taking one
//! driver batch per call with one `fdatasync` (group commit). With the planted bug
//! `ack-before-sync` the batches are only kept in process memory and written now and then, so a
//! SIGKILL loses what the node already acknowledged.

use std::{path::Path, time::Duration, time::Instant};

use crate::core::{Entry, HardState, PersistedState, Snapshot};
use crate::driver::{PersistBatch, SnapshotToPersist};
use crate::storage::{LogEntry, RaftDisk, SnapshotMeta, StorageError, WalOptions};

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
pub type RaftStorage = RaftDisk<Entry, HardState, Snapshot>;

/// A node's disk: durable on return of [`NodeDisk::persist`] unless `lazy` (the planted bug).
pub struct NodeDisk {
    disk: RaftStorage,
    /// `ack-before-sync`: batches waiting in memory, and when they were last written.
    lazy: Option<LazyBuffer>,
}

struct LazyBuffer {
    pending: Vec<PersistBatch>,
    interval: Duration,
    last_flush: Instant,
}

impl NodeDisk {
    /// Opens the data directory and returns what was durable there. A corrupt WAL is an error
    /// naming the file and offset.
    pub fn open(
        dir: &Path,
        lazy_interval: Option<Duration>,
    ) -> Result<(NodeDisk, PersistedState), StorageError> {
        let (disk, state) = RaftStorage::open(dir, WalOptions::default())?;
        let persisted = PersistedState {
            hard_state: state.hard_state.unwrap_or_default(),
            snapshot: state.snapshot,
            entries: state.entries,
        };
        let lazy = lazy_interval.map(|interval| LazyBuffer {
            pending: Vec::new(),
            interval,
            last_flush: Instant::now(),
        });
        Ok((NodeDisk { disk, lazy }, persisted))
    }

    /// Makes `batch` durable (one fsync for the WAL part), or buffers it in `lazy` mode.
    pub fn persist(&mut self, batch: PersistBatch) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        if let Some(lazy) = &mut self.lazy {
            lazy.pending.push(batch);
            return Ok(());
        }
        write_batch(&mut self.disk, batch)
    }

    /// In `lazy` mode, writes the buffered batches when the interval has passed (or `force`).
    pub fn flush_lazy(&mut self, force: bool) -> Result<(), StorageError> {
        let Some(lazy) = &mut self.lazy else {
            return Ok(());
        };
        if !force && lazy.last_flush.elapsed() < lazy.interval {
            return Ok(());
        }
        lazy.last_flush = Instant::now();
        for batch in std::mem::take(&mut lazy.pending) {
            write_batch(&mut self.disk, batch)?;
        }
        Ok(())
    }

    /// WAL statistics (syncs, segments).
    pub fn wal_stats(&self) -> crate::storage::WalStats {
        self.disk.wal_stats()
    }
}

fn write_batch(disk: &mut RaftStorage, batch: PersistBatch) -> Result<(), StorageError> {
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
