//! The simulator's teeth for membership churn: the two planted bugs that only churn exposes,
//! `promote-unready` (the leader promotes a learner without the catch-up check and counts the
//! new voter as holding its whole log) and `two-changes-in-flight` (the leader accepts a
//! membership change while another is in flight), are caught in most seeds of a world with
//! membership churn among partitions and kills, and in none of the same world without churn.
//! The long sweeps and their figures are in docs/simulation.md; CI keeps this small.

use harness::sim::schedule::NemesisKind;
use harness::sim::sweep::sweep;
use harness::sim::{RunOptions, SimSpec};

/// Three nodes (so a replacement passes through two voters), 20 simulated seconds, a fault
/// about every half second: `gauntlet sim --nodes 3 --no-swarm --time 20 --nemesis-interval
/// 0.5 --nemesis partition,kill[,membership]`.
fn churn_world(bug: &str, membership: bool) -> SimSpec {
    let mut spec = SimSpec::new(0);
    spec.nodes = 3;
    spec.time_ms = 20_000;
    spec.fault_interval_ms = 500;
    spec.nemesis = vec![NemesisKind::Partition, NemesisKind::Kill];
    if membership {
        spec.nemesis.push(NemesisKind::Membership);
    }
    spec.bugs = vec![bug.to_string()];
    spec
}

/// Runs seeds `0..seeds` and returns the seeds that broke an invariant or linearizability, with
/// the violation's kind.
fn violations(spec: &SimSpec, seeds: u64) -> Vec<(u64, String)> {
    let result = sweep(spec, 0..seeds, RunOptions::default(), false, &|_| {});
    assert_eq!(result.runs, seeds);
    result
        .failures
        .iter()
        .filter(|f| f.verdict.exit_code() == 1)
        .map(|f| {
            (
                f.spec.seed,
                f.verdict.kind().unwrap_or("not-linearizable").to_string(),
            )
        })
        .collect()
}

/// Caught in at least half of 12 seeds with churn, every time by the invariant named, and in
/// none of 6 seeds of the same world without churn.
fn caught_only_with_churn(bug: &str, kind: &str) {
    let with = violations(&churn_world(bug, true), 12);
    assert!(
        with.len() >= 6,
        "{bug} caught in only {} of 12 churn seeds: {with:?}",
        with.len()
    );
    for (seed, found) in &with {
        assert_eq!(found, kind, "{bug}, seed {seed}");
    }
    let without = violations(&churn_world(bug, false), 6);
    assert!(without.is_empty(), "{bug} without churn: {without:?}");
}

#[test]
fn promote_unready_is_caught_with_membership_churn_only() {
    // A majority that counts an empty voter commits an entry a minority holds.
    caught_only_with_churn("promote-unready", "commit-without-quorum");
}

#[test]
fn two_changes_in_flight_is_caught_with_membership_churn_only() {
    // The leader's log holds two membership changes above every commit index.
    caught_only_with_churn("two-changes-in-flight", "conf-changes-in-flight");
}

#[test]
fn the_correct_build_refuses_both_in_the_same_world() {
    let mut spec = churn_world("", true);
    spec.bugs.clear();
    let found = violations(&spec, 8);
    assert!(found.is_empty(), "{found:?}");
}
