//! The system that gauntlet was first built to break: a Raft replicated key/value store.
//!
//! `core` is the consensus state machine (no IO, no clock, no threads), `kv` is the replicated
//! key/value state machine with exactly-once client sessions. Storage, transport, the server
//! driver and the client library build on these two.
#![forbid(unsafe_code)]

pub mod client;
pub mod core;
pub mod coverage;
pub mod driver;
pub mod events;
pub mod fuzzing;
pub mod kv;
pub mod net;
pub mod server;
pub mod storage;
pub mod testing;
