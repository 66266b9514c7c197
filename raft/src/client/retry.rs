//! The client's decisions without any IO: [`ClientSession`] is a state machine that holds one
//! session (client id + next sequence number) and the operation in progress, and says what to do
//! next: send this request to that node, pause, or stop with a result. Whoever drives it owns
//! the sockets and the clock: [`super::Client`] over TCP with tokio time, the simulator over
//! simulated messages and simulated time. Both therefore follow the same rules:
//!
//! - a write carries the session's next sequence number, the same one on every retry, so the
//!   KV machine applies it at most once; reads carry sequence 0;
//! - an attempt goes to the leader learned from a `NotLeader` hint, else to the current entry of
//!   the node list; a failed attempt, a hintless `NotLeader` or an `Error` answer forgets the
//!   leader and moves to the next node; `Busy` waits and asks the same node again;
//! - a write is "maybe sent" once an attempt may have reached a node (no answer, connection lost
//!   after sending, an `Error` answer): from then on only success or an indefinite failure can end it;
//! - `SessionExpired`/`StaleSequence` to a write: continue under a fresh client id, at most
//!   once per operation, and only if no earlier attempt may have landed;
//! - at the operation's deadline: definite failure if nothing may have landed, else indefinite
//!   (and the next write skips a sequence number, so a late arrival is refused as stale);
//! - every failure carries the [`ErrorKind`] of the last thing seen (a timeout, a refused
//!   connection, a `NotLeader`...), and [`ClientSession::last_target`] names the node the latest
//!   attempt went to: for a success the node that answered, for a failure the node last tried.
//!
//! Time is a monotonic clock reading (`Duration` since any fixed origin) passed with each input.

use std::fmt;
use std::time::Duration;

use crate::kv::{
    AdminRequest, AuthorizedAdmin, ClientRequest, ClientResponse, Op, OpResult, FIRST_SEQ,
};

use super::error::{ClientError, ErrorKind};

/// How long a client tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total time one operation may take, retries included.
    pub op_timeout: Duration,
    /// Time one attempt may wait for its answer (and for its connection).
    pub attempt_timeout: Duration,
    /// Pause before retrying after a refusal or a failed attempt.
    pub retry_pause: Duration,
}

impl RetryPolicy {
    /// 5 s per operation, 1 s per attempt, 20 ms between retries.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        op_timeout: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(1),
        retry_pause: Duration::from_millis(20),
    };
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}

/// Where an attempt goes. `A` is how the driver names a leader it learned from a hint (the
/// async client: its client address; the simulator: its node id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target<A> {
    /// Entry `index` of the driver's node list.
    Listed(usize),
    /// The leader a `NotLeader` hint pointed at.
    Leader(A),
}

/// A successful end of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Success {
    /// A KV operation took effect (or, for a read, was served) with this result.
    Kv(OpResult),
    /// A membership change was committed.
    Admin,
}

/// What the driver must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<A> {
    /// Send `request` to `to` and wait at most `timeout` for its answer; then call
    /// [`ClientSession::on_answer`] or [`ClientSession::on_failure`].
    Send {
        to: Target<A>,
        request: ClientRequest,
        timeout: Duration,
    },
    /// Wait this long, then call [`ClientSession::on_pause_over`].
    Pause(Duration),
    /// The operation is over.
    Done(Result<Success, ClientError>),
}

#[derive(Clone, Debug)]
enum Work {
    Kv(Op),
    /// `ClientRequest::Admin` or `ClientRequest::AuthorizedAdmin`, sent as it is on every attempt.
    Admin(ClientRequest),
}

impl Work {
    /// Whether an attempt that may have landed makes the outcome unknown.
    fn changes_state(&self) -> bool {
        match self {
            Work::Kv(op) => op.is_write(),
            Work::Admin(_) => true,
        }
    }
}

/// The operation in progress.
#[derive(Clone, Debug)]
struct Pending {
    work: Work,
    deadline: Duration,
    maybe_sent: bool,
    renewed_session: bool,
    last_kind: ErrorKind,
    last_reason: String,
}

/// A source of fresh client ids (the async client draws random ones; the simulator counts).
pub type SessionIds = Box<dyn FnMut() -> u64 + Send>;

/// One client session and its operation in progress. See the module docs.
pub struct ClientSession<A> {
    policy: RetryPolicy,
    nodes: usize,
    client_id: u64,
    next_seq: u64,
    /// Leader learned from a hint, tried first.
    leader: Option<A>,
    /// Position in the driver's node list.
    next_node: usize,
    fresh_id: SessionIds,
    pending: Option<Pending>,
    /// Where the latest attempt went.
    last_target: Option<Target<A>>,
}

impl<A: fmt::Debug> fmt::Debug for ClientSession<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSession")
            .field("policy", &self.policy)
            .field("nodes", &self.nodes)
            .field("client_id", &self.client_id)
            .field("next_seq", &self.next_seq)
            .field("leader", &self.leader)
            .field("next_node", &self.next_node)
            .field("pending", &self.pending)
            .field("last_target", &self.last_target)
            .finish()
    }
}

impl<A: Clone + fmt::Display> ClientSession<A> {
    /// A session over a list of `nodes` nodes, with its first client id drawn from `fresh_id`.
    pub fn new(
        policy: RetryPolicy,
        nodes: usize,
        mut fresh_id: impl FnMut() -> u64 + Send + 'static,
    ) -> ClientSession<A> {
        ClientSession {
            policy,
            nodes,
            client_id: fresh_id(),
            next_seq: FIRST_SEQ,
            leader: None,
            next_node: 0,
            fresh_id: Box::new(fresh_id),
            pending: None,
            last_target: None,
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// This session's client id.
    pub fn client_id(&self) -> u64 {
        self.client_id
    }

    /// The sequence number the next write will carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The leader learned from a hint, if any.
    pub fn known_leader(&self) -> Option<&A> {
        self.leader.as_ref()
    }

    /// Where the latest attempt went: after a success, the node that answered; after a
    /// failure, the node last tried (`None` before the first attempt).
    pub fn last_target(&self) -> Option<&Target<A>> {
        self.last_target.as_ref()
    }

    /// True while an operation is in progress.
    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Forgets the learned leader and sends the next attempt to list entry `index`.
    pub fn start_at(&mut self, index: usize) {
        self.leader = None;
        self.next_node = index % self.nodes.max(1);
    }

    /// Starts a KV operation (abandoning any other in progress) at time `now`.
    pub fn begin(&mut self, op: Op, now: Duration) -> Action<A> {
        self.start(Work::Kv(op), now)
    }

    /// Starts a membership change (abandoning any other operation in progress) at time `now`.
    pub fn begin_admin(&mut self, request: AdminRequest, now: Duration) -> Action<A> {
        self.start(Work::Admin(ClientRequest::Admin(request)), now)
    }

    /// [`ClientSession::begin_admin`] with credentials (admin token, force).
    pub fn begin_authorized_admin(&mut self, admin: AuthorizedAdmin, now: Duration) -> Action<A> {
        self.start(Work::Admin(ClientRequest::AuthorizedAdmin(admin)), now)
    }

    fn start(&mut self, work: Work, now: Duration) -> Action<A> {
        self.pending = Some(Pending {
            work,
            deadline: now + self.policy.op_timeout,
            maybe_sent: false,
            renewed_session: false,
            last_kind: ErrorKind::Timeout,
            last_reason: String::from("no attempt was made"),
        });
        self.next_attempt(now)
    }

    /// The pause asked for by [`Action::Pause`] is over.
    pub fn on_pause_over(&mut self, now: Duration) -> Action<A> {
        self.next_attempt(now)
    }

    /// The latest attempt failed without an answer; `maybe_sent` says whether the request may
    /// have reached the node (sent, then no answer in time or the connection broke), `kind` and
    /// `reason` what went wrong.
    pub fn on_failure(&mut self, maybe_sent: bool, kind: ErrorKind, reason: String) -> Action<A> {
        let Some(pending) = self.pending.as_mut() else {
            return not_busy();
        };
        pending.maybe_sent |= maybe_sent && pending.work.changes_state();
        pending.last_kind = kind;
        pending.last_reason = reason;
        self.rotate();
        Action::Pause(self.policy.retry_pause)
    }

    /// The latest attempt was answered. `leader` is where a `NotLeader` answer's hint points,
    /// as the driver names it (`None`: no hint, or one the driver cannot use).
    pub fn on_answer(
        &mut self,
        response: ClientResponse,
        leader: Option<A>,
        now: Duration,
    ) -> Action<A> {
        let Some(pending) = self.pending.as_mut() else {
            return not_busy();
        };
        let is_write = pending.work.changes_state();
        match (&pending.work, response) {
            (Work::Kv(_), ClientResponse::Ok(result)) => {
                if is_write {
                    self.next_seq += 1;
                }
                self.finish(Ok(Success::Kv(result)))
            }
            (Work::Kv(_), ClientResponse::SessionExpired | ClientResponse::StaleSequence)
                if is_write =>
            {
                // The session is unusable; continue under a new client id.
                let (maybe_sent, renewed) = (pending.maybe_sent, pending.renewed_session);
                pending.renewed_session = true;
                self.client_id = (self.fresh_id)();
                self.next_seq = FIRST_SEQ;
                if maybe_sent {
                    return self.finish(Err(ClientError::Indefinite {
                        kind: ErrorKind::SessionExpired,
                        reason: "the session expired after an attempt that may have been applied"
                            .into(),
                    }));
                }
                if renewed {
                    return self.finish(Err(ClientError::Definite {
                        kind: ErrorKind::SessionExpired,
                        reason: "the cluster refused two fresh sessions".into(),
                    }));
                }
                self.next_attempt(now)
            }
            (Work::Admin(_), ClientResponse::AdminOk) => self.finish(Ok(Success::Admin)),
            (Work::Admin(_), ClientResponse::Error(reason)) if !reason.contains("unknown") => {
                self.finish(Err(ClientError::Rejected { reason }))
            }
            (_, response) => self.on_refusal(response, leader, is_write),
        }
    }

    /// Follows a refusal: switch to the hinted leader, or move to the next node, then pause.
    fn on_refusal(
        &mut self,
        response: ClientResponse,
        leader: Option<A>,
        is_write: bool,
    ) -> Action<A> {
        let kind = refusal_kind(&response);
        let reason = match (&response, leader) {
            (ClientResponse::NotLeader { .. }, Some(leader)) => {
                let reason = format!("{}; redirected to {leader}", describe(&response));
                self.leader = Some(leader);
                reason
            }
            (ClientResponse::NotLeader { .. }, None) => {
                self.rotate();
                format!("last answer: {}", describe(&response))
            }
            (ClientResponse::Error(_), _) => {
                if let Some(pending) = self.pending.as_mut() {
                    pending.maybe_sent |= is_write;
                }
                self.rotate();
                format!("last answer: {}", describe(&response))
            }
            _ => format!("last answer: {}", describe(&response)),
        };
        if let Some(pending) = self.pending.as_mut() {
            pending.last_kind = kind;
            pending.last_reason = reason;
        }
        Action::Pause(self.policy.retry_pause)
    }

    /// The next attempt, or the give-up once the deadline has passed.
    fn next_attempt(&mut self, now: Duration) -> Action<A> {
        let Some(pending) = self.pending.as_ref() else {
            return not_busy();
        };
        if now >= pending.deadline {
            return self.give_up();
        }
        let request = match &pending.work {
            Work::Kv(op) => ClientRequest::Kv {
                client_id: self.client_id,
                seq: if op.is_write() { self.next_seq } else { 0 },
                op: op.clone(),
            },
            Work::Admin(request) => request.clone(),
        };
        let timeout = self
            .policy
            .attempt_timeout
            .min(pending.deadline.saturating_sub(now))
            .max(Duration::from_millis(1));
        let to = match &self.leader {
            Some(leader) => Target::Leader(leader.clone()),
            None => Target::Listed(self.next_node),
        };
        self.last_target = Some(to.clone());
        Action::Send {
            to,
            request,
            timeout,
        }
    }

    fn give_up(&mut self) -> Action<A> {
        let Some(pending) = self.pending.as_ref() else {
            return not_busy();
        };
        let reason = match pending.work {
            Work::Kv(_) => format!(
                "gave up after {:?}: {}",
                self.policy.op_timeout, pending.last_reason
            ),
            Work::Admin(_) => format!("gave up: {}", pending.last_reason),
        };
        let kind = pending.last_kind;
        if !pending.maybe_sent {
            return self.finish(Err(ClientError::Definite { kind, reason }));
        }
        if matches!(pending.work, Work::Kv(_)) {
            // The earlier attempt may still apply later; the next write takes a new sequence,
            // so a late arrival of this one is refused as stale instead of applied out of order.
            self.next_seq += 1;
        }
        self.finish(Err(ClientError::Indefinite { kind, reason }))
    }

    fn finish(&mut self, result: Result<Success, ClientError>) -> Action<A> {
        self.pending = None;
        Action::Done(result)
    }

    /// Forgets the learned leader and moves to the next listed node.
    fn rotate(&mut self) {
        self.leader = None;
        self.next_node = (self.next_node + 1) % self.nodes.max(1);
    }
}

fn not_busy<A>() -> Action<A> {
    Action::Done(Err(ClientError::Definite {
        kind: ErrorKind::BadRequest,
        reason: "no operation in progress".into(),
    }))
}

/// The kind of a refusal (an answer that does not end the operation).
fn refusal_kind(response: &ClientResponse) -> ErrorKind {
    match response {
        ClientResponse::NotLeader {
            leader_hint: Some(_),
            ..
        }
        | ClientResponse::NotLeader {
            leader_client_addr: Some(_),
            ..
        } => ErrorKind::NotLeader,
        ClientResponse::NotLeader { .. } => ErrorKind::NoLeader,
        ClientResponse::Busy => ErrorKind::Busy,
        ClientResponse::SessionExpired | ClientResponse::StaleSequence => ErrorKind::SessionExpired,
        ClientResponse::Error(_) => ErrorKind::ServerError,
        ClientResponse::Ok(_) | ClientResponse::AdminOk => ErrorKind::BadReply,
    }
}

/// An answer in words, for error texts (kebab-case names, no Rust spellings).
fn describe(response: &ClientResponse) -> String {
    match response {
        ClientResponse::Ok(_) => "ok (a result that does not fit the request)".into(),
        ClientResponse::AdminOk => "admin-ok (an answer that does not fit the request)".into(),
        ClientResponse::NotLeader {
            leader_hint: Some(hint),
            ..
        } => format!("not-leader (leader: node {hint})"),
        ClientResponse::NotLeader { .. } => "not-leader (no leader known)".into(),
        ClientResponse::SessionExpired => "session-expired".into(),
        ClientResponse::StaleSequence => "stale-sequence".into(),
        ClientResponse::Busy => "busy".into(),
        ClientResponse::Error(reason) => format!("error: {reason}"),
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
