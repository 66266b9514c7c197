//! Elections: term bookkeeping, randomized election timeouts, pre-vote, votes granted only to
//! up-to-date logs, the leader lease (check-quorum), becoming leader (with a no-op of the new
//! term) and leadership transfer (catch the target up, then TimeoutNow).

use std::collections::BTreeMap;

use super::message::{Message, MessageBody};
use super::node::{Node, State};
use super::progress::Progress;
use super::types::{EntryKind, NodeId, Term};
use crate::coverage::{self, Mark};

impl Node {
    /// Applies the term rules to an incoming message. Returns false when the message must be
    /// dropped.
    pub(crate) fn handle_term(&mut self, msg: &Message) -> bool {
        use MessageBody as B;
        if msg.term > self.term {
            match &msg.body {
                B::PreVote { .. } | B::Vote { .. } => {
                    let transfer = matches!(
                        msg.body,
                        B::Vote {
                            leadership_transfer: true,
                            ..
                        }
                    );
                    if self.in_lease() && !transfer {
                        // We hear from a live leader: a disruptive candidate is ignored.
                        return false;
                    }
                    if matches!(msg.body, B::Vote { .. }) {
                        self.become_follower(msg.term, None);
                    }
                }
                // A granted pre-vote carries the term the pre-candidate asked for.
                B::PreVoteResponse { granted: true } => {}
                // Only a leader sends these.
                B::AppendEntries { .. }
                | B::Heartbeat { .. }
                | B::InstallSnapshot { .. }
                | B::TimeoutNow => {
                    self.become_follower(msg.term, Some(msg.from));
                }
                _ => self.become_follower(msg.term, None),
            }
            return true;
        }
        if msg.term < self.term {
            match msg.body {
                B::AppendEntries { .. } | B::Heartbeat { .. } | B::InstallSnapshot { .. }
                    if self.cfg.check_quorum || self.cfg.pre_vote =>
                {
                    // A stale leader: tell it our term so it steps down (otherwise a node whose
                    // term ran ahead could never rejoin while the old leader's lease holds).
                    self.send(
                        msg.from,
                        B::AppendEntriesResponse {
                            success: false,
                            index: 0,
                            reject_hint: None,
                        },
                    );
                }
                B::PreVote { .. } => {
                    self.send(msg.from, B::PreVoteResponse { granted: false });
                }
                _ => {}
            }
            return false;
        }
        true
    }

    /// Check-quorum lease: we heard from a leader within the minimum election timeout.
    fn in_lease(&self) -> bool {
        self.cfg.check_quorum
            && self.leader.is_some()
            && self.election_elapsed < self.cfg.election_tick
    }

    pub(crate) fn handle_vote_request(
        &mut self,
        from: NodeId,
        msg_term: Term,
        pre_vote: bool,
        last_log_index: u64,
        last_log_term: Term,
    ) {
        let can_vote = self.vote == Some(from)
            || (self.vote.is_none() && self.leader.is_none())
            || (pre_vote && msg_term > self.term);
        let up_to_date = self.log.is_up_to_date(last_log_index, last_log_term);
        // PLANTED BUG `vote_any`: skip the up-to-date check.
        let granted = can_vote && (up_to_date || self.cfg.bugs.vote_any);
        coverage::hit_if(pre_vote && !granted, Mark::PreVoteRefused);
        coverage::hit_if(!pre_vote && can_vote && !granted, Mark::VoteRefusedStaleLog);
        tracing::trace!(id = self.id, from, pre_vote, granted, "vote request");
        if pre_vote {
            let term = if granted { msg_term } else { self.term };
            self.send_with_term(from, term, MessageBody::PreVoteResponse { granted });
        } else {
            if granted {
                self.vote = Some(from);
                self.reset_election_timer();
            }
            self.send(from, MessageBody::VoteResponse { granted });
        }
    }

    pub(crate) fn handle_vote_response(
        &mut self,
        from: NodeId,
        msg_term: Term,
        pre_vote: bool,
        granted: bool,
    ) {
        let expected_state = if pre_vote {
            State::PreCandidate
        } else {
            State::Candidate
        };
        if self.state != expected_state || !self.conf.is_voter(from) {
            return;
        }
        if pre_vote && granted && Some(msg_term) != self.term.checked_add(1) {
            return;
        }
        self.votes.entry(from).or_insert(granted);
        let granted_count = self.votes.values().filter(|g| **g).count();
        let rejected_count = self.votes.len() - granted_count;
        let quorum = self.conf.quorum();
        if granted_count >= quorum {
            if pre_vote {
                self.become_candidate(false);
            } else {
                self.become_leader();
            }
        } else if rejected_count > self.conf.voters.len() - quorum {
            let term = self.term;
            self.become_follower(term, None);
        }
    }

    /// A message from the leader of our term: candidates give up; followers note the leader.
    /// Returns false if the message must be ignored (we are the leader of this term).
    pub(crate) fn accept_leader(&mut self, from: NodeId) -> bool {
        match self.state {
            State::Leader => {
                tracing::error!(
                    id = self.id,
                    from,
                    term = self.term,
                    "two leaders in one term"
                );
                false
            }
            State::Candidate | State::PreCandidate => {
                let term = self.term;
                self.become_follower(term, Some(from));
                true
            }
            State::Follower => {
                self.leader = Some(from);
                self.reset_election_timer();
                true
            }
        }
    }

    pub(crate) fn tick_election(&mut self) {
        self.election_elapsed += 1;
        if self.election_elapsed >= self.randomized_timeout && self.is_promotable() {
            self.campaign();
        } else if self.election_elapsed >= self.randomized_timeout {
            self.reset_election_timer();
        }
    }

    pub(crate) fn tick_leader(&mut self) {
        self.heartbeat_elapsed += 1;
        self.election_elapsed += 1;
        let election_tick = self.cfg.election_tick;
        if let Some((target, ticks)) = self.transfer.as_mut() {
            *ticks += 1;
            if *ticks >= election_tick {
                tracing::debug!(
                    id = self.id,
                    target = *target,
                    "leadership transfer timed out"
                );
                self.transfer = None;
            }
        }
        if self.election_elapsed >= election_tick {
            self.election_elapsed = 0;
        }
        for p in self.progress.values_mut() {
            p.ticks_since_heard = p.ticks_since_heard.saturating_add(1);
        }
        if self.cfg.check_quorum && !self.quorum_active() {
            // No quorum answered during the last election timeout.
            coverage::hit(Mark::CheckQuorumStepDown);
            tracing::debug!(id = self.id, term = self.term, "lost contact with a quorum");
            let term = self.term;
            self.become_follower(term, None);
            return;
        }
        self.tick_snapshot_transfers();
        if self.heartbeat_elapsed >= self.cfg.heartbeat_tick {
            self.heartbeat_elapsed = 0;
            self.broadcast_heartbeat();
        }
    }

    fn quorum_active(&self) -> bool {
        let active = self
            .conf
            .voters
            .iter()
            .filter(|v| {
                **v == self.id
                    || self
                        .progress
                        .get(v)
                        .is_some_and(|p| p.ticks_since_heard < self.cfg.election_tick)
            })
            .count();
        active >= self.conf.quorum()
    }

    pub(crate) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        coverage::hit_if(
            self.state == State::Leader && term > self.term,
            Mark::LeaderSteppedDownHigherTerm,
        );
        if term != self.term {
            self.term = term;
            self.vote = None;
            // Chunks of the old term's snapshot will not be completed.
            self.incoming_snapshot = None;
        }
        self.state = State::Follower;
        self.leader = leader;
        self.progress.clear();
        self.votes.clear();
        self.transfer = None;
        self.reads.clear();
        self.reset_election_timer();
    }

    pub(crate) fn become_pre_candidate(&mut self) {
        self.state = State::PreCandidate;
        self.leader = None;
        self.progress.clear();
        self.reads.clear();
        self.votes = BTreeMap::from([(self.id, true)]);
        self.reset_election_timer();
        if self.conf.quorum() <= 1 {
            self.become_candidate(false);
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        let term = self.term.saturating_add(1);
        for v in self.conf.voters.clone() {
            if v != self.id {
                self.send_with_term(
                    v,
                    term,
                    MessageBody::PreVote {
                        last_log_index,
                        last_log_term,
                    },
                );
            }
        }
    }

    pub(crate) fn become_candidate(&mut self, leadership_transfer: bool) {
        self.term = self.term.saturating_add(1);
        self.vote = Some(self.id);
        self.state = State::Candidate;
        self.leader = None;
        self.incoming_snapshot = None;
        self.progress.clear();
        self.reads.clear();
        self.votes = BTreeMap::from([(self.id, true)]);
        self.reset_election_timer();
        tracing::debug!(id = self.id, term = self.term, "campaigning");
        if self.conf.quorum() <= 1 {
            self.become_leader();
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        for v in self.conf.voters.clone() {
            if v != self.id {
                self.send(
                    v,
                    MessageBody::Vote {
                        last_log_index,
                        last_log_term,
                        leadership_transfer,
                    },
                );
            }
        }
    }

    pub(crate) fn become_leader(&mut self) {
        tracing::debug!(id = self.id, term = self.term, "became leader");
        self.state = State::Leader;
        self.leader = Some(self.id);
        self.incoming_snapshot = None;
        self.votes.clear();
        self.transfer = None;
        self.reads.clear();
        self.heartbeat_elapsed = 0;
        self.reset_election_timer();
        let next = self.log.last_index() + 1;
        self.progress = self
            .conf
            .voters
            .iter()
            .chain(self.conf.learners.iter())
            .filter(|id| **id != self.id)
            .map(|id| (*id, Progress::new(next)))
            .collect();
        // No conf change until everything before our term is applied.
        self.pending_conf_index = self.log.last_index();
        self.append_entry(EntryKind::Noop, Vec::new());
    }

    pub(crate) fn handle_timeout_now(&mut self, from: NodeId) {
        if self.state == State::Leader
            || !self.is_promotable()
            || self.leader != Some(from)
            || self.term == Term::MAX
        {
            return;
        }
        tracing::debug!(
            id = self.id,
            from,
            "leadership handed over: campaigning now"
        );
        coverage::hit(Mark::LeadershipTransfer);
        self.become_candidate(true);
    }

    pub(crate) fn start_transfer(&mut self, target: NodeId) {
        self.transfer = Some((target, 0));
        self.maybe_send_timeout_now(target);
    }

    /// Sends TimeoutNow if `target` is the transfer target and fully caught up.
    pub(crate) fn maybe_send_timeout_now(&mut self, target: NodeId) {
        if self.transfer.map(|(t, _)| t) != Some(target) {
            return;
        }
        let caught_up = self
            .progress
            .get(&target)
            .is_some_and(|p| p.match_index == self.log.last_index());
        if caught_up {
            self.send(target, MessageBody::TimeoutNow);
        }
    }
}
