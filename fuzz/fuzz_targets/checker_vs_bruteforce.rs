//! Fuzz target: small histories built from the bytes; the search must agree with brute force.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checker::fuzzing::checker_vs_bruteforce(data));
