//! Seeded churn on the library's test world, shared by `churn.rs` and `teeth.rs`: three writers
//! send KV writes to random nodes, a reader sends reads, leadership is handed over and
//! elections forced now and then, nodes crash (sometimes between persisting and sending),
//! restart, are cut off and reconnected, links are cut one way; the invariant checker watches
//! every step. At the end the world heals, and every write that was acknowledged must be on
//! every node.
#![allow(dead_code)] // each test file uses a part

use raft::core::NodeId;
use raft::driver::DriverConfig;
use raft::kv::{AdminRequest, ClientRequest, ClientResponse, Op};
use raft::testing::world::{NetworkSpec, ScriptedWorld, Ticket, WorldConfig, WorldError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TICK: u64 = 50_000;
const ELECTION: u64 = 1_000_000;

pub struct ChurnPlan {
    pub seed: u64,
    pub voters: u64,
    /// Rounds of one tick each.
    pub ticks: u64,
    pub net: NetworkSpec,
    /// Snapshot every this many applied entries (0 = the driver's default).
    pub snapshot_every: u64,
    /// Chance per round of a crash (restarts come at twice this rate).
    pub crash: f64,
    /// Chance per round of cutting a node off (reconnects come at twice this rate).
    pub isolate: f64,
    pub tune: fn(&mut DriverConfig),
    pub commit_old_term: bool,
    pub truncate_matching: bool,
}

pub struct Outcome {
    /// Writes acknowledged (and found on every node at the end).
    pub acknowledged: usize,
    /// Reads answered with a value.
    pub reads_served: usize,
    /// What identifies the run: messages sent and virtual time at the end.
    pub fingerprint: (u64, u64),
}

fn pick(rng: &mut ChaCha8Rng, ids: &[NodeId]) -> Option<NodeId> {
    (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())])
}

pub fn churn(plan: ChurnPlan) -> Result<Outcome, WorldError> {
    let mut config = WorldConfig::new(plan.voters, plan.seed);
    config.network = plan.net.clone();
    if plan.snapshot_every > 0 {
        config.snapshot_every = plan.snapshot_every;
    }
    config.tune = plan.tune;
    config.core_bugs.commit_old_term = plan.commit_old_term;
    config.core_bugs.truncate_matching = plan.truncate_matching;
    let mut w = ScriptedWorld::new(config)?;
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed ^ 0xc4a1);
    let all: Vec<NodeId> = (1..=plan.voters).collect();
    let quorum = (plan.voters / 2 + 1) as usize;
    let mut writes: Vec<(Ticket, String)> = Vec::new();
    let mut reads: Vec<Ticket> = Vec::new();
    let mut next_value = 0u64;
    for _ in 0..plan.ticks {
        for writer in 0..3 {
            if !rng.random_bool(0.4) {
                continue;
            }
            if let Some(target) = pick(&mut rng, &w.running()) {
                let key = format!("w{writer}-{next_value}");
                next_value += 1;
                writes.push((w.submit_put(target, &key, "x"), key));
            }
        }
        if rng.random_bool(0.2) {
            if let Some(target) = pick(&mut rng, &w.running()) {
                let request = w.kv_request(Op::Get { key: "w0-0".into() });
                reads.push(w.submit(target, request));
            }
        }
        if rng.random_bool(0.01) {
            if let (Some(leader), Some(to)) = (w.leader(), pick(&mut rng, &all)) {
                w.submit(
                    leader,
                    ClientRequest::Admin(AdminRequest::TransferLeadership { to }),
                );
            }
        }
        if rng.random_bool(0.01) {
            if let Some(id) = pick(&mut rng, &w.running()) {
                w.campaign(id)?;
            }
        }
        w.run_for(TICK)?;
        let running = w.running();
        if rng.random_bool(plan.crash) && running.len() > quorum {
            if let Some(id) = pick(&mut rng, &running) {
                w.crash(id);
            }
        }
        let running = w.running();
        if rng.random_bool(plan.crash / 2.0) && running.len() > quorum {
            if let Some(id) = pick(&mut rng, &running) {
                w.crash_after_next_sync(id);
            }
        }
        let down: Vec<NodeId> = all
            .iter()
            .copied()
            .filter(|id| !w.world().is_running(*id))
            .collect();
        if !down.is_empty() && rng.random_bool(plan.crash * 2.0) {
            if let Some(id) = pick(&mut rng, &down) {
                w.restart(id)?;
            }
        }
        if rng.random_bool(plan.isolate) {
            if let Some(id) = pick(&mut rng, &all) {
                w.isolate(id);
            }
        }
        if rng.random_bool(plan.isolate / 2.0) {
            let (a, b) = (pick(&mut rng, &all), pick(&mut rng, &all));
            if let (Some(from), Some(to)) = (a, b) {
                if from != to {
                    w.world_mut().network_mut().cut_links(&[(from, to)]);
                }
            }
        }
        if rng.random_bool(plan.isolate * 2.0) {
            if let Some(id) = pick(&mut rng, &all) {
                w.reconnect(id);
            }
        }
    }
    w.world_mut()
        .network_mut()
        .set_spec(NetworkSpec::reliable());
    w.heal();
    w.restart_all()?;
    w.replicate("final", "x", plan.voters as usize, 40 * ELECTION)?;
    let mut acknowledged = 0;
    for (ticket, key) in &writes {
        if matches!(w.reply(*ticket), Some(ClientResponse::Ok(_))) {
            acknowledged += 1;
            assert_eq!(
                w.holding(key, "x"),
                plan.voters as usize,
                "seed {}: acknowledged write {key} is not on every node",
                plan.seed
            );
        }
    }
    let reads_served = reads
        .iter()
        .filter(|t| matches!(w.reply(**t), Some(ClientResponse::Ok(_))))
        .count();
    Ok(Outcome {
        acknowledged,
        reads_served,
        fingerprint: (w.messages_sent(), w.now()),
    })
}

/// A network that reorders a lot: a fifth of the messages take up to two election timeouts.
pub fn long_reordering() -> NetworkSpec {
    NetworkSpec {
        slow_chance: 0.2,
        slow_delay_us: 2 * ELECTION,
        ..NetworkSpec::default()
    }
}

/// The default network with more loss and duplication.
pub fn unreliable() -> NetworkSpec {
    NetworkSpec {
        loss_chance: 0.1,
        duplicate_chance: 0.1,
        ..NetworkSpec::default()
    }
}
