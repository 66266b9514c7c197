//! Membership changes, one server at a time: learners receive the log without voting, a
//! learner is promoted to voter, a member (even the leader) is removed. A change is proposed
//! only by a leader that has committed an entry of its term and has no other change pending,
//! and it takes effect when the core hands the committed entry out. A learner is promoted only
//! once it has caught up: the leader knows it holds the log up to the commit index.

use super::error::ProposeError;
use super::node::{Node, State};
use super::progress::Progress;
use super::types::{ConfChange, Entry, EntryKind, Index, NodeId};
use crate::coverage::{self, Mark};

impl Node {
    pub(crate) fn validate_conf_change(&self, change: &ConfChange) -> Result<(), ProposeError> {
        // PLANTED BUG `two_changes_in_flight`: neither wait.
        let stack = self.cfg.bugs.two_changes_in_flight;
        if !stack && !self.committed_in_current_term() {
            return Err(ProposeError::NoCommitInTerm);
        }
        if !stack && self.pending_conf_index > self.log.applied {
            return Err(ProposeError::ConfChangePending {
                pending: self.pending_conf_index,
            });
        }
        match *change {
            ConfChange::AddLearner(id) if self.conf.contains(id) => Err(
                ProposeError::InvalidConfChange(format!("node {id} is already a member")),
            ),
            ConfChange::Promote(id) if !self.conf.is_learner(id) => Err(
                ProposeError::InvalidConfChange(format!("node {id} is not a learner")),
            ),
            // PLANTED BUG `promote_unready`: no catch-up check.
            ConfChange::Promote(id) if !self.cfg.bugs.promote_unready => {
                let matched = self.progress.get(&id).map_or(0, |p| p.match_index);
                if matched < self.log.committed {
                    return Err(ProposeError::LearnerBehind {
                        id,
                        matched,
                        commit: self.log.committed,
                    });
                }
                Ok(())
            }
            ConfChange::Remove(id) if !self.conf.contains(id) => Err(
                ProposeError::InvalidConfChange(format!("node {id} is not a member")),
            ),
            ConfChange::Remove(id) if self.conf.voters == [id] => Err(
                ProposeError::InvalidConfChange(format!("node {id} is the last voter")),
            ),
            _ => Ok(()),
        }
    }

    /// Whether the last membership change about `id` in this node's log above the configuration
    /// in effect (appended, not yet applied) removes it.
    pub(crate) fn log_removes(&self, id: NodeId) -> bool {
        self.log
            .slice(self.conf_index + 1, self.log.last_index())
            .iter()
            .rev()
            .filter(|e| e.kind == EntryKind::ConfChange)
            .filter_map(|e| postcard::from_bytes::<ConfChange>(&e.data).ok())
            .find(|change| change.node() == id)
            .is_some_and(|change| matches!(change, ConfChange::Remove(_)))
    }

    /// Applies a committed conf-change entry (once; entries at or below `conf_index` are old).
    pub(crate) fn apply_conf_entry(&mut self, entry: &Entry) {
        if entry.index <= self.conf_index {
            return;
        }
        match postcard::from_bytes::<ConfChange>(&entry.data) {
            Ok(change) => self.apply_conf_change(change, entry.index),
            Err(e) => {
                tracing::error!(id = self.id, index = entry.index, error = %e, "undecodable conf change ignored");
                self.conf_index = entry.index;
            }
        }
    }

    fn apply_conf_change(&mut self, change: ConfChange, index: Index) {
        tracing::debug!(id = self.id, index, ?change, "membership change applied");
        let conf = &mut self.conf;
        match change {
            ConfChange::AddLearner(id) => {
                coverage::hit(Mark::LearnerAdded);
                if !conf.contains(id) {
                    conf.learners.push(id);
                }
            }
            ConfChange::Promote(id) => {
                coverage::hit(Mark::LearnerPromoted);
                conf.learners.retain(|l| *l != id);
                conf.voters.push(id);
            }
            ConfChange::Remove(id) => {
                coverage::hit_if(conf.is_voter(id), Mark::VoterRemoved);
                conf.learners.retain(|l| *l != id);
                conf.voters.retain(|v| *v != id);
            }
        }
        conf.normalize();
        self.conf_index = index;
        self.conf_history.push((index, self.conf.clone()));
        if self.state != State::Leader {
            return;
        }
        match change {
            ConfChange::AddLearner(id) | ConfChange::Promote(id) => {
                if id != self.id && !self.progress.contains_key(&id) {
                    let next = self.log.last_index() + 1;
                    self.progress.insert(id, Progress::new(next));
                }
                if matches!(change, ConfChange::Promote(_)) && self.cfg.bugs.promote_unready {
                    // PLANTED BUG `promote_unready`: "promoted, so caught up".
                    if let Some(pr) = self.progress.get_mut(&id) {
                        pr.assumed_caught_up = true;
                    }
                }
            }
            ConfChange::Remove(id) if id == self.id => {
                // Tell everyone the commit index before handing over, then step down; the
                // remaining voters elect a new leader.
                self.broadcast_heartbeat();
                let term = self.term;
                self.become_follower(term, None);
                return;
            }
            ConfChange::Remove(id) => {
                self.progress.remove(&id);
                if self.transfer.map(|(t, _)| t) == Some(id) {
                    self.transfer = None;
                }
            }
        }
        self.maybe_commit();
        self.release_reads();
    }
}
