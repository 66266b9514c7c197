//! The simulator has teeth: a correct build passes a small sweep, and planted bugs are caught
//! within a few seeds, commit-old-term (Raft's Figure 8) by leader churn, the snapshot bugs by the
//! default (swarm) world with compaction drawn per seed (the long sweeps are in
//! docs/simulation.md; CI keeps this small).

use harness::sim::churn::ChurnSpec;
use harness::sim::shrink::shrink;
use harness::sim::sweep::sweep;
use harness::sim::{run, RunOptions, SimSpec};

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

/// The world `gauntlet sim` runs by default: swarm knobs (compaction included) drawn per seed.
fn default_world(bugs: &[&str]) -> SimSpec {
    let mut spec = SimSpec::new(0);
    spec.bugs = bugs.iter().map(|b| b.to_string()).collect();
    spec.swarm = true;
    spec
}

/// The first violation of a default sweep over `0..seeds`, which must be of kind `kind`.
fn caught_in_default_world(bug: &str, seeds: u64, kind: &str) {
    let result = sweep(
        &default_world(&[bug]),
        0..seeds,
        RunOptions::default(),
        true,
        &|_| {},
    );
    let violation = result.failures.iter().find(|f| f.verdict.exit_code() == 1);
    let Some(found) = violation else {
        panic!("{bug} not caught in {} default seeds", result.runs);
    };
    assert_eq!(found.verdict.kind(), Some(kind), "seed {}", found.spec.seed);
    assert!(found.spec.snapshot_every > 0, "found with compaction on");
}

#[test]
fn snapshot_keeps_suffix_is_caught_in_the_default_world() {
    // A follower keeps (and commits) a log that conflicts with the snapshot it was sent.
    caught_in_default_world("snapshot-keeps-suffix", 40, "committed-mismatch");
}

#[test]
fn snapshot_drops_sessions_is_caught_in_the_default_world() {
    // A replica restored from a snapshot without sessions applies a retried write again, or
    // refuses a write the others applied.
    caught_in_default_world("snapshot-drops-sessions", 10, "not-linearizable");
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

/// Leader churn, every leader struck (cut off) right after its election, its first commit or a
/// short tenure, and one entry per AppendEntries with one in flight: Figure 8 shapes.
fn figure8_hunt(bugs: &[&str]) -> SimSpec {
    let mut spec = template(bugs);
    spec.nemesis = Vec::new();
    spec.max_msg_bytes = 1;
    spec.max_inflight_msgs = 1;
    spec.churn = Some(ChurnSpec {
        chance: 1.0,
        commit_chance: 1.0,
        tenure_chance: 1.0,
        isolate_chance: 1.0,
        ..ChurnSpec::default()
    });
    spec
}

#[test]
fn commit_old_term_is_caught_by_leader_churn() {
    let result = sweep(
        &figure8_hunt(&["commit-old-term"]),
        0..100,
        RunOptions::default(),
        true,
        &|_| {},
    );
    let violation = result.failures.iter().find(|f| f.verdict.exit_code() == 1);
    let Some(found) = violation else {
        panic!("commit-old-term not caught in {} seeds", result.runs);
    };
    // The new leader lacks an entry committed in an earlier term before it commits over it.
    assert_eq!(
        found.verdict.kind(),
        Some("leader-completeness"),
        "seed {}",
        found.spec.seed
    );
    assert!(!found.strikes.is_empty(), "leader churn struck");
    // The failure shrinks to a run that still breaks the same way and replays byte for byte.
    let shrunk = shrink(found, RunOptions::default(), 150);
    let small = &shrunk.outcome;
    assert_eq!(small.verdict.kind(), Some("leader-completeness"));
    assert!(small.steps.is_empty(), "no scheduled faults in this mode");
    assert!(small.strikes.len() <= found.strikes.len());
    assert!(small.spec.clients <= found.spec.clients);
    assert!(small.spec.time_ms <= found.spec.time_ms);
    let replayed = run(&small.spec, RunOptions::default());
    assert_eq!(replayed.history, small.history);
}

#[test]
fn leader_churn_keeps_the_correct_build_clean() {
    let result = sweep(
        &figure8_hunt(&[]),
        0..50,
        RunOptions::default(),
        false,
        &|_| {},
    );
    let violations = result.definite_failures();
    assert!(violations.is_empty(), "{violations:?}");
}

#[test]
fn swarm_worlds_of_the_correct_build_stay_clean_and_replay_exactly() {
    let mut swarm = template(&[]);
    swarm.swarm = true;
    let result = sweep(&swarm, 0..24, RunOptions::default(), false, &|_| {});
    let violations = result.definite_failures();
    assert!(violations.is_empty(), "{violations:?}");
    // A drawn world saved as JSON runs again byte for byte.
    let spec = swarm.for_seed(5);
    assert!(spec.swarm);
    let first = run(&spec, RunOptions::default());
    let saved: SimSpec =
        serde_json::from_str(&serde_json::to_string(&spec).expect("spec serializes"))
            .expect("spec parses");
    assert_eq!(saved, spec);
    assert_eq!(run(&saved, RunOptions::default()).history, first.history);
}
