//! Bodies of the cargo-fuzz targets in `fuzz/` (one `pub fn` per target), kept in the library so
//! that `cargo test` can run the same code over the checked-in seed corpus (`raft/tests/fuzz_corpus.rs`).
//!
//! Each function feeds arbitrary bytes to every decoder of its area and asserts the properties
//! that must hold for any input: no panic, decode-then-encode round trips, and recovered data
//! that is a prefix of what was written. A broken property is reported by panicking, which is
//! what a fuzzer needs; these functions are test code and are never called by a node.
//!
//! * [`wire_decode`]: client and peer frames, log-entry commands, the handshake, KV snapshots.
//! * [`wal_recover`]: arbitrary bytes as WAL segments and value files, plus valid segments
//!   damaged the way a crash or a bad disk damages them; inputs ending in `D` are also opened as
//!   a real data directory with `storage::RaftDisk`.

mod disk;
mod round_trip;
pub mod seeds;
mod wal;
mod wire;

pub use wal::wal_recover;
pub use wire::wire_decode;
