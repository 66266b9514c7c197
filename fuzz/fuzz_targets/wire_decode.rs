//! Fuzz target: peer and client frames, log-entry commands, the handshake and KV snapshots.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raft::fuzzing::wire_decode(data));
