//! The membership part of the checker:
//! - `conf-changes-in-flight`: a leader's log never holds more than one membership change above
//!   the highest commit index any node has reported (one change at a time);
//! - `commit-without-quorum`: when a commit index first reaches an index (on the leader that
//!   committed it, possibly stepped down in the same step because the change removed it), the
//!   entry there is in the logs of a majority of the voters of the configuration in effect (made
//!   by the changes below that index, or the one before the last of them: a leader may still
//!   count with the older one until it applies the newer), or of the configuration the node
//!   reports itself (the one it has applied); learners never count;
//! - `non-voter-leader`: a node leads only while it is a voter in its own configuration;
//! - `removed-node-elected`: a node removed by a committed change never leads in a later term.
//!
//! It also keeps the committed membership changes, from which the configuration in effect is
//! known (which nodes to stop once their removal is committed, whose disks must hold what).

use std::collections::BTreeMap;

use crate::core::{ConfChange, ConfState, Index, NodeId, Role, Status, Term};

use super::invariants::Violation;
use super::log_mirror::LogMirror;

/// What the membership invariants know across all nodes.
#[derive(Debug, Default)]
pub(super) struct Membership {
    genesis: ConfState,
    /// Committed membership changes by index, with their entry's term.
    committed: BTreeMap<Index, (Term, ConfChange)>,
    /// Nodes removed by a committed change, with the term of that change's entry.
    removed: BTreeMap<NodeId, Term>,
    /// Removals committed since the last `take_fresh_removals`.
    fresh_removals: Vec<NodeId>,
    /// Highest commit index any node has reported.
    max_commit: Index,
    /// Highest index whose quorum was checked.
    quorum_checked: Index,
}

/// Applies one change the way the core does.
pub fn apply_change(conf: &mut ConfState, change: &ConfChange) {
    match *change {
        ConfChange::AddLearner(id) => {
            if !conf.contains(id) {
                conf.learners.push(id);
            }
        }
        ConfChange::Promote(id) => {
            conf.learners.retain(|l| *l != id);
            if !conf.voters.contains(&id) {
                conf.voters.push(id);
            }
        }
        ConfChange::Remove(id) => {
            conf.learners.retain(|l| *l != id);
            conf.voters.retain(|v| *v != id);
        }
    }
    conf.voters.sort_unstable();
    conf.learners.sort_unstable();
}

impl Membership {
    pub fn new(genesis: ConfState) -> Membership {
        Membership {
            genesis,
            ..Membership::default()
        }
    }

    /// A membership change was committed at `index` (repeats are ignored).
    pub fn on_committed(&mut self, index: Index, term: Term, change: &ConfChange) {
        if self.committed.contains_key(&index) {
            return;
        }
        self.committed.insert(index, (term, change.clone()));
        if let ConfChange::Remove(id) = *change {
            self.removed.insert(id, term);
            self.fresh_removals.push(id);
        }
    }

    pub fn take_fresh_removals(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.fresh_removals)
    }

    pub fn is_removed(&self, id: NodeId) -> bool {
        self.removed.contains_key(&id)
    }

    /// The configuration made by every committed change.
    pub fn committed_conf(&self) -> ConfState {
        let mut conf = self.genesis.clone();
        for (_, change) in self.committed.values() {
            apply_change(&mut conf, change);
        }
        conf
    }

    /// The configurations a leader may count with for `index`: the one made by the changes
    /// below it (committed ones, and those in the leader's log), and the one before the last.
    fn confs_for(&self, index: Index, leader_log: &LogMirror) -> (ConfState, ConfState) {
        let mut changes: BTreeMap<Index, &ConfChange> = self
            .committed
            .range(..index)
            .map(|(i, (_, c))| (*i, c))
            .collect();
        changes.extend(
            leader_log
                .conf_changes()
                .range(..index)
                .map(|(i, c)| (*i, c)),
        );
        let mut newer = self.genesis.clone();
        let mut older = newer.clone();
        for change in changes.values() {
            older = newer.clone();
            apply_change(&mut newer, change);
        }
        (older, newer)
    }

    /// The leader-side membership invariants of one node after a step.
    pub fn check_node(&mut self, status: &Status, log: &LogMirror) -> Result<(), Violation> {
        self.max_commit = self.max_commit.max(status.commit);
        if status.role != Role::Leader {
            return Ok(());
        }
        if !status.conf.is_voter(status.id) {
            return Err(Violation::new(
                "non-voter-leader",
                format!(
                    "node {} leads term {} but its configuration has voters {:?}, learners {:?}",
                    status.id, status.term, status.conf.voters, status.conf.learners
                ),
            ));
        }
        if let Some(&removed_in) = self.removed.get(&status.id) {
            if status.term > removed_in {
                return Err(Violation::new(
                    "removed-node-elected",
                    format!(
                        "node {} leads term {} although a change of term {removed_in} removed it",
                        status.id, status.term
                    ),
                ));
            }
        }
        let pending: Vec<Index> = log
            .conf_changes()
            .range(self.max_commit + 1..)
            .map(|(i, _)| *i)
            .collect();
        if pending.len() > 1 {
            return Err(Violation::new(
                "conf-changes-in-flight",
                format!(
                    "leader {} of term {} holds membership changes at indexes {pending:?}, all above commit index {}",
                    status.id, status.term, self.max_commit
                ),
            ));
        }
        Ok(())
    }

    /// A node reported `status.commit`: every index above the ones checked (first reached by
    /// the leader that committed it) must be in the logs (`log_of(voter)`) of a majority of
    /// voters, learners not counted.
    pub fn check_quorum<'a>(
        &mut self,
        status: &Status,
        node_log: &LogMirror,
        log_of: impl Fn(NodeId) -> Option<&'a LogMirror>,
    ) -> Result<(), Violation> {
        let commit = status.commit;
        if commit <= self.quorum_checked {
            return Ok(());
        }
        for index in self.quorum_checked + 1..=commit {
            let Some(entry) = node_log.get(index) else {
                continue;
            };
            let (older, newer) = self.confs_for(index, node_log);
            let holders = |conf: &ConfState| {
                conf.voters
                    .iter()
                    .filter(|&&v| {
                        log_of(v).is_some_and(|log| {
                            log.get(index) == Some(entry) || log.snapshot_index() >= index
                        })
                    })
                    .count()
            };
            let (on_older, on_newer) = (holders(&older), holders(&newer));
            let on_own = holders(&status.conf);
            if on_older < older.quorum()
                && on_newer < newer.quorum()
                && on_own < status.conf.quorum()
            {
                return Err(Violation::new(
                    "commit-without-quorum",
                    format!(
                        "node {} of term {} committed index {index} held by {on_newer} of voters {:?} (learners {:?}), {on_older} of the previous voters {:?}",
                        status.id, status.term, newer.voters, newer.learners, older.voters
                    ),
                ));
            }
        }
        self.quorum_checked = commit;
        Ok(())
    }
}
