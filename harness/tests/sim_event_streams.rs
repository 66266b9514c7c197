//! The simulator writes the same node event streams as real nodes (`raft::events`, in virtual
//! time), and the checker a real run applies to them (`harness::raft_check`) agrees with the
//! simulator: the correct build's streams pass it, and a log-divergence bug that the simulator
//! catches shows in them as an acknowledged entry truncated.

use harness::raft_check::StreamChecker;
use harness::sim::{run, RunOptions, SimSpec};
use raft::events::NodeEvent;

fn spec(seed: u64, bugs: &[&str]) -> SimSpec {
    let mut spec = SimSpec::new(seed);
    spec.time_ms = 5_000;
    spec.final_reads_ms = 1_000;
    spec.swarm = true;
    spec.bugs = bugs.iter().map(|b| b.to_string()).collect();
    spec.for_seed(seed)
}

fn recording() -> RunOptions {
    RunOptions {
        record_events: true,
        ..RunOptions::default()
    }
}

#[test]
fn the_correct_builds_streams_pass_the_real_runs_raft_check() {
    let mut digests = 0;
    for seed in 0..12 {
        let outcome = run(&spec(seed, &[]), recording());
        assert_eq!(
            outcome.verdict.exit_code(),
            0,
            "seed {seed}: {}",
            outcome.verdict.summary()
        );
        let events = &outcome.events;
        assert!(
            events
                .iter()
                .any(|r| matches!(r.event, NodeEvent::Started { .. })),
            "seed {seed}: no node reported its start"
        );
        assert!(
            events.iter().any(|r| r.event.name() == "commit"),
            "seed {seed}: no commit in {} events",
            events.len()
        );
        digests += events
            .iter()
            .filter(|r| r.event.name() == "applied")
            .count();
        assert!(
            events.windows(2).all(|w| w[0].time_ns <= w[1].time_ns),
            "seed {seed}: the streams are not in virtual-time order"
        );
        let (violations, count) = StreamChecker::new(Some(0)).run(events);
        assert_eq!(count, 0, "seed {seed}: {violations:?}");
    }
    assert!(digests > 0, "no applied digest was compared in 12 seeds");
}

#[test]
fn a_sweep_does_not_pay_for_streams() {
    let outcome = run(&spec(0, &[]), RunOptions::default());
    assert!(outcome.events.is_empty());
}

#[test]
fn truncate_matching_shows_in_the_streams_as_an_acknowledged_entry_truncated() {
    let mut caught_by_world = Vec::new();
    for seed in 0..200 {
        let outcome = run(&spec(seed, &["truncate-matching"]), recording());
        if outcome.verdict.exit_code() != 1 {
            continue;
        }
        let (violations, _) = StreamChecker::new(Some(0)).run(&outcome.events);
        if violations.iter().any(|v| v.name == "acked-entry-truncated") {
            eprintln!("seed {seed}: {}", outcome.verdict.summary());
            return;
        }
        caught_by_world.push(seed);
    }
    panic!(
        "the stream check missed truncate-matching in every seed the simulator caught it: \
         {caught_by_world:?}"
    );
}
