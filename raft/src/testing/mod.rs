//! Test support shared by every test world of the project (the scenario tests' in-memory
//! cluster, the deterministic simulator and the fuzz targets built on it). Not used by the
//! server: nothing here runs in production.
//!
//! [`invariants::Checker`] is the one Raft invariant checker: fed what each node reports
//! (its [`crate::core::Status`]), what its batches persist, what its disk holds durably and what
//! it applied, it asserts election safety, log matching, leader completeness, state machine
//! safety, monotonic commit and applied indexes, the durability of committed entries and the
//! membership invariants after every step.
//!
//! [`world::World`] is the one in-memory test world (real drivers on real storage code over a
//! simulated file system, a seeded network, virtual time), serving the simulator, the scenario
//! tests and the fuzz targets, with the checker run after every step.

pub mod invariants;
mod log_mirror;
mod membership;
pub mod world;

pub use invariants::{Checker, CheckerOptions, SnapshotWrite, Violation};
pub use log_mirror::{entry_digest, LogMirror};
