//! The post-run Raft check: every node's event stream (`raft::events`, written by `raft-kv serve
//! --events`) is read back from the run directory and replayed, in time order, through
//! [`check::StreamChecker`], which names what broke in kebab-case (`docs/harness.md`):
//! `two-leaders`, `state-machine-safety`, `acked-entry-truncated`, `commit-regressed`, ...
//! A violation fails the run as an invalid history does (exit 1).

pub mod check;
pub mod load;

pub use check::{StreamChecker, StreamViolation};
pub use load::{
    check_streams, load_streams, stream_file, NodeStream, RaftCheckReport, StreamStats,
};

#[cfg(test)]
mod tests;
