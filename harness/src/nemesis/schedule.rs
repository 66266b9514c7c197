//! Faults as data: a seeded, serializable schedule of what to break, when, and for how long.
//!
//! The same [`Schedule`] drives the real world (the runner applies it to processes and the fault
//! proxy), can be saved with a run and replayed, and is consumed by the simulator. It therefore
//! has no IO, no clock and no async: [`Schedule::generate`] is a pure function of its
//! [`ScheduleOptions`]. Faults of one [`Lane`] never overlap (each starts after the previous one
//! ended, with a quiet gap between them); a network fault and a process fault may. A composed kind
//! (`lag-kill`, `diverge`) is a fixed, timed sequence of single faults; no other fault overlaps
//! it. Every fault ends before the schedule does.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A node id: Raft's own, re-exported.
pub use raft::core::NodeId;

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
    /// Composed: leave one node behind, then take the leader away. Isolate a random node with a
    /// dropping partition (a [`Fault::Loss`] on all of its links, so nothing sent to it meanwhile
    /// arrives after healing) while the majority commits; kill the leader (or every other node);
    /// heal the partition while they are down, so the node left behind and the others must elect
    /// a leader among themselves; restart them later (see [`composed_windows`]). Provokes votes
    /// granted to stale logs.
    LagKill,
    /// Composed: make logs diverge, then make them agree again. Cut the leader off from every
    /// other node (an `isolate-leader` partition) while clients still reach it, so it appends
    /// writes it cannot commit; the majority elects a new leader and commits other entries at the
    /// same indexes; heal, so the old leader's uncommitted suffix must be truncated. Two or three
    /// such rounds back to back, a short gap apart, so the next cut falls while the last deposed
    /// leader is still being repaired (see [`composed_windows`]). Aimed at the log matching rule
    /// and at conflict truncation.
    Diverge,
    /// Stale deliveries: every link out of the leader cycles through passing,
    /// stalling (bytes taken from the sender but not delivered) and stranding (the sender's side of
    /// the connection closed, so it reconnects, and the held bytes delivered on the old
    /// connection after what the new one carried). See [`Fault::Stale`]. Opt-in: `all` leaves it
    /// out, so seeds documented with `all` keep their schedules.
    StaleLinks,
    /// Membership changes (see [`membership_steps`]): add a node as a learner, promote a learner
    /// once it has caught up, remove a voter, replace a voter (remove it, wipe its disk, add a
    /// fresh node under a new id and promote it). The simulator's `all` brings it; real runs
    /// carry it out when named (`crate::nemesis::membership`), their `all` leaves it out.
    Membership,
    /// Power loss (real runs, on the harness's power-loss file system): SIGKILL one node, a
    /// minority, a majority or the whole cluster, drop what each had not synced, restart them
    /// when the fault ends. Process lane. Real runs' `all` brings it when FUSE is available.
    PowerLoss,
    /// A disk error (real runs, on the power-loss file system): the next fsync of one node fails
    /// with `EIO`; the node must stop. Restarted (its disk healed) when the fault ends. Process
    /// lane. Opt-in.
    DiskError,
    /// Client-side faults (see [`Fault::ClientPartition`]): cut the clients from one node both
    /// ways while its peer links stay healthy, or drop only its replies to the clients (the write
    /// happens, the client never hears: it retries, or gives up with an indefinite result), on
    /// the leader or a random node. Real runs put the clients' links behind the fault proxy when
    /// this is named. Opt-in: `all` leaves it out, so seeds documented with `all` keep their
    /// schedules.
    ClientPartition,
}

impl NemesisKind {
    /// The single-fault kinds (the simulator's default set).
    pub const ALL: [NemesisKind; 4] = [
        NemesisKind::Partition,
        NemesisKind::Kill,
        NemesisKind::Pause,
        NemesisKind::Delay,
    ];

    /// Single kinds that a run only uses when named (`all` leaves them out).
    pub const OPT_IN: [NemesisKind; 2] = [NemesisKind::StaleLinks, NemesisKind::ClientPartition];

    /// The composed kinds: timed sequences of single faults.
    pub const COMPOSED: [NemesisKind; 2] = [NemesisKind::LagKill, NemesisKind::Diverge];

    /// The kinds the simulator's `all` brings and real runs' `all` leaves out (`gauntlet test`
    /// carries them out when named). The name is historical: membership ran in the simulator
    /// only at first.
    pub const SIM_ONLY: [NemesisKind; 1] = [NemesisKind::Membership];

    /// Every kind, single, opt-in, composed, simulator-only and disk
    /// (`--nemesis all,stale-links,lag-kill,diverge,membership,power-loss,disk-error`).
    pub fn every() -> impl Iterator<Item = NemesisKind> {
        NemesisKind::ALL
            .into_iter()
            .chain(NemesisKind::OPT_IN)
            .chain(NemesisKind::COMPOSED)
            .chain(NemesisKind::SIM_ONLY)
            .chain(NemesisKind::DISK)
    }

    /// The kinds that need the harness's power-loss file system (FUSE) in real runs.
    pub const DISK: [NemesisKind; 2] = [NemesisKind::PowerLoss, NemesisKind::DiskError];

    /// True for a kind in [`NemesisKind::DISK`].
    pub fn needs_power_loss_fs(self) -> bool {
        NemesisKind::DISK.contains(&self)
    }

    /// True for a kind in [`NemesisKind::SIM_ONLY`].
    pub fn is_sim_only(self) -> bool {
        NemesisKind::SIM_ONLY.contains(&self)
    }

    /// True for a kind made of several single faults.
    pub fn is_composed(self) -> bool {
        NemesisKind::COMPOSED.contains(&self)
    }

    pub fn name(self) -> &'static str {
        match self {
            NemesisKind::Partition => "partition",
            NemesisKind::Kill => "kill",
            NemesisKind::Pause => "pause",
            NemesisKind::Delay => "delay",
            NemesisKind::LagKill => "lag-kill",
            NemesisKind::Membership => "membership",
            NemesisKind::Diverge => "diverge",
            NemesisKind::StaleLinks => "stale-links",
            NemesisKind::PowerLoss => "power-loss",
            NemesisKind::DiskError => "disk-error",
            NemesisKind::ClientPartition => "client-partition",
        }
    }
}

/// A nemesis name that is not one of [`NemesisKind::every`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown nemesis {0:?}: expected a comma-separated list of partition, kill, pause, delay, stale-links, client-partition, lag-kill, diverge, membership, power-loss, disk-error (or none, or all: partition, kill, pause, delay)")]
pub struct UnknownNemesis(pub String);

impl FromStr for NemesisKind {
    type Err = UnknownNemesis;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NemesisKind::every()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownNemesis(s.to_string()))
    }
}

/// Parses `partition,kill` (also `none`, and `all`: every single kind) into a sorted set without
/// repeats.
pub fn parse_nemesis_list(list: &str) -> Result<Vec<NemesisKind>, UnknownNemesis> {
    let mut kinds = BTreeSet::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => {}
            // The single kinds only: seeds documented with `all` keep their schedules; a
            // composed kind is named explicitly (`all,lag-kill,diverge`).
            "all" => kinds.extend(NemesisKind::ALL),
            other => {
                kinds.insert(other.parse::<NemesisKind>()?);
            }
        }
    }
    Ok(kinds.into_iter().collect())
}

/// `1,3,5`: node ids as the console and the history print them.
pub fn node_list(nodes: &[NodeId]) -> String {
    nodes
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `1->2 3->1`: directed links as the console and the history print them.
pub fn link_list(links: &[Link]) -> String {
    links
        .iter()
        .map(|(a, b)| format!("{a}->{b}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl PartitionShape {
    /// The kebab-case name (as in JSON and on the console).
    pub fn name(self) -> &'static str {
        match self {
            PartitionShape::IsolateOne => "isolate-one",
            PartitionShape::MajorityMinority => "majority-minority",
            PartitionShape::RandomHalves => "random-halves",
            PartitionShape::Bridge => "bridge",
            PartitionShape::MajoritiesRing => "majorities-ring",
            PartitionShape::IsolateLeader => "isolate-leader",
        }
    }
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

/// The id that stands for the workload's clients in a [`Link`] (no node has it: node ids start
/// at 1): `(CLIENTS, 2)` carries the clients' requests to node 2, `(2, CLIENTS)` node 2's replies.
pub const CLIENTS: NodeId = 0;

/// The links between the clients and `node` that a [`Fault::ClientPartition`] changes: both
/// ways, or only `node -> clients` (the replies).
pub fn client_links(node: NodeId, replies_only: bool) -> Vec<Link> {
    if replies_only {
        vec![(node, CLIENTS)]
    } else {
        vec![(CLIENTS, node), (node, CLIENTS)]
    }
}

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
    /// Stale deliveries on every link out of `source` (resolved when the fault starts) to the
    /// other nodes: the proxy's `Stale` state. Each connection passes bytes for `pass_ms`, holds
    /// what its sender writes for `stall_ms` (`long_stall_ms` every second time), then is stranded (the sender's side closed; it
    /// reconnects) and delivers the held bytes `release_ms` later on the old connection, after
    /// what the new one carried. The new connection runs the same cycle while the fault lasts.
    Stale {
        source: Targets,
        pass_ms: u64,
        stall_ms: u64,
        long_stall_ms: u64,
        release_ms: u64,
    },
    /// Membership: start a fresh node under a new id and add it as a learner.
    AddLearner,
    /// Membership: wait until the learner with the lowest id has caught up
    /// (its applied index reaches the leader's commit index), then promote it to voter.
    Promote,
    /// Membership: remove a voter; `Targets::Nodes([k])` names the k-th voter
    /// of the configuration in effect (by id, wrapping), `Targets::Leader` the leader. The
    /// removed node is stopped once its removal is committed.
    Remove { targets: Targets },
    /// Membership: remove a voter (chosen as for `Remove`), wipe its disk, start
    /// a fresh node under a new id, add it as a learner, let it catch up and promote it.
    Replace { targets: Targets },
    /// Leadership (membership lane): ask the leader to hand leadership to a
    /// caught-up voter (the running voter, not the leader, with the highest applied index).
    TransferLeader,
    /// SIGKILL the targets and drop what each had not synced (files and directory entries);
    /// restart them when the fault ends. With `leader_first`, the leader (found when the fault
    /// starts) loses power first and the other targets right after the first sync any of them
    /// completes while they elect a new leader (their disks stall meanwhile: each sync takes
    /// [`crate::nemesis::disk::CASCADE_SYNC_DELAY_MS`]), so the cut finds one node that just made
    /// something durable and others that have not yet (see `docs/power-loss.md`).
    PowerLoss {
        targets: Targets,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        leader_first: bool,
    },
    /// The next fsync of the targets' files fails with `EIO` (each should stop on it); when the
    /// fault ends the disk error is disarmed and stopped targets are restarted.
    DiskError { targets: Targets },
    /// Client-side: the clients' links to the target node (resolved when the fault starts; one
    /// node) are cut, its peer links untouched. `replies_only: false`: both ways, bytes held (as
    /// a partition); `replies_only: true`: only `node -> clients`, bytes dropped, so requests
    /// arrive and take effect but no answer comes back (the client times out: `info`). The links
    /// are [`client_links`]; named `client-partition` and `client-reply-loss` in the history.
    ClientPartition {
        targets: Targets,
        replies_only: bool,
    },
}

impl Fault {
    /// The family this fault belongs to.
    pub fn kind(&self) -> NemesisKind {
        match self {
            Fault::Partition { .. } => NemesisKind::Partition,
            Fault::Kill { .. } => NemesisKind::Kill,
            Fault::Pause { .. } => NemesisKind::Pause,
            Fault::Delay { .. } | Fault::Loss { .. } => NemesisKind::Delay,
            Fault::Stale { .. } => NemesisKind::StaleLinks,
            Fault::ClientPartition { .. } => NemesisKind::ClientPartition,
            Fault::AddLearner
            | Fault::Promote
            | Fault::Remove { .. }
            | Fault::Replace { .. }
            | Fault::TransferLeader => NemesisKind::Membership,
            Fault::PowerLoss { .. } => NemesisKind::PowerLoss,
            Fault::DiskError { .. } => NemesisKind::DiskError,
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
            Fault::Stale { .. } => "stale-links",
            Fault::ClientPartition {
                replies_only: false,
                ..
            } => "client-partition",
            Fault::ClientPartition {
                replies_only: true, ..
            } => "client-reply-loss",
            Fault::AddLearner => "add-learner",
            Fault::Promote => "promote",
            Fault::Remove { .. } => "remove",
            Fault::Replace { .. } => "replace",
            Fault::TransferLeader => "transfer-leader",
            Fault::PowerLoss { .. } => "power-loss",
            Fault::DiskError { .. } => "disk-error",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let links = link_list;
        let targets = |t: &Targets| match t {
            Targets::Leader => "leader".to_string(),
            Targets::Nodes(nodes) => format!("nodes {}", node_list(nodes)),
        };
        match self {
            Fault::Partition { shape, cut } => {
                write!(f, "partition {} cut [{}]", shape.name(), links(cut))
            }
            Fault::Kill { targets: t } => write!(f, "kill {}", targets(t)),
            Fault::Pause { targets: t } => write!(f, "pause {}", targets(t)),
            Fault::Delay {
                links: l,
                fixed_ms,
                jitter_ms,
            } => write!(f, "delay {fixed_ms}+{jitter_ms}ms on [{}]", links(l)),
            Fault::Loss { links: l } => write!(f, "loss on [{}]", links(l)),
            Fault::Stale {
                source,
                pass_ms,
                stall_ms,
                long_stall_ms,
                release_ms,
            } => write!(
                f,
                "stale-links out of {} (pass {pass_ms}ms, stall {stall_ms}/{long_stall_ms}ms, release {release_ms}ms)",
                targets(source)
            ),
            Fault::ClientPartition {
                targets: t,
                replies_only: false,
            } => write!(f, "client-partition: clients cut from {}", targets(t)),
            Fault::ClientPartition {
                targets: t,
                replies_only: true,
            } => write!(f, "client-reply-loss: replies of {} dropped", targets(t)),
            Fault::AddLearner => write!(f, "add-learner"),
            Fault::Promote => write!(f, "promote"),
            Fault::Remove { targets: t } => write!(f, "remove voter {}", targets(t)),
            Fault::Replace { targets: t } => write!(f, "replace voter {}", targets(t)),
            Fault::TransferLeader => write!(f, "transfer-leader"),
            Fault::PowerLoss {
                targets: t,
                leader_first: false,
            } => write!(f, "power-loss {}", targets(t)),
            Fault::PowerLoss {
                targets: t,
                leader_first: true,
            } => write!(f, "power-loss leader first, then {}", targets(t)),
            Fault::DiskError { targets: t } => write!(f, "disk-error {}", targets(t)),
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
    /// Builds the schedule. Each [`Lane`] with at least one chosen single kind gets its own
    /// timeline: a quiet gap, then a fault, then a quiet gap, and so on, each lasting
    /// `interval_ms` scaled by a random factor in [0.5, 1.5). Faults of one lane never overlap;
    /// faults of different lanes may (a leader killed during a partition). Composed kinds get a
    /// timeline of their own (see [`composed_windows`]); a single fault that would overlap a
    /// composed one is left out. Steps are sorted by start. Same options, same schedule.
    pub fn generate(options: &ScheduleOptions) -> Schedule {
        let interval = options.interval_ms.max(1);
        let jittered = |rng: &mut ChaCha8Rng| interval / 2 + rng.random_range(0..interval);
        let windows = composed_windows(options);
        let mut steps: Vec<Step> = windows.iter().flat_map(|w| w.steps.clone()).collect();
        for lane in Lane::ALL {
            let kinds: Vec<NemesisKind> = options
                .kinds
                .iter()
                .copied()
                .filter(|k| !k.is_composed() && !k.is_sim_only() && Lane::of(*k) == lane)
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
                let clashes = windows.iter().any(|w| now <= w.end_ms && w.start_ms <= end);
                if !clashes {
                    steps.push(Step {
                        start_ms: now,
                        end_ms: end,
                        fault,
                    });
                }
                now = end + jittered(&mut rng);
            }
        }
        steps.extend(membership_steps(options));
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
/// (partitions, delay, loss: link states), the process lane (kill, pause, power-loss,
/// disk-error) and the membership
/// lane (one membership action at a time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lane {
    Network = 1,
    Process = 2,
    Membership = 3,
}

impl Lane {
    pub const ALL: [Lane; 3] = [Lane::Network, Lane::Process, Lane::Membership];

    /// The lane of a kind of fault. A composed kind spans both lanes; it is listed under the lane
    /// of its first fault (`lag-kill` starts with a dropping partition, `diverge` is partitions
    /// only: network).
    pub fn of(kind: NemesisKind) -> Lane {
        match kind {
            NemesisKind::Partition
            | NemesisKind::Delay
            | NemesisKind::StaleLinks
            | NemesisKind::ClientPartition
            | NemesisKind::LagKill
            | NemesisKind::Diverge => Lane::Network,
            NemesisKind::Kill
            | NemesisKind::Pause
            | NemesisKind::PowerLoss
            | NemesisKind::DiskError => Lane::Process,
            NemesisKind::Membership => Lane::Membership,
        }
    }
}

/// The time a composed fault holds, from its first fault's start to its last fault's end
/// (inclusive), and the single faults it is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposedWindow {
    pub kind: NemesisKind,
    pub start_ms: u64,
    pub end_ms: u64,
    pub steps: Vec<Step>,
}

/// The composed faults of a schedule, on a timeline of their own (seeded apart from the lanes, so
/// adding a composed kind never changes which single faults are drawn, only which are left out).
/// The quiet gap before each is `interval_ms` scaled by [0.5, 1.5), times one plus the number of
/// single kinds chosen, so that those keep room between composed faults.
///
/// `lag-kill`, with `I = interval_ms`: isolate a random node by dropping every byte on its links
/// for `[I, 2I)` (the majority commits without it, and nothing sent to it meanwhile arrives
/// later); then take the leader away, one of two ways (even odds):
/// - kill the leader only (resolved when the kill starts: never the isolated node, which cannot
///   serve reads); `max(I/2, 0.8 s) + [I/4, I/2]` later heal the isolation while the leader is
///   down (finding the leader takes the runner up to 0.6 s; by then the kill has been applied and
///   the survivors' leader lease has run out, so they listen to the node left behind);
///   restart the old leader `[I, 2I)` after the heal, once the node left behind and the other
///   survivors have had time to elect a leader among themselves;
/// - kill every node but the isolated one (the leader among them); `[I/10, I/5]` later heal the
///   isolation while they are down; restart them all `[I/10, I/4]` after the heal: the node left
///   behind, whose election timer kept running, asks for votes before the restarted ones do.
///
/// `diverge`: two or three rounds (even odds), each an `isolate-leader` partition (resolved when
/// it starts, like any) lasting `max(I/2, 1.5 s) + [0, I/2]`: long enough for the cut-off leader
/// to append writes it cannot commit, for check-quorum to depose it, and for the majority to
/// elect a leader and commit at the same indexes. Rounds are `[I/10, I/4]` apart: the old leader
/// has heard the new one and is truncating its suffix and catching up when the new leader is cut
/// off in turn, so the next election counts a log that was just repaired.
pub fn composed_windows(options: &ScheduleOptions) -> Vec<ComposedWindow> {
    let mut windows = Vec::new();
    let composed: Vec<NemesisKind> = options
        .kinds
        .iter()
        .copied()
        .filter(|k| k.is_composed())
        .collect();
    if composed.is_empty() || options.nodes.len() < 2 {
        return windows;
    }
    let singles = options.kinds.iter().filter(|k| !k.is_composed()).count() as u64;
    let interval = options.interval_ms.max(10);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x6e65_6d65_7369_7321 ^ 0x10);
    let gap = |rng: &mut ChaCha8Rng| (interval / 2 + rng.random_range(0..interval)) * (1 + singles);
    let mut now = gap(&mut rng);
    loop {
        let kind = composed[rng.random_range(0..composed.len())];
        let window = match kind {
            NemesisKind::LagKill => lag_kill(&mut rng, now, interval, &options.nodes),
            NemesisKind::Diverge => diverge(&mut rng, now, interval),
            // Single kinds never reach here (filtered above).
            _ => break,
        };
        if window.end_ms >= options.duration_ms {
            break;
        }
        now = window.end_ms + gap(&mut rng);
        windows.push(window);
    }
    windows
}

/// Least time between a `lag-kill`'s kill and its heal: the runner needs up to 0.6 s to find the
/// leader it kills.
const KILL_RESOLVE_MS: u64 = 800;

/// One `lag-kill` starting at `start_ms` (see [`composed_windows`]).
fn lag_kill(
    rng: &mut ChaCha8Rng,
    start_ms: u64,
    interval: u64,
    nodes: &[NodeId],
) -> ComposedWindow {
    let behind = nodes[rng.random_range(0..nodes.len())];
    let kill_at = start_ms + interval + rng.random_range(0..interval);
    let (targets, heal_at, restart_at) = if rng.random_bool(0.5) {
        // Finding the leader takes the runner up to 0.6 s (a node that cannot reach a quorum
        // answers a probe read only by timing out); the heal comes well after the kill, once the
        // survivors' leader lease has run out, so that they hear the node left behind.
        let heal_at = kill_at
            + (interval / 2).max(KILL_RESOLVE_MS)
            + interval / 4
            + rng.random_range(0..=interval / 4);
        let restart_at = heal_at + interval + rng.random_range(0..interval);
        (Targets::Leader, heal_at, restart_at)
    } else {
        let others = nodes.iter().copied().filter(|&n| n != behind).collect();
        let heal_at = kill_at + rng.random_range(interval / 10..=interval / 5);
        let restart_at = heal_at + rng.random_range(interval / 10..=interval / 4);
        (Targets::Nodes(others), heal_at, restart_at)
    };
    ComposedWindow {
        kind: NemesisKind::LagKill,
        start_ms,
        end_ms: restart_at,
        steps: vec![
            Step {
                start_ms,
                end_ms: heal_at,
                fault: Fault::Loss {
                    links: isolate(behind, nodes),
                },
            },
            Step {
                start_ms: kill_at,
                end_ms: restart_at,
                fault: Fault::Kill { targets },
            },
        ],
    }
}

/// The membership lane (`membership`): one action at a time, each given a
/// window that is its deadline (`interval_ms` scaled by [0.5, 1.5), at least 0.4 s; twice that
/// for a replacement), with a quiet gap of half that scale between actions. The lane has its own
/// seeded stream, so adding `membership` never changes the other lanes' faults.
///
/// Actions are drawn from a model of the configuration that assumes every earlier action
/// succeeded: at most two members beyond the initial ones, never fewer than `min(3, n)` voters
/// (a replacement counts as keeping its voter), a promotion three times as likely as anything
/// else while a learner waits, a leadership transfer possible whenever there are two voters. The world resolves each action against the real configuration
/// when it starts (an action that no longer fits is skipped, and says so in the history).
pub fn membership_steps(options: &ScheduleOptions) -> Vec<Step> {
    let mut steps = Vec::new();
    if !options.kinds.contains(&NemesisKind::Membership) || options.nodes.is_empty() {
        return steps;
    }
    let initial = options.nodes.len();
    let min_voters = initial.min(3);
    let max_members = initial + 2;
    let interval = options.interval_ms.max(10);
    let windows = composed_windows(options);
    let mut rng =
        ChaCha8Rng::seed_from_u64(options.seed ^ 0x6e65_6d65_7369_7321 ^ Lane::Membership as u64);
    let jittered = |rng: &mut ChaCha8Rng| (interval / 2 + rng.random_range(0..interval)).max(400);
    let (mut voters, mut learners) = (initial, 0usize);
    let mut now = interval / 2 + rng.random_range(0..interval);
    loop {
        let mut choices = Vec::new();
        if learners > 0 {
            choices.extend([Fault::Promote, Fault::Promote, Fault::Promote]);
        }
        if voters + learners < max_members {
            choices.push(Fault::AddLearner);
        }
        let victim = Targets::Leader;
        if voters > min_voters {
            choices.push(Fault::Remove {
                targets: victim.clone(),
            });
        }
        if voters >= min_voters.max(2) {
            choices.push(Fault::Replace { targets: victim });
        }
        if voters >= 2 {
            choices.push(Fault::TransferLeader);
        }
        if choices.is_empty() {
            break;
        }
        let mut fault = choices[rng.random_range(0..choices.len())].clone();
        if let Fault::Remove { targets } | Fault::Replace { targets } = &mut fault {
            if !rng.random_bool(0.25) {
                *targets = Targets::Nodes(vec![rng.random_range(1..=voters as u64)]);
            }
        }
        let scale = if matches!(fault, Fault::Replace { .. }) {
            2
        } else {
            1
        };
        let end = now + jittered(&mut rng) * scale;
        if end >= options.duration_ms {
            break;
        }
        let clashes = windows.iter().any(|w| now <= w.end_ms && w.start_ms <= end);
        if !clashes {
            match fault {
                Fault::AddLearner => learners += 1,
                Fault::Promote => {
                    learners -= 1;
                    voters += 1;
                }
                Fault::Remove { .. } => voters -= 1,
                _ => {}
            }
            steps.push(Step {
                start_ms: now,
                end_ms: end,
                fault,
            });
        }
        now = end + jittered(&mut rng) / 2;
    }
    steps
}

/// Least time a `diverge` round keeps the leader cut off: check-quorum deposes it after an
/// election timeout (0.5 s by default), the majority needs about as long again to elect, and then
/// it commits.
const DIVERGE_MIN_CUT_MS: u64 = 1_500;

/// One `diverge` starting at `start_ms` (see [`composed_windows`]).
fn diverge(rng: &mut ChaCha8Rng, start_ms: u64, interval: u64) -> ComposedWindow {
    let rounds = if rng.random_bool(0.5) { 2 } else { 3 };
    let mut steps = Vec::with_capacity(rounds);
    let mut now = start_ms;
    for round in 0..rounds {
        if round > 0 {
            now += rng.random_range(interval / 10..=interval / 4).max(1);
        }
        let end = now + (interval / 2).max(DIVERGE_MIN_CUT_MS) + rng.random_range(0..=interval / 2);
        steps.push(Step {
            start_ms: now,
            end_ms: end,
            fault: Fault::Partition {
                shape: PartitionShape::IsolateLeader,
                cut: Vec::new(),
            },
        });
        now = end;
    }
    ComposedWindow {
        kind: NemesisKind::Diverge,
        start_ms,
        end_ms: now,
        steps,
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
        // Never drawn here (composed kinds come from `composed_windows`); their decisive faults.
        NemesisKind::LagKill => Fault::Kill {
            targets: Targets::Leader,
        },
        // Never drawn here (membership actions come from `membership_steps`).
        NemesisKind::Membership => Fault::AddLearner,
        NemesisKind::Diverge => Fault::Partition {
            shape: PartitionShape::IsolateLeader,
            cut: Vec::new(),
        },
        NemesisKind::StaleLinks => stale_links(rng),
        NemesisKind::PowerLoss => {
            let targets = power_loss_targets(rng, nodes);
            // A majority or more: the leader first, the others right after a sync.
            let many = matches!(&targets, Targets::Nodes(t) if t.len() > nodes.len() / 2);
            Fault::PowerLoss {
                leader_first: many && nodes.len() >= 3,
                targets,
            }
        }
        NemesisKind::DiskError => Fault::DiskError {
            targets: Targets::Nodes(vec![nodes[rng.random_range(0..nodes.len())]]),
        },
        NemesisKind::ClientPartition => Fault::ClientPartition {
            targets: if rng.random_bool(0.5) {
                Targets::Leader
            } else {
                Targets::Nodes(vec![nodes[rng.random_range(0..nodes.len())]])
            },
            replies_only: rng.random_bool(0.5),
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

/// A `stale-links` fault, out of the leader (its AppendEntries are what a stale batch can turn
/// against a follower's log; raft-kv's election timeout is 0.5-1 s, its heartbeat 50 ms). A
/// short pass (3-20 ms) lets each new connection carry the leader's repair of the follower's log
/// but often not the commit index that follows it. Stalls alternate: a short one (300-450 ms,
/// below the election timeout, so the leader keeps its quorum) whose held batch becomes stale,
/// then a long one (600-900 ms) during which that batch is released (100-300 ms after the
/// strand, once the new connection stalls) and the leader, hearing no one, steps down, so the
/// followers elect a leader among themselves with whatever the stale batch left in their logs.
fn stale_links(rng: &mut ChaCha8Rng) -> Fault {
    Fault::Stale {
        source: Targets::Leader,
        pass_ms: rng.random_range(3..=20),
        stall_ms: rng.random_range(300..=450),
        long_stall_ms: rng.random_range(600..=900),
        release_ms: rng.random_range(100..=300),
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

/// Whom a power loss hits: one node (a quarter of the time), a minority of two or more (when
/// there is one; else one node), a majority, or the whole cluster (the likeliest: a lost write
/// or a forgotten vote shows when no node that still holds it survives).
fn power_loss_targets(rng: &mut ChaCha8Rng, nodes: &[NodeId]) -> Targets {
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    let n = nodes.len();
    let count = match rng.random_range(0..20) {
        0..=4 => 1,
        5..=7 => ((n - 1) / 2).max(1),
        8..=11 => n / 2 + 1,
        _ => n,
    };
    shuffled.truncate(count.clamp(1, n));
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

/// The directed links from each of `sources` to every node of `nodes` that is not a source (the
/// links a [`Fault::Stale`] acts on).
pub fn links_out_of(sources: &[NodeId], nodes: &[NodeId]) -> Vec<Link> {
    sources
        .iter()
        .flat_map(|&from| {
            nodes
                .iter()
                .filter(|to| !sources.contains(to))
                .map(move |&to| (from, to))
        })
        .collect()
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
