//! The nemesis: faults as a seeded [`schedule::Schedule`] of data, and the [`runner`] that applies
//! a schedule to a live cluster (processes through the [`Db`](crate::db::Db), links through the
//! fault proxy), logging each fault's start and end into the history with what it hit
//! ([`resolved::Resolved`]). Schedule node numbers name the members of the moment
//! ([`members`]), so faults strike nodes that membership churn added.

pub mod disk;
pub mod members;
pub mod membership;
pub mod resolved;
pub mod runner;
pub mod schedule;

pub use resolved::Resolved;
pub use runner::{Cluster, NemesisRunner};
pub use schedule::{Fault, Lane, NemesisKind, Schedule, ScheduleOptions, Step};
