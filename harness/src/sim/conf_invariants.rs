//! Configuration invariants, asserted after every step of every node next to the log invariants
//! (`invariants.rs`):
//! - `conf-changes-in-flight`: a leader's log never holds more than one membership change above
//!   the highest commit index any node has reported (one change at a time);
//! - `commit-without-quorum`: when a node's commit index first reaches an index (that node is
//!   the leader that committed it, possibly stepped down in the same step because the change
//!   removed it), the entry there is in the logs of a majority of the voters of the
//!   configuration in effect (the one made by the changes below that index, or the one before
//!   the last of them: a leader may still count with the older one until it applies the newer);
//!   learners never count;
//! - `non-voter-leader`: a node leads only while it is a voter in its own configuration;
//! - `removed-node-elected`: a node removed by a committed change never leads in a later term.
//!
//! It also keeps the committed membership changes, which the world reads to know the
//! configuration in effect (and which nodes to stop once their removal is committed).

use std::collections::BTreeMap;

use raft::core::{ConfChange, ConfState, Index, NodeId, Role, Status, Term};

use super::invariants::{InvariantViolation, LogMirror};

/// What the configuration invariants know across all nodes.
#[derive(Debug, Default)]
pub struct ConfInvariants {
    genesis: ConfState,
    /// Committed membership changes by index, with their entry's term.
    committed: BTreeMap<Index, (Term, ConfChange)>,
    /// Nodes removed by a committed change, with the term of that change's entry.
    removed: BTreeMap<NodeId, Term>,
    /// Removals committed since the world last asked.
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

fn violation(name: &'static str, detail: String) -> InvariantViolation {
    InvariantViolation { name, detail }
}

impl ConfInvariants {
    /// The invariants of a cluster that starts with `genesis`.
    pub fn new(genesis: ConfState) -> ConfInvariants {
        ConfInvariants {
            genesis,
            ..ConfInvariants::default()
        }
    }

    /// A membership change was committed at `index` (called once per index).
    pub fn on_committed(&mut self, index: Index, term: Term, change: &ConfChange) {
        self.committed.insert(index, (term, change.clone()));
        if let ConfChange::Remove(id) = *change {
            self.removed.insert(id, term);
            self.fresh_removals.push(id);
        }
    }

    /// The nodes whose removal was committed since the last call.
    pub fn take_fresh_removals(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.fresh_removals)
    }

    /// True once a committed change removed `id`.
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

    /// Checks one node after a step; `commit` is its commit index as the core reports it.
    pub fn check(
        &mut self,
        status: &Status,
        commit: Index,
        mirror: &LogMirror,
    ) -> Result<(), InvariantViolation> {
        self.max_commit = self.max_commit.max(commit);
        if status.role != Role::Leader {
            return Ok(());
        }
        if !status.conf.is_voter(status.id) {
            return Err(violation(
                "non-voter-leader",
                format!(
                    "node {} leads term {} but its configuration has voters {:?}, learners {:?}",
                    status.id, status.term, status.conf.voters, status.conf.learners
                ),
            ));
        }
        if let Some(&removed_in) = self.removed.get(&status.id) {
            if status.term > removed_in {
                return Err(violation(
                    "removed-node-elected",
                    format!(
                        "node {} leads term {} although a change of term {removed_in} removed it",
                        status.id, status.term
                    ),
                ));
            }
        }
        let pending: Vec<Index> = mirror
            .conf_changes()
            .range(self.max_commit + 1..)
            .map(|(i, _)| *i)
            .collect();
        if pending.len() > 1 {
            return Err(violation(
                "conf-changes-in-flight",
                format!(
                    "leader {} of term {} holds membership changes at indexes {pending:?}, all above commit index {}",
                    status.id, status.term, self.max_commit
                ),
            ));
        }
        Ok(())
    }

    /// A node reported commit index `commit`: every index above the ones checked (first
    /// reached by the leader that committed it) must be in the logs (`log_of(voter)`) of a
    /// majority of voters, learners not counted.
    pub fn check_quorum<'a>(
        &mut self,
        node: &Status,
        commit: Index,
        node_log: &LogMirror,
        log_of: impl Fn(NodeId) -> Option<&'a LogMirror>,
    ) -> Result<(), InvariantViolation> {
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
                    .filter(|&&v| log_of(v).and_then(|log| log.get(index)) == Some(entry))
                    .count()
            };
            let (on_older, on_newer) = (holders(&older), holders(&newer));
            if on_older < older.quorum() && on_newer < newer.quorum() {
                return Err(violation(
                    "commit-without-quorum",
                    format!(
                        "node {} of term {} committed index {index} held by {on_newer} of voters {:?} (learners {:?}), {on_older} of the previous voters {:?}",
                        node.id, node.term, newer.voters, newer.learners, older.voters
                    ),
                ));
            }
        }
        self.quorum_checked = commit;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::core::{Entry, EntryKind};

    fn conf_entry(index: Index, term: Term, change: ConfChange) -> Entry {
        Entry {
            term,
            index,
            kind: EntryKind::ConfChange,
            data: postcard::to_allocvec(&change).unwrap(),
        }
    }

    fn entry(index: Index, term: Term) -> Entry {
        Entry {
            term,
            index,
            kind: EntryKind::Normal,
            data: vec![index as u8],
        }
    }

    fn status(id: NodeId, role: Role, term: Term, conf: ConfState) -> Status {
        Status {
            id,
            role,
            term,
            leader: None,
            commit: 0,
            applied: 0,
            last_index: 0,
            conf,
        }
    }

    fn genesis() -> ConfState {
        ConfState::with_voters([1, 2, 3])
    }

    #[test]
    fn a_learner_or_removed_node_that_leads_is_caught() {
        let mut inv = ConfInvariants::new(genesis());
        let log = LogMirror::default();
        let mut with_learner = genesis();
        with_learner.learners.push(4);
        inv.check(&status(1, Role::Leader, 2, with_learner.clone()), 0, &log)
            .unwrap();
        let err = inv
            .check(&status(4, Role::Leader, 3, with_learner), 0, &log)
            .unwrap_err();
        assert_eq!(err.name, "non-voter-leader");

        inv.on_committed(5, 4, &ConfChange::Remove(3));
        assert_eq!(inv.take_fresh_removals(), vec![3]);
        assert!(inv.take_fresh_removals().is_empty());
        // A stale leader of an older term is not an election after the removal.
        inv.check(&status(3, Role::Leader, 3, genesis()), 5, &log)
            .unwrap();
        let err = inv
            .check(&status(3, Role::Leader, 5, genesis()), 5, &log)
            .unwrap_err();
        assert_eq!(err.name, "removed-node-elected");
        assert_eq!(inv.committed_conf().voters, vec![1, 2]);
    }

    #[test]
    fn two_uncommitted_changes_in_a_leaders_log_are_caught() {
        let mut inv = ConfInvariants::new(genesis());
        let mut log = LogMirror::default();
        log.write(&[
            entry(1, 1),
            conf_entry(2, 1, ConfChange::AddLearner(4)),
            conf_entry(3, 1, ConfChange::Promote(4)),
        ]);
        // Change 2 committed: one change in flight.
        inv.check(&status(1, Role::Leader, 1, genesis()), 2, &log)
            .unwrap();
        let mut inv = ConfInvariants::new(genesis());
        let err = inv
            .check(&status(1, Role::Leader, 1, genesis()), 1, &log)
            .unwrap_err();
        assert_eq!(err.name, "conf-changes-in-flight");
        // A follower's log is not checked; a rewritten tail drops the changes.
        let mut inv = ConfInvariants::new(genesis());
        inv.check(&status(2, Role::Follower, 1, genesis()), 1, &log)
            .unwrap();
        log.write(&[entry(2, 2)]);
        inv.check(&status(1, Role::Leader, 2, genesis()), 1, &log)
            .unwrap();
    }

    #[test]
    fn a_commit_counted_with_a_learner_is_caught() {
        let mut inv = ConfInvariants::new(genesis());
        let leader = status(1, Role::Leader, 1, genesis());
        let mut logs: BTreeMap<NodeId, LogMirror> = BTreeMap::new();
        let full = [
            entry(1, 1),
            conf_entry(2, 1, ConfChange::AddLearner(4)),
            entry(3, 1),
        ];
        // Everyone holds 1 and 2; index 3 is on the leader and the learner only.
        for id in [1, 2, 3, 4] {
            let mut log = LogMirror::default();
            let upto = if id == 1 || id == 4 { 3 } else { 2 };
            log.write(&full[..upto]);
            logs.insert(id, log);
        }
        let log_of = |id: NodeId| logs.get(&id);
        inv.check_quorum(&leader, 2, &logs[&1], log_of).unwrap();
        let err = inv.check_quorum(&leader, 3, &logs[&1], log_of).unwrap_err();
        assert_eq!(err.name, "commit-without-quorum");
        // Once node 2 holds index 3 too, it is a majority of the voters.
        let mut logs2 = logs.clone();
        logs2.get_mut(&2).unwrap().write(&full[2..3]);
        inv.check_quorum(&leader, 3, &logs2[&1], |id| logs2.get(&id))
            .unwrap();
    }

    #[test]
    fn after_a_promotion_either_configuration_may_count() {
        let mut inv = ConfInvariants::new(genesis());
        let leader = status(1, Role::Leader, 1, genesis());
        let full = [
            conf_entry(1, 1, ConfChange::AddLearner(4)),
            conf_entry(2, 1, ConfChange::Promote(4)),
            entry(3, 1),
        ];
        let mut logs: BTreeMap<NodeId, LogMirror> = BTreeMap::new();
        for id in [1, 2, 3, 4] {
            let mut log = LogMirror::default();
            log.write(if id <= 2 { &full[..] } else { &full[..2] });
            logs.insert(id, log);
        }
        // Index 3 is on 1 and 2: a majority of {1,2,3}, not of {1,2,3,4}; allowed.
        inv.check_quorum(&leader, 3, &logs[&1], |id| logs.get(&id))
            .unwrap();
        assert_eq!(
            inv.committed_conf(),
            genesis(),
            "nothing reported committed"
        );
    }
}
