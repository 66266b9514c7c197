//! The churn driver shared by the churn and teeth tests: three proposers write unique values
//! through random nodes while nodes crash, restart, get cut off and come back; at the end the
//! network heals and every value a proposer saw committed must be in the final log. A reader asks
//! random nodes for read indexes meanwhile (each read state is checked by the cluster).

use raft::core::{Config, Index, NodeId};

use super::{Cluster, NetConfig, Options};

const ELECTION: u64 = 20;

pub struct ChurnPlan {
    pub seed: u64,
    pub voters: u64,
    pub ticks: u64,
    pub net: NetConfig,
    pub snapshot_every: Option<u64>,
    /// Per-tick probabilities of each fault.
    pub crash: f64,
    pub isolate: f64,
    /// Adjust each node's config (e.g. plant a bug).
    pub configure: fn(&mut Config),
}

pub struct Outcome {
    pub seen_committed: usize,
    pub reads_served: usize,
    /// Fingerprint of the run: hash of the committed log, messages sent, final tick.
    pub fingerprint: (u64, u64, u64),
}

pub fn churn(plan: ChurnPlan) -> Outcome {
    let mut opts = Options::new(plan.voters, plan.seed);
    opts.net = plan.net.clone();
    opts.snapshot_every = plan.snapshot_every;
    opts.configure = plan.configure;
    let mut c = Cluster::new(opts);
    let quorum = (plan.voters / 2 + 1) as usize;
    let mut pending: Vec<(Index, Vec<u8>)> = Vec::new();
    let mut seen: Vec<(Index, Vec<u8>)> = Vec::new();
    let mut next_value = 0u64;
    let mut next_read = 0u64;
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
        // A reader asks a random node for a read index; the cluster checks every read state
        // against what was committed when the read was asked.
        if c.random_bool(0.2) {
            let alive = c.alive();
            if !alive.is_empty() {
                let target: NodeId = alive[c.random_range(0..alive.len() as u64) as usize];
                next_read += 1;
                let _ = c.read_index(target, next_read);
            }
        }
        // Now and then the leader hands over to a random node, or a random node campaigns.
        if c.random_bool(0.01) {
            if let Some(leader) = c.leader() {
                let pick = c.random_range(0..c.ids.len() as u64) as usize;
                let target = c.ids[pick];
                let _ = c.with_node(leader, |n| n.transfer_leadership(target));
            }
        }
        if c.random_bool(0.01) {
            let alive = c.alive();
            if !alive.is_empty() {
                let id = alive[c.random_range(0..alive.len() as u64) as usize];
                c.campaign(id);
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
        let alive = c.alive();
        if c.random_bool(plan.crash / 2.0) && alive.len() > quorum {
            let id = alive[c.random_range(0..alive.len() as u64) as usize];
            c.crash_before_next_send(id);
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
        if c.random_bool(plan.isolate / 2.0) {
            let n = c.ids.len() as u64;
            let (a, b) = (c.random_range(0..n) as usize, c.random_range(0..n) as usize);
            let (from, to) = (c.ids[a], c.ids[b]);
            if from != to {
                c.net.cut_one_way(from, to);
            }
        }
        if c.random_bool(plan.isolate * 2.0) {
            let pick = c.random_range(0..c.ids.len() as u64) as usize;
            c.reconnect(c.ids[pick]);
        }
    }
    // Heal everything and let the cluster settle on a final entry.
    c.net.config = NetConfig::reliable();
    c.disarm_crashes();
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
    let log_hash = c.committed_log().iter().fold(0, super::app::chain);
    Outcome {
        seen_committed: seen.len(),
        reads_served: c.reads.iter().filter(|r| r.served).count(),
        fingerprint: (log_hash, c.net.stats.sent, c.now),
    }
}
