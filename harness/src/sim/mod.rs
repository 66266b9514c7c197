//! The deterministic simulator (`gauntlet sim`): the real replica driver (`raft::driver`) on
//! simulated time, disks and network, driven by a seeded fault schedule and seeded clients,
//! producing a native history checked by the checker, with Raft invariants asserted at every
//! step. Same seed and build, same bytes. See `docs/simulation.md`.
pub mod churn;
pub mod client;
pub mod disk;
pub mod events;
pub mod fuzzing;
pub mod history;
pub mod invariants;
pub mod network;
pub mod run;
pub mod schedule;
pub mod shrink;
pub mod spec;
pub mod swarm;
pub mod sweep;
pub mod workload;
pub mod world;

pub use run::{run, RunOptions, SimOutcome, SimVerdict};
pub use spec::{SimSpec, SimWorkload};
