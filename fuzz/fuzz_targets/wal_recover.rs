//! Fuzz target: arbitrary bytes as WAL segments and value files, and damaged valid segments.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raft::fuzzing::wal_recover(data));
