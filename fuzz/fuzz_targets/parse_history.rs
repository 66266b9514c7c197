//! Fuzz target: every history format, pairing, a bounded check, and the native round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checker::fuzzing::parse_history(data));
