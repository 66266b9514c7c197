//! Building a node: a brand-new member (`bootstrap`) or a restart from what earlier Readys told
//! the application to persist (`restart`), with the persisted state validated first.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::Config;
use super::error::CoreError;
use super::log::RaftLog;
use super::node::{Node, State};
use super::read_index::ReadIndexState;
use super::types::{ConfState, Entry, EntryKind, HardState, Index, NodeId};
use super::PersistedState;

impl Node {
    /// A brand-new member of a brand-new cluster with the given voters (and learners).
    ///
    /// A node that joins an existing cluster later bootstraps with the cluster's *initial*
    /// conf (it is not a member until the leader's log or snapshot says so).
    pub fn bootstrap(config: Config, conf: ConfState) -> Result<Node, CoreError> {
        Node::restart(config, conf, PersistedState::default())
    }

    /// Restart from persisted state (conf comes from the snapshot plus the committed
    /// conf-change entries in the log, or `initial_conf` when there is no snapshot).
    pub fn restart(
        config: Config,
        initial_conf: ConfState,
        persisted: PersistedState,
    ) -> Result<Node, CoreError> {
        config.validate()?;
        let (snap_index, snap_term, base_conf) = match &persisted.snapshot {
            Some(s) => (s.index, s.term, s.conf.clone()),
            None => (0, 0, initial_conf),
        };
        if snap_index > Index::MAX / 2 {
            return Err(CoreError::InvalidPersistedState(format!(
                "snapshot index {snap_index} is out of range"
            )));
        }
        let mut conf = base_conf;
        conf.normalize();
        if conf.voters.is_empty() {
            return Err(CoreError::InvalidConfState(
                "the configuration needs at least one voter".into(),
            ));
        }
        if let Some(both) = conf.voters.iter().find(|v| conf.is_learner(**v)) {
            return Err(CoreError::InvalidConfState(format!(
                "node {both} is listed both as voter and as learner"
            )));
        }
        let mut log = RaftLog::new(snap_index, snap_term);
        for entry in persisted.entries {
            if entry.index <= snap_index {
                continue;
            }
            if entry.index != log.last_index() + 1 {
                return Err(CoreError::InvalidPersistedState(format!(
                    "log entries must be contiguous after the snapshot: expected index {}, found {}",
                    log.last_index() + 1,
                    entry.index
                )));
            }
            if entry.term < log.last_term() {
                return Err(CoreError::InvalidPersistedState(format!(
                    "entry {} has term {} below the previous entry's term {}",
                    entry.index,
                    entry.term,
                    log.last_term()
                )));
            }
            log.push(entry);
        }
        // Everything read back from disk is durable.
        log.mark_all_durable();
        let hs = persisted.hard_state;
        if hs.commit > log.last_index() {
            return Err(CoreError::InvalidPersistedState(format!(
                "commit index {} is beyond the last persisted entry {}",
                hs.commit,
                log.last_index()
            )));
        }
        // The storage writes a batch's entries (and snapshot) before its hard state, so a crash
        // inside one batch can keep entries of a newer term without the term itself. Nothing of
        // that batch left the node (messages wait for the batch's sync), so no vote or
        // acknowledgement in the newer term is known outside: adopt it, with no vote.
        let (term, vote) = if hs.term < log.last_term() {
            tracing::warn!(
                node = config.id,
                stored_term = hs.term,
                log_term = log.last_term(),
                "persisted term below the last entry's term (a torn batch): adopting the log's term"
            );
            (log.last_term(), None)
        } else {
            (hs.term, hs.vote)
        };
        log.committed = hs.commit.max(snap_index);
        let seed = rng_seed(config.seed, config.id);
        let mut node = Node {
            id: config.id,
            term,
            vote,
            leader: None,
            state: State::Follower,
            conf: conf.clone(),
            conf_index: snap_index,
            conf_history: vec![(snap_index, conf)],
            pending_conf_index: 0,
            snapshot: persisted.snapshot,
            pending_snapshot: None,
            incoming_snapshot: None,
            progress: BTreeMap::new(),
            votes: BTreeMap::new(),
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            randomized_timeout: config.election_tick,
            rng: ChaCha8Rng::from_seed(seed),
            msgs: Vec::new(),
            prev_hard_state: HardState::default(),
            reads: ReadIndexState::default(),
            transfer: None,
            scratch: Vec::new(),
            log,
            cfg: config,
        };
        // Committed membership changes are in effect already; they are handed out again with
        // the other committed entries but not applied twice.
        let committed: Vec<Entry> = node
            .log
            .slice(snap_index + 1, node.log.committed)
            .iter()
            .filter(|e| e.kind == EntryKind::ConfChange)
            .cloned()
            .collect();
        for entry in &committed {
            node.apply_conf_entry(entry);
        }
        node.prev_hard_state = node.hard_state();
        node.reset_election_timer();
        Ok(node)
    }
}

fn rng_seed(seed: u64, id: NodeId) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&id.to_le_bytes());
    bytes[16..24].copy_from_slice(b"gauntlet");
    bytes
}
