//! The deterministic simulator (`gauntlet sim`): the library's test world
//! (`raft::testing::world`: the real replica driver on simulated time, disks and network, with
//! Raft invariants asserted at every step) driven by a seeded fault schedule and seeded clients,
//! producing a native history checked by the checker. Same seed and build, same bytes. See
//! `docs/simulation.md`.
pub mod churn;
pub mod client;
pub mod events;
pub mod fuzzing;
pub mod history;
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
