//! Churn: three proposers write unique values through random nodes while nodes crash, restart,
//! get cut off and come back. Every value a proposer saw committed must be in the final log.
//! The seeded sweep runs the same churn over 500 seeds (each failure prints its seed).

mod support;

use raft::core::{Index, NodeId};
use support::{Cluster, NetConfig, Options};

const ELECTION: u64 = 20;

struct ChurnPlan {
    seed: u64,
    voters: u64,
    ticks: u64,
    net: NetConfig,
    snapshot_every: Option<u64>,
    /// Per-tick probabilities of each fault.
    crash: f64,
    isolate: f64,
}

struct Outcome {
    seen_committed: usize,
}

fn churn(plan: ChurnPlan) -> Outcome {
    let mut opts = Options::new(plan.voters, plan.seed);
    opts.net = plan.net.clone();
    opts.snapshot_every = plan.snapshot_every;
    let mut c = Cluster::new(opts);
    let quorum = (plan.voters / 2 + 1) as usize;
    let mut pending: Vec<(Index, Vec<u8>)> = Vec::new();
    let mut seen: Vec<(Index, Vec<u8>)> = Vec::new();
    let mut next_value = 0u64;
    for _ in 0..plan.ticks {
        // Three proposers, each trying a random node (non-leaders refuse at once).
        for proposer in 0..3u64 {
            if !c.random_bool(0.4) {
                continue;
            }
            let alive = c.alive();
            if alive.is_empty() {
                continue;
            }
            let target: NodeId = alive[c.random_range(0..alive.len() as u64) as usize];
            let value = format!("p{proposer}-{next_value}").into_bytes();
            next_value += 1;
            if let Ok(index) = c.propose(target, value.clone()) {
                pending.push((index, value));
            }
        }
        c.tick();
        // A proposer learns the outcome once its index is committed.
        pending.retain(|(index, value)| match c.committed_entry(*index) {
            Some(e) => {
                if e.data == *value {
                    seen.push((*index, value.clone()));
                }
                false
            }
            None => true,
        });
        // Faults, keeping at least a quorum of nodes alive most of the time.
        let alive = c.alive();
        if c.random_bool(plan.crash) && alive.len() > quorum {
            let id = alive[c.random_range(0..alive.len() as u64) as usize];
            c.crash(id);
        }
        let dead: Vec<_> = c
            .ids
            .iter()
            .copied()
            .filter(|id| !c.is_alive(*id))
            .collect();
        if !dead.is_empty() && c.random_bool(plan.crash * 2.0) {
            let id = dead[c.random_range(0..dead.len() as u64) as usize];
            c.restart(id);
        }
        if c.random_bool(plan.isolate) {
            let pick = c.random_range(0..c.ids.len() as u64) as usize;
            c.isolate(c.ids[pick]);
        }
        if c.random_bool(plan.isolate * 2.0) {
            let pick = c.random_range(0..c.ids.len() as u64) as usize;
            c.reconnect(c.ids[pick]);
        }
    }
    // Heal everything and let the cluster settle on a final entry.
    c.net.config = NetConfig::reliable();
    c.heal();
    for id in c.ids.clone() {
        c.restart(id);
    }
    let last = c.one(b"final", plan.voters as usize, 40 * ELECTION);
    let leader = c.wait_leader(10 * ELECTION);
    // Every value seen committed is in the final log: in the checker's committed log, and in
    // the final leader's own log (or under its snapshot, whose hash chain the checker verified).
    let disk = &c.disks[&leader];
    for (index, value) in &seen {
        assert!(*index < last);
        assert_eq!(
            c.committed_entry(*index).map(|e| e.data),
            Some(value.clone()),
            "seed {}: value seen committed at {index} is not in the final log",
            plan.seed
        );
        if *index > disk.snapshot_index() {
            let entry = disk
                .entry(*index)
                .unwrap_or_else(|| panic!("seed {}: leader's log lacks {index}", plan.seed));
            assert_eq!(
                &entry.data, value,
                "seed {}: leader's log differs at {index}",
                plan.seed
            );
        }
    }
    for id in c.alive() {
        assert!(
            c.apps[&id].applied >= last,
            "seed {}: node {id} did not apply the final entry",
            plan.seed
        );
    }
    c.finish();
    Outcome {
        seen_committed: seen.len(),
    }
}

#[test]
fn reliable_churn_with_three_proposers() {
    let out = churn(ChurnPlan {
        seed: 31,
        voters: 5,
        ticks: 1500,
        net: NetConfig::reliable(),
        snapshot_every: None,
        crash: 0.02,
        isolate: 0.02,
    });
    assert!(
        out.seen_committed > 100,
        "only {} values committed",
        out.seen_committed
    );
}

#[test]
fn unreliable_churn_with_three_proposers() {
    let out = churn(ChurnPlan {
        seed: 32,
        voters: 5,
        ticks: 1500,
        net: NetConfig::unreliable(),
        snapshot_every: Some(25),
        crash: 0.02,
        isolate: 0.02,
    });
    assert!(
        out.seen_committed > 100,
        "only {} values committed",
        out.seen_committed
    );
}

#[test]
fn seeded_churn_500_seeds() {
    // CHURN_SEED=n reruns one seed of the sweep (add RAFT_TRACE=1 to see every Ready).
    let only: Option<u64> = std::env::var("CHURN_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let mut total = 0;
    for seed in 0..500u64 {
        if only.is_some_and(|o| o != 1000 + seed) {
            continue;
        }
        let net = match seed % 3 {
            0 => NetConfig::reliable(),
            1 => NetConfig::unreliable(),
            _ => NetConfig::long_reordering(),
        };
        let out = churn(ChurnPlan {
            seed: 1000 + seed,
            voters: if seed % 2 == 0 { 3 } else { 5 },
            ticks: 100,
            net,
            snapshot_every: (seed % 4 != 0).then_some(5 + seed % 11),
            crash: 0.03,
            isolate: 0.03,
        });
        total += out.seen_committed;
    }
    if only.is_none() {
        assert!(total > 500, "only {total} values committed over 500 seeds");
    }
}
