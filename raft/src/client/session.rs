//! [`Client`]: one client session (client id + next sequence) with one reusable connection per node,
//! with leader discovery and same-sequence retries until the operation's deadline.

use std::collections::{btree_map::Entry, BTreeMap};
use std::{net::SocketAddr, time::Duration};

use tokio::time::Instant;

use crate::kv::{
    AdminRequest, ClientRequest, ClientRequestFrame, ClientResponse, ClientResponseFrame, Op,
    OpResult, FIRST_SEQ,
};
use crate::net::{ClientOptions, Delivery, FramedClient};

use super::error::ClientError;

/// Settings of a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Client ports of the cluster's nodes (any order; the leader is found from hints).
    pub cluster: Vec<SocketAddr>,
    /// Total time one operation may take, retries included.
    pub op_timeout: Duration,
    /// Time one attempt may wait for its answer (and for its connection).
    pub attempt_timeout: Duration,
    /// Pause before retrying after a refusal without a leader hint.
    pub retry_pause: Duration,
}

impl ClientConfig {
    /// Defaults: 5 s per operation, 1 s per attempt, 20 ms pause between hintless retries.
    pub fn new(cluster: Vec<SocketAddr>) -> ClientConfig {
        ClientConfig {
            cluster,
            op_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(1),
            retry_pause: Duration::from_millis(20),
        }
    }
}

type Conn = FramedClient<ClientRequestFrame, ClientResponseFrame>;

/// One client session. See the module docs of [`crate::client`].
pub struct Client {
    cfg: ClientConfig,
    client_id: u64,
    next_seq: u64,
    next_request_id: u64,
    /// Leader address learned from a hint, tried first.
    leader: Option<SocketAddr>,
    /// Round-robin position in `cfg.cluster`.
    next_node: usize,
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
        reason: String,
    },
}

impl Client {
    /// A client with a fresh random session id.
    pub fn new(cfg: ClientConfig) -> Client {
        Client {
            cfg,
            client_id: fresh_client_id(),
            next_seq: FIRST_SEQ,
            next_request_id: 1,
            leader: None,
            next_node: 0,
            conns: BTreeMap::new(),
        }
    }

    /// This session's client id.
    pub fn client_id(&self) -> u64 {
        self.client_id
    }

    /// The leader address learned so far, if any.
    pub fn known_leader(&self) -> Option<SocketAddr> {
        self.leader
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
        let is_write = op.is_write();
        let deadline = Instant::now() + self.cfg.op_timeout;
        let mut maybe_sent = false;
        let mut last_reason = String::from("no attempt was made");
        let mut renewed_session = false;
        while Instant::now() < deadline {
            let seq = if is_write { self.next_seq } else { 0 };
            let request = ClientRequest::Kv {
                client_id: self.client_id,
                seq,
                op: op.clone(),
            };
            match self.attempt(request, deadline).await {
                Attempt::Answer(ClientResponse::Ok(result)) => {
                    if is_write {
                        self.next_seq += 1;
                    }
                    return Ok(result);
                }
                Attempt::Answer(ClientResponse::SessionExpired | ClientResponse::StaleSequence)
                    if is_write =>
                {
                    // The session is unusable; continue under a new client id.
                    self.client_id = fresh_client_id();
                    self.next_seq = FIRST_SEQ;
                    if maybe_sent {
                        return Err(ClientError::Indefinite {
                            reason:
                                "the session expired after an attempt that may have been applied"
                                    .into(),
                        });
                    }
                    if renewed_session {
                        return Err(ClientError::Definite {
                            reason: "the cluster refused two fresh sessions".into(),
                        });
                    }
                    renewed_session = true;
                }
                Attempt::Answer(response) => {
                    last_reason = self.on_refusal(&response, &mut maybe_sent, is_write).await;
                }
                Attempt::Failed {
                    maybe_sent: sent,
                    reason,
                } => {
                    maybe_sent |= sent && is_write;
                    last_reason = reason;
                    self.rotate();
                    tokio::time::sleep(self.cfg.retry_pause).await;
                }
            }
        }
        if maybe_sent {
            // The earlier attempt may still apply later; the next write takes a new sequence,
            // so a late arrival of this one is refused as stale instead of applied out of order.
            self.next_seq += 1;
            Err(ClientError::Indefinite {
                reason: format!("gave up after {:?}: {last_reason}", self.cfg.op_timeout),
            })
        } else {
            Err(ClientError::Definite {
                reason: format!("gave up after {:?}: {last_reason}", self.cfg.op_timeout),
            })
        }
    }

    /// Sends a membership change to the leader and waits until it is committed.
    pub async fn admin(&mut self, request: AdminRequest) -> Result<(), ClientError> {
        let deadline = Instant::now() + self.cfg.op_timeout;
        let mut maybe_sent = false;
        let mut last_reason = String::from("no attempt was made");
        while Instant::now() < deadline {
            match self
                .attempt(ClientRequest::Admin(request.clone()), deadline)
                .await
            {
                Attempt::Answer(ClientResponse::AdminOk) => return Ok(()),
                Attempt::Answer(ClientResponse::Error(reason)) if !reason.contains("unknown") => {
                    return Err(ClientError::Rejected { reason })
                }
                Attempt::Answer(response) => {
                    last_reason = self.on_refusal(&response, &mut maybe_sent, true).await;
                }
                Attempt::Failed {
                    maybe_sent: sent,
                    reason,
                } => {
                    maybe_sent |= sent;
                    last_reason = reason;
                    self.rotate();
                    tokio::time::sleep(self.cfg.retry_pause).await;
                }
            }
        }
        let reason = format!("gave up: {last_reason}");
        Err(if maybe_sent {
            ClientError::Indefinite { reason }
        } else {
            ClientError::Definite { reason }
        })
    }

    /// Follows a refusal: switch to the hinted leader, or pause and try the next node.
    async fn on_refusal(
        &mut self,
        response: &ClientResponse,
        maybe_sent: &mut bool,
        is_write: bool,
    ) -> String {
        match response {
            ClientResponse::NotLeader {
                leader_client_addr: Some(addr),
                leader_hint,
            } => {
                if let Ok(addr) = addr.parse::<SocketAddr>() {
                    self.leader = Some(addr);
                    return format!("redirected to node {leader_hint:?} at {addr}");
                }
                self.rotate();
            }
            ClientResponse::NotLeader { .. } => self.rotate(),
            ClientResponse::Busy => {}
            ClientResponse::Error(_) => {
                *maybe_sent |= is_write;
                self.rotate();
            }
            _ => {}
        }
        tokio::time::sleep(self.cfg.retry_pause).await;
        format!("last answer: {response:?}")
    }

    /// Forgets the learned leader and sends the next attempt to `cluster[index]` first; hints
    /// from there are followed as usual. A test harness uses it to bind each worker to a home
    /// node, as Jepsen binds its clients to nodes, so that a node which wrongly believes it leads
    /// keeps being asked.
    pub fn start_at(&mut self, index: usize) {
        self.leader = None;
        self.next_node = index % self.cfg.cluster.len().max(1);
    }

    /// Forgets the learned leader and moves to the next configured node.
    fn rotate(&mut self) {
        self.leader = None;
        self.next_node = (self.next_node + 1) % self.cfg.cluster.len().max(1);
    }

    fn target(&self) -> Option<SocketAddr> {
        self.leader
            .or_else(|| self.cfg.cluster.get(self.next_node).copied())
    }

    /// One request on one connection, answered or failed within the attempt timeout.
    async fn attempt(&mut self, request: ClientRequest, deadline: Instant) -> Attempt {
        let Some(addr) = self.target() else {
            return Attempt::Failed {
                maybe_sent: false,
                reason: "the cluster list is empty".into(),
            };
        };
        let timeout = self
            .cfg
            .attempt_timeout
            .min(deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(1));
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
                Err(err) => {
                    return Attempt::Failed {
                        maybe_sent: false,
                        reason: err.to_string(),
                    }
                }
            }
        }
        let Some(conn) = self.conns.get_mut(&addr) else {
            return Attempt::Failed {
                maybe_sent: false,
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
            return Attempt::Failed {
                maybe_sent: err.delivery() == Delivery::MaybeSent,
                reason: err.to_string(),
            };
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
                        reason: err.to_string(),
                    };
                }
            }
        }
    }
}

fn fresh_client_id() -> u64 {
    rand::random::<u64>().max(1)
}

fn unexpected(result: OpResult) -> ClientError {
    ClientError::Indefinite {
        reason: format!("unexpected result {result:?} for this operation"),
    }
}
