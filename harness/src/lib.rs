//! The gauntlet harness: everything the `gauntlet` command does, as a library so tests can drive it.
#![forbid(unsafe_code)]

pub mod artifacts;
pub mod bench;
pub mod bench_cmd;
pub mod check_cmd;
pub mod cli;
pub mod console_log;
pub mod db;
pub mod model_fit;
pub mod nemesis;
pub mod plots;
pub mod powerloss;
pub mod progress;
pub mod proxy;
pub mod raft_check;
pub mod recorder;
pub mod report;
pub mod report_cmd;
pub mod run;
pub mod shard;
pub mod sim;
pub mod sim_cmd;
pub mod sim_dirs;
pub mod summarize;
pub mod sweep_record;
pub mod test_cmd;
pub mod verdict;
pub mod workload;
