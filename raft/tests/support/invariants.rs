//! The invariant checker the cluster runs after every step.
//!
//! It keeps a global record of everything it has seen and asserts:
//! - election safety: at most one node is ever leader in a term;
//! - log matching: an (index, term) pair names one entry with one predecessor term, everywhere,
//!   which by induction makes two logs that share an (index, term) identical up to it;
//! - leader completeness: a leader of term t holds every entry known committed before term t;
//! - state machine safety: every node applies the same entry at an index, and its running hash
//!   there is the same (so applied sequences are prefixes of one another);
//! - commit never goes backwards (not even across a crash) and applied never goes backwards
//!   except that a restart resumes from the snapshot;
//! - no committed entry is lost: a committed entry is never overwritten on any disk, and enough
//!   voters' disks that every quorum has a copy (in the log or under a snapshot).

use std::collections::{BTreeMap, HashMap};

use raft::core::{ConfState, Entry, Index, NodeId, Role, Status, Term};

use super::app::{entry_digest, App};
use super::disk::Disk;

/// An entry known to be committed, and the lowest term of a node seen holding it as committed.
#[derive(Clone, Debug)]
pub struct Committed {
    pub entry: Entry,
    pub observed_term: Term,
}

#[derive(Clone, Debug, Default)]
struct Track {
    commit: Index,
    applied: Index,
    commit_checked: Index,
    leader_term: Option<Term>,
}

/// Global record of the run, checked incrementally.
#[derive(Default)]
pub struct Invariants {
    leaders: HashMap<Term, NodeId>,
    /// (index, term) -> (digest of the entry, term of its predecessor if known).
    entries: HashMap<(Index, Term), (u64, Option<Term>)>,
    pub committed: BTreeMap<Index, Committed>,
    applied_chain: HashMap<Index, u64>,
    nodes: HashMap<NodeId, Track>,
    /// The membership as of the highest applied index any node reported (crashed or not).
    latest_conf: Option<(Index, ConfState)>,
}

pub type Check = Result<(), String>;

impl Invariants {
    /// Highest index known committed.
    pub fn max_committed(&self) -> Index {
        self.committed.keys().next_back().copied().unwrap_or(0)
    }

    /// A node persisted the entries `first..=last` (now on `disk`) and maybe a new hard state;
    /// `replaced` lists the (index, term) of stored entries the write replaced.
    pub fn on_persist(
        &mut self,
        id: NodeId,
        disk: &Disk,
        first: Index,
        last: Index,
        replaced: &[(Index, Term)],
    ) -> Check {
        for (index, term) in replaced {
            if let Some(c) = self.committed.get(index) {
                if c.entry.term == *term {
                    return Err(format!(
                        "committed entry lost: node {id} replaced committed entry {index} (term {term})"
                    ));
                }
            }
        }
        for index in first..=last {
            let Some(entry) = disk.entry(index) else {
                continue;
            };
            let digest = entry_digest(entry);
            let prev = disk.term_at(index - 1);
            if let Some(p) = prev {
                if entry.term < p {
                    return Err(format!(
                        "node {id}'s log has entry {index} of term {} after an entry of term {p}",
                        entry.term
                    ));
                }
            }
            match self.entries.get_mut(&(index, entry.term)) {
                None => {
                    self.entries.insert((index, entry.term), (digest, prev));
                }
                Some((d, p)) => {
                    if *d != digest {
                        return Err(format!(
                            "log matching: node {id} stored a different entry at index {index} term {}",
                            entry.term
                        ));
                    }
                    match (*p, prev) {
                        (Some(a), Some(b)) if a != b => {
                            return Err(format!(
                                "log matching: entry {index}/{} follows term {b} on node {id} but term {a} elsewhere",
                                entry.term
                            ))
                        }
                        (None, Some(b)) => *p = Some(b),
                        _ => {}
                    }
                }
            }
        }
        self.on_commit(id, disk)
    }

    /// Record the entries a node's persisted commit index covers.
    pub fn on_commit(&mut self, id: NodeId, disk: &Disk) -> Check {
        let track = self.nodes.entry(id).or_default();
        let commit = disk.hard_state.commit;
        let term = disk.hard_state.term;
        let from = track.commit_checked.max(disk.snapshot_index()) + 1;
        if commit > track.commit_checked {
            track.commit_checked = commit;
        }
        for index in from..=commit {
            let Some(entry) = disk.entry(index) else {
                return Err(format!(
                    "node {id} persisted commit {commit} but has no entry {index} (log ends at {})",
                    disk.last_index()
                ));
            };
            match self.committed.get_mut(&index) {
                None => {
                    self.committed.insert(
                        index,
                        Committed {
                            entry: entry.clone(),
                            observed_term: term,
                        },
                    );
                }
                Some(c) => {
                    if c.entry != *entry {
                        return Err(format!(
                            "state machine safety: node {id} committed term {} at index {index}, others committed term {}",
                            entry.term, c.entry.term
                        ));
                    }
                    c.observed_term = c.observed_term.min(term);
                }
            }
        }
        Ok(())
    }

    /// A node applied `entry`; `app` is its state after.
    pub fn on_apply(&mut self, id: NodeId, entry: &Entry, app: &App, term: Term) -> Check {
        match self.committed.get(&entry.index) {
            Some(c) if c.entry != *entry => {
                return Err(format!(
                "state machine safety: node {id} applied term {} at index {}, committed is term {}",
                entry.term, entry.index, c.entry.term
            ))
            }
            Some(_) => {}
            None => {
                self.committed.insert(
                    entry.index,
                    Committed {
                        entry: entry.clone(),
                        observed_term: term,
                    },
                );
            }
        }
        self.check_chain(id, app)
    }

    /// A node's app restored from a snapshot (after a restart or an InstallSnapshot).
    pub fn on_restore(&mut self, id: NodeId, app: &App) -> Check {
        self.check_chain(id, app)
    }

    fn check_chain(&mut self, id: NodeId, app: &App) -> Check {
        if app.applied == 0 {
            return Ok(());
        }
        match self.applied_chain.get(&app.applied) {
            None => {
                self.applied_chain.insert(app.applied, app.hash);
                Ok(())
            }
            Some(h) if *h == app.hash => Ok(()),
            Some(_) => Err(format!(
                "state machine safety: node {id}'s applied sequence up to {} differs from another node's",
                app.applied
            )),
        }
    }

    /// The node was restarted from `disk`.
    pub fn on_restart(&mut self, id: NodeId, status: &Status, disk: &Disk) -> Check {
        let track = self.nodes.entry(id).or_default();
        if status.commit < disk.hard_state.commit {
            return Err(format!(
                "node {id} restarted with commit {} below its persisted commit {}",
                status.commit, disk.hard_state.commit
            ));
        }
        track.applied = status.applied.min(disk.snapshot_index());
        track.leader_term = None;
        Ok(())
    }

    /// Checks on a live node's status after a step.
    pub fn check_node(&mut self, status: &Status, app: &App, disk: &Disk) -> Check {
        let id = status.id;
        if self
            .latest_conf
            .as_ref()
            .is_none_or(|(applied, _)| status.applied > *applied)
        {
            self.latest_conf = Some((status.applied, status.conf.clone()));
        }
        let track = self.nodes.entry(id).or_default();
        if status.commit < track.commit {
            return Err(format!(
                "node {id}'s commit went back from {} to {}",
                track.commit, status.commit
            ));
        }
        track.commit = status.commit;
        if status.applied < track.applied {
            return Err(format!(
                "node {id}'s applied went back from {} to {}",
                track.applied, status.applied
            ));
        }
        track.applied = status.applied;
        if app.applied > status.commit {
            return Err(format!(
                "node {id} applied {} beyond its commit {}",
                app.applied, status.commit
            ));
        }
        if status.role != Role::Leader {
            track.leader_term = None;
            return Ok(());
        }
        let term = status.term;
        match self.leaders.get(&term) {
            Some(other) if *other != id => {
                return Err(format!(
                    "election safety: nodes {other} and {id} are both leaders of term {term}"
                ))
            }
            Some(_) => {}
            None => {
                self.leaders.insert(term, id);
            }
        }
        if track.leader_term == Some(term) {
            return Ok(());
        }
        track.leader_term = Some(term);
        let snap = disk.snapshot_index();
        for (index, c) in self.committed.range(snap + 1..) {
            if c.observed_term >= term {
                continue;
            }
            if disk.term_at(*index) != Some(c.entry.term) {
                return Err(format!(
                    "leader completeness: node {id} leads term {term} without committed entry {index} (term {}, committed by term {})",
                    c.entry.term, c.observed_term
                ));
            }
        }
        Ok(())
    }

    /// Every committed entry is on at least `needed` of the given disks.
    pub fn check_durability<'a>(
        &self,
        disks: impl Iterator<Item = &'a Disk> + Clone,
        needed: usize,
    ) -> Check {
        for (index, c) in &self.committed {
            let holders = disks
                .clone()
                .filter(|d| d.snapshot_index() >= *index || d.term_at(*index) == Some(c.entry.term))
                .count();
            if holders < needed {
                return Err(format!(
                    "committed entry lost: entry {index} (term {}) is on {holders} voters' disks, {needed} needed so every quorum holds it",
                    c.entry.term
                ));
            }
        }
        Ok(())
    }

    /// The voters as of the highest applied index seen, if any node reported one.
    pub fn latest_voters(&self) -> Option<Vec<NodeId>> {
        self.latest_conf.as_ref().map(|(_, c)| c.voters.clone())
    }

    /// Number of distinct terms that had a leader.
    pub fn leader_terms(&self) -> usize {
        self.leaders.len()
    }
}
