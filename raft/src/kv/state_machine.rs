//! The KV state machine: applies committed commands through the session table, serves reads for
//! the read-index path, and takes and restores deterministic snapshots.

use std::collections::BTreeMap;

use super::command::Command;
use super::config::KvConfig;
use super::digest::{AppliedKind, Digest, CHECKPOINT_EVERY};
use super::error::KvError;
use super::op::{execute, Op, OpResult};
use super::session::{SessionCheck, SessionTable};
use super::snapshot;
use crate::coverage::{self, Mark};

/// The outcome of applying one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Applied now, or a duplicate answered from the session cache.
    Ok(OpResult),
    /// The client has no session (it expired, was evicted, or the command is not a first one):
    /// nothing was applied now. An earlier attempt with the same sequence may have been.
    SessionExpired,
    /// A later sequence of this client was already applied; nothing was applied now.
    StaleSequence,
}

/// The replicated key/value map plus client sessions. Deterministic: equal sequences of calls
/// give equal states and byte-identical snapshots.
#[derive(Clone, Debug)]
pub struct KvStateMachine {
    config: KvConfig,
    data: BTreeMap<String, String>,
    sessions: SessionTable,
    applied_index: u64,
    /// Rolling digest of everything applied up to `applied_index` (`None` only if a snapshot
    /// without one was restored; see [`super::digest`]).
    applied_digest: Option<Digest>,
    /// The digest at the last multiple of [`CHECKPOINT_EVERY`] applied in this process.
    checkpoint: Option<(u64, Digest)>,
}

impl PartialEq for KvStateMachine {
    /// Compares the replicated state (data, sessions, applied index), not the config nor the
    /// digest of how it was reached.
    fn eq(&self, other: &KvStateMachine) -> bool {
        self.data == other.data
            && self.sessions == other.sessions
            && self.applied_index == other.applied_index
    }
}

impl KvStateMachine {
    pub fn new(config: KvConfig) -> KvStateMachine {
        KvStateMachine {
            config,
            data: BTreeMap::new(),
            sessions: SessionTable::default(),
            applied_index: 0,
            applied_digest: Some(Digest::EMPTY),
            checkpoint: None,
        }
    }

    /// A machine restored from snapshot bytes.
    pub fn from_snapshot(config: KvConfig, bytes: &[u8]) -> Result<KvStateMachine, KvError> {
        let mut machine = KvStateMachine::new(config);
        machine.restore(bytes)?;
        Ok(machine)
    }

    pub fn config(&self) -> &KvConfig {
        &self.config
    }

    /// The index of the last entry applied (or marked applied).
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// The rolling digest of the applied sequence up to [`KvStateMachine::applied_index`].
    pub fn applied_digest(&self) -> Option<Digest> {
        self.applied_digest
    }

    /// The last (index, digest) at a multiple of [`CHECKPOINT_EVERY`] this machine applied
    /// itself (not restored from a snapshot): every replica that applies that index reports the
    /// same digest there.
    pub fn last_checkpoint(&self) -> Option<(u64, Digest)> {
        self.checkpoint
    }

    pub fn data(&self) -> &BTreeMap<String, String> {
        &self.data
    }

    pub fn sessions(&self) -> &SessionTable {
        &self.sessions
    }

    /// Reads a key from the local state: the read-index path calls this once the applied index
    /// has reached the read state's index. (The server's `stale-read` bug calls it without waiting.)
    pub fn read(&self, key: &str) -> Option<String> {
        self.data.get(key).cloned()
    }

    /// Runs a read-only op against the local state: `Some` for `Get`, `None` for a write.
    pub fn read_op(&self, op: &Op) -> Option<OpResult> {
        match op {
            Op::Get { key } => Some(OpResult::Value(self.read(key))),
            _ => None,
        }
    }

    /// Applies the command committed at `index`. Indexes must increase; a repeated index is
    /// logged and answered through the sessions (so a write is still not applied twice), without
    /// moving the applied index or evaluating expiry.
    pub fn apply(&mut self, index: u64, command: &Command) -> Reply {
        if index > self.applied_index {
            self.fold_digest(index, AppliedKind::Command, &command.encode());
        }
        self.apply_command(index, command)
    }

    fn apply_command(&mut self, index: u64, command: &Command) -> Reply {
        if index > self.applied_index {
            self.advance_to(index);
        } else {
            tracing::warn!(
                index,
                applied = self.applied_index,
                "KV command applied at an index that is not above the applied index"
            );
        }
        let cfg = &self.config;
        if cfg.bugs.no_dedup {
            // Planted bug "no-dedup": every command is applied as if it were new.
            let result = execute(&mut self.data, &command.op);
            self.sessions.record(
                command.client_id,
                command.seq,
                result.clone(),
                index,
                cfg.max_sessions,
                cfg.max_tombstones,
            );
            return Reply::Ok(result);
        }
        match self.sessions.check(command.client_id, command.seq) {
            SessionCheck::Apply => {
                let result = execute(&mut self.data, &command.op);
                self.sessions.record(
                    command.client_id,
                    command.seq,
                    result.clone(),
                    index,
                    cfg.max_sessions,
                    cfg.max_tombstones,
                );
                Reply::Ok(result)
            }
            SessionCheck::Duplicate(result) => {
                coverage::hit(Mark::DuplicateWriteAnswered);
                self.sessions.touch(command.client_id, index);
                Reply::Ok(result)
            }
            SessionCheck::Stale => {
                self.sessions.touch(command.client_id, index);
                Reply::StaleSequence
            }
            SessionCheck::Expired => Reply::SessionExpired,
        }
    }

    /// Applies a committed normal entry's bytes. Empty bytes (a no-op) only advance the applied
    /// index and give `Ok(None)`. Bytes that do not decode still advance the applied index (every
    /// replica skips the same entry) and give an error for the driver to log.
    pub fn apply_entry(
        &mut self,
        index: u64,
        bytes: &[u8],
    ) -> Result<Option<(u64, u64, Reply)>, KvError> {
        if index <= self.applied_index {
            return Err(KvError::IndexNotIncreasing {
                index,
                applied: self.applied_index,
            });
        }
        if bytes.is_empty() {
            self.fold_digest(index, AppliedKind::Noop, bytes);
            self.advance_to(index);
            return Ok(None);
        }
        self.fold_digest(index, AppliedKind::Command, bytes);
        match Command::decode(bytes) {
            Ok(command) => {
                let reply = self.apply_command(index, &command);
                Ok(Some((command.client_id, command.seq, reply)))
            }
            Err(err) => {
                self.advance_to(index);
                Err(err)
            }
        }
    }

    /// Records that the entry at `index` was not a KV command (a no-op or a membership change).
    pub fn mark_applied(&mut self, index: u64) -> Result<(), KvError> {
        if index <= self.applied_index {
            return Err(KvError::IndexNotIncreasing {
                index,
                applied: self.applied_index,
            });
        }
        self.fold_digest(index, AppliedKind::Other, &[]);
        self.advance_to(index);
        Ok(())
    }

    /// The full state as bytes (see [`snapshot`] for the format).
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::encode_with_bugs(
            &self.config.bugs,
            self.applied_index,
            self.applied_digest,
            &self.data,
            self.sessions.sessions(),
            self.sessions.tombstones(),
        )
    }

    /// Replaces the whole state with a snapshot's. On error the state is unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), KvError> {
        let parts = snapshot::decode(bytes)?;
        coverage::hit_if(!parts.sessions.is_empty(), Mark::SessionsRestored);
        self.applied_index = parts.applied_index;
        self.applied_digest = parts.applied_digest;
        self.checkpoint = None;
        self.data = parts.data;
        self.sessions = SessionTable::from_parts(parts.sessions, parts.tombstones);
        Ok(())
    }

    /// Folds the entry applied at `index` (above the applied index) into the digest, keeping a
    /// checkpoint at every multiple of [`CHECKPOINT_EVERY`].
    fn fold_digest(&mut self, index: u64, kind: AppliedKind, bytes: &[u8]) {
        self.applied_digest = self.applied_digest.map(|d| d.fold(index, kind, bytes));
        if index.is_multiple_of(CHECKPOINT_EVERY) {
            self.checkpoint = self.applied_digest.map(|d| (index, d));
        }
    }

    fn advance_to(&mut self, index: u64) {
        self.applied_index = index;
        self.sessions.expire_idle(
            index,
            self.config.session_idle_entries,
            self.config.max_tombstones,
        );
    }
}
