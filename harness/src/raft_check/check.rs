//! [`StreamChecker`]: replays the event streams of a cluster and reports the Raft invariants they
//! break. What the project's invariant checker ([`raft::testing::Checker`]) can judge from a
//! node's status is handed to it, a status rebuilt from the events (election safety
//! `two-leaders`, `non-voter-leader`, `commit-regressed` within one process lifetime,
//! `applied-regressed`, `applied-beyond-commit`, and `state-machine-safety` from the applied
//! digests); what only the stream knows is checked here: `acked-entry-truncated`, a node that
//! removed from its log an entry at or below an index it had acknowledged to the leader of the
//! same term (the log matching rule `truncate-matching` breaks).

use std::collections::BTreeMap;

use raft::core::{ConfState, HardState, NodeId, PersistedState, Role, Status};
use raft::events::{EventRecord, NodeEvent, RoleName};
use raft::testing::Checker;
use serde::{Deserialize, Serialize};

/// One broken invariant, as `results.json` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamViolation {
    /// The kebab-case name of the invariant.
    pub name: String,
    /// The node whose event showed it.
    pub node: NodeId,
    /// `time_ns` of that event (the stream's clock: `CLOCK_MONOTONIC` on a real run).
    pub time_ns: u64,
    /// Seconds from the history's time zero, when the run recorded it.
    pub time_s: Option<f64>,
    pub detail: String,
}

/// Most violations kept (all are counted).
const KEEP: usize = 20;

/// Replays events and collects violations.
pub struct StreamChecker {
    checker: Checker,
    status: BTreeMap<NodeId, Status>,
    zero_ns: Option<u64>,
    violations: Vec<StreamViolation>,
    count: usize,
}

impl StreamChecker {
    /// A checker of a cluster whose history's time zero is `zero_ns` on the streams' clock (to
    /// place violations on the history's clock), when known.
    pub fn new(zero_ns: Option<u64>) -> StreamChecker {
        StreamChecker {
            checker: Checker::new(ConfState::default()),
            status: BTreeMap::new(),
            zero_ns,
            violations: Vec::new(),
            count: 0,
        }
    }

    /// Replays `records` (of every node, in time order) and returns the violations found.
    pub fn run(mut self, records: &[EventRecord]) -> (Vec<StreamViolation>, usize) {
        for record in records {
            self.on_record(record);
        }
        (self.violations, self.count)
    }

    /// One event of one node.
    pub fn on_record(&mut self, record: &EventRecord) {
        let id = record.node;
        let status = self.status.entry(id).or_insert_with(|| blank(id)).clone();
        let mut next = status;
        let result = match &record.event {
            NodeEvent::Started {
                term,
                vote,
                commit,
                applied,
                voters,
                learners,
                ..
            } => {
                next = Status {
                    role: Role::Follower,
                    term: *term,
                    leader: None,
                    commit: *commit,
                    applied: *applied,
                    conf: ConfState {
                        voters: voters.clone(),
                        learners: learners.clone(),
                    },
                    ..blank(id)
                };
                let persisted = PersistedState {
                    hard_state: HardState {
                        term: *term,
                        vote: *vote,
                        commit: *commit,
                    },
                    snapshot: None,
                    entries: Vec::new(),
                };
                self.checker.on_crash(id);
                self.checker.on_restart(id, &persisted, &next)
            }
            NodeEvent::Role { role, term, leader } => {
                next.role = role_of(*role);
                next.term = *term;
                next.leader = *leader;
                self.checker.check(&next)
            }
            NodeEvent::Commit { commit, .. } => {
                next.commit = *commit;
                self.checker.check(&next)
            }
            NodeEvent::Applied { index, digest } => {
                next.applied = next.applied.max(*index);
                self.checker
                    .check(&next)
                    .and_then(|()| self.checker.on_applied_digest(id, *index, digest.0))
            }
            NodeEvent::Membership { voters, learners } => {
                next.conf = ConfState {
                    voters: voters.clone(),
                    learners: learners.clone(),
                };
                Ok(())
            }
            NodeEvent::LogTruncated {
                term,
                from_index,
                last_index,
                acked_index,
                cause,
            } if *acked_index >= *from_index => Err(raft::testing::Violation {
                name: "acked-entry-truncated",
                detail: format!(
                    "node {id} removed entries {from_index}..={last_index} ({}) in term {term} after acknowledging index {acked_index} to that term's leader",
                    serde_json::to_value(cause)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ),
            }),
            NodeEvent::Stopped => {
                next.role = Role::Follower;
                Ok(())
            }
            NodeEvent::Vote { .. }
            | NodeEvent::SnapshotTaken { .. }
            | NodeEvent::SnapshotInstalled { .. }
            | NodeEvent::LogTruncated { .. } => Ok(()),
        };
        self.status.insert(id, next);
        if let Err(violation) = result {
            self.count += 1;
            if self.violations.len() < KEEP {
                self.violations.push(StreamViolation {
                    name: violation.name.to_string(),
                    node: id,
                    time_ns: record.time_ns,
                    time_s: self
                        .zero_ns
                        .map(|zero| (record.time_ns as f64 - zero as f64) / 1e9),
                    detail: violation.detail,
                });
            }
        }
    }
}

fn blank(id: NodeId) -> Status {
    Status {
        id,
        role: Role::Follower,
        term: 0,
        leader: None,
        commit: 0,
        applied: 0,
        last_index: 0,
        conf: ConfState::default(),
    }
}

fn role_of(role: RoleName) -> Role {
    match role {
        RoleName::Follower => Role::Follower,
        RoleName::PreCandidate => Role::PreCandidate,
        RoleName::Candidate => Role::Candidate,
        RoleName::Leader => Role::Leader,
        RoleName::Learner => Role::Learner,
    }
}
