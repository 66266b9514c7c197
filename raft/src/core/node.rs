//! The `Node`: its state, its constructors and the public API (tick, step dispatch, propose,
//! the Ready cycle, status). Protocol rules live in the sibling files by concern.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::Config;
use super::error::{CoreError, NotLeader, ProposeError};
use super::log::RaftLog;
use super::message::{Message, MessageBody};
use super::progress::Progress;
use super::read_index::ReadIndexState;
use super::snapshot_receive::SnapshotAssembly;
use super::types::{
    ConfChange, ConfState, Entry, EntryKind, HardState, Index, NodeId, Role, Snapshot, Status, Term,
};

/// The internal role (learners are followers that are not voters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// One Raft participant. See the module documentation for the Ready contract.
pub struct Node {
    pub(crate) cfg: Config,
    pub(crate) id: NodeId,
    pub(crate) term: Term,
    pub(crate) vote: Option<NodeId>,
    pub(crate) leader: Option<NodeId>,
    pub(crate) state: State,
    pub(crate) log: RaftLog,
    /// The membership in effect (every conf change handed out so far applied).
    pub(crate) conf: ConfState,
    /// Index of the last applied conf change (or of the snapshot that carried the conf).
    pub(crate) conf_index: Index,
    /// `(index, conf)`: the conf in effect from `index` on; the first element covers the
    /// snapshot. Used to record the right conf in a snapshot taken below the applied index.
    pub(crate) conf_history: Vec<(Index, ConfState)>,
    /// Index of the newest conf change in the log (leader: no new change until it is applied).
    pub(crate) pending_conf_index: Index,
    /// The newest snapshot (sent to followers that are too far behind).
    pub(crate) snapshot: Option<Snapshot>,
    /// A snapshot to hand out in the next Ready.
    pub(crate) pending_snapshot: Option<Snapshot>,
    /// Follower: the snapshot whose chunks are arriving (volatile: a restart loses it).
    pub(crate) incoming_snapshot: Option<SnapshotAssembly>,
    /// Leader only: every other member's progress (voters and learners).
    pub(crate) progress: BTreeMap<NodeId, Progress>,
    /// Candidate / pre-candidate: the answers so far.
    pub(crate) votes: BTreeMap<NodeId, bool>,
    pub(crate) election_elapsed: u32,
    pub(crate) heartbeat_elapsed: u32,
    pub(crate) randomized_timeout: u32,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) msgs: Vec<Message>,
    /// The hard state handed out last.
    pub(crate) prev_hard_state: HardState,
    pub(crate) reads: ReadIndexState,
    /// Leadership transfer in progress: target and ticks since it started.
    pub(crate) transfer: Option<(NodeId, u32)>,
    /// Scratch buffer for quorum computations (avoids an allocation per response).
    pub(crate) scratch: Vec<u64>,
}

impl Node {
    /// Advance logical time by one tick.
    pub fn tick(&mut self) {
        match self.state {
            State::Leader => self.tick_leader(),
            _ => self.tick_election(),
        }
        self.log.debug_check();
    }

    /// Process one message from a peer. Messages from unknown or stale peers are ignored.
    pub fn step(&mut self, msg: Message) -> Result<(), CoreError> {
        let before = (self.term, self.log.committed);
        let result = self.step_inner(msg);
        debug_assert!(
            self.term >= before.0 && self.log.committed >= before.1,
            "term or commit went backwards"
        );
        self.log.debug_check();
        result
    }

    fn step_inner(&mut self, msg: Message) -> Result<(), CoreError> {
        if msg.to != self.id {
            return Err(CoreError::WrongRecipient {
                to: msg.to,
                me: self.id,
            });
        }
        if msg.from == self.id {
            return Ok(());
        }
        if !self.handle_term(&msg) {
            return Ok(());
        }
        let from = msg.from;
        let term = msg.term;
        match msg.body {
            MessageBody::PreVote {
                last_log_index,
                last_log_term,
            } => self.handle_vote_request(from, term, true, last_log_index, last_log_term),
            MessageBody::Vote {
                last_log_index,
                last_log_term,
                ..
            } => self.handle_vote_request(from, term, false, last_log_index, last_log_term),
            MessageBody::PreVoteResponse { granted } => {
                self.handle_vote_response(from, term, true, granted)
            }
            MessageBody::VoteResponse { granted } => {
                self.handle_vote_response(from, term, false, granted)
            }
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                commit,
            } => {
                if self.accept_leader(from) {
                    return self.handle_append(
                        from,
                        prev_log_index,
                        prev_log_term,
                        entries,
                        commit,
                    );
                }
            }
            MessageBody::Heartbeat { commit, read_round } => {
                if self.accept_leader(from) {
                    self.handle_heartbeat(from, commit, read_round);
                }
            }
            MessageBody::InstallSnapshot {
                meta,
                offset,
                data,
                done,
            } => {
                if self.accept_leader(from) {
                    return self.handle_snapshot_chunk(from, meta, offset, data, done);
                }
            }
            MessageBody::AppendEntriesResponse {
                success,
                index,
                reject_hint,
            } => {
                if self.state == State::Leader {
                    self.handle_append_response(from, success, index, reject_hint);
                }
            }
            MessageBody::HeartbeatResponse {
                read_round,
                last_index,
            } => {
                if self.state == State::Leader {
                    self.handle_heartbeat_response(from, read_round, last_index);
                }
            }
            MessageBody::InstallSnapshotResponse {
                snapshot_index,
                received,
                rejected,
                index,
            } => {
                if self.state == State::Leader {
                    self.handle_snapshot_response(from, snapshot_index, received, rejected, index);
                }
            }
            MessageBody::TimeoutNow => self.handle_timeout_now(from),
        }
        Ok(())
    }

    /// Append `data` to the log (leader only) and return its index. It is replicated in the
    /// next Ready, batched with every other proposal made before that Ready.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<Index, NotLeader> {
        self.check_can_propose()?;
        Ok(self.append_entry(EntryKind::Normal, data))
    }

    /// Propose a membership change (leader only; one at a time; only after the leader has
    /// committed an entry of its own term). It takes effect when handed out as committed.
    pub fn propose_conf_change(&mut self, change: ConfChange) -> Result<Index, ProposeError> {
        self.check_can_propose()?;
        self.validate_conf_change(&change)?;
        let data = postcard::to_allocvec(&change)
            .map_err(|e| ProposeError::InvalidConfChange(format!("cannot encode: {e}")))?;
        let index = self.append_entry(EntryKind::ConfChange, data);
        self.pending_conf_index = index;
        Ok(index)
    }

    /// Ask for a linearizable read; a `ReadState` with this `request_id` comes out in a later
    /// Ready once leadership is confirmed by a quorum. Pending reads are dropped if this node
    /// stops being leader (the caller times out and retries).
    pub fn read_index(&mut self, request_id: u64) -> Result<(), NotLeader> {
        if self.state != State::Leader {
            return Err(NotLeader {
                leader_hint: self.leader,
            });
        }
        self.request_read(request_id);
        Ok(())
    }

    /// Hand leadership to `target`: bring it up to date, then tell it to campaign at once.
    /// Proposals are refused while the transfer runs (at most one election timeout).
    pub fn transfer_leadership(&mut self, target: NodeId) -> Result<(), ProposeError> {
        if self.state != State::Leader {
            return Err(NotLeader {
                leader_hint: self.leader,
            }
            .into());
        }
        if target == self.id {
            return Ok(());
        }
        if !self.conf.is_voter(target) {
            return Err(ProposeError::NotAVoter(target));
        }
        self.start_transfer(target);
        Ok(())
    }

    /// Start an election now (pre-vote first when enabled). Ignored by leaders and non-voters.
    pub fn campaign(&mut self) {
        if self.state == State::Leader || !self.is_promotable() {
            return;
        }
        if self.term == Term::MAX {
            tracing::error!(id = self.id, "term space exhausted: cannot campaign");
            return;
        }
        if self.cfg.pre_vote {
            self.become_pre_candidate();
        } else {
            self.become_candidate(false);
        }
    }

    /// The application took a snapshot of its state machine at `index` (<= applied): the core
    /// records it (for InstallSnapshot and for the next Ready, to be persisted) and compacts its
    /// log up to it.
    pub fn snapshot_taken(&mut self, index: Index, data: Vec<u8>) -> Result<(), CoreError> {
        self.take_snapshot(index, data)
    }

    pub fn status(&self) -> Status {
        Status {
            id: self.id,
            role: self.role(),
            term: self.term,
            leader: self.leader,
            commit: self.log.committed,
            applied: self.log.applied,
            last_index: self.log.last_index(),
            conf: self.conf.clone(),
        }
    }

    /// The current hard state (what the next Ready persists if it changed).
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed,
        }
    }

    /// The term of the entry at `index`, if this node still holds it (or it is the snapshot's).
    pub fn log_term(&self, index: Index) -> Option<Term> {
        self.log.term(index)
    }

    /// The entry at `index`, if held (not compacted, not beyond the end).
    pub fn log_entry(&self, index: Index) -> Option<&Entry> {
        self.log.entry(index)
    }

    /// The first index held in the log (entries below are in the snapshot).
    pub fn first_index(&self) -> Index {
        self.log.first_index()
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The current term (cheaper than `status()`, which clones the conf).
    pub fn term(&self) -> Term {
        self.term
    }

    /// The leader this node knows of in the current term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The commit index.
    pub fn commit_index(&self) -> Index {
        self.log.committed
    }

    /// The last index handed out for application.
    pub fn applied_index(&self) -> Index {
        self.log.applied
    }

    /// The membership in effect.
    pub fn conf(&self) -> &ConfState {
        &self.conf
    }

    /// The role this node plays now.
    pub fn role(&self) -> Role {
        match self.state {
            State::Leader => Role::Leader,
            State::Candidate => Role::Candidate,
            State::PreCandidate => Role::PreCandidate,
            State::Follower if self.conf.is_learner(self.id) => Role::Learner,
            State::Follower => Role::Follower,
        }
    }

    /// May this node campaign: a voter in the configuration in effect whose log does not
    /// already hold its own removal. (Configurations take effect when applied, so a voter whose
    /// removal is committed but not yet applied here would otherwise still campaign, and could
    /// win with the votes of lagging voters: membership churn seed 38 of the core's unit tests.)
    pub(crate) fn is_promotable(&self) -> bool {
        self.conf.is_voter(self.id) && !self.log_removes(self.id)
    }

    pub(crate) fn send(&mut self, to: NodeId, body: MessageBody) {
        self.send_with_term(to, self.term, body);
    }

    pub(crate) fn send_with_term(&mut self, to: NodeId, term: Term, body: MessageBody) {
        self.msgs.push(Message {
            from: self.id,
            to,
            term,
            body,
        });
    }

    pub(crate) fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        let lo = self.cfg.election_tick;
        self.randomized_timeout = self.rng.random_range(lo..2 * lo);
    }

    fn check_can_propose(&self) -> Result<(), NotLeader> {
        if self.state != State::Leader {
            return Err(NotLeader {
                leader_hint: self.leader,
            });
        }
        if let Some((target, _)) = self.transfer {
            return Err(NotLeader {
                leader_hint: Some(target),
            });
        }
        Ok(())
    }

    pub(crate) fn append_entry(&mut self, kind: EntryKind, data: Vec<u8>) -> Index {
        let index = self.log.last_index() + 1;
        self.log.push(Entry {
            term: self.term,
            index,
            kind,
            data,
        });
        // Not even a lone voter commits it here: it counts once `on_persisted` reports it durable.
        index
    }

    /// Quorum-th largest of `value(voter)` over the voters (self reports `own`).
    pub(crate) fn quorum_value(&mut self, own: u64, value: impl Fn(&Progress) -> u64) -> u64 {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for &v in &self.conf.voters {
            if v == self.id {
                scratch.push(own);
            } else {
                scratch.push(self.progress.get(&v).map_or(0, &value));
            }
        }
        scratch.sort_unstable_by(|a, b| b.cmp(a));
        let q = self.conf.quorum();
        let result = scratch.get(q - 1).copied().unwrap_or(0);
        self.scratch = scratch;
        result
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("status", &self.status())
            .field("vote", &self.vote)
            .field("first_index", &self.log.first_index())
            .finish_non_exhaustive()
    }
}
