//! What a world is built from ([`WorldConfig`]): its seed, its initial voters, the nodes'
//! timing and flow control, compaction, planted bugs and the network's behaviour.

use crate::core::{ConfState, Config, NodeId, PlantedBugs};
use crate::driver::{DriverConfig, UnsafeBugs};

use super::network::NetworkSpec;

/// How to build a world. Node `i` is started with the same settings on every (re)start, except
/// that its core's seed changes with its incarnation.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    /// Seeds everything random in the world (timers' phases, the network, crashes).
    pub seed: u64,
    /// The initial voters are 1..=nodes.
    pub nodes: u64,
    /// A node ticks every `tick_us` of virtual time.
    pub tick_us: u64,
    /// The core's election timeout in ticks (heartbeats go every tick).
    pub election_ticks: u32,
    /// The core's byte budget of one AppendEntries.
    pub max_msg_bytes: usize,
    /// The core's window of in-flight AppendEntries per follower.
    pub max_inflight_msgs: usize,
    /// The core's chunk size for sending a snapshot.
    pub snapshot_chunk_bytes: usize,
    /// Each replica takes a snapshot every this many applied entries (0 = never).
    pub snapshot_every: u64,
    /// KV session expiry in log entries (`None`: the KV machine's default).
    pub session_idle_entries: Option<u64>,
    /// Planted bugs of the driver and of the core.
    pub driver_bugs: UnsafeBugs,
    pub core_bugs: PlantedBugs,
    pub network: NetworkSpec,
    /// Adjusts each node's driver configuration last (pre-vote, check-quorum, ... for scenario
    /// tests); the simulator leaves it alone.
    pub tune: fn(&mut DriverConfig),
    /// After every batch that moved a node's applied index, report a digest of its KV machine
    /// (data, sessions, tombstones) to the checker, so that `state-machine-safety` compares the
    /// nodes' states index by index. Costs an encoding of the whole state per such batch: the
    /// scripted world turns it on, the simulator leaves it off. Off, the checker still compares
    /// the KV machine's rolling digest of its applied sequence at every checkpoint
    /// (`raft::kv::digest`), which misses a snapshot that thins the state but costs nothing.
    pub digest_states: bool,
    /// Keep every node's event stream (`raft::events`: role, term, commit, applied digests,
    /// truncations...) stamped in virtual nanoseconds, as real nodes write it with `--events`.
    pub record_events: bool,
}

impl WorldConfig {
    /// `nodes` voters with the server's timing (ticks of 50 ms, elections after 10 ticks), the
    /// driver's flow control and compaction defaults, the default network, no bugs.
    pub fn new(nodes: u64, seed: u64) -> WorldConfig {
        let driver = DriverConfig::new(Config::new(1), ConfState::default(), UnsafeBugs::default());
        WorldConfig {
            seed,
            nodes,
            tick_us: 50_000,
            election_ticks: 10,
            max_msg_bytes: driver.node.max_msg_bytes,
            max_inflight_msgs: driver.node.max_inflight_msgs,
            snapshot_chunk_bytes: driver.node.snapshot_chunk_bytes,
            snapshot_every: driver.snapshot_every,
            session_idle_entries: None,
            driver_bugs: UnsafeBugs::default(),
            core_bugs: PlantedBugs::default(),
            network: NetworkSpec::default(),
            tune: |_| {},
            digest_states: false,
            record_events: false,
        }
    }

    /// The initial configuration: voters 1..=nodes.
    pub fn genesis(&self) -> ConfState {
        ConfState::with_voters(1..=self.nodes)
    }

    /// The driver configuration of node `id` in its `incarnation`.
    pub fn driver_config(&self, id: NodeId, incarnation: u32) -> DriverConfig {
        let mut core = Config::new(id);
        core.election_tick = self.election_ticks;
        core.heartbeat_tick = 1;
        core.max_msg_bytes = self.max_msg_bytes.max(1);
        core.max_inflight_msgs = self.max_inflight_msgs.max(1);
        core.snapshot_chunk_bytes = self.snapshot_chunk_bytes.max(1);
        core.seed = self.seed ^ (u64::from(incarnation) << 40);
        let mut cfg = DriverConfig::new(core, self.genesis(), self.driver_bugs);
        cfg.node.bugs = self.core_bugs;
        cfg.snapshot_every = self.snapshot_every;
        cfg.kv.session_idle_entries = self
            .session_idle_entries
            .unwrap_or(cfg.kv.session_idle_entries);
        (self.tune)(&mut cfg);
        cfg
    }
}
