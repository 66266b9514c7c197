//! Raft-shaped durable storage on top of the WAL: hard state, log entries and snapshot, with one
//! `fdatasync` per persisted batch.
//!
//! Generic over the entry (`E: LogEntry`), hard-state (`H`) and snapshot (`S: SnapshotMeta`) types,
//! so it does not depend on `raft::core`; binding it to the core's types is two small trait impls
//! (see `docs/storage.md`).
//!
//! Layout of a data directory: `wal/` holds the WAL segments (and the directory lock), whose records
//! are hard states, entries, "truncate the log from index k" and "a snapshot replaced the log";
//! `snapshot` is a checksummed value file replaced atomically. Replaying the WAL gives the log;
//! the snapshot then drops what it covers, following Raft's InstallSnapshot rule: entries after
//! the snapshot are kept only if the log holds the snapshot's last entry with the same term (or
//! starts right after it).

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::atomic_file::{read_value_in, write_value_in};
use super::dir::sync_dir;
use super::error::StorageError;
use super::fs::{Fs, StdFs};
use super::wal::{Wal, WalOptions, WalStats};

/// What the storage needs to know about a log entry.
pub trait LogEntry {
    /// Position in the log (1-based in Raft, but any dense numbering works).
    fn index(&self) -> u64;
    /// Term in which the entry was created.
    fn term(&self) -> u64;
}

/// What the storage needs to know about a snapshot.
pub trait SnapshotMeta {
    /// Index of the last entry the snapshot covers.
    fn index(&self) -> u64;
    /// Term of that entry.
    fn term(&self) -> u64;
}

/// The records of the Raft WAL. Written with borrowed fields (`RaftRecord<&E, &H>`), read owned;
/// postcard encodes both the same.
#[derive(Debug, Serialize, Deserialize)]
enum RaftRecord<E, H> {
    Entry(E),
    HardState(H),
    /// Drop every entry with index >= this one (a suffix is about to be overwritten).
    TruncateFrom(u64),
    /// A snapshot was installed: the log restarts after `index`.
    SnapshotInstalled {
        index: u64,
        term: u64,
    },
}

/// Where an entry of the replayed log lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EntryPosition {
    index: u64,
    term: u64,
    seq: u64,
}

/// What survived: what earlier `persist` calls made durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftState<E, H, S> {
    /// The latest hard state, if one was ever persisted.
    pub hard_state: Option<H>,
    /// The latest snapshot, if any.
    pub snapshot: Option<S>,
    /// Log entries after the snapshot, contiguous and in order.
    pub entries: Vec<E>,
}

/// Durable Raft state in one data directory (locked while open) of the file system `F`.
#[derive(Debug)]
pub struct RaftDisk<E, H, S, F: Fs = StdFs> {
    fs: F,
    dir: PathBuf,
    wal: Wal<RaftRecord<E, H>, F>,
    /// Mirrors exactly what replaying the WAL on disk would give (before the snapshot is applied),
    /// so `persist` knows when it must record a truncation.
    log: Vec<EntryPosition>,
    hard_state: Option<(H, u64)>,
    /// (index, term) of the durable snapshot.
    snapshot: Option<(u64, u64)>,
    /// Set when a write failed half-way; every later call is refused.
    failed: Option<String>,
    _snapshot: PhantomData<fn(S) -> S>,
}

/// What [`RaftDisk::open`] returns: the open storage and the state that was durable.
pub type Opened<E, H, S, F = StdFs> = (RaftDisk<E, H, S, F>, RaftState<E, H, S>);

const WAL_DIR: &str = "wal";
const SNAPSHOT_FILE: &str = "snapshot";

impl<E, H, S> RaftDisk<E, H, S>
where
    E: LogEntry + Serialize + DeserializeOwned,
    H: Clone + Serialize + DeserializeOwned,
    S: SnapshotMeta + Serialize + DeserializeOwned,
{
    /// Opens (creating if needed) the storage in `dir` on the real file system and returns what
    /// is durable there.
    pub fn open(dir: &Path, options: WalOptions) -> Result<Opened<E, H, S>, StorageError> {
        RaftDisk::open_in(StdFs, dir, options)
    }
}

impl<E, H, S, F> RaftDisk<E, H, S, F>
where
    E: LogEntry + Serialize + DeserializeOwned,
    H: Clone + Serialize + DeserializeOwned,
    S: SnapshotMeta + Serialize + DeserializeOwned,
    F: Fs,
{
    /// [`RaftDisk::open`] on the file system `fs`.
    pub fn open_in(
        fs: F,
        dir: &Path,
        options: WalOptions,
    ) -> Result<Opened<E, H, S, F>, StorageError> {
        let (wal, recovered) =
            Wal::<RaftRecord<E, H>, F>::open_in(fs.clone(), &dir.join(WAL_DIR), options)?;
        let inconsistent = |reason: String| StorageError::InconsistentLog {
            dir: dir.to_path_buf(),
            reason,
        };
        let mut entries: Vec<E> = Vec::new();
        let mut log: Vec<EntryPosition> = Vec::new();
        let mut hard_state = None;
        for (seq, record) in (recovered.first_seq..).zip(recovered.records) {
            match record {
                RaftRecord::Entry(entry) => {
                    if let Some(last) = log.last() {
                        if entry.index() != last.index + 1 {
                            return Err(inconsistent(format!(
                                "WAL record {seq} holds entry {} right after entry {}",
                                entry.index(),
                                last.index
                            )));
                        }
                    }
                    log.push(EntryPosition {
                        index: entry.index(),
                        term: entry.term(),
                        seq,
                    });
                    entries.push(entry);
                }
                RaftRecord::HardState(h) => hard_state = Some((h, seq)),
                RaftRecord::TruncateFrom(index) => {
                    let keep = log.partition_point(|p| p.index < index);
                    log.truncate(keep);
                    entries.truncate(keep);
                }
                RaftRecord::SnapshotInstalled { .. } => {
                    log.clear();
                    entries.clear();
                }
            }
        }

        // A process killed between renaming a snapshot file into place and syncing the directory
        // leaves a rename that only the page cache knows: make it durable before relying on it.
        sync_dir(&fs, dir)?;
        let snapshot: Option<S> = read_value_in(&fs, &dir.join(SNAPSHOT_FILE))?;
        let snapshot_meta = snapshot.as_ref().map(|s| (s.index(), s.term()));
        let mut disk = RaftDisk {
            fs,
            dir: dir.to_path_buf(),
            wal,
            log,
            hard_state,
            snapshot: snapshot_meta,
            failed: None,
            _snapshot: PhantomData,
        };
        if let Some((snap_index, snap_term)) = snapshot_meta {
            let first = disk.log.first().map(|p| p.index);
            match disk.log.iter().position(|p| p.index == snap_index) {
                Some(pos) if disk.log[pos].term == snap_term => {
                    entries.drain(..=pos);
                }
                None if first.is_none_or(|f| f == snap_index + 1) => {}
                None if first.is_some_and(|f| f > snap_index + 1) => {
                    return Err(inconsistent(format!(
                        "the log starts at entry {} but the snapshot ends at {snap_index}: entries are missing",
                        first.unwrap_or_default()
                    )));
                }
                // The log does not match the snapshot (or lies wholly below it): a crash came
                // between writing an installed snapshot and recording it in the WAL. The snapshot
                // wins, as in Raft's InstallSnapshot; record that so the WAL agrees with memory.
                _ => {
                    tracing::warn!(
                        dir = %dir.display(),
                        snapshot_index = snap_index,
                        dropped_entries = entries.len(),
                        "log does not continue the snapshot; discarding it in favour of the snapshot"
                    );
                    entries.clear();
                    disk.log.clear();
                    disk.wal
                        .append_encoded(&RaftRecord::<&E, &H>::SnapshotInstalled {
                            index: snap_index,
                            term: snap_term,
                        })?;
                    disk.wal.sync()?;
                }
            }
        }
        let state = RaftState {
            hard_state: disk.hard_state.as_ref().map(|(h, _)| h.clone()),
            snapshot,
            entries,
        };
        Ok((disk, state))
    }

    /// Makes one Ready's worth of state durable with a single WAL `fdatasync`:
    /// `snapshot` (an installed snapshot: it replaces the whole log) first, then `entries`
    /// (replacing any stored entries at index >= `entries[0].index()`), then `hard_state`.
    /// An installed snapshot is itself written atomically to its own file (with its own fsyncs)
    /// before the WAL records it.
    pub fn persist(
        &mut self,
        hard_state: Option<&H>,
        entries: &[E],
        snapshot: Option<&S>,
    ) -> Result<(), StorageError> {
        self.check_usable()?;
        self.check_batch(entries, snapshot)?;
        let result = self.write_batch(hard_state, entries, snapshot);
        self.poison_on_error(result)
    }

    /// Writes, in this order: an installed snapshot's file and its WAL marker (the log restarts
    /// after it), a truncation when the first entry would overwrite a stored one, the entries,
    /// the hard state; then one sync. A crash keeps a prefix of these writes, so a hard state is
    /// never durable without the entries written before it.
    ///
    /// Leading entries already stored with the same index and term are the same entries (Raft's
    /// log matching) and are not written again: rewriting them would put a truncation before
    /// their copies, and a crash keeping the truncation but not the copies would lose entries
    /// that an earlier sync made durable (and this node may have acknowledged).
    fn write_batch(
        &mut self,
        hard_state: Option<&H>,
        mut entries: &[E],
        snapshot: Option<&S>,
    ) -> Result<(), StorageError> {
        if snapshot.is_none() {
            let stored = entries
                .iter()
                .take_while(|entry| {
                    self.position(entry.index())
                        .is_some_and(|p| p.term == entry.term())
                })
                .count();
            if stored > 0 && stored == entries.len() {
                // Every entry is stored; the batch still ends the log at its last entry.
                let after = entries[stored - 1].index() + 1;
                if self.log.last().is_some_and(|last| last.index >= after) {
                    self.wal
                        .append_encoded(&RaftRecord::<&E, &H>::TruncateFrom(after))?;
                    let keep = self.log.partition_point(|p| p.index < after);
                    self.log.truncate(keep);
                }
            }
            entries = &entries[stored..];
        }
        if let Some(snap) = snapshot {
            write_value_in(&self.fs, &self.dir.join(SNAPSHOT_FILE), snap)?;
            self.snapshot = Some((snap.index(), snap.term()));
            self.wal
                .append_encoded(&RaftRecord::<&E, &H>::SnapshotInstalled {
                    index: snap.index(),
                    term: snap.term(),
                })?;
            self.log.clear();
        }
        if let Some(first) = entries.first() {
            let index = first.index();
            if self.log.last().is_some_and(|last| last.index >= index) {
                self.wal
                    .append_encoded(&RaftRecord::<&E, &H>::TruncateFrom(index))?;
                let keep = self.log.partition_point(|p| p.index < index);
                self.log.truncate(keep);
            }
        }
        for entry in entries {
            let seq = self
                .wal
                .append_encoded(&RaftRecord::<&E, &H>::Entry(entry))?;
            self.log.push(EntryPosition {
                index: entry.index(),
                term: entry.term(),
                seq,
            });
        }
        if let Some(h) = hard_state {
            let seq = self
                .wal
                .append_encoded(&RaftRecord::<&E, &H>::HardState(h))?;
            self.hard_state = Some((h.clone(), seq));
        }
        self.wal.sync()
    }

    /// The planted bug `unsynced-vote`: records a hard state in the WAL and writes it to the
    /// segment file without syncing it (a later [`RaftDisk::persist`] syncs it with its batch).
    pub fn persist_hard_state_unsynced(&mut self, hard_state: &H) -> Result<(), StorageError> {
        self.check_usable()?;
        let result = self
            .wal
            .append_encoded(&RaftRecord::<&E, &H>::HardState(hard_state))
            .and_then(|seq| {
                self.wal.write_unsynced()?;
                Ok(seq)
            });
        let seq = self.poison_on_error(result)?;
        self.hard_state = Some((hard_state.clone(), seq));
        Ok(())
    }

    /// After a failed write part of a batch may be buffered or on disk: refuse further use until
    /// the directory is reopened (which recovers exactly what is durable).
    fn poison_on_error<T>(&mut self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    fn check_usable(&self) -> Result<(), StorageError> {
        match &self.failed {
            Some(reason) => Err(StorageError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Records a snapshot the application took of its own state machine (it does not change the
    /// log; call [`RaftDisk::compact_below`] afterwards to free the entries it covers).
    pub fn save_snapshot(&mut self, snapshot: &S) -> Result<(), StorageError> {
        self.check_usable()?;
        write_value_in(&self.fs, &self.dir.join(SNAPSHOT_FILE), snapshot)?;
        self.snapshot = Some((snapshot.index(), snapshot.term()));
        Ok(())
    }

    /// Frees WAL segments that only hold entries below `index` (whole segments, so some may stay).
    /// `index` may be at most the durable snapshot's index + 1: entries not covered by a snapshot
    /// are never discarded. Re-writes the hard state first if its record would be deleted.
    /// Returns how many segments were deleted.
    pub fn compact_below(&mut self, index: u64) -> Result<usize, StorageError> {
        self.check_usable()?;
        let covered = self.snapshot.map_or(0, |(i, _)| i.saturating_add(1));
        if index > covered {
            return Err(StorageError::InvalidLogWrite(format!(
                "cannot discard entries below {index}: the durable snapshot only covers entries below {covered}"
            )));
        }
        let result = self.compact_covered(index);
        self.poison_on_error(result)
    }

    fn compact_covered(&mut self, index: u64) -> Result<usize, StorageError> {
        let first_needed = self.log.partition_point(|p| p.index < index);
        let keep_seq = self
            .log
            .get(first_needed)
            .map_or(self.wal.next_seq(), |p| p.seq);
        if let Some((h, seq)) = &self.hard_state {
            if *seq < keep_seq {
                let h = h.clone();
                let new_seq = self
                    .wal
                    .append_encoded(&RaftRecord::<&E, &H>::HardState(&h))?;
                self.wal.sync()?;
                self.hard_state = Some((h, new_seq));
            }
        }
        let deleted = self.wal.compact(keep_seq)?;
        let first_on_disk = self.wal.stats().first_seq;
        let gone = self.log.partition_point(|p| p.seq < first_on_disk);
        self.log.drain(..gone);
        Ok(deleted)
    }

    /// Index of the last stored entry (or the snapshot's index when the log is empty).
    pub fn last_index(&self) -> Option<u64> {
        self.log
            .last()
            .map(|p| p.index)
            .or(self.snapshot.map(|(i, _)| i))
    }

    /// Statistics of the underlying WAL.
    pub fn wal_stats(&self) -> WalStats {
        self.wal.stats()
    }

    /// Rejects a batch that would break the log's shape, before anything is written.
    /// Where the stored entry at `index` is, if the log holds it.
    fn position(&self, index: u64) -> Option<&EntryPosition> {
        let at = self.log.partition_point(|p| p.index < index);
        self.log.get(at).filter(|p| p.index == index)
    }

    fn check_batch(&self, entries: &[E], snapshot: Option<&S>) -> Result<(), StorageError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        for (k, entry) in entries.iter().enumerate() {
            if entry.index() != first.index() + k as u64 {
                return Err(StorageError::InvalidLogWrite(format!(
                    "entries of one batch must be contiguous: entry {k} has index {} after {}",
                    entry.index(),
                    first.index()
                )));
            }
        }
        if let Some(snap) = snapshot {
            if first.index() <= snap.index() {
                return Err(StorageError::InvalidLogWrite(format!(
                    "entry {} is already covered by the snapshot being installed (index {})",
                    first.index(),
                    snap.index()
                )));
            }
        }
        let expected_next = match snapshot {
            Some(snap) => Some(snap.index() + 1),
            None => self
                .log
                .last()
                .map(|p| p.index + 1)
                .or(self.snapshot.map(|(i, _)| i + 1)),
        };
        if let Some(next) = expected_next {
            if first.index() > next {
                return Err(StorageError::InvalidLogWrite(format!(
                    "entry {} would leave a gap: the log continues at {next}",
                    first.index()
                )));
            }
        }
        Ok(())
    }
}
