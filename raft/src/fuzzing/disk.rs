//! The file-level half of `wal_recover`: `data` written as the only WAL segment of a data
//! directory, opened with [`RaftDisk::open`] (segment listing, torn-tail truncation on disk, and
//! the replay of entries, truncations and snapshots into a log), then opened again.
//!
//! It touches the file system (under `/dev/shm` when there is one), so it is slower than the pure
//! checks; `wal_recover` runs it only for inputs that end in [`DISK_MARKER`].

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::{Entry, HardState, Snapshot};
use crate::storage::dir::segment_file_name;
use crate::storage::{recover_segment_bytes, RaftDisk, RaftState, StorageError, WalOptions};

use super::wal::WalRecord;

/// Inputs ending in this byte are also replayed through a real data directory.
pub(super) const DISK_MARKER: u8 = b'D';

/// What the node's storage (the server binds `RaftDisk` to the core's types) recovers.
type State = RaftState<Entry, HardState, Snapshot>;

/// A fresh directory for one input, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Option<ScratchDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("gauntlet-fuzz-{}-{n}", std::process::id()));
        fs::create_dir_all(dir.join("wal")).ok()?;
        Some(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &ScratchDir) -> Result<State, StorageError> {
    let options = WalOptions::default();
    RaftDisk::<Entry, HardState, Snapshot>::open(&dir.0, options).map(|(_disk, state)| state)
}

/// Writes `segment` as the WAL of a data directory and checks what [`RaftDisk::open`] makes of it.
pub(super) fn disk_replay(segment: &[u8]) {
    let Some(dir) = ScratchDir::new() else {
        return;
    };
    if fs::write(dir.0.join("wal").join(segment_file_name(0)), segment).is_err() {
        return;
    }
    let pure =
        recover_segment_bytes::<WalRecord>(segment, true, WalOptions::default().max_record_bytes);
    let state = open(&dir);
    let state = match (&pure, state) {
        (Err(_), Err(StorageError::CorruptSegment { .. })) => return,
        (Err(corruption), other) => {
            panic!("the segment is corrupt ({corruption}) but RaftDisk::open gave {other:?}")
        }
        (Ok(_), Err(StorageError::InconsistentLog { .. })) => return,
        (Ok(_), Err(err)) => panic!("a recoverable segment failed to open: {err}"),
        (Ok(_), Ok(state)) => state,
    };
    let Ok(recovered) = pure else { return };
    let last_hard_state = recovered.records.iter().rev().find_map(|r| match r {
        WalRecord::HardState(h) => Some(*h),
        _ => None,
    });
    assert_eq!(
        state.hard_state, last_hard_state,
        "the replayed hard state is not the last one written"
    );
    assert_eq!(state.snapshot, None);
    for pair in state.entries.windows(2) {
        assert_eq!(
            pair[1].index,
            pair[0].index.wrapping_add(1),
            "the replayed log is not contiguous"
        );
    }
    match open(&dir) {
        Ok(again) => assert_eq!(again, state, "a second open recovered a different state"),
        Err(err) => panic!("a data directory that opened once does not open again: {err}"),
    }
}
