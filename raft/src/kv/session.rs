//! Client sessions: the table that makes every write exactly-once, and its replicated expiry rule.
//!
//! Rules (all evaluated at apply time from log indexes only, so every replica agrees):
//! * A session opens with the client's first command, which must carry [`FIRST_SEQ`]. A command
//!   from an unknown client with any other sequence number gets `SessionExpired`: its session
//!   existed once and is gone, and applying it could apply a write twice.
//! * For a known session whose last applied sequence is `last`: `seq == last` is a duplicate and
//!   gets the cached result without applying; `seq < last` gets `StaleSequence`; `seq > last` is
//!   applied (a client sends its sequences in order, one outstanding request at a time, so a gap
//!   only means that the skipped numbers will never be applied).
//! * Expiry: when the entry at index `i` is applied, every session whose last command is at an
//!   index `a` with `i - a > session_idle_entries` is removed.
//! * Capacity: opening a session beyond `max_sessions` evicts the least recently active one
//!   (smallest last index, then smallest client id).
//! * Expired and evicted client ids are remembered (up to `max_tombstones`, oldest forgotten
//!   first), so a late retry of such a client's *first* request is refused as well.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::op::OpResult;
use crate::coverage::{self, Mark};

/// The sequence number of a client's first command.
pub const FIRST_SEQ: u64 = 1;

/// What the table remembers about one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The highest sequence number applied for this client.
    pub last_seq: u64,
    /// The result of that command, returned again to a retry.
    pub last_result: OpResult,
    /// The log index of the client's latest command (applied, duplicate or stale).
    pub last_active: u64,
}

/// What to do with an incoming `(client, seq)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCheck {
    /// Apply the op and then [`SessionTable::record`] the result.
    Apply,
    /// Already applied: answer with this cached result, do not apply.
    Duplicate(OpResult),
    /// Older than the last applied sequence: refuse.
    Stale,
    /// No session and not a first command (or the client id expired): refuse.
    Expired,
}

/// All live sessions, the activity order used for expiry and eviction, and the tombstones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionTable {
    sessions: BTreeMap<u64, Session>,
    /// `(last_active, client_id)` of every live session, oldest first.
    by_activity: BTreeSet<(u64, u64)>,
    /// Expired or evicted client ids, oldest first, and the same ids as a set.
    tombstones: VecDeque<u64>,
    tombstone_set: BTreeSet<u64>,
}

impl SessionTable {
    /// Rebuilds a table from snapshot parts (already validated by the caller).
    pub fn from_parts(sessions: BTreeMap<u64, Session>, tombstones: Vec<u64>) -> SessionTable {
        let by_activity = sessions
            .iter()
            .map(|(client, s)| (s.last_active, *client))
            .collect();
        let tombstone_set = tombstones.iter().copied().collect();
        SessionTable {
            sessions,
            by_activity,
            tombstones: tombstones.into(),
            tombstone_set,
        }
    }

    pub fn sessions(&self) -> &BTreeMap<u64, Session> {
        &self.sessions
    }

    pub fn tombstones(&self) -> &VecDeque<u64> {
        &self.tombstones
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn get(&self, client_id: u64) -> Option<&Session> {
        self.sessions.get(&client_id)
    }

    pub fn is_tombstoned(&self, client_id: u64) -> bool {
        self.tombstone_set.contains(&client_id)
    }

    /// Decides what to do with `(client_id, seq)`; changes nothing.
    pub fn check(&self, client_id: u64, seq: u64) -> SessionCheck {
        match self.sessions.get(&client_id) {
            None if seq == FIRST_SEQ && !self.is_tombstoned(client_id) => SessionCheck::Apply,
            None => SessionCheck::Expired,
            Some(s) if seq == s.last_seq => SessionCheck::Duplicate(s.last_result.clone()),
            Some(s) if seq < s.last_seq => SessionCheck::Stale,
            Some(_) => SessionCheck::Apply,
        }
    }

    /// Marks a live session as active at `index` (duplicates and stale retries count too).
    pub fn touch(&mut self, client_id: u64, index: u64) {
        if let Some(s) = self.sessions.get_mut(&client_id) {
            self.by_activity.remove(&(s.last_active, client_id));
            s.last_active = s.last_active.max(index);
            self.by_activity.insert((s.last_active, client_id));
        }
    }

    /// Records that `(client_id, seq)` was applied at `index` with `result`, opening the session
    /// if needed and evicting the least recently active sessions beyond `max_sessions`.
    pub fn record(
        &mut self,
        client_id: u64,
        seq: u64,
        result: OpResult,
        index: u64,
        max_sessions: usize,
        max_tombstones: usize,
    ) {
        let last_active = match self.sessions.get_mut(&client_id) {
            Some(session) => {
                self.by_activity.remove(&(session.last_active, client_id));
                session.last_active = session.last_active.max(index);
                session.last_seq = seq;
                session.last_result = result;
                session.last_active
            }
            None => {
                self.sessions.insert(
                    client_id,
                    Session {
                        last_seq: seq,
                        last_result: result,
                        last_active: index,
                    },
                );
                index
            }
        };
        self.by_activity.insert((last_active, client_id));
        while self.sessions.len() > max_sessions.max(1) {
            let Some(&(_, victim)) = self
                .by_activity
                .iter()
                .find(|(_, client)| *client != client_id)
            else {
                break;
            };
            tracing::debug!(
                client_id = victim,
                "KV session evicted (session table full)"
            );
            self.remove(victim, max_tombstones);
        }
    }

    /// Removes every session idle for more than `idle_entries` indexes as of `index`.
    /// Returns how many expired.
    pub fn expire_idle(&mut self, index: u64, idle_entries: u64, max_tombstones: usize) -> usize {
        let mut expired = 0;
        while let Some(&(last_active, client_id)) = self.by_activity.first() {
            if index.saturating_sub(last_active) <= idle_entries {
                break;
            }
            coverage::hit(Mark::SessionExpired);
            tracing::debug!(client_id, last_active, index, "KV session expired");
            self.remove(client_id, max_tombstones);
            expired += 1;
        }
        expired
    }

    fn remove(&mut self, client_id: u64, max_tombstones: usize) {
        if let Some(s) = self.sessions.remove(&client_id) {
            self.by_activity.remove(&(s.last_active, client_id));
        }
        if max_tombstones == 0 {
            return;
        }
        if self.tombstone_set.insert(client_id) {
            self.tombstones.push_back(client_id);
        }
        while self.tombstones.len() > max_tombstones {
            if let Some(forgotten) = self.tombstones.pop_front() {
                self.tombstone_set.remove(&forgotten);
            }
        }
    }
}
