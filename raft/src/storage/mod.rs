//! Durable storage for a Raft node: a generic segmented write-ahead log with group commit and
//! torn-tail recovery ([`wal`], [`record`]), atomically replaced and checksummed small files
//! ([`atomic_file`]), the data directory's identity file ([`identity`]), and a Raft-shaped layer
//! that persists hard state, entries and snapshots with one `fdatasync` per batch ([`raft_log`]).
//! All of it runs over a file-system trait ([`fs`]): the real one ([`StdFs`]), the node's real one
//! that can skip its syncs for the `skip-fsync` planted bug ([`NodeFs`]), or an in-memory one with
//! crash semantics for the simulator ([`SimFs`]). See `docs/storage.md` for formats and
//! guarantees.

pub mod atomic_file;
pub mod dir;
pub mod error;
pub mod fs;
pub mod identity;
pub mod node_fs;
pub mod raft_log;
pub mod record;
pub mod sim_fs;
pub mod tail_scan;
pub mod wal;

pub use atomic_file::{read_value, read_value_in, write_atomic, write_value, write_value_in};
pub use dir::DirLock;
pub use error::StorageError;
pub use fs::{Fs, FsFile, StdFs};
pub use identity::{claim_data_dir, Claim, DataDirIdentity};
pub use node_fs::{NodeFile, NodeFs};
pub use raft_log::{LogEntry, RaftDisk, RaftState, SnapshotMeta};
pub use record::{
    recover_segment_bytes, RecordFault, RecoveredSegment, SegmentCorruption, SegmentError, TornTail,
};
pub use sim_fs::SimFs;
pub use wal::{Recovered, Wal, WalOptions, WalStats};
