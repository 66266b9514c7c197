//! Everything that defines one simulated run ([`SimSpec`]): seed, cluster size, time, workload,
//! faults, network model and planted bugs. A run is a pure function of its spec and the build, so
//! a spec saved to a file (`--shrink` output) replays the run exactly.

use raft::core::PlantedBugs;
use raft::driver::UnsafeBugs;
use serde::{Deserialize, Serialize};

use super::churn::ChurnSpec;
use super::schedule::{self, NemesisKind, Step};

/// The workloads the simulator runs: exactly the harness's own (names, serde form and checker
/// models included).
pub type SimWorkload = crate::workload::WorkloadKind;

/// The per-message behaviour of the simulated network: the library world's.
pub use raft::testing::world::NetworkSpec;

/// One simulated run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimSpec {
    pub seed: u64,
    pub nodes: u64,
    pub clients: usize,
    /// Length of the workload phase in simulated milliseconds (faults end before it does); a
    /// read-only phase of `final_reads_ms` follows.
    pub time_ms: u64,
    pub final_reads_ms: u64,
    pub workload: SimWorkload,
    pub nemesis: Vec<NemesisKind>,
    /// Mean length of a fault and of the quiet gap after it.
    pub fault_interval_ms: u64,
    /// Planted bug names (`--unsafe-bug`).
    pub bugs: Vec<String>,
    pub network: NetworkSpec,
    /// An explicit schedule (a shrunk run); `None` generates one from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Vec<Step>>,
    /// Stop starting new operations after this many (a shrunk run); `None` = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ops: Option<u64>,
    /// Tick length in milliseconds and election timeout in ticks (the server's defaults).
    pub tick_ms: u64,
    pub election_ticks: u32,
    /// The core's flow control: byte budget of one AppendEntries (the server's default is
    /// 1 MiB; a small budget splits catch-up into many messages, which reordering can exploit).
    #[serde(default = "default_max_msg_bytes")]
    pub max_msg_bytes: usize,
    /// The core's window of in-flight AppendEntries per follower (the server's default is 256;
    /// with 1 and a tiny `max_msg_bytes`, a follower is caught up one entry per round trip).
    #[serde(default = "default_max_inflight_msgs")]
    pub max_inflight_msgs: usize,
    /// Bytes of snapshot data per InstallSnapshot chunk (the server's default is 1 MiB; a
    /// small chunk sends a snapshot in many messages, any of which can be lost or reordered).
    #[serde(default = "default_snapshot_chunk_bytes")]
    pub snapshot_chunk_bytes: usize,
    /// Leader churn: strike new leaders a short random time after their election (`None`: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<ChurnSpec>,
    /// Compaction: each replica takes a snapshot every this many applied entries (0 = never).
    /// Specs saved before the field existed ran with the driver's default of 10,000.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
    /// KV session expiry: a session idle for more than this many log entries expires (`None`:
    /// the KV machine's default of 1,000,000, which a simulated run never reaches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_idle_entries: Option<u64>,
    /// The knobs above were drawn from the seed by swarm testing (the default of `gauntlet sim`;
    /// `--no-swarm` keeps the flags' fixed knobs); a saved spec holds the drawn values, so a
    /// replay runs them as they are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub swarm: bool,
}

fn default_max_msg_bytes() -> usize {
    1 << 20
}

fn default_max_inflight_msgs() -> usize {
    256
}

fn default_snapshot_chunk_bytes() -> usize {
    raft::core::DEFAULT_SNAPSHOT_CHUNK_BYTES
}

/// The driver's (and the server's) default snapshot interval.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 10_000;

fn default_snapshot_every() -> u64 {
    DEFAULT_SNAPSHOT_EVERY
}

impl SimSpec {
    /// 5 nodes, 10 clients, 10 s, append workload, every fault, server timing.
    pub fn new(seed: u64) -> SimSpec {
        SimSpec {
            seed,
            nodes: 5,
            clients: 10,
            time_ms: 10_000,
            final_reads_ms: 2_000,
            workload: SimWorkload::Append,
            nemesis: NemesisKind::ALL.to_vec(),
            fault_interval_ms: 1_000,
            bugs: Vec::new(),
            network: NetworkSpec::default(),
            schedule: None,
            max_ops: None,
            tick_ms: 50,
            election_ticks: 10,
            max_msg_bytes: default_max_msg_bytes(),
            max_inflight_msgs: default_max_inflight_msgs(),
            snapshot_chunk_bytes: default_snapshot_chunk_bytes(),
            churn: None,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            session_idle_entries: None,
            swarm: false,
        }
    }

    /// This spec for `seed`: with `swarm` set, the knobs are drawn from the seed
    /// ([`super::swarm::draw`]), otherwise only the seed changes.
    pub fn for_seed(&self, seed: u64) -> SimSpec {
        let mut spec = self.clone();
        spec.seed = seed;
        if spec.swarm {
            super::swarm::draw(&mut spec);
        }
        spec
    }

    /// The node ids, 1..=nodes.
    pub fn node_ids(&self) -> Vec<u64> {
        (1..=self.nodes).collect()
    }

    /// The fault steps: the explicit ones, or those generated from the seed.
    pub fn steps(&self) -> Vec<Step> {
        match &self.schedule {
            Some(steps) => steps.clone(),
            None => schedule::generate(
                self.seed,
                &self.node_ids(),
                &self.nemesis,
                self.time_ms,
                self.fault_interval_ms,
            ),
        }
    }

    /// The planted bugs, split into the driver's and the core's switches.
    pub fn parsed_bugs(&self) -> Result<(UnsafeBugs, PlantedBugs), String> {
        parse_bugs(&self.bugs)
    }
}

/// Bugs of the real node that the simulator does not model (its disk is `SimFs`, not the node's).
const REAL_NODE_ONLY_BUGS: &[&str] = &["skip-fsync", "unsynced-vote"];

/// Every `--unsafe-bug` name the simulator knows: the driver's plus the core's.
pub fn bug_names() -> Vec<&'static str> {
    let mut names = UnsafeBugs::NAMES.to_vec();
    names.retain(|name| !REAL_NODE_ONLY_BUGS.contains(name));
    names.push("commit-old-term");
    names
}

/// Splits bug names into driver and core switches; an unknown name is an error naming the known.
pub fn parse_bugs(names: &[String]) -> Result<(UnsafeBugs, PlantedBugs), String> {
    let mut driver = UnsafeBugs::default();
    let mut core = PlantedBugs::default();
    for name in names
        .iter()
        .flat_map(|n| n.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        match name {
            "commit-old-term" => core.commit_old_term = true,
            real_only if REAL_NODE_ONLY_BUGS.contains(&real_only) => {
                return Err(format!(
                    "--unsafe-bug {real_only} is a bug of the real node's file system, which the \
                     simulator does not use (see docs/power-loss.md); expected one of: {}",
                    bug_names().join(", ")
                ))
            }
            other => driver.enable(other).map_err(|_| {
                format!(
                    "unknown --unsafe-bug {other:?}; expected one of: {}",
                    bug_names().join(", ")
                )
            })?,
        }
    }
    core.vote_any |= driver.vote_any;
    core.snapshot_keeps_suffix |= driver.snapshot_keeps_suffix;
    core.truncate_matching |= driver.truncate_matching;
    core.promote_unready |= driver.promote_unready;
    core.two_changes_in_flight |= driver.two_changes_in_flight;
    Ok((driver, core))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_saved_before_compaction_was_drawn_still_loads_with_the_old_interval() {
        let mut spec = SimSpec::new(3);
        spec.snapshot_every = 17;
        spec.session_idle_entries = Some(40);
        spec.snapshot_chunk_bytes = 100;
        let mut json = serde_json::to_value(&spec).expect("spec serializes");
        let fields = json.as_object_mut().expect("a JSON object");
        assert!(fields.remove("snapshot_every").is_some());
        assert!(fields.remove("session_idle_entries").is_some());
        assert!(fields.remove("snapshot_chunk_bytes").is_some());
        let old: SimSpec = serde_json::from_value(json).expect("an old spec parses");
        assert_eq!(old.snapshot_every, DEFAULT_SNAPSHOT_EVERY);
        assert_eq!(old.session_idle_entries, None);
        assert_eq!(old.snapshot_chunk_bytes, 1 << 20, "the snapshot went whole");
        let round_trip: SimSpec =
            serde_json::from_str(&serde_json::to_string(&spec).expect("serializes"))
                .expect("parses");
        assert_eq!(round_trip, spec);
    }

    #[test]
    fn the_snapshot_bugs_reach_the_core_and_the_driver() {
        let (driver, core) =
            parse_bugs(&["snapshot-keeps-suffix,snapshot-drops-sessions".into()]).unwrap();
        assert!(core.snapshot_keeps_suffix && driver.snapshot_keeps_suffix);
        assert!(driver.snapshot_drops_sessions);
        assert!(bug_names().contains(&"snapshot-drops-sessions"));
    }

    #[test]
    fn real_node_only_bugs_are_refused_by_the_simulator() {
        let err = parse_bugs(&["skip-fsync".into()]).unwrap_err();
        assert!(err.contains("docs/power-loss.md"), "{err}");
        assert!(!bug_names().contains(&"skip-fsync"));
    }
}
