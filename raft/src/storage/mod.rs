//! Durable storage for a Raft node: a generic segmented write-ahead log with group commit and
//! torn-tail recovery ([`wal`], [`record`]), atomically replaced and checksummed small files
//! ([`atomic_file`]), and a Raft-shaped layer that persists hard state, entries and snapshots with
//! one `fdatasync` per batch ([`raft_log`]). See `docs/storage.md` for formats and guarantees.

pub mod atomic_file;
pub mod batch_records;
pub mod dir;
pub mod error;
pub mod raft_log;
pub mod record;
pub mod tail_scan;
pub mod wal;

pub use atomic_file::{read_value, write_atomic, write_value};
pub use batch_records::{batch_records, BatchRecord};
pub use dir::DirLock;
pub use error::StorageError;
pub use raft_log::{LogEntry, RaftDisk, RaftState, SnapshotMeta};
pub use record::{
    recover_segment_bytes, RecordFault, RecoveredSegment, SegmentCorruption, SegmentError, TornTail,
};
pub use wal::{Recovered, Wal, WalOptions, WalStats};
