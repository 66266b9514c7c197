//! Faults as data: a seeded, serializable schedule of what to break, when, and for how long.
//!
//! The same [`Schedule`] drives the real world (the runner applies it to processes and the fault
//! proxy), can be saved with a run and replayed, and is meant to be consumed by the simulator
//! later. It therefore has no IO, no clock and no async: [`Schedule::generate`] is a pure function
//! of its [`ScheduleOptions`]. Faults of one [`Lane`] never overlap (each starts after the previous
//! one ended, with a quiet gap between them); a network fault and a process fault may. Every fault
//! ends before the schedule does.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A node id, as in Raft.
pub type NodeId = u64;

/// The families of faults a run can use (`--nemesis partition,kill,pause,delay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NemesisKind {
    /// Network partitions of every shape, including isolating the current leader.
    Partition,
    /// SIGKILL some nodes, restart them at the end of the fault.
    Kill,
    /// SIGSTOP some nodes, SIGCONT them at the end of the fault.
    Pause,
    /// Slow or lossy links (delay with jitter, or silently dropped bytes).
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

/// A nemesis name that is not one of [`NemesisKind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown nemesis {0:?}: expected a comma-separated list of partition, kill, pause, delay (or none, or all)")]
pub struct UnknownNemesis(pub String);

impl FromStr for NemesisKind {
    type Err = UnknownNemesis;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NemesisKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownNemesis(s.to_string()))
    }
}

/// Parses `partition,kill` (also `none` and `all`) into a sorted set without repeats.
pub fn parse_nemesis_list(list: &str) -> Result<Vec<NemesisKind>, UnknownNemesis> {
    let mut kinds = BTreeSet::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => {}
            "all" => kinds.extend(NemesisKind::ALL),
            other => {
                kinds.insert(other.parse::<NemesisKind>()?);
            }
        }
    }
    Ok(kinds.into_iter().collect())
}

/// The shapes of partitions, named as in Jepsen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionShape {
    /// One node cut off from all others.
    IsolateOne,
    /// A majority and a minority.
    MajorityMinority,
    /// Two random halves (sizes differ by at most one).
    RandomHalves,
    /// Two majorities that share one node, the bridge: the halves cannot talk to each other,
    /// the bridge talks to everyone.
    Bridge,
    /// Every node sees a majority, but no two nodes see the same one (needs 5+ nodes for
    /// interest; with 3 nodes it cuts one link).
    MajoritiesRing,
    /// The node that is leader when the fault starts, cut off from all others.
    IsolateLeader,
}

/// One directed link `from -> to`.
pub type Link = (NodeId, NodeId);

/// Which nodes a process fault hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Targets {
    /// These nodes.
    Nodes(Vec<NodeId>),
    /// The leader when the fault starts (resolved by the runner).
    Leader,
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    /// Cut these directed links (bytes held, not dropped). For `IsolateLeader` the links are
    /// empty here and resolved when the fault starts.
    Partition {
        shape: PartitionShape,
        cut: Vec<Link>,
    },
    /// SIGKILL the targets; restart them when the fault ends.
    Kill { targets: Targets },
    /// SIGSTOP the targets; SIGCONT them when the fault ends.
    Pause { targets: Targets },
    /// Delay every byte on these links by `fixed_ms + uniform(0..=jitter_ms)`.
    Delay {
        links: Vec<Link>,
        fixed_ms: u64,
        jitter_ms: u64,
    },
    /// Silently drop every byte on these links (connections that lost bytes reset on healing).
    Loss { links: Vec<Link> },
}

impl Fault {
    /// The family this fault belongs to.
    pub fn kind(&self) -> NemesisKind {
        match self {
            Fault::Partition { .. } => NemesisKind::Partition,
            Fault::Kill { .. } => NemesisKind::Kill,
            Fault::Pause { .. } => NemesisKind::Pause,
            Fault::Delay { .. } | Fault::Loss { .. } => NemesisKind::Delay,
        }
    }

    /// A short name for history events and progress lines: `partition`, `kill`, ...
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

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let links = |links: &[Link]| {
            links
                .iter()
                .map(|(a, b)| format!("{a}->{b}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let targets = |t: &Targets| match t {
            Targets::Leader => "leader".to_string(),
            Targets::Nodes(nodes) => format!("{nodes:?}"),
        };
        match self {
            Fault::Partition { shape, cut } => {
                write!(f, "partition {shape:?} cut [{}]", links(cut))
            }
            Fault::Kill { targets: t } => write!(f, "kill {}", targets(t)),
            Fault::Pause { targets: t } => write!(f, "pause {}", targets(t)),
            Fault::Delay {
                links: l,
                fixed_ms,
                jitter_ms,
            } => write!(f, "delay {fixed_ms}+{jitter_ms}ms on [{}]", links(l)),
            Fault::Loss { links: l } => write!(f, "loss on [{}]", links(l)),
        }
    }
}

/// A fault and its time window, in milliseconds from the start of the workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub start_ms: u64,
    pub end_ms: u64,
    pub fault: Fault,
}

/// What [`Schedule::generate`] needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleOptions {
    pub seed: u64,
    pub nodes: Vec<NodeId>,
    pub kinds: Vec<NemesisKind>,
    /// Length of the workload phase; every fault ends by then.
    pub duration_ms: u64,
    /// Mean length of a fault and of the quiet gap after it.
    pub interval_ms: u64,
}

/// The whole plan of faults for one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub options: ScheduleOptions,
    pub steps: Vec<Step>,
}

impl Schedule {
    /// Builds the schedule. Each [`Lane`] with at least one chosen kind gets its own timeline: a
    /// quiet gap, then a fault, then a quiet gap, and so on, each lasting `interval_ms` scaled by
    /// a random factor in [0.5, 1.5). Faults of one lane never overlap; faults of different lanes
    /// may (a leader killed during a partition). Steps are sorted by start. Same options, same
    /// schedule.
    pub fn generate(options: &ScheduleOptions) -> Schedule {
        let mut steps = Vec::new();
        let interval = options.interval_ms.max(1);
        let jittered = |rng: &mut ChaCha8Rng| interval / 2 + rng.random_range(0..interval);
        for lane in Lane::ALL {
            let kinds: Vec<NemesisKind> = options
                .kinds
                .iter()
                .copied()
                .filter(|k| Lane::of(*k) == lane)
                .collect();
            if kinds.is_empty() || options.nodes.is_empty() {
                continue;
            }
            let mut rng =
                ChaCha8Rng::seed_from_u64(options.seed ^ 0x6e65_6d65_7369_7321 ^ lane as u64);
            let mut now = jittered(&mut rng);
            loop {
                let end = now + jittered(&mut rng);
                if end >= options.duration_ms {
                    break;
                }
                let kind = kinds[rng.random_range(0..kinds.len())];
                let fault = random_fault(&mut rng, kind, &options.nodes);
                steps.push(Step {
                    start_ms: now,
                    end_ms: end,
                    fault,
                });
                now = end + jittered(&mut rng);
            }
        }
        steps.sort_by_key(|step| (step.start_ms, step.end_ms));
        Schedule {
            options: options.clone(),
            steps,
        }
    }

    /// The steps of one lane, in order.
    pub fn lane(&self, lane: Lane) -> Vec<Step> {
        self.steps
            .iter()
            .filter(|step| Lane::of(step.fault.kind()) == lane)
            .cloned()
            .collect()
    }
}

/// Faults that touch the same things share a lane and never overlap: the network lane
/// (partitions, delay, loss: link states) and the process lane (kill, pause).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lane {
    Network = 1,
    Process = 2,
}

impl Lane {
    pub const ALL: [Lane; 2] = [Lane::Network, Lane::Process];

    /// The lane of a kind of fault.
    pub fn of(kind: NemesisKind) -> Lane {
        match kind {
            NemesisKind::Partition | NemesisKind::Delay => Lane::Network,
            NemesisKind::Kill | NemesisKind::Pause => Lane::Process,
        }
    }
}

fn random_fault(rng: &mut ChaCha8Rng, kind: NemesisKind, nodes: &[NodeId]) -> Fault {
    match kind {
        NemesisKind::Partition => {
            let shapes = [
                PartitionShape::IsolateOne,
                PartitionShape::MajorityMinority,
                PartitionShape::RandomHalves,
                PartitionShape::Bridge,
                PartitionShape::MajoritiesRing,
                PartitionShape::IsolateLeader,
                PartitionShape::IsolateLeader,
            ];
            let shape = shapes[rng.random_range(0..shapes.len())];
            Fault::Partition {
                shape,
                cut: partition_links(rng, shape, nodes),
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
        0..=1 => return Targets::Leader,
        2..=4 => 1,
        5..=6 => majority,
        _ => nodes.len(),
    };
    shuffled.truncate(count.max(1));
    shuffled.sort_unstable();
    Targets::Nodes(shuffled)
}

/// Some directed links between random pairs, both directions.
fn random_links(rng: &mut ChaCha8Rng, nodes: &[NodeId]) -> Vec<Link> {
    let all = complete_links(nodes);
    let mut links: Vec<Link> = all
        .into_iter()
        .filter(|(a, b)| a < b && rng.random_bool(0.5))
        .flat_map(|(a, b)| [(a, b), (b, a)])
        .collect();
    if links.is_empty() && nodes.len() >= 2 {
        links = vec![(nodes[0], nodes[1]), (nodes[1], nodes[0])];
    }
    links
}

fn complete_links(nodes: &[NodeId]) -> Vec<Link> {
    let mut links = Vec::new();
    for &a in nodes {
        for &b in nodes {
            if a != b {
                links.push((a, b));
            }
        }
    }
    links
}

/// The directed links (both directions) between nodes of different groups.
pub fn links_between_groups(groups: &[Vec<NodeId>]) -> Vec<Link> {
    let mut cut = Vec::new();
    for (i, a) in groups.iter().enumerate() {
        for (j, b) in groups.iter().enumerate() {
            if i != j {
                for &x in a {
                    for &y in b {
                        cut.push((x, y));
                    }
                }
            }
        }
    }
    cut.sort_unstable();
    cut
}

/// The links that cut `node` off from every other node.
pub fn isolate(node: NodeId, nodes: &[NodeId]) -> Vec<Link> {
    let rest: Vec<NodeId> = nodes.iter().copied().filter(|&n| n != node).collect();
    links_between_groups(&[vec![node], rest])
}

/// Resolves a partition shape into the directed links to cut (empty for `IsolateLeader`, which
/// the runner resolves with [`isolate`] once it knows the leader).
pub fn partition_links(rng: &mut ChaCha8Rng, shape: PartitionShape, nodes: &[NodeId]) -> Vec<Link> {
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    let n = shuffled.len();
    let majority = n / 2 + 1;
    match shape {
        PartitionShape::IsolateLeader => Vec::new(),
        PartitionShape::IsolateOne => isolate(shuffled[0], nodes),
        PartitionShape::MajorityMinority => {
            let minority = shuffled.split_off(majority);
            links_between_groups(&[shuffled, minority])
        }
        PartitionShape::RandomHalves => {
            let second = shuffled.split_off(n / 2);
            links_between_groups(&[shuffled, second])
        }
        PartitionShape::Bridge => {
            // [left..., bridge, right...]: the bridge sees both sides, the sides not each other.
            let half = n / 2;
            let left: Vec<NodeId> = shuffled[..half].to_vec();
            let right: Vec<NodeId> = shuffled.get(half + 1..).unwrap_or_default().to_vec();
            links_between_groups(&[left, right])
        }
        PartitionShape::MajoritiesRing => {
            // Nodes on a ring; each sees the `majority - 1` nodes nearest to it in both
            // directions only, so every node's view is a majority and the views differ.
            let reach = (majority - 1).div_ceil(2).max(1);
            let mut cut = Vec::new();
            for (i, &a) in shuffled.iter().enumerate() {
                for (j, &b) in shuffled.iter().enumerate() {
                    if i == j {
                        continue;
                    }
                    let distance = (i + n - j) % n;
                    let distance = distance.min(n - distance);
                    if distance > reach {
                        cut.push((a, b));
                    }
                }
            }
            if cut.is_empty() && n >= 3 {
                // Three nodes: every pair is adjacent; cut one link (both ways) instead.
                cut = vec![(shuffled[0], shuffled[1]), (shuffled[1], shuffled[0])];
            }
            cut.sort_unstable();
            cut
        }
    }
}
