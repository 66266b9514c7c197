//! Typed errors of the storage layer: every failure names the file (and, for corruption, the
//! byte offset) so an operator can tell what broke and what to do next.

use std::io;
use std::path::PathBuf;

use super::record::SegmentError;

/// Everything that can go wrong while reading or writing durable state.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An operating-system call failed.
    #[error("I/O error while {action} {path}: {source}")]
    Io {
        /// What we were doing, e.g. "fdatasync of WAL segment".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Another process (or another `Wal` in this process) holds the directory lock.
    #[error(
        "directory {dir} is locked by another process; stop the other node or give this one its own data directory"
    )]
    Locked {
        /// The locked directory.
        dir: PathBuf,
    },

    /// A WAL segment holds data that is not a torn tail: refusing to start is the only safe answer.
    #[error(
        "corrupt WAL segment {file} at byte offset {offset}: {error}; refusing to start rather than drop data \
         (restore this node's data directory from a backup or wipe it and let it catch up from its peers)"
    )]
    CorruptSegment {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the first bad record inside `file`.
        offset: u64,
        /// What exactly is wrong there.
        error: SegmentError,
    },

    /// The set of segment files is inconsistent (e.g. a segment in the middle is missing).
    #[error("inconsistent WAL directory {dir}: {reason}; refusing to start rather than drop data")]
    InconsistentWal {
        /// The WAL directory.
        dir: PathBuf,
        /// What does not fit.
        reason: String,
    },

    /// A checksummed value file (hard state, snapshot) is damaged.
    #[error("corrupt value file {file}: {reason}")]
    CorruptValueFile {
        /// The value file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A record is larger than `WalOptions::max_record_bytes`; nothing was written.
    #[error(
        "record of {len} bytes exceeds the WAL limit of {max} bytes (WalOptions::max_record_bytes)"
    )]
    RecordTooLarge {
        /// Encoded payload length.
        len: usize,
        /// The configured limit.
        max: u32,
    },

    /// The record could not be serialized; nothing was written.
    #[error("could not encode a record with postcard: {0}")]
    Encode(#[source] postcard::Error),

    /// An earlier write or sync failed, so what is on disk is unknown; the WAL refuses further use.
    #[error(
        "the WAL is unusable after an earlier write/sync failure ({0}); reopen it to recover the durable prefix"
    )]
    Poisoned(String),

    /// The Raft layer was asked to store something that breaks the log's shape (a gap, a bad batch).
    #[error("invalid raft log write: {0}")]
    InvalidLogWrite(String),

    /// The data directory belongs to another node or another cluster (its identity file says so).
    #[error(
        "data directory {dir} belongs to node {found_node} of cluster {found_cluster}, not node {node} of cluster {cluster}; \
         start it with --id {found_node} --cluster-id {found_cluster}, or give this node its own data directory"
    )]
    WrongDataDir {
        /// The data directory.
        dir: PathBuf,
        /// Node id in its identity file.
        found_node: u64,
        /// Cluster id in its identity file.
        found_cluster: u64,
        /// Node id of the node that tried to open it.
        node: u64,
        /// Cluster id of the node that tried to open it.
        cluster: u64,
    },

    /// The data directory was written by a newer build, in a layout this one does not know.
    #[error("data directory {dir} has format version {found}; this build knows up to {known}: run a newer raft-kv")]
    NewerDataDir {
        /// The data directory.
        dir: PathBuf,
        /// The version in its identity file.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },

    /// The replayed Raft log does not fit together (gap, or a log that does not connect to the snapshot).
    #[error("inconsistent raft log in {dir}: {reason}; refusing to start rather than drop data")]
    InconsistentLog {
        /// The storage directory.
        dir: PathBuf,
        /// What does not fit.
        reason: String,
    },
}

impl StorageError {
    /// Shorthand for [`StorageError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
