//! The sans-IO replica driver: binds `raft::core::Node` to the `raft::kv` state machine and to
//! the clients waiting for answers, and turns everything into [`DriverBatch`]es that the IO
//! layer carries out in order: persist (one fsync), then send, then reply. Once a batch's
//! writes are durable the IO layer says so with [`Driver::on_persisted`]`(batch.ack_when_durable)`:
//! this replica's own copy of an entry counts toward commit only from then on (a lone voter
//! commits nothing before it), so a crash can never lose an entry this replica counted.
//!
//! [`EventObserver`] turns what a driver does (its batches and its status) into the node's event
//! stream (`raft::events`).
//!
//! No tokio, no files, no clock: the real server (`raft::server`) and the deterministic
//! simulator drive this same code with real or simulated disks and networks.
//!
//! Guarantees the driver gives, given the IO layer keeps the batch order:
//! * a write is answered only after its entry is applied (`ack-before-commit` breaks this);
//! * a read is answered only after a read index confirmed by a quorum is applied
//!   (`stale-read` breaks this);
//! * a snapshot is taken every `snapshot_every` applied entries (`SnapshotToPersist::Taken`);
//! * a refusal (`NotLeader`, `Busy`) means the request was not proposed, or its proposal was
//!   replaced by another entry at the same index: it surely did not take effect through this
//!   request.

mod batch;
mod bugs;
mod config;
mod log_terms;
mod observer;
mod replica;
mod waiters;

#[cfg(test)]
mod observer_tests;
#[cfg(test)]
mod tests;

pub use batch::{DriverBatch, PersistBatch, SnapshotToPersist, Token};
pub use bugs::{UnknownBug, UnsafeBugs};
pub use config::DriverConfig;
pub use observer::EventObserver;
pub use replica::{Driver, DriverError};
