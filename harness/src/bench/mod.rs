//! `gauntlet bench`: throughput and latency of a fresh cluster (raft-kv or etcd) under the same
//! closed-loop load, measured the same way for both.
//!
//! [`cluster`] starts and stops the cluster (peers connected directly, no fault proxy),
//! [`generator`] drives it (N clients, each issuing its next operation as soon as the previous one
//! completes), [`stats`] turns the latencies into figures and the runs into spreads, and
//! [`output`] prints them as text or JSON. The flags and the order of the measurements are in
//! [`crate::bench_cmd`].

pub mod cluster;
pub mod generator;
pub mod output;
pub mod stats;
