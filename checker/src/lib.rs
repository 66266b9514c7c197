//! The judge of every gauntlet run: histories of client operations, models of the systems under
//! test, and a linearizability search that says whether a history could have come from a single
//! correct copy of the model.
#![forbid(unsafe_code)]

pub mod anomalies;
pub mod append;
pub mod check;
pub mod edn;
pub mod error;
pub mod formats;
pub mod fuzzing;
pub mod history;
pub mod linearizability;
pub mod model;
pub mod models;
pub mod report;
pub mod wellformed;

pub use check::{check_operations, CheckOptions, ModelKind};
pub use report::{CheckReport, Verdict};
