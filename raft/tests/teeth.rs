//! The checker has teeth: with a protocol bug planted in the core, the same scenarios that pass
//! on the correct core must end in a reported invariant violation (`WorldError::Invariant`) of
//! the library world. This guards against a checker that silently checks nothing.

mod churn_plan;
mod figure8;

use churn_plan::{churn, long_reordering, ChurnPlan};
use raft::testing::world::WorldError;

#[test]
fn checker_catches_commit_by_counting_old_term_entries() {
    // The scripted Figure 8 passes on the correct core (see persistence.rs); with the bug the
    // checker must stop it.
    match figure8::figure8_script(26, true) {
        Err(WorldError::Invariant(violation)) => eprintln!("commit_old_term caught: {violation}"),
        Err(other) => panic!("stopped, but not by the checker: {other}"),
        Ok(_) => panic!("planted commit_old_term bug went unnoticed in Figure 8"),
    }
}

#[test]
fn checker_catches_truncating_matching_entries() {
    let found = (0..200).find_map(|seed| {
        let plan = ChurnPlan {
            seed: 5000 + seed,
            voters: 5,
            ticks: 300,
            net: long_reordering(),
            snapshot_every: 0,
            crash: 0.08,
            isolate: 0.05,
            tune: |_| {},
            commit_old_term: false,
            truncate_matching: true,
        };
        match churn(plan) {
            Err(WorldError::Invariant(violation)) => Some((5000 + seed, violation)),
            _ => None,
        }
    });
    let (seed, violation) =
        found.expect("planted truncate_matching bug went unnoticed over 200 seeds");
    eprintln!("truncate_matching caught at seed {seed}: {violation}");
}

#[test]
fn checker_catches_a_kv_snapshot_without_sessions() {
    use raft::testing::world::{NetworkSpec, ScriptedWorld, WorldConfig};
    // A follower that catches up through a snapshot which left the session table out holds
    // another KV state than its peers at the same applied index.
    let run = || -> Result<(), WorldError> {
        let mut config = WorldConfig::new(3, 46);
        config.network = NetworkSpec::reliable();
        config.snapshot_every = 5;
        config.driver_bugs.snapshot_drops_sessions = true;
        let mut w = ScriptedWorld::new(config)?;
        w.replicate("first", "x", 3, 10_000_000)?;
        let leader = w.wait_leader(5_000_000)?;
        let lagging = w.running().into_iter().find(|id| *id != leader).unwrap();
        w.isolate(lagging);
        for i in 0..30 {
            w.replicate(&format!("k{i}"), "x", 2, 10_000_000)?;
        }
        w.reconnect(lagging);
        w.run_for(10_000_000)?;
        w.replicate("after", "x", 3, 10_000_000)?;
        Ok(())
    };
    match run() {
        Err(WorldError::Invariant(violation)) => {
            assert!(
                violation.to_string().contains("state-machine-safety"),
                "{violation}"
            );
            eprintln!("snapshot_drops_sessions caught: {violation}");
        }
        Err(other) => panic!("stopped, but not by the checker: {other}"),
        Ok(()) => panic!("planted snapshot_drops_sessions bug went unnoticed"),
    }
}
