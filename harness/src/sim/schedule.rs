//! Faults as data for the simulator: a seeded list of steps (partition, kill, pause, delay, loss),
//! each with a start and an end in milliseconds of simulated time.
//!
//! ADAPTER: the shapes here mirror the harness's `nemesis::schedule` (`Fault`, `Step`,
//! `Targets`, `NemesisKind`), which was not committed yet when the simulator was written. Once it
//! is, this module should become `pub use crate::nemesis::schedule::*` plus [`generate`].
//! Faults never overlap and all end before `duration_ms`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A node id, as in Raft.
pub type NodeId = u64;

/// One directed link `from -> to`.
pub type Link = (NodeId, NodeId);

/// The families of faults (`--nemesis partition,kill,pause,delay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NemesisKind {
    Partition,
    Kill,
    Pause,
    Delay,
}

impl NemesisKind {
    pub const ALL: [NemesisKind; 4] = [
        NemesisKind::Partition,
        NemesisKind::Kill,
        NemesisKind::Pause,
        NemesisKind::Delay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NemesisKind::Partition => "partition",
            NemesisKind::Kill => "kill",
            NemesisKind::Pause => "pause",
            NemesisKind::Delay => "delay",
        }
    }
}

/// A nemesis name that is not known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown nemesis {0:?}: expected a comma-separated list of partition, kill, pause, delay (or none, or all)")]
pub struct UnknownNemesis(pub String);

/// Parses `partition,kill` (also `none` and `all`) into a sorted list without repeats.
pub fn parse_nemesis_list(list: &str) -> Result<Vec<NemesisKind>, UnknownNemesis> {
    let mut kinds = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => {}
            "all" => kinds.extend(NemesisKind::ALL),
            other => kinds.push(
                NemesisKind::ALL
                    .into_iter()
                    .find(|k| k.name() == other)
                    .ok_or_else(|| UnknownNemesis(other.to_string()))?,
            ),
        }
    }
    kinds.sort_unstable();
    kinds.dedup();
    Ok(kinds)
}

/// Which nodes a process fault hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Targets {
    Nodes(Vec<NodeId>),
    /// The leader when the fault starts.
    Leader,
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    /// Cut these directed links; `isolate_leader` cuts the leader's links, resolved at the start.
    Partition {
        isolate_leader: bool,
        cut: Vec<Link>,
    },
    /// Crash the targets (unsynced writes may be lost); restart them when the fault ends.
    Kill { targets: Targets },
    /// Freeze the targets; they resume when the fault ends.
    Pause { targets: Targets },
    /// Delay every message on these links by `fixed_ms + uniform(0..=jitter_ms)`.
    Delay {
        links: Vec<Link>,
        fixed_ms: u64,
        jitter_ms: u64,
    },
    /// Drop every message on these links.
    Loss { links: Vec<Link> },
}

impl Fault {
    /// A short name for history events: `partition`, `kill`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::Kill { .. } => "kill",
            Fault::Pause { .. } => "pause",
            Fault::Delay { .. } => "delay",
            Fault::Loss { .. } => "loss",
        }
    }
}

/// A fault and its window, in milliseconds of simulated time from the start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub start_ms: u64,
    pub end_ms: u64,
    pub fault: Fault,
}

/// Builds the steps: a quiet gap, a fault, a quiet gap, ..., each lasting `interval_ms` times a
/// random factor in [0.5, 1.5). A pure function of its arguments.
pub fn generate(
    seed: u64,
    nodes: &[NodeId],
    kinds: &[NemesisKind],
    duration_ms: u64,
    interval_ms: u64,
) -> Vec<Step> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_6d65_7369_7321);
    let mut steps = Vec::new();
    if kinds.is_empty() || nodes.is_empty() {
        return steps;
    }
    let interval = interval_ms.max(2);
    let jittered = |rng: &mut ChaCha8Rng| interval / 2 + rng.random_range(0..interval);
    let mut now = jittered(&mut rng);
    loop {
        let end = now + jittered(&mut rng);
        if end >= duration_ms {
            break;
        }
        let kind = kinds[rng.random_range(0..kinds.len())];
        let fault = random_fault(&mut rng, kind, nodes);
        steps.push(Step {
            start_ms: now,
            end_ms: end,
            fault,
        });
        now = end + jittered(&mut rng);
    }
    steps
}

fn random_fault(rng: &mut ChaCha8Rng, kind: NemesisKind, nodes: &[NodeId]) -> Fault {
    match kind {
        NemesisKind::Partition => {
            if rng.random_bool(0.3) {
                return Fault::Partition {
                    isolate_leader: true,
                    cut: Vec::new(),
                };
            }
            let mut shuffled = nodes.to_vec();
            shuffled.shuffle(rng);
            let split = match rng.random_range(0..3) {
                0 => 1,
                1 => nodes.len() / 2,
                _ => nodes.len() - (nodes.len() / 2 + 1),
            }
            .max(1);
            let other = shuffled.split_off(split.min(shuffled.len()));
            Fault::Partition {
                isolate_leader: false,
                cut: links_between(&shuffled, &other),
            }
        }
        NemesisKind::Kill => Fault::Kill {
            targets: process_targets(rng, nodes),
        },
        NemesisKind::Pause => Fault::Pause {
            targets: process_targets(rng, nodes),
        },
        NemesisKind::Delay => {
            let links = random_links(rng, nodes);
            if rng.random_bool(0.3) {
                Fault::Loss { links }
            } else {
                Fault::Delay {
                    links,
                    fixed_ms: rng.random_range(20..200),
                    jitter_ms: rng.random_range(0..100),
                }
            }
        }
    }
}

/// One node, a minority, a majority, all nodes, or the leader.
fn process_targets(rng: &mut ChaCha8Rng, nodes: &[NodeId]) -> Targets {
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    let majority = nodes.len() / 2 + 1;
    let count = match rng.random_range(0..10) {
        0..=2 => return Targets::Leader,
        3..=5 => 1,
        6..=7 => majority,
        _ => nodes.len(),
    };
    shuffled.truncate(count.max(1));
    shuffled.sort_unstable();
    Targets::Nodes(shuffled)
}

fn random_links(rng: &mut ChaCha8Rng, nodes: &[NodeId]) -> Vec<Link> {
    let mut links = Vec::new();
    for &a in nodes {
        for &b in nodes {
            if a < b && rng.random_bool(0.5) {
                links.push((a, b));
                links.push((b, a));
            }
        }
    }
    if links.is_empty() && nodes.len() >= 2 {
        links = vec![(nodes[0], nodes[1]), (nodes[1], nodes[0])];
    }
    links
}

/// The directed links (both ways) between two groups.
pub fn links_between(a: &[NodeId], b: &[NodeId]) -> Vec<Link> {
    let mut cut = Vec::new();
    for &x in a {
        for &y in b {
            cut.push((x, y));
            cut.push((y, x));
        }
    }
    cut.sort_unstable();
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_schedule_and_faults_end_in_time() {
        let nodes = [1, 2, 3, 4, 5];
        let a = generate(7, &nodes, &NemesisKind::ALL, 20_000, 1_000);
        assert_eq!(a, generate(7, &nodes, &NemesisKind::ALL, 20_000, 1_000));
        assert!(!a.is_empty());
        assert!(a.windows(2).all(|w| w[0].end_ms < w[1].start_ms));
        assert!(a.iter().all(|s| s.start_ms < s.end_ms && s.end_ms < 20_000));
        assert!(generate(7, &nodes, &[], 20_000, 1_000).is_empty());
        assert_eq!(
            parse_nemesis_list("kill,partition,kill").unwrap(),
            vec![NemesisKind::Partition, NemesisKind::Kill]
        );
        assert!(parse_nemesis_list("flood").is_err());
    }
}
