//! Runs the `sim_schedule` fuzz target body (`harness::sim::fuzzing::sim_schedule`) over the
//! checked-in corpus in `fuzz/corpus/sim_schedule/`, so `cargo test` exercises the target (and
//! every crash file turned into a regression input) without cargo-fuzz, through the shared
//! replayer `checker::fuzzing::corpus` (files listed in `fuzz/known-crashes.tsv` must still fail).
//!
//! `cargo test -p harness --test fuzz_corpus_sim -- --ignored write_seed_corpus` (re)writes the
//! `seed-*` files.

use std::fs;
use std::path::{Path, PathBuf};

use harness::sim::fuzzing::{sim_schedule, spec_from_bytes, verdict};
use harness::sim::SimVerdict;

const TARGET: &str = "sim_schedule";

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus_dir() -> PathBuf {
    repo_dir().join("fuzz/corpus").join(TARGET)
}

/// Every corpus file, sorted by name, with its bytes.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&file).unwrap())
        })
        .collect()
}

#[test]
fn sim_schedule_corpus_passes() {
    let ran =
        checker::fuzzing::corpus::replay_corpus(&repo_dir().join("fuzz"), TARGET, sim_schedule)
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(ran >= 8, "only {ran} {TARGET} corpus files");
}

/// The corpus is not vacuous: its runs have faults of several kinds, several cluster sizes,
/// and operations that complete.
#[test]
fn corpus_covers_faults_and_sizes() {
    let specs: Vec<_> = corpus().iter().map(|(_, b)| spec_from_bytes(b)).collect();
    let mut kinds: Vec<&str> = specs
        .iter()
        .flat_map(|s| s.schedule.iter().flatten().map(|step| step.fault.name()))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert!(kinds.len() >= 4, "corpus faults: {kinds:?}");
    let mut sizes: Vec<u64> = specs.iter().map(|s| s.nodes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    assert!(sizes.len() >= 2, "corpus cluster sizes: {sizes:?}");
    let outcome = harness::sim::run(&specs[0], harness::sim::RunOptions::default());
    assert!(
        outcome.ops.1 > 0,
        "the first corpus run completed no operation"
    );
}

/// A fuzz input replays: the same bytes give the same history and verdict (what makes a crash
/// file a regression test), also for the explicit, overlapping schedules only the fuzzer builds.
#[test]
fn corpus_runs_are_deterministic() {
    for (name, bytes) in corpus() {
        let spec = spec_from_bytes(&bytes);
        let first = harness::sim::run(&spec, harness::sim::RunOptions::default());
        let second = harness::sim::run(&spec, harness::sim::RunOptions::default());
        assert!(!first.history.is_empty(), "{name}: empty history");
        assert_eq!(first.history, second.history, "{name}: histories differ");
        assert_eq!(first.verdict, second.verdict, "{name}: verdicts differ");
        assert_eq!(first.stats, second.stats, "{name}: stats differ");
    }
}

/// Pseudo-random fuzz inputs (xorshift), as a stand-in for what the fuzzer feeds.
fn pseudo_random_inputs(count: u64, len: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
        .collect()
}

/// The target has teeth: the runs it builds catch planted bugs (a bug is caught when some
/// input's run, with the bug switched on, ends in a violation). A caught bug shows in about
/// 1-3 % of random inputs (the fuzzer steers towards the rarer runs); some bugs need longer
/// runs than a fuzz input gives, so at least two of all the planted bugs must show.
#[test]
fn fuzz_shaped_runs_catch_planted_bugs() {
    let inputs = pseudo_random_inputs(400, 256);
    let caught: Vec<(&str, usize)> = harness::sim::spec::bug_names()
        .into_iter()
        .map(|bug| {
            let violations = inputs
                .iter()
                .filter(|bytes| {
                    let mut spec = spec_from_bytes(bytes);
                    spec.bugs = vec![bug.into()];
                    matches!(verdict(&spec), SimVerdict::Violation { .. })
                })
                .count();
            (bug, violations)
        })
        .collect();
    let bugs_caught = caught.iter().filter(|(_, n)| *n > 0).count();
    assert!(
        bugs_caught >= 2,
        "planted bugs caught (bug, violating inputs of 400): {caught:?}"
    );
    // The same inputs on the correct build: no violation.
    for bytes in inputs.iter().take(20) {
        sim_schedule(bytes);
    }
}

/// Hand-made seeds: one per fault kind and a few cluster shapes, found by decoding byte
/// patterns and keeping those whose spec has the wanted property.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = vec![("empty".to_string(), Vec::new())];
    let wanted = ["partition", "kill", "pause", "delay", "loss"];
    for want in wanted {
        let found = (0u32..5_000).find_map(|i| {
            let bytes: Vec<u8> = (0..48u32)
                .map(|j| (i.wrapping_mul(2_654_435_761).wrapping_add(j * 97) >> 7) as u8)
                .collect();
            let spec = spec_from_bytes(&bytes);
            let steps = spec.schedule.clone().unwrap_or_default();
            (!steps.is_empty() && steps.iter().all(|s| s.fault.name() == want)).then_some(bytes)
        });
        if let Some(bytes) = found {
            seeds.push((want.to_string(), bytes));
        }
    }
    for nodes in [1u64, 5] {
        let found = (0u32..5_000).find_map(|i| {
            let bytes: Vec<u8> = (0..32u32)
                .map(|j| (i.wrapping_mul(40_503).wrapping_add(j * 13) >> 3) as u8)
                .collect();
            (spec_from_bytes(&bytes).nodes == nodes).then_some(bytes)
        });
        if let Some(bytes) = found {
            seeds.push((format!("{nodes}-nodes"), bytes));
        }
    }
    seeds
}

#[test]
#[ignore = "writes fuzz/corpus/sim_schedule/seed-*; run by hand after changing the input mapping"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}
