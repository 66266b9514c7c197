//! The simulator has teeth: a correct build passes a small sweep, and planted bugs are caught
//! within a few seeds (the long sweeps are in docs/simulation.md; CI keeps this small).

use harness::sim::sweep::sweep;
use harness::sim::{RunOptions, SimSpec};

fn template(bugs: &[&str]) -> SimSpec {
    let mut spec = SimSpec::new(0);
    spec.time_ms = 5_000;
    spec.final_reads_ms = 1_000;
    spec.bugs = bugs.iter().map(|b| b.to_string()).collect();
    spec
}

fn first_failure(bugs: &[&str], seeds: u64) -> Option<(u64, String)> {
    let result = sweep(
        &template(bugs),
        0..seeds,
        RunOptions::default(),
        true,
        &|_| {},
    );
    result
        .failures
        .first()
        .map(|f| (f.spec.seed, f.verdict.summary()))
}

#[test]
fn the_correct_build_passes_a_small_sweep() {
    let result = sweep(
        &template(&[]),
        100..124,
        RunOptions::default(),
        false,
        &|_| {},
    );
    assert_eq!(result.runs, 24);
    let failures: Vec<String> = result
        .failures
        .iter()
        .map(|f| format!("seed {}: {}", f.spec.seed, f.verdict.summary()))
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn no_dedup_is_caught() {
    let found = first_failure(&["no-dedup"], 20);
    assert!(found.is_some(), "no-dedup not caught in 20 seeds");
}

#[test]
fn ack_before_commit_is_caught() {
    let found = first_failure(&["ack-before-commit"], 20);
    assert!(found.is_some(), "ack-before-commit not caught in 20 seeds");
}
