//! Fuzz target: `gauntlet check`'s fast path (bytes straight into operations) against the general
//! path (events, then pairing): the same operations whenever the fast path reads a history.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checker::fuzzing::paired_history(data));
