//! One simulated client: the retry logic of `raft::client::Client` (leader discovery from
//! `NotLeader` hints, one sequence number for every retry of a write, attempt and operation
//! timeouts, a fresh session after `SessionExpired`) as a state machine over simulated time, and
//! the contract that turns its end into `ok`, `fail` (surely not applied) or `info` (unknown).
//!
//! The real client is async over sockets, so this mirrors its rules rather than calling it; the
//! timeouts are the real client's defaults.

use raft::kv::{ClientRequest, ClientResponse, OpResult, FIRST_SEQ};
use serde_json::Value as Json;

use super::workload::SimOp;

/// The real client's defaults: operation deadline, per-attempt timeout, pause between retries.
pub const OP_TIMEOUT_US: u64 = 5_000_000;
pub const ATTEMPT_TIMEOUT_US: u64 = 1_000_000;
pub const RETRY_PAUSE_US: u64 = 20_000;

/// How an operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Took effect with this history value.
    Ok(Json),
    /// Surely did not take effect.
    Fail(String),
    /// May or may not have taken effect.
    Info(String),
    /// The reply does not fit the operation: the system under test is wrong.
    BadReply(String),
}

/// What the world must do next for this client.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Send `request` to node `node` as attempt `attempt` (and arm its timeout).
    Send {
        node: u64,
        attempt: u64,
        request: ClientRequest,
    },
    /// Call [`SimClient::retry`] after this long.
    Retry { after_us: u64, attempt: u64 },
    /// The operation is over.
    Done(Outcome),
}

/// The operation in progress.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub op: SimOp,
    deadline: u64,
    maybe_sent: bool,
    renewed_session: bool,
    last_reason: String,
}

/// A client and its session.
#[derive(Debug)]
pub struct SimClient {
    /// History process id (changes after an `info`).
    pub process: u64,
    client_id: u64,
    sessions: u64,
    next_seq: u64,
    target: u64,
    nodes: u64,
    /// Number of the latest attempt; replies and timers of older attempts are ignored.
    pub attempt: u64,
    pub current: Option<InFlight>,
}

impl SimClient {
    /// Client `index` of a cluster of `nodes` nodes, first trying node `first_target`.
    pub fn new(index: u64, nodes: u64, first_target: u64) -> SimClient {
        SimClient {
            process: index,
            client_id: (index + 1) << 32,
            sessions: 0,
            next_seq: FIRST_SEQ,
            target: first_target,
            nodes,
            attempt: 0,
            current: None,
        }
    }

    /// Starts an operation.
    pub fn begin(&mut self, now: u64, op: SimOp) -> Next {
        self.current = Some(InFlight {
            op,
            deadline: now + OP_TIMEOUT_US,
            maybe_sent: false,
            renewed_session: false,
            last_reason: "no attempt was made".into(),
        });
        self.send()
    }

    fn send(&mut self) -> Next {
        let Some(flight) = &self.current else {
            return Next::Done(Outcome::Fail("no operation".into()));
        };
        self.attempt += 1;
        let seq = if flight.op.is_read() {
            0
        } else {
            self.next_seq
        };
        Next::Send {
            node: self.target,
            attempt: self.attempt,
            request: ClientRequest::Kv {
                client_id: self.client_id,
                seq,
                op: flight.op.request(),
            },
        }
    }

    fn rotate(&mut self) {
        self.target = self.target % self.nodes + 1;
    }

    fn pause(&self) -> Next {
        Next::Retry {
            after_us: RETRY_PAUSE_US,
            attempt: self.attempt,
        }
    }

    /// The retry timer fired.
    pub fn retry(&mut self, now: u64) -> Next {
        match &self.current {
            Some(flight) if now >= flight.deadline => self.give_up(),
            Some(_) => self.send(),
            None => Next::Done(Outcome::Fail("no operation".into())),
        }
    }

    /// The attempt's timer fired without an answer.
    pub fn on_timeout(&mut self, now: u64) -> Next {
        if let Some(flight) = &mut self.current {
            flight.maybe_sent |= !flight.op.is_read();
            flight.last_reason = "attempt timed out".into();
        }
        self.rotate();
        match &self.current {
            Some(flight) if now >= flight.deadline => self.give_up(),
            _ => self.pause(),
        }
    }

    /// An answer to the latest attempt.
    pub fn on_response(&mut self, now: u64, response: ClientResponse) -> Next {
        let Some(flight) = &mut self.current else {
            return Next::Done(Outcome::Fail("no operation".into()));
        };
        let is_write = !flight.op.is_read();
        match response {
            ClientResponse::Ok(result) => self.finish_ok(result),
            ClientResponse::SessionExpired | ClientResponse::StaleSequence if is_write => {
                self.sessions += 1;
                self.client_id = ((self.process + 1) << 32) + self.sessions;
                self.next_seq = FIRST_SEQ;
                if flight.maybe_sent {
                    return self.finish(Outcome::Info(
                        "the session expired after an attempt that may have been applied".into(),
                    ));
                }
                if flight.renewed_session {
                    return self.finish(Outcome::Fail(
                        "the cluster refused two fresh sessions".into(),
                    ));
                }
                flight.renewed_session = true;
                self.send()
            }
            ClientResponse::NotLeader { leader_hint, .. } => {
                flight.last_reason = "not leader".into();
                match leader_hint {
                    Some(hint) if (1..=self.nodes).contains(&hint) => self.target = hint,
                    _ => self.rotate(),
                }
                self.after_refusal(now)
            }
            ClientResponse::Busy => {
                flight.last_reason = "busy".into();
                self.rotate();
                self.after_refusal(now)
            }
            other => {
                flight.maybe_sent |= is_write;
                flight.last_reason = format!("{other:?}");
                self.rotate();
                self.after_refusal(now)
            }
        }
    }

    fn after_refusal(&mut self, now: u64) -> Next {
        match &self.current {
            Some(flight) if now + RETRY_PAUSE_US >= flight.deadline => self.give_up(),
            _ => self.pause(),
        }
    }

    fn finish_ok(&mut self, result: OpResult) -> Next {
        let Some(flight) = &self.current else {
            return Next::Done(Outcome::Fail("no operation".into()));
        };
        if !flight.op.is_read() {
            self.next_seq += 1;
        }
        if flight.op.is_cas_mismatch(&result) {
            return self.finish(Outcome::Fail("cas compared and did not match".into()));
        }
        let outcome = match flight.op.ok_value(&result) {
            Ok(value) => Outcome::Ok(value),
            Err(reason) => Outcome::BadReply(reason),
        };
        self.finish(outcome)
    }

    fn give_up(&mut self) -> Next {
        let Some(flight) = &self.current else {
            return Next::Done(Outcome::Fail("no operation".into()));
        };
        let reason = format!("gave up: {}", flight.last_reason);
        if flight.maybe_sent {
            // A late arrival of the old attempt is then refused as stale, not applied later.
            self.next_seq += 1;
            self.finish(Outcome::Info(reason))
        } else {
            self.finish(Outcome::Fail(reason))
        }
    }

    fn finish(&mut self, outcome: Outcome) -> Next {
        self.attempt += 1;
        Next::Done(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_op() -> SimOp {
        SimOp::Append {
            key: "k0".into(),
            element: 1,
        }
    }

    #[test]
    fn a_refused_write_fails_and_a_timed_out_write_is_unknown() {
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
        assert_eq!(node, 3);
        let ClientRequest::Kv { seq, .. } = request else {
            panic!()
        };
        assert_eq!(seq, FIRST_SEQ);
        // Refused until the deadline: definite.
        let refuse = ClientResponse::Busy;
        assert_eq!(
            c.on_response(OP_TIMEOUT_US, refuse),
            Next::Done(Outcome::Fail("gave up: busy".into()))
        );

        let mut c = SimClient::new(0, 3, 1);
        c.begin(0, write_op());
        assert!(matches!(c.on_timeout(1_000_000), Next::Retry { .. }));
        assert!(matches!(
            c.on_timeout(OP_TIMEOUT_US),
            Next::Done(Outcome::Info(_))
        ));
    }

    #[test]
    fn a_retry_keeps_its_sequence_and_ok_advances_it() {
        let mut c = SimClient::new(1, 3, 2);
        c.begin(0, write_op());
        c.on_timeout(1_000_000);
        let Next::Send { request, .. } = c.retry(1_020_000) else {
            panic!()
        };
        let ClientRequest::Kv { seq, .. } = request else {
            panic!()
        };
        assert_eq!(seq, FIRST_SEQ);
        let done = c.on_response(1_030_000, ClientResponse::Ok(OpResult::Written));
        assert_eq!(done, Next::Done(Outcome::Ok(serde_json::json!(1))));
        let Next::Send { request, .. } = c.begin(2_000_000, write_op()) else {
            panic!()
        };
        let ClientRequest::Kv { seq, .. } = request else {
            panic!()
        };
        assert_eq!(seq, FIRST_SEQ + 1);
    }
}
