//! The gauntlet harness: everything the `gauntlet` command does, as a library so tests can drive it.
#![forbid(unsafe_code)]

pub mod check_cmd;
pub mod cli;
pub mod proxy;
pub mod sim;
pub mod sim_cmd;
