//! [`Client`]: one client session over TCP, with one reusable connection per node. Leader
//! discovery, same-sequence retries and the definite/indefinite contract are decided by the
//! sans-IO [`ClientSession`] (`retry.rs`); this file only sends, waits and sleeps, and tells the
//! session what kind of trouble an attempt met ([`ErrorKind`]).

use std::collections::{btree_map::Entry, BTreeMap};
use std::{net::SocketAddr, time::Duration};

use tokio::time::Instant;

use crate::kv::{
    AdminRequest, AuthorizedAdmin, ClientRequest, ClientRequestFrame, ClientResponse,
    ClientResponseFrame, Op, OpResult,
};
use crate::net::{self, ClientOptions, Delivery, FramedClient, NetError};

use super::error::{ClientError, ErrorKind};
use super::retry::{Action, ClientSession, RetryPolicy, Success, Target};

/// Settings of a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Client ports of the cluster's nodes (any order; the leader is found from hints).
    pub cluster: Vec<SocketAddr>,
    /// Total time one operation may take, retries included.
    pub op_timeout: Duration,
    /// Time one attempt may wait for its answer (and for its connection).
    pub attempt_timeout: Duration,
    /// Pause before retrying after a refusal or a failed attempt.
    pub retry_pause: Duration,
}

impl ClientConfig {
    /// Defaults ([`RetryPolicy::DEFAULT`]): 5 s per operation, 1 s per attempt, 20 ms pause
    /// between retries.
    pub fn new(cluster: Vec<SocketAddr>) -> ClientConfig {
        let policy = RetryPolicy::DEFAULT;
        ClientConfig {
            cluster,
            op_timeout: policy.op_timeout,
            attempt_timeout: policy.attempt_timeout,
            retry_pause: policy.retry_pause,
        }
    }
}

type Conn = FramedClient<ClientRequestFrame, ClientResponseFrame>;

/// One client session. See the module docs of [`crate::client`]. The decisions (targets,
/// sequence numbers, retries, definite or indefinite) are [`ClientSession`]'s; this type carries
/// them out over TCP with tokio time.
pub struct Client {
    cfg: ClientConfig,
    session: ClientSession<SocketAddr>,
    /// Origin of the clock readings given to the session: the start of the current operation.
    epoch: Instant,
    next_request_id: u64,
    /// Open connections by node address, reused across operations (a client that starts each
    /// operation at its home node and then follows a hint keeps both open).
    conns: BTreeMap<SocketAddr, Conn>,
}

/// What one attempt produced.
enum Attempt {
    Answer(ClientResponse),
    /// Failed; `maybe_sent` says whether the request may have reached the node.
    Failed {
        maybe_sent: bool,
        kind: ErrorKind,
        reason: String,
    },
}

impl Attempt {
    /// A failed attempt as the connection's error describes it.
    fn failed(err: &net::ClientError) -> Attempt {
        Attempt::Failed {
            maybe_sent: err.delivery() == Delivery::MaybeSent,
            kind: kind_of(err),
            reason: err.to_string(),
        }
    }
}

impl Client {
    /// A client with a fresh random session id.
    pub fn new(cfg: ClientConfig) -> Client {
        let policy = RetryPolicy {
            op_timeout: cfg.op_timeout,
            attempt_timeout: cfg.attempt_timeout,
            retry_pause: cfg.retry_pause,
        };
        Client {
            session: ClientSession::new(policy, cfg.cluster.len(), fresh_client_id),
            cfg,
            epoch: Instant::now(),
            next_request_id: 1,
            conns: BTreeMap::new(),
        }
    }

    /// This session's client id.
    pub fn client_id(&self) -> u64 {
        self.session.client_id()
    }

    /// The address of the node the latest attempt went to: after a success, the node that
    /// answered; after a failure, the node last tried (`None` before the first attempt).
    pub fn last_node(&self) -> Option<SocketAddr> {
        match self.session.last_target()? {
            Target::Leader(addr) => Some(*addr),
            Target::Listed(index) => self.cfg.cluster.get(*index).copied(),
        }
    }

    /// The leader address learned so far, if any.
    pub fn known_leader(&self) -> Option<SocketAddr> {
        self.session.known_leader().copied()
    }

    pub async fn get(&mut self, key: &str) -> Result<Option<String>, ClientError> {
        match self.execute(Op::Get { key: key.into() }).await? {
            OpResult::Value(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    pub async fn put(&mut self, key: &str, value: &str) -> Result<(), ClientError> {
        self.execute(Op::Put {
            key: key.into(),
            value: value.into(),
        })
        .await
        .map(drop)
    }

    pub async fn append(&mut self, key: &str, value: &str) -> Result<(), ClientError> {
        self.execute(Op::Append {
            key: key.into(),
            value: value.into(),
        })
        .await
        .map(drop)
    }

    /// Compare-and-set; `Ok(true)` when it swapped, `Ok(false)` on a mismatch.
    pub async fn cas(
        &mut self,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> Result<bool, ClientError> {
        let op = Op::Cas {
            key: key.into(),
            expected: expected.map(str::to_string),
            new: new.into(),
        };
        match self.execute(op).await? {
            OpResult::CasOk => Ok(true),
            OpResult::CasMismatch { .. } => Ok(false),
            other => Err(unexpected(other)),
        }
    }

    /// Deletes `key`; `Ok(true)` when it existed.
    pub async fn delete(&mut self, key: &str) -> Result<bool, ClientError> {
        match self.execute(Op::Delete { key: key.into() }).await? {
            OpResult::Deleted { existed } => Ok(existed),
            other => Err(unexpected(other)),
        }
    }

    /// Runs one operation: writes in this session with one sequence number for every retry;
    /// reads through the leader's read index.
    pub async fn execute(&mut self, op: Op) -> Result<OpResult, ClientError> {
        self.epoch = Instant::now();
        let first = self.session.begin(op, self.now());
        match self.drive(first).await? {
            Success::Kv(result) => Ok(result),
            Success::Admin => Err(ClientError::Indefinite {
                kind: ErrorKind::BadReply,
                reason: "a membership answer to a KV operation".into(),
            }),
        }
    }

    /// Sends a membership change to the leader and waits until it is committed.
    pub async fn admin(&mut self, request: AdminRequest) -> Result<(), ClientError> {
        self.epoch = Instant::now();
        let first = self.session.begin_admin(request, self.now());
        match self.drive(first).await? {
            Success::Admin => Ok(()),
            Success::Kv(result) => Err(unexpected(result)),
        }
    }

    /// [`Client::admin`] with credentials: the node's admin token and whether to override its
    /// voter floor.
    pub async fn authorized_admin(&mut self, admin: AuthorizedAdmin) -> Result<(), ClientError> {
        self.epoch = Instant::now();
        let first = self.session.begin_authorized_admin(admin, self.now());
        match self.drive(first).await? {
            Success::Admin => Ok(()),
            Success::Kv(result) => Err(unexpected(result)),
        }
    }

    /// Carries out the session's actions until the operation is over.
    async fn drive(&mut self, mut action: Action<SocketAddr>) -> Result<Success, ClientError> {
        loop {
            action = match action {
                Action::Send {
                    to,
                    request,
                    timeout,
                } => {
                    let addr = match to {
                        Target::Leader(addr) => Some(addr),
                        Target::Listed(index) => self.cfg.cluster.get(index).copied(),
                    };
                    let attempt = match addr {
                        Some(addr) => self.attempt(addr, request, timeout).await,
                        None => Attempt::Failed {
                            maybe_sent: false,
                            kind: ErrorKind::BadRequest,
                            reason: "the cluster list is empty".into(),
                        },
                    };
                    match attempt {
                        Attempt::Answer(response) => {
                            let leader = hinted_leader(&response);
                            self.session.on_answer(response, leader, self.now())
                        }
                        Attempt::Failed {
                            maybe_sent,
                            kind,
                            reason,
                        } => self.session.on_failure(maybe_sent, kind, reason),
                    }
                }
                Action::Pause(pause) => {
                    tokio::time::sleep(pause).await;
                    self.session.on_pause_over(self.now())
                }
                Action::Done(result) => return result,
            }
        }
    }

    /// Forgets the learned leader and sends the next attempt to `cluster[index]` first; hints
    /// from there are followed as usual. A test harness uses it to bind each worker to a home
    /// node, as Jepsen binds its clients to nodes, so that a node which wrongly believes it leads
    /// keeps being asked.
    pub fn start_at(&mut self, index: usize) {
        self.session.start_at(index);
    }

    /// The clock reading the session works with (time since the operation started).
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.epoch)
    }

    /// One request on one connection, answered or failed within `timeout`.
    async fn attempt(
        &mut self,
        addr: SocketAddr,
        request: ClientRequest,
        timeout: Duration,
    ) -> Attempt {
        if let Entry::Vacant(slot) = self.conns.entry(addr) {
            let opts = ClientOptions {
                connect_timeout: timeout,
                io_timeout: timeout,
                ..ClientOptions::with_timeout(timeout)
            };
            match Conn::connect_with(addr, opts).await {
                Ok(conn) => {
                    slot.insert(conn);
                }
                Err(err) => return Attempt::failed(&err),
            }
        }
        let Some(conn) = self.conns.get_mut(&addr) else {
            return Attempt::Failed {
                maybe_sent: false,
                kind: ErrorKind::ConnectionFailed,
                reason: "no connection".into(),
            };
        };
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        let frame = ClientRequestFrame {
            request_id,
            request,
        };
        if let Err(err) = conn.send(&frame).await {
            self.conns.remove(&addr);
            return Attempt::failed(&err);
        }
        loop {
            match conn.recv_timeout(timeout).await {
                Ok(answer) if answer.request_id == request_id => {
                    return Attempt::Answer(answer.response)
                }
                Ok(_) => continue,
                Err(err) => {
                    self.conns.remove(&addr);
                    return Attempt::Failed {
                        maybe_sent: true,
                        kind: kind_of(&err),
                        reason: err.to_string(),
                    };
                }
            }
        }
    }
}

/// The leader's client address from a `NotLeader` hint, when it names one that parses.
fn hinted_leader(response: &ClientResponse) -> Option<SocketAddr> {
    match response {
        ClientResponse::NotLeader {
            leader_client_addr: Some(addr),
            ..
        } => addr.parse().ok(),
        _ => None,
    }
}

fn fresh_client_id() -> u64 {
    rand::random::<u64>().max(1)
}

/// The kind of trouble a connection error is.
fn kind_of(err: &net::ClientError) -> ErrorKind {
    use net::ClientError as E;
    match err {
        E::Connect { source, .. } if source.kind() == std::io::ErrorKind::ConnectionRefused => {
            ErrorKind::ConnectionRefused
        }
        E::Connect { .. } => ErrorKind::ConnectionFailed,
        E::ConnectTimeout { .. } | E::SendTimeout(_) | E::RecvTimeout(_) => ErrorKind::Timeout,
        E::Encode(_) => ErrorKind::BadRequest,
        E::Broken | E::Send(_) | E::Closed | E::Recv(NetError::Io(_) | NetError::Closed) => {
            ErrorKind::ConnectionReset
        }
        E::Recv(_) => ErrorKind::BadReply,
    }
}

fn unexpected(result: OpResult) -> ClientError {
    ClientError::Indefinite {
        kind: ErrorKind::BadReply,
        reason: format!("unexpected result {result:?} for this operation"),
    }
}
