//! Node configuration: timing, randomness, flow-control limits (snapshot chunk size included)
//! and the planted-bug switches.

use super::types::NodeId;
use super::CoreError;

/// Deliberate protocol bugs, all off by default. The simulator and harness switch them on to prove
/// that their checks catch real safety violations.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlantedBugs {
    /// Commit by counting replicas of entries of an older term (violates the Figure 8 rule).
    pub commit_old_term: bool,
    /// A follower truncates its log after prevLogIndex even when the following entries match
    /// (a stale or reordered AppendEntries then erases acknowledged entries).
    pub truncate_matching: bool,
    /// Grant votes (and pre-votes) without the up-to-date log check (a stale node can win an
    /// election and overwrite committed entries).
    pub vote_any: bool,
    /// A follower offered a snapshot checks only that it holds an entry at the snapshot's index,
    /// not that entry's term (Raft's "retain the log entries following it" rule without its term
    /// check): a conflicting log is kept instead of replaced, and committed up to that index.
    pub snapshot_keeps_suffix: bool,
    /// The leader promotes a learner without checking that it has caught up, and takes the
    /// promotion as proof that it has: for the rest of its term it counts the new voter as
    /// holding everything the leader holds. A majority that counts a voter holding nothing
    /// commits entries only a minority has. Only membership churn (a promotion) exposes it.
    pub promote_unready: bool,
    /// The leader accepts a membership change while another is still in flight (appended, not
    /// yet applied), and even before it has committed an entry of its own term, so a new
    /// leader may stack a change on one its predecessor left uncommitted. Only membership churn
    /// exposes it.
    pub two_changes_in_flight: bool,
}

/// The default size of one InstallSnapshot chunk: 1 MiB, like the AppendEntries byte budget.
pub const DEFAULT_SNAPSHOT_CHUNK_BYTES: usize = 1 << 20;

/// Everything a node needs to know besides its persisted state.
#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// The election timeout is drawn in `[election_tick, 2 * election_tick)` at every reset.
    pub election_tick: u32,
    /// A leader sends heartbeats every `heartbeat_tick` ticks.
    pub heartbeat_tick: u32,
    /// All randomness comes from a ChaCha RNG seeded from `(seed, id)`.
    pub seed: u64,
    /// Run a pre-vote round before bumping the term (default true).
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a quorum within an election timeout, and
    /// followers ignore vote requests while they hear from a leader (default true).
    pub check_quorum: bool,
    /// Per-follower window of in-flight AppendEntries messages.
    pub max_inflight_msgs: usize,
    /// Byte budget of entries per AppendEntries (at least one entry is always sent).
    pub max_msg_bytes: usize,
    /// Bytes of snapshot data per InstallSnapshot chunk (the last chunk may be shorter).
    pub snapshot_chunk_bytes: usize,
    pub bugs: PlantedBugs,
}

impl Config {
    /// Sensible defaults: election 10 ticks, heartbeat 1 tick, pre-vote and check-quorum on.
    pub fn new(id: NodeId) -> Config {
        Config {
            id,
            election_tick: 10,
            heartbeat_tick: 1,
            seed: 0,
            pre_vote: true,
            check_quorum: true,
            max_inflight_msgs: 256,
            max_msg_bytes: 1 << 20,
            snapshot_chunk_bytes: DEFAULT_SNAPSHOT_CHUNK_BYTES,
            bugs: PlantedBugs::default(),
        }
    }

    /// Checks the limits; a bad config is a typed error naming what was expected.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.heartbeat_tick == 0 {
            return Err(CoreError::InvalidConfig(
                "heartbeat_tick must be at least 1".into(),
            ));
        }
        if self.election_tick <= self.heartbeat_tick {
            return Err(CoreError::InvalidConfig(format!(
                "election_tick ({}) must be greater than heartbeat_tick ({})",
                self.election_tick, self.heartbeat_tick
            )));
        }
        if self.max_inflight_msgs == 0 {
            return Err(CoreError::InvalidConfig(
                "max_inflight_msgs must be at least 1".into(),
            ));
        }
        if self.max_msg_bytes == 0 {
            return Err(CoreError::InvalidConfig(
                "max_msg_bytes must be at least 1".into(),
            ));
        }
        if self.snapshot_chunk_bytes == 0 {
            return Err(CoreError::InvalidConfig(
                "snapshot_chunk_bytes must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
