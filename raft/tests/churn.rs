//! Churn scenarios on the library's test world (`churn_plan/`): long runs with three writers
//! under crashes and partitions on an in-order and on an unreliable network (with compaction),
//! a sweep of seeds over network models, cluster sizes, compaction intervals and core options,
//! and the determinism of a run.

mod churn_plan;

use churn_plan::{churn, long_reordering, unreliable, ChurnPlan};
use raft::testing::world::{NetworkSpec, WorldError};

fn plan(seed: u64) -> ChurnPlan {
    ChurnPlan {
        seed,
        voters: 5,
        ticks: 1500,
        net: NetworkSpec::reliable(),
        snapshot_every: 0,
        crash: 0.02,
        isolate: 0.02,
        tune: |_| {},
        commit_old_term: false,
        truncate_matching: false,
    }
}

#[test]
fn reliable_churn_with_three_writers() -> Result<(), WorldError> {
    let out = churn(plan(31))?;
    assert!(
        out.acknowledged > 100,
        "only {} writes acknowledged",
        out.acknowledged
    );
    Ok(())
}

#[test]
fn unreliable_churn_with_three_writers_and_compaction() -> Result<(), WorldError> {
    let out = churn(ChurnPlan {
        net: unreliable(),
        snapshot_every: 25,
        ..plan(32)
    })?;
    assert!(
        out.acknowledged > 100,
        "only {} writes acknowledged",
        out.acknowledged
    );
    Ok(())
}

#[test]
fn seeded_churn_100_seeds() -> Result<(), WorldError> {
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    let only = env("CHURN_SEED");
    let seeds = env("CHURN_SEEDS").unwrap_or(100);
    let ticks = env("CHURN_TICKS").unwrap_or(300);
    let mut total = 0;
    let mut reads = 0;
    for seed in 0..seeds {
        if only.is_some_and(|o| o != 1000 + seed) {
            continue;
        }
        let net = match seed % 3 {
            0 => NetworkSpec::reliable(),
            1 => unreliable(),
            _ => long_reordering(),
        };
        let out = churn(ChurnPlan {
            voters: if seed % 2 == 0 { 3 } else { 5 },
            ticks,
            net,
            snapshot_every: if seed % 4 != 0 { 5 + seed % 11 } else { 0 },
            crash: 0.03,
            isolate: 0.03,
            tune: match seed % 7 {
                5 => |cfg| cfg.node.pre_vote = false,
                6 => |cfg| cfg.node.check_quorum = false,
                _ => |cfg| cfg.node.max_inflight_msgs = 8,
            },
            ..plan(1000 + seed)
        })?;
        total += out.acknowledged;
        reads += out.reads_served;
    }
    eprintln!("seeded churn: {total} writes acknowledged, {reads} reads served");
    if only.is_none() {
        assert!(
            total > seeds as usize,
            "only {total} writes acknowledged over {seeds} seeds"
        );
        assert!(
            reads > seeds as usize,
            "only {reads} reads served over {seeds} seeds"
        );
    }
    Ok(())
}

#[test]
fn a_run_is_a_pure_function_of_its_seed() -> Result<(), WorldError> {
    let plan = |seed| ChurnPlan {
        ticks: 300,
        net: long_reordering(),
        snapshot_every: 5,
        crash: 0.03,
        isolate: 0.03,
        ..plan(seed)
    };
    let a = churn(plan(77))?;
    let b = churn(plan(77))?;
    let other = churn(plan(78))?;
    assert_eq!(a.fingerprint, b.fingerprint, "same seed, different runs");
    assert_ne!(
        a.fingerprint, other.fingerprint,
        "different seeds, identical runs"
    );
    Ok(())
}
