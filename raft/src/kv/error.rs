//! The typed errors of `raft::kv`: bad bytes in a log entry, a snapshot or a protocol frame, and
//! misuse of the state machine by its driver.

use thiserror::Error;

/// Everything that can go wrong in `raft::kv`. Each variant names what was expected.
#[derive(Debug, Error)]
pub enum KvError {
    /// Bytes that should have held a postcard-encoded `what` did not.
    #[error("could not decode {what} (expected postcard-encoded {what}): {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: postcard::Error,
    },
    /// A snapshot written by another (unknown) snapshot format version.
    #[error("KV snapshot format version {found} is not supported (expected version {expected})")]
    SnapshotVersion { found: u32, expected: u32 },
    /// A snapshot that decoded but breaks an invariant (for example unsorted or duplicate keys).
    #[error("KV snapshot is invalid: {0}")]
    SnapshotInvalid(String),
    /// The driver applied an entry whose index is not above the last applied index.
    #[error("entry index {index} is not above the last applied index {applied} (entries must be applied once, in order)")]
    IndexNotIncreasing { index: u64, applied: u64 },
}
