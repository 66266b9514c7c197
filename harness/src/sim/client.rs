//! One simulated client: the real client's decision logic ([`raft::client::ClientSession`]:
//! leader discovery from `NotLeader` hints, one sequence number for every retry of a write,
//! attempt and operation deadlines, a fresh session after `SessionExpired`, definite vs
//! indefinite failures) driven over simulated messages and simulated time. The result becomes a
//! history completion the way `gauntlet test` makes it: `raft_kv_client::classify`, then
//! `recorder::Completion::classify` with the workload's [`OpSpec`]. This file only translates:
//! node ids for targets, microseconds for clock readings, and attempt numbers so that late
//! replies and stale timers are ignored. It remembers the node of the latest attempt
//! ([`SimClient::last_node`]): the history's `node` of the completion, as in a real run.
//!
//! The client's node list is the cluster's current members ([`SimClient::set_members`]: the
//! world tells every client when a node joins or is removed). The session rotates through list
//! positions; position `k` names the `k`-th member by id, wrapping, so a removed node is never
//! asked again and a new one is (a session made for `n` nodes reaches the first `n` members by
//! rotation, any member by a leader hint).

use std::time::Duration;

use raft::client::{Action, ClientError, ClientSession, ErrorKind, RetryPolicy, Success, Target};
use raft::kv::{ClientRequest, ClientResponse};

use crate::db::raft_kv_client::classify;
use crate::recorder::{Completion, Failure};
use crate::workload::OpSpec;

/// The real client's defaults: operation deadline and per-attempt timeout.
pub const OP_TIMEOUT_US: u64 = RetryPolicy::DEFAULT.op_timeout.as_micros() as u64;
pub const ATTEMPT_TIMEOUT_US: u64 = RetryPolicy::DEFAULT.attempt_timeout.as_micros() as u64;

/// What the world must do next for this client.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Send `request` to node `node` as attempt `attempt`, and time it out after `timeout_us`.
    Send {
        node: u64,
        attempt: u64,
        request: ClientRequest,
        timeout_us: u64,
    },
    /// Call [`SimClient::retry`] after this long.
    Retry { after_us: u64, attempt: u64 },
    /// The operation is over; [`Completion::is_bad_reply`] marks a reply that does not fit it.
    Done(Completion),
}

/// The operation in progress.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub op: OpSpec,
}

/// A client and its session.
#[derive(Debug)]
pub struct SimClient {
    /// History process id (changes after an `info`).
    pub process: u64,
    session: ClientSession<u64>,
    /// The cluster's members by id (1..=nodes until membership changes).
    members: Vec<u64>,
    /// List index of the node every operation starts at.
    home: usize,
    /// Number of the latest attempt; replies and timers of older attempts are ignored.
    pub attempt: u64,
    /// The node the latest attempt went to: after a success the node that answered, after a
    /// failure the node last tried.
    pub last_node: Option<u64>,
    pub current: Option<InFlight>,
}

fn at(now_us: u64) -> Duration {
    Duration::from_micros(now_us)
}

impl SimClient {
    /// Client `index` of a cluster of `nodes` nodes (ids 1..=nodes), bound to node
    /// `first_target`: every operation starts there and follows hints from there, as the
    /// harness's workload clients do (`db::raft_kv_client`), so a node that wrongly believes it
    /// leads keeps being asked. Its session ids are `(index + 1) << 32` plus a count, so they are unique
    /// and the same in every run.
    pub fn new(index: u64, nodes: u64, first_target: u64) -> SimClient {
        let mut sessions = 0;
        let ids = move || {
            sessions += 1;
            ((index + 1) << 32) + sessions
        };
        let mut session = ClientSession::new(RetryPolicy::DEFAULT, nodes as usize, ids);
        let home = first_target.saturating_sub(1) as usize;
        session.start_at(home);
        SimClient {
            process: index,
            session,
            members: (1..=nodes).collect(),
            home,
            attempt: 0,
            last_node: None,
            current: None,
        }
    }

    /// The cluster's members now (sorted ids, not empty).
    pub fn set_members(&mut self, members: &[u64]) {
        if !members.is_empty() {
            self.members = members.to_vec();
        }
    }

    /// Starts an operation.
    pub fn begin(&mut self, now: u64, op: OpSpec) -> Next {
        self.session.start_at(self.home);
        let action = self.session.begin(op.request(), at(now));
        self.current = Some(InFlight { op });
        self.follow(action)
    }

    /// The retry pause is over.
    pub fn retry(&mut self, now: u64) -> Next {
        let action = self.session.on_pause_over(at(now));
        self.follow(action)
    }

    /// The attempt's timer fired without an answer: the request may have arrived.
    pub fn on_timeout(&mut self, _now: u64) -> Next {
        let action = self
            .session
            .on_failure(true, ErrorKind::Timeout, "attempt timed out".into());
        self.follow(action)
    }

    /// An answer to the latest attempt.
    pub fn on_response(&mut self, now: u64, response: ClientResponse) -> Next {
        let leader = match &response {
            ClientResponse::NotLeader {
                leader_hint: Some(id),
                ..
            } if self.members.contains(id) => Some(*id),
            _ => None,
        };
        let action = self.session.on_answer(response, leader, at(now));
        self.follow(action)
    }

    fn follow(&mut self, action: Action<u64>) -> Next {
        self.attempt += 1;
        match action {
            Action::Send {
                to,
                request,
                timeout,
            } => {
                let node = match to {
                    Target::Listed(index) => self.members[index % self.members.len()],
                    Target::Leader(id) => id,
                };
                self.last_node = Some(node);
                Next::Send {
                    node,
                    attempt: self.attempt,
                    request,
                    timeout_us: timeout.as_micros() as u64,
                }
            }
            Action::Pause(pause) => Next::Retry {
                after_us: pause.as_micros() as u64,
                attempt: self.attempt,
            },
            Action::Done(result) => Next::Done(self.outcome(result)),
        }
    }

    fn outcome(&self, result: Result<Success, ClientError>) -> Completion {
        let Some(flight) = &self.current else {
            return Completion::Fail(Failure::new(
                ErrorKind::BadRequest,
                "no operation in progress",
            ));
        };
        let result = match result {
            Ok(Success::Kv(result)) => Ok(result),
            Ok(Success::Admin) => Err(ClientError::Indefinite {
                kind: ErrorKind::BadReply,
                reason: "a membership answer to a KV operation".into(),
            }),
            Err(err) => Err(err),
        };
        Completion::classify(&flight.op, &classify(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::kv::{OpResult, FIRST_SEQ};

    fn write_op() -> OpSpec {
        OpSpec::ListAppend {
            key: "k0".into(),
            element: 1,
        }
    }

    fn seq_of(request: &ClientRequest) -> u64 {
        match request {
            ClientRequest::Kv { seq, .. } => *seq,
            other => panic!("not a kv request: {other:?}"),
        }
    }

    #[test]
    fn hints_name_nodes_and_a_refused_write_fails_at_the_deadline() {
        let mut c = SimClient::new(0, 3, 1);
        let Next::Send { node, .. } = c.begin(0, write_op()) else {
            panic!()
        };
        assert_eq!(node, 1);
        let hint = ClientResponse::NotLeader {
            leader_hint: Some(3),
            leader_client_addr: None,
        };
        assert!(matches!(c.on_response(10, hint), Next::Retry { .. }));
        let Next::Send { node, request, .. } = c.retry(30_000) else {
            panic!()
        };
        assert_eq!((node, seq_of(&request)), (3, FIRST_SEQ));
        assert!(matches!(
            c.on_response(40_000, ClientResponse::Busy),
            Next::Retry { .. }
        ));
        let Next::Done(Completion::Fail(failure)) = c.retry(OP_TIMEOUT_US) else {
            panic!("a write refused until its deadline is a definite failure")
        };
        assert_eq!(failure.kind, ErrorKind::Busy);
        assert!(failure.reason.contains("busy"), "{}", failure.reason);
        assert_eq!(c.last_node, Some(3), "the node last tried");
    }

    #[test]
    fn a_timed_out_write_is_unknown_and_stale_events_are_told_apart() {
        let mut c = SimClient::new(0, 3, 1);
        let Next::Send {
            attempt,
            timeout_us,
            ..
        } = c.begin(0, write_op())
        else {
            panic!()
        };
        assert_eq!(timeout_us, ATTEMPT_TIMEOUT_US);
        let Next::Retry { attempt: later, .. } = c.on_timeout(1_000_000) else {
            panic!()
        };
        assert!(
            later > attempt,
            "a reply to the first attempt must be ignorable"
        );
        let Next::Send { node, .. } = c.retry(1_020_000) else {
            panic!()
        };
        assert_eq!(node, 2, "a failed attempt moves to the next node");
        assert!(matches!(c.on_timeout(2_020_000), Next::Retry { .. }));
        let Next::Done(Completion::Info(failure)) = c.retry(OP_TIMEOUT_US) else {
            panic!("a write that timed out is unknown")
        };
        assert_eq!(failure.kind, ErrorKind::Timeout);
        assert_eq!(c.last_node, Some(2));
    }

    #[test]
    fn a_retry_keeps_its_sequence_and_ok_advances_it() {
        let mut c = SimClient::new(1, 3, 2);
        c.begin(0, write_op());
        c.on_timeout(1_000_000);
        let Next::Send { request, .. } = c.retry(1_020_000) else {
            panic!()
        };
        assert_eq!(seq_of(&request), FIRST_SEQ);
        let done = c.on_response(1_030_000, ClientResponse::Ok(OpResult::Written));
        assert_eq!(done, Next::Done(Completion::Ok(serde_json::json!(1))));
        assert_eq!(c.last_node, Some(3), "the node that answered");
        let Next::Send { request, .. } = c.begin(2_000_000, write_op()) else {
            panic!()
        };
        assert_eq!(seq_of(&request), FIRST_SEQ + 1);
    }

    #[test]
    fn answers_become_completions_as_in_a_real_run() {
        let mut c = SimClient::new(0, 3, 1);
        let cas = OpSpec::RegisterCas {
            expected: 1,
            new: 2,
        };
        c.begin(0, cas);
        let mismatch = OpResult::CasMismatch { current: None };
        assert_eq!(
            c.on_response(10, ClientResponse::Ok(mismatch)),
            Next::Done(Completion::Ok(serde_json::json!(false)))
        );
        c.begin(100, OpSpec::ListRead { key: "k0".into() });
        let garbled = OpResult::Value(Some("1,x,".into()));
        let Next::Done(done) = c.on_response(110, ClientResponse::Ok(garbled)) else {
            panic!()
        };
        assert!(done.is_bad_reply(), "{done:?}");
    }

    #[test]
    fn the_list_follows_the_members() {
        let mut c = SimClient::new(0, 3, 3);
        c.set_members(&[1, 2, 4]);
        let Next::Send { node, .. } = c.begin(0, write_op()) else {
            panic!()
        };
        assert_eq!(node, 4, "list position 2 is the third member");
        let stale_hint = ClientResponse::NotLeader {
            leader_hint: Some(3),
            leader_client_addr: None,
        };
        c.on_response(10, stale_hint);
        let Next::Send { node, .. } = c.retry(30_000) else {
            panic!()
        };
        assert_eq!(node, 1, "a hint naming a removed node is not followed");
        c.on_response(40_000, ClientResponse::Ok(OpResult::Written));
        c.set_members(&[]);
        let Next::Send { node, .. } = c.begin(50_000, write_op()) else {
            panic!()
        };
        assert_eq!(node, 4, "an empty list is ignored");
    }

    #[test]
    fn every_operation_starts_at_the_home_node() {
        let mut c = SimClient::new(0, 3, 2);
        c.begin(0, write_op());
        let hint = ClientResponse::NotLeader {
            leader_hint: Some(3),
            leader_client_addr: None,
        };
        c.on_response(10, hint);
        let Next::Send { node, .. } = c.retry(30_000) else {
            panic!()
        };
        assert_eq!(node, 3, "within an operation the hint is followed");
        c.on_response(40_000, ClientResponse::Ok(OpResult::Written));
        let Next::Send { node, .. } = c.begin(50_000, write_op()) else {
            panic!()
        };
        assert_eq!(node, 2, "the next operation starts at home again");
    }
}
