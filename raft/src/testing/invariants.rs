//! The one Raft invariant checker of the project's test worlds (test support; the idea of
//! TigerBeetle's state checker, written here). Every world feeds it the same observations:
//! - [`Checker::on_persist`]: what a node's batch (or Ready) persisted, in order: a snapshot, then
//!   entries; [`Checker::on_durable`]: how much of it the storage reports durable;
//! - [`Checker::on_crash`] and [`Checker::on_restart`]: a node lost its memory, and what its
//!   storage read back;
//! - [`Checker::on_apply`] (an entry applied, when the world sees them) and
//!   [`Checker::on_applied_digest`] (a running digest of the applied sequence, when the state
//!   machine keeps one);
//! - [`Checker::check`]: a node's [`Status`] after each step.
//!
//! It asserts, naming each violation in kebab-case:
//! - `two-leaders` (election safety): at most one node is ever leader in a term;
//! - `log-matching`: an (index, term) names one entry with one predecessor term everywhere
//!   (which makes two logs sharing an (index, term) identical up to it), and terms never
//!   decrease along a log;
//! - `leader-completeness`: a leader of term t holds every entry committed before term t;
//! - `committed-mismatch`: every node commits the same entry at an index;
//! - `state-machine-safety`: every node applies the committed entry at an index, and its
//!   running digest of the applied sequence there is the same everywhere;
//! - `commit-regressed`, `applied-regressed`, `applied-beyond-commit`: a node's commit index
//!   never goes back (across a crash not below what it persisted, or not at all with
//!   [`CheckerOptions::commit_survives_crash`]), its applied index goes back only to restart
//!   from its snapshot, and never passes its commit index;
//! - `committed-entry-lost`: a committed entry is never overwritten or dropped from a log by
//!   anything but a snapshot covering it, and enough voters hold it durably (in the log or
//!   under a snapshot) that every quorum has a copy ([`Checker::check_durability`]);
//! - `conf-changes-in-flight`, `commit-without-quorum`, `non-voter-leader`,
//!   `removed-node-elected`: the membership invariants (see `membership.rs`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::core::{
    ConfChange, ConfState, Entry, Index, NodeId, PersistedState, Role, Status, Term,
};

use super::log_mirror::{entry_digest, Dropped, LogMirror};
use super::membership::Membership;

/// Which invariant broke, with the facts that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's kebab-case name (see the module documentation).
    pub name: &'static str,
    pub detail: String,
}

impl Violation {
    pub(super) fn new(name: &'static str, detail: String) -> Violation {
        Violation { name, detail }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.detail)
    }
}

impl std::error::Error for Violation {}

type Check = Result<(), Violation>;

/// How strict the checker is where worlds differ.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckerOptions {
    /// The commit index survives a crash exactly (a world whose storage persists every commit
    /// advance at once). Without it, a restarted node may resume from the commit it persisted.
    pub commit_survives_crash: bool,
}

/// A snapshot a batch persisted.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotWrite {
    pub index: Index,
    pub term: Term,
    /// Received from a leader (it replaces the whole log), rather than taken by the node itself
    /// (it frees the entries it covers).
    pub replaces_log: bool,
}

/// An entry known committed.
#[derive(Clone, Copy, Debug)]
struct Committed {
    term: Term,
    digest: u64,
    /// The lowest term of a node seen holding it as committed.
    observed_term: Term,
    node: NodeId,
}

#[derive(Debug, Default)]
struct Track {
    log: LogMirror,
    commit: Index,
    applied: Index,
    /// Highest commit index whose entries were compared.
    commit_checked: Index,
    /// The term in which leader completeness was last checked, while it leads.
    leader_term: Option<Term>,
}

/// The invariant checker of one cluster (see the module documentation).
#[derive(Debug)]
pub struct Checker {
    options: CheckerOptions,
    leaders: HashMap<Term, NodeId>,
    /// (index, term) -> (digest of the entry, term of its predecessor).
    entries: HashMap<(Index, Term), (u64, Term)>,
    /// By index (`committed[i]` is index `i`): committed indexes are dense.
    committed: Vec<Option<Committed>>,
    /// The running digest of the applied sequence at each index a node reported one.
    applied_digests: HashMap<Index, (u64, NodeId)>,
    nodes: BTreeMap<NodeId, Track>,
    membership: Membership,
}

impl Checker {
    /// The checker of a cluster that starts with the configuration `genesis`.
    pub fn new(genesis: ConfState) -> Checker {
        Checker::with_options(genesis, CheckerOptions::default())
    }

    pub fn with_options(genesis: ConfState, options: CheckerOptions) -> Checker {
        Checker {
            options,
            leaders: HashMap::new(),
            entries: HashMap::new(),
            committed: Vec::new(),
            applied_digests: HashMap::new(),
            nodes: BTreeMap::new(),
            membership: Membership::new(genesis),
        }
    }

    fn committed_at(&self, index: Index) -> Option<Committed> {
        self.committed.get(index as usize).copied().flatten()
    }

    /// Highest index known committed.
    pub fn max_committed(&self) -> Index {
        self.committed.len().saturating_sub(1) as Index
    }

    /// True once some node reported `index` committed (or applied it).
    pub fn is_committed(&self, index: Index) -> bool {
        self.committed_at(index).is_some()
    }

    /// Number of distinct terms that had a leader.
    pub fn leader_terms(&self) -> usize {
        self.leaders.len()
    }

    /// Node `id`'s log as the checker knows it.
    pub fn log(&self, id: NodeId) -> Option<&LogMirror> {
        self.nodes.get(&id).map(|t| &t.log)
    }

    /// The configuration made by every committed membership change.
    pub fn committed_conf(&self) -> ConfState {
        self.membership.committed_conf()
    }

    /// True once a committed change removed `id`.
    pub fn is_removed(&self, id: NodeId) -> bool {
        self.membership.is_removed(id)
    }

    /// The nodes whose removal was committed since the last call.
    pub fn take_fresh_removals(&mut self) -> Vec<NodeId> {
        self.membership.take_fresh_removals()
    }

    /// Node `id` persisted a batch: maybe a snapshot, then `entries` (which replace the log
    /// from their first index on).
    pub fn on_persist(
        &mut self,
        id: NodeId,
        snapshot: Option<SnapshotWrite>,
        entries: &[Entry],
    ) -> Check {
        let track = self.nodes.entry(id).or_default();
        let mut dropped = Vec::new();
        if let Some(s) = snapshot {
            // A snapshot covers committed entries only: the ones it frees are recorded as
            // committed before they leave the mirror.
            let from = track.commit_checked.max(track.log.snapshot_index()) + 1;
            if !s.replaces_log && s.index >= from {
                self.record_range(id, from, s.index, Term::MAX)?;
            }
            let track = self.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
            dropped = track.log.snapshot(s.index, s.term, s.replaces_log);
        }
        let track = self.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
        dropped.extend(track.log.write(entries));
        // Entries a snapshot dropped and the same batch wrote again are not lost.
        let log = &track.log;
        dropped.retain(|&(index, term, _)| log.term_at(index) != Some(term));
        self.check_dropped(id, &dropped, "overwrote or dropped")?;
        let log = &self.nodes[&id].log;
        for entry in entries.iter().filter(|e| e.index > log.snapshot_index()) {
            let Some(prev) = log.term_at(entry.index - 1) else {
                continue;
            };
            if entry.term < prev {
                return Err(Violation::new(
                    "log-matching",
                    format!(
                        "node {id}'s log has entry {} of term {} after an entry of term {prev}",
                        entry.index, entry.term
                    ),
                ));
            }
            let digest = entry_digest(entry);
            let (known, known_prev) = *self
                .entries
                .entry((entry.index, entry.term))
                .or_insert((digest, prev));
            if known != digest {
                return Err(Violation::new(
                    "log-matching",
                    format!(
                        "node {id} stored a different entry at index {} term {} than another node",
                        entry.index, entry.term
                    ),
                ));
            }
            if known_prev != prev {
                return Err(Violation::new(
                    "log-matching",
                    format!(
                        "entry {}/{} follows term {prev} on node {id} but term {known_prev} elsewhere",
                        entry.index, entry.term
                    ),
                ));
            }
        }
        Ok(())
    }

    /// No entry in `dropped` is a committed one; `how` says what removed them (for the report).
    fn check_dropped(&self, id: NodeId, dropped: &[Dropped], how: &str) -> Check {
        for &(index, term, digest) in dropped {
            if let Some(c) = self.committed_at(index) {
                if (c.term, c.digest) == (term, digest) {
                    return Err(Violation::new(
                        "committed-entry-lost",
                        format!("node {id} {how} committed entry {index} (term {term})"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Node `id`'s storage reports its log durable up to `index`.
    pub fn on_durable(&mut self, id: NodeId, index: Index) {
        self.nodes.entry(id).or_default().log.set_durable(index);
    }

    /// Node `id`'s disk was replaced by an empty one (the node rejoins as a new member): its
    /// log, commit and applied indexes are forgotten.
    pub fn on_disk_wiped(&mut self, id: NodeId) {
        self.nodes.remove(&id);
    }

    /// Node `id` crashed: its memory is gone, its disk stays.
    pub fn on_crash(&mut self, id: NodeId) {
        if let Some(track) = self.nodes.get_mut(&id) {
            track.leader_term = None;
        }
    }

    /// Node `id` starts (again) from what its storage read back, `persisted`, and reports
    /// `status`. A node that was never seen may start here too.
    pub fn on_restart(&mut self, id: NodeId, persisted: &PersistedState, status: &Status) -> Check {
        let survives = self.options.commit_survives_crash;
        let track = self.nodes.entry(id).or_default();
        let before = std::mem::replace(&mut track.log, LogMirror::from_persisted(persisted));
        track.leader_term = None;
        if status.commit < persisted.hard_state.commit {
            return Err(Violation::new(
                "commit-regressed",
                format!(
                    "node {id} restarted with commit {} below its persisted commit {}",
                    status.commit, persisted.hard_state.commit
                ),
            ));
        }
        if !survives {
            track.commit = status.commit;
        }
        track.commit_checked = track.commit_checked.min(status.commit);
        track.applied = status.applied;
        // What the node held durably before the crash must have come back.
        let lost = (1..=before.durable_index())
            .filter(|&i| i > track.log.snapshot_index())
            .filter_map(|i| before.get(i).map(|(t, d)| (i, t, d)))
            .filter(|&(i, t, _)| track.log.term_at(i) != Some(t))
            .collect::<Vec<_>>();
        self.check_dropped(id, &lost, "lost in a crash (held durably, not recovered)")
    }

    /// Node `id` applied `entry`: it must be the committed entry there.
    pub fn on_apply(&mut self, id: NodeId, entry: &Entry, term: Term) -> Check {
        let digest = entry_digest(entry);
        let slot = entry.index as usize;
        if self.committed.len() <= slot {
            self.committed.resize(slot + 1, None);
        }
        let known = *self.committed[slot].get_or_insert(Committed {
            term: entry.term,
            digest,
            observed_term: term,
            node: id,
        });
        if (known.term, known.digest) != (entry.term, digest) {
            return Err(Violation::new(
                "state-machine-safety",
                format!(
                    "node {id} applied term {} at index {}, node {} committed term {} there",
                    entry.term, entry.index, known.node, known.term
                ),
            ));
        }
        Ok(())
    }

    /// Node `id`'s running digest of everything it applied, up to and including `applied`, is
    /// `digest`; every node must report the same digest at the same index.
    pub fn on_applied_digest(&mut self, id: NodeId, applied: Index, digest: u64) -> Check {
        if applied == 0 {
            return Ok(());
        }
        let (known, node) = *self.applied_digests.entry(applied).or_insert((digest, id));
        if known != digest {
            return Err(Violation::new(
                "state-machine-safety",
                format!("node {id}'s applied sequence up to {applied} differs from node {node}'s"),
            ));
        }
        Ok(())
    }

    /// Checks node `status.id` after a step (its batch, if any, already given to
    /// [`Checker::on_persist`]).
    pub fn check(&mut self, status: &Status) -> Check {
        let id = status.id;
        let track = self.nodes.entry(id).or_default();
        if status.commit < track.commit {
            return Err(Violation::new(
                "commit-regressed",
                format!(
                    "node {id}'s commit went back from {} to {}",
                    track.commit, status.commit
                ),
            ));
        }
        track.commit = status.commit;
        if status.applied < track.applied {
            return Err(Violation::new(
                "applied-regressed",
                format!(
                    "node {id}'s applied went back from {} to {}",
                    track.applied, status.applied
                ),
            ));
        }
        track.applied = status.applied;
        if status.applied > status.commit {
            return Err(Violation::new(
                "applied-beyond-commit",
                format!(
                    "node {id} applied {} beyond its commit {}",
                    status.applied, status.commit
                ),
            ));
        }
        self.check_leader(status)?;
        self.record_committed(status)?;
        let log = &self.nodes[&id].log;
        self.membership.check_node(status, log)?;
        let nodes = &self.nodes;
        self.membership
            .check_quorum(status, &nodes[&id].log, |v| nodes.get(&v).map(|t| &t.log))
    }

    fn check_leader(&mut self, status: &Status) -> Check {
        let id = status.id;
        let track = self.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
        if status.role != Role::Leader {
            track.leader_term = None;
            return Ok(());
        }
        let term = status.term;
        let leader = *self.leaders.entry(term).or_insert(id);
        if leader != id {
            return Err(Violation::new(
                "two-leaders",
                format!("nodes {leader} and {id} were both leader in term {term}"),
            ));
        }
        if track.leader_term == Some(term) {
            return Ok(());
        }
        track.leader_term = Some(term);
        let log = &track.log;
        let from = (log.snapshot_index() + 1) as usize;
        for (index, c) in self.committed.iter().enumerate().skip(from) {
            let Some(c) = c else { continue };
            if c.observed_term >= term {
                continue;
            }
            if log.term_at(index as Index) != Some(c.term) {
                return Err(Violation::new(
                    "leader-completeness",
                    format!(
                        "node {id} leads term {term} without committed entry {index} (term {}, committed by term {})",
                        c.term, c.observed_term
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Records the entries the node's commit index newly covers, comparing them with what
    /// other nodes committed there.
    fn record_committed(&mut self, status: &Status) -> Check {
        let id = status.id;
        let track = self.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
        if status.commit <= track.commit_checked {
            return Ok(());
        }
        let from = track.commit_checked + 1;
        track.commit_checked = status.commit;
        self.record_range(id, from, status.commit, status.term)
    }

    /// The entries `from..=to` of node `id`'s log are committed (seen by a node of term
    /// `observed_term`): compare them with what other nodes committed there, and note the
    /// membership changes among them.
    fn record_range(&mut self, id: NodeId, from: Index, to: Index, observed_term: Term) -> Check {
        let log = &self.nodes[&id].log;
        let mut changes: Vec<(Index, Term, ConfChange)> = Vec::new();
        for index in from..=to {
            let Some((term, digest)) = log.get(index) else {
                continue;
            };
            let slot = index as usize;
            if self.committed.len() <= slot {
                self.committed.resize(slot + 1, None);
            }
            if let Some(change) = log.conf_change(index) {
                changes.push((index, term, change.clone()));
            }
            match &mut self.committed[slot] {
                None => {
                    self.committed[slot] = Some(Committed {
                        term,
                        digest,
                        observed_term,
                        node: id,
                    });
                }
                Some(c) if (c.term, c.digest) != (term, digest) => {
                    return Err(Violation::new(
                        "committed-mismatch",
                        format!(
                            "index {index} committed as term {} on node {} but as term {term} on node {id}{}",
                            c.term,
                            c.node,
                            if c.term == term { " (same term, different bytes)" } else { "" }
                        ),
                    ));
                }
                Some(c) => c.observed_term = c.observed_term.min(observed_term),
            }
        }
        for (index, term, change) in changes {
            self.membership.on_committed(index, term, &change);
        }
        Ok(())
    }

    /// Every committed entry is held durably (in the log up to its durable index, or under a
    /// snapshot) by enough of `voters` that every quorum of them has a copy.
    pub fn check_durability(&self, voters: &[NodeId]) -> Check {
        let quorum = voters.len() / 2 + 1;
        let needed = voters.len() + 1 - quorum;
        let logs: Vec<&LogMirror> = voters.iter().filter_map(|v| self.log(*v)).collect();
        let from = logs.iter().map(|l| l.snapshot_index()).min().unwrap_or(0) + 1;
        for (index, c) in self.committed.iter().enumerate().skip(from as usize) {
            let Some(c) = c else { continue };
            let index = index as Index;
            let holders = logs
                .iter()
                .filter(|l| {
                    l.snapshot_index() >= index
                        || (index <= l.durable_index() && l.term_at(index) == Some(c.term))
                })
                .count();
            if holders < needed {
                return Err(Violation::new(
                    "committed-entry-lost",
                    format!(
                        "committed entry {index} (term {}) is durable on {holders} of voters {voters:?}, {needed} needed so every quorum holds it",
                        c.term
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
