//! Configuration of the KV state machine: the replicated session-expiry rule and planted bugs.
//!
//! Every replica must use the same `KvConfig`, because the values here decide which sessions
//! expire at which log index.

/// Settings of [`crate::kv::KvStateMachine`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvConfig {
    /// A session expires when more than this many log indexes have been applied since its last
    /// command (evaluated at apply time, so every replica expires it at the same index).
    pub session_idle_entries: u64,
    /// At most this many live sessions; opening one more evicts the least recently used.
    pub max_sessions: usize,
    /// How many expired or evicted client ids are remembered, so that a late retry of such a
    /// client's first request is refused instead of opening a fresh session and applying twice.
    pub max_tombstones: usize,
    /// Deliberate mistakes for proving that the harness catches them. All off by default.
    pub bugs: KvPlantedBugs,
}

impl Default for KvConfig {
    fn default() -> KvConfig {
        KvConfig {
            session_idle_entries: 1_000_000,
            max_sessions: 10_000,
            max_tombstones: 100_000,
            bugs: KvPlantedBugs::default(),
        }
    }
}

/// Planted bugs that live in the KV machine. (`stale-read` lives in the server: it answers reads
/// by calling [`crate::kv::KvStateMachine::read`] without waiting for a read index.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvPlantedBugs {
    /// `no-dedup`: client sessions are ignored, so a retried write is applied again.
    pub no_dedup: bool,
    /// `snapshot-drops-sessions`: a snapshot leaves out the session table (and the tombstones),
    /// so a replica restored from it applies a retried write again, or refuses a client's next
    /// write as `SessionExpired` while the others apply it.
    pub snapshot_drops_sessions: bool,
}

impl KvPlantedBugs {
    /// The `--unsafe-bug` names this struct knows.
    pub const NAMES: &'static [&'static str] = &["no-dedup", "snapshot-drops-sessions"];

    /// Turns on the bug called `name`; returns false when `name` is not a KV bug.
    pub fn enable(&mut self, name: &str) -> bool {
        match name {
            "no-dedup" => {
                self.no_dedup = true;
                true
            }
            "snapshot-drops-sessions" => {
                self.snapshot_drops_sessions = true;
                true
            }
            _ => false,
        }
    }
}
