//! Shared test support for the raft core scenario tests: a seeded deterministic cluster of
//! `raft::core::Node`s on a faulty in-memory network, with simulated disks, a hashing app and an
//! invariant checker run after every step. Each test file includes it with `mod support;`.
#![allow(dead_code)]

pub mod app;
pub mod churn;
pub mod cluster;
pub mod disk;
pub mod figure8;
pub mod messages;
pub mod network;

#[allow(unused_imports)]
pub use cluster::{Cluster, Options};
#[allow(unused_imports)]
pub use network::NetConfig;
