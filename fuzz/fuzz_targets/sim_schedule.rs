//! Fuzz target: bytes become a small simulated run (cluster, timing, network, fault schedule, seed).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sim::fuzzing::sim_schedule(data));
