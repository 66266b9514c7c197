//! A generic write-ahead log in segment files, with group commit.
//!
//! Records are appended to an in-memory buffer; [`Wal::sync`] writes everything appended since the
//! last sync and makes it durable with ONE `fdatasync`. A batch never spans two segments: a new
//! segment is started only at the first append after a sync, once the current one has reached
//! `segment_bytes`, so every segment but the last holds only synced data, and a damaged record in
//! it is corruption, never a torn write. Sequence numbers are dense: the record `i` of segment
//! `{first_seq:020}.seg` has sequence number `first_seq + i`.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::dir::{create_dir_durable, list_segments, segment_file_name, sync_dir};
use super::error::StorageError;
use super::fs::{Fs, FsFile, StdFs};
use super::record::{encode_record_into, recover_segment_bytes, TornTail};

/// Pending bytes above which `append` writes them to the file (without syncing) to bound memory.
const WRITE_THROUGH_BYTES: usize = 4 << 20;

/// Tuning of a [`Wal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// A new segment is started once the current one reaches this size (checked between batches).
    pub segment_bytes: u64,
    /// Largest payload accepted by `append` and by recovery.
    pub max_record_bytes: u32,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
            max_record_bytes: 16 << 20,
        }
    }
}

/// What [`Wal::open`] found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered<R> {
    /// Sequence number of `records[0]` (or of the next record, when there is none).
    pub first_seq: u64,
    /// Every durable record still on disk, in order.
    pub records: Vec<R>,
    /// The torn tail cut off the last segment, if there was one: (file, what was cut).
    pub torn_tail: Option<(PathBuf, TornTail)>,
}

/// Counters and sizes of a [`Wal`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Segment files on disk.
    pub segments: usize,
    /// Sequence number of the oldest record still on disk.
    pub first_seq: u64,
    /// Sequence number the next `append` will get.
    pub next_seq: u64,
    /// All records below this sequence number are durable.
    pub durable_seq: u64,
    /// Bytes in segment files, counting written but unsynced bytes, not the in-memory buffer.
    pub bytes_on_disk: u64,
    /// Records appended since open.
    pub records_appended: u64,
    /// `fdatasync` calls on segments since open (one per non-empty `sync`).
    pub data_syncs: u64,
    /// Segments created since open.
    pub segments_created: u64,
    /// Segments deleted by `compact` since open.
    pub segments_deleted: u64,
}

#[derive(Debug)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
    len: u64,
}

/// A write-ahead log of records of type `R` in a locked directory of the file system `F`.
#[derive(Debug)]
pub struct Wal<R, F: Fs = StdFs> {
    fs: F,
    dir: PathBuf,
    options: WalOptions,
    _lock: F::Lock,
    /// Oldest first; the last one is the active segment.
    segments: Vec<Segment>,
    active: F::File,
    pending: Vec<u8>,
    /// Bytes have been appended (buffered or written) since the last successful sync.
    dirty: bool,
    next_seq: u64,
    durable_seq: u64,
    poisoned: Option<String>,
    stats: WalStats,
    _records: PhantomData<fn(R) -> R>,
}

/// What [`Wal::open_in`] returns: the open WAL and what was durable.
pub type OpenedWal<R, F> = (Wal<R, F>, Recovered<R>);

impl<R: Serialize + DeserializeOwned> Wal<R> {
    /// Opens (creating if needed) the WAL in `dir` on the real file system, takes its lock,
    /// recovers every durable record and cuts a torn tail off the last segment (logged with
    /// `tracing::warn!`).
    pub fn open(dir: &Path, options: WalOptions) -> Result<(Wal<R>, Recovered<R>), StorageError> {
        Wal::open_in(StdFs, dir, options)
    }
}

impl<R: Serialize + DeserializeOwned, F: Fs> Wal<R, F> {
    /// [`Wal::open`] on the file system `fs`.
    pub fn open_in(
        fs: F,
        dir: &Path,
        options: WalOptions,
    ) -> Result<OpenedWal<R, F>, StorageError> {
        create_dir_durable(&fs, dir)?;
        let lock = fs.lock_dir(dir)?;
        let listed = list_segments(&fs, dir)?;
        let mut segments = Vec::with_capacity(listed.len().max(1));
        let mut records = Vec::new();
        let mut torn_tail = None;
        let mut expected_seq: Option<u64> = None;
        let count = listed.len();
        for (i, (first_seq, path)) in listed.into_iter().enumerate() {
            if let Some(expected) = expected_seq {
                if first_seq != expected {
                    return Err(StorageError::InconsistentWal {
                        dir: dir.to_path_buf(),
                        reason: format!(
                            "segment {} starts at sequence {first_seq} but the previous segment ends before {expected} \
                             (a segment is missing or was renamed)",
                            path.display()
                        ),
                    });
                }
            }
            let is_last = i + 1 == count;
            let bytes = fs
                .read(&path)
                .map_err(|e| StorageError::io("reading", &path, e))?;
            let recovered = recover_segment_bytes::<R>(&bytes, is_last, options.max_record_bytes)
                .map_err(|c| StorageError::CorruptSegment {
                file: path.clone(),
                offset: c.offset,
                error: c.error,
            })?;
            let n = recovered.records.len() as u64;
            expected_seq =
                Some(
                    first_seq
                        .checked_add(n)
                        .ok_or_else(|| StorageError::InconsistentWal {
                            dir: dir.to_path_buf(),
                            reason: format!("sequence numbers overflow in {}", path.display()),
                        })?,
                );
            records.extend(recovered.records);
            if let Some(torn) = recovered.torn_tail {
                tracing::warn!(
                    file = %path.display(),
                    offset = torn.offset,
                    dropped_bytes = torn.dropped_bytes,
                    zero_filled = torn.all_zero,
                    fault = %torn.fault,
                    "WAL recovery: cutting a torn tail (an unsynced write interrupted by a crash)"
                );
                let mut file = fs
                    .open_append(&path)
                    .map_err(|e| StorageError::io("opening", &path, e))?;
                file.set_len(recovered.valid_len)
                    .map_err(|e| StorageError::io("truncating torn tail of", &path, e))?;
                file.sync_all()
                    .map_err(|e| StorageError::io("fsync after truncating", &path, e))?;
                torn_tail = Some((path.clone(), torn));
            }
            segments.push(Segment {
                first_seq,
                path,
                len: recovered.valid_len,
            });
        }
        let first_seq = segments.first().map_or(0, |s| s.first_seq);
        let next_seq = expected_seq.unwrap_or(0);
        let mut segments_created = 0;
        if segments.is_empty() {
            let (segment, _file) = create_segment(&fs, dir, 0)?;
            segments.push(segment);
            segments_created = 1;
        }
        let active_path = &segments[segments.len() - 1].path;
        let mut active = fs
            .open_append(active_path)
            .map_err(|e| StorageError::io("opening for append", active_path, e))?;
        // The last segment may hold records a killed process wrote but never synced (they survive
        // in the page cache): make them durable before anyone treats them as persisted.
        active
            .sync_data()
            .map_err(|e| StorageError::io("fdatasync of recovered WAL segment", active_path, e))?;
        let wal = Wal {
            fs,
            dir: dir.to_path_buf(),
            options,
            _lock: lock,
            segments,
            active,
            pending: Vec::new(),
            dirty: false,
            next_seq,
            durable_seq: next_seq,
            poisoned: None,
            stats: WalStats {
                segments_created,
                ..WalStats::default()
            },
            _records: PhantomData,
        };
        Ok((
            wal,
            Recovered {
                first_seq,
                records,
                torn_tail,
            },
        ))
    }

    /// Buffers one record and returns its sequence number. Not durable until [`Wal::sync`].
    pub fn append(&mut self, record: &R) -> Result<u64, StorageError> {
        self.append_encoded(record)
    }

    /// Appends any value whose postcard encoding is that of an `R` (e.g. `R` with borrowed fields),
    /// which lets the Raft layer write entries without cloning them.
    pub(crate) fn append_encoded<Q: Serialize + ?Sized>(
        &mut self,
        record: &Q,
    ) -> Result<u64, StorageError> {
        self.check_usable()?;
        let active_len = self.active_segment().len;
        if !self.dirty && active_len > 0 && active_len >= self.options.segment_bytes {
            self.start_new_segment()?;
        }
        encode_record_into(&mut self.pending, record, self.options.max_record_bytes)?;
        self.dirty = true;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.stats.records_appended += 1;
        if self.pending.len() >= WRITE_THROUGH_BYTES {
            self.write_pending()?;
        }
        Ok(seq)
    }

    /// Writes everything appended since the last sync and makes it durable with one `fdatasync`.
    /// A no-op when nothing was appended.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.check_usable()?;
        if !self.dirty {
            return Ok(());
        }
        self.write_pending()?;
        if let Err(e) = self.active.sync_data() {
            // After a failed fsync the page cache state is unknown (it may have dropped the dirty
            // pages): never retry and pretend, refuse until the WAL is reopened and recovered.
            let path = self.active_segment().path.clone();
            self.poisoned = Some(format!("fdatasync of {} failed: {e}", path.display()));
            return Err(StorageError::io("fdatasync of WAL segment", path, e));
        }
        self.dirty = false;
        self.durable_seq = self.next_seq;
        self.stats.data_syncs += 1;
        Ok(())
    }

    /// Writes everything appended since the last sync to the segment file WITHOUT syncing it: the
    /// records survive a process crash (they are in the kernel's cache) but not a power loss until
    /// the next [`Wal::sync`]. Only the planted bug `unsynced-vote` uses it.
    pub fn write_unsynced(&mut self) -> Result<(), StorageError> {
        self.check_usable()?;
        self.write_pending()
    }

    /// Deletes every segment whose records all have sequence numbers below `keep_from_seq`.
    /// The active segment is never deleted. Returns how many segments were deleted.
    pub fn compact(&mut self, keep_from_seq: u64) -> Result<usize, StorageError> {
        self.check_usable()?;
        let mut deleted = 0;
        // Oldest first, with a directory sync after each unlink, so a crash part-way leaves a
        // contiguous run of segments (recovery refuses gaps).
        while self.segments.len() > 1 && self.segments[1].first_seq <= keep_from_seq {
            let path = &self.segments[0].path;
            self.fs
                .remove_file(path)
                .map_err(|e| StorageError::io("deleting segment", path, e))?;
            self.segments.remove(0);
            deleted += 1;
            self.stats.segments_deleted += 1;
            if let Err(e) = sync_dir(&self.fs, &self.dir) {
                self.poisoned = Some(format!("fsync of {} failed: {e}", self.dir.display()));
                return Err(e);
            }
        }
        Ok(deleted)
    }

    /// Sizes and counters.
    pub fn stats(&self) -> WalStats {
        WalStats {
            segments: self.segments.len(),
            first_seq: self.segments.first().map_or(0, |s| s.first_seq),
            next_seq: self.next_seq,
            durable_seq: self.durable_seq,
            bytes_on_disk: self.segments.iter().map(|s| s.len).sum(),
            ..self.stats
        }
    }

    /// Sequence number the next `append` will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn active_segment(&self) -> &Segment {
        // `segments` is never empty: open creates one and compact keeps the last.
        &self.segments[self.segments.len() - 1]
    }

    fn check_usable(&self) -> Result<(), StorageError> {
        match &self.poisoned {
            Some(reason) => Err(StorageError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    fn write_pending(&mut self) -> Result<(), StorageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.active.write_all(&self.pending) {
            let path = self.active_segment().path.clone();
            self.poisoned = Some(format!("write to {} failed: {e}", path.display()));
            return Err(StorageError::io("writing WAL segment", path, e));
        }
        let n = self.pending.len() as u64;
        if let Some(active) = self.segments.last_mut() {
            active.len += n;
        }
        self.pending.clear();
        Ok(())
    }

    fn start_new_segment(&mut self) -> Result<(), StorageError> {
        let (segment, active) = create_segment(&self.fs, &self.dir, self.next_seq)?;
        self.active = active;
        self.segments.push(segment);
        self.stats.segments_created += 1;
        Ok(())
    }
}

/// Creates an empty segment file (open for appending) and makes its directory entry durable.
fn create_segment<F: Fs>(
    fs: &F,
    dir: &Path,
    first_seq: u64,
) -> Result<(Segment, F::File), StorageError> {
    let path = dir.join(segment_file_name(first_seq));
    let file = fs
        .create_new(&path)
        .map_err(|e| StorageError::io("creating segment", &path, e))?;
    sync_dir(fs, dir)?;
    let segment = Segment {
        first_seq,
        path,
        len: 0,
    };
    Ok((segment, file))
}
