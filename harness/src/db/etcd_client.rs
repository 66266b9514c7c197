//! [`EtcdClient`]: a [`DbClient`] for etcd 3.4 over its HTTP/JSON gateway (`/v3/kv/range`,
//! `/v3/kv/put`, `/v3/kv/txn`; keys and values base64), sent with the small HTTP client in
//! [`super::etcd_http`] (why not a crate: see there).
//!
//! The mapping of [`Op`]: get → range (linearizable unless the client is `serializable`); put →
//! put; cas → a txn comparing the value (or, for an expected absence, `create_revision == 0`)
//! then put, a refused compare being an ok cas that did not swap; append → read the key and its
//! `mod_revision`, then a txn guarded by that revision putting the longer value, again on a lost
//! compare up to [`APPEND_ATTEMPTS`] times (ok only when a txn succeeded). Delete is not sent.
//!
//! The ok/fail/info rule: nothing sent (connection refused, connect timeout) is a definite fail;
//! a read never changes anything, so any failed get is a definite fail too; a write that was
//! sent and got no answer (timeout, reset, garbled answer) is indefinite (info); an etcd error on
//! a write is definite only when etcd rejects the request before proposing it to Raft (see
//! [`rejected_before_proposal`]), every other one (request timed out, leader changed, server
//! stopped, unknown) is indefinite.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use raft::client::ErrorKind;
use raft::kv::Op;
use serde_json::{json, Value};

use super::etcd_http::{base64_decode, base64_encode, request, HttpError};
use super::{ClientFailure, ClientProfile, DbClient, KvReply, NodeId};

/// How many read-then-guarded-txn rounds an append tries before giving up (each lost round
/// changed nothing, so giving up is a definite fail).
pub const APPEND_ATTEMPTS: u32 = 5;

/// An etcd client session: one operation at a time, each a fresh HTTP request.
pub struct EtcdClient {
    members: Vec<(NodeId, SocketAddr)>,
    /// Workload clients start every operation at their home member; patient ones at the member
    /// that last answered.
    home: Option<usize>,
    next: usize,
    op_timeout: Duration,
    serializable: bool,
    last: Option<NodeId>,
}

/// What went wrong with one gateway request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Trouble {
    /// No member could be reached: nothing was sent.
    NotSent { kind: ErrorKind, reason: String },
    /// Sent, no usable answer.
    Unanswered { kind: ErrorKind, reason: String },
    /// etcd answered with an error.
    Etcd { message: String },
}

impl EtcdClient {
    /// A client of `members` (each member's id and client address) starting at
    /// `members[home % len]`.
    pub fn new(members: Vec<(NodeId, SocketAddr)>, profile: ClientProfile, home: usize) -> Self {
        let len = members.len().max(1);
        let (home, op_timeout) = match profile {
            ClientProfile::Workload => (Some(home % len), Duration::from_millis(2000)),
            // etcd's own request timeout is 5 s plus two election timeouts.
            ClientProfile::Patient => (None, Duration::from_secs(10)),
        };
        EtcdClient {
            members,
            home,
            next: home.unwrap_or(0),
            op_timeout,
            serializable: false,
            last: None,
        }
    }

    /// Reads with `serializable: true` (served by the member alone, possibly stale) instead of
    /// linearizable reads.
    pub fn with_serializable_reads(mut self, serializable: bool) -> Self {
        self.serializable = serializable;
        self
    }

    /// Changes the time one operation may take.
    pub fn with_op_timeout(mut self, op_timeout: Duration) -> Self {
        self.op_timeout = op_timeout;
        self
    }

    /// POSTs `body` to `path`, starting at the current member and moving on only while nothing
    /// was sent; the decoded JSON answer.
    async fn post(&mut self, path: &str, body: Value, deadline: Instant) -> Result<Value, Trouble> {
        let body = body.to_string();
        let mut last_refusal = None;
        for _ in 0..self.members.len() {
            let (id, addr) = self.members[self.next % self.members.len()];
            self.last = Some(id);
            match request(addr, "POST", path, Some(body.as_bytes()), deadline).await {
                Err(HttpError::NotSent { kind, reason }) => {
                    self.next = (self.next + 1) % self.members.len();
                    last_refusal = Some(Trouble::NotSent { kind, reason });
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                Err(HttpError::Unanswered { kind, reason }) => {
                    return Err(Trouble::Unanswered { kind, reason })
                }
                Ok(reply) => {
                    let value: Value =
                        serde_json::from_slice(&reply.body).map_err(|err| Trouble::Unanswered {
                            kind: ErrorKind::BadReply,
                            reason: format!("{path}: answer is not JSON ({err})"),
                        })?;
                    if reply.status == 200 {
                        return Ok(value);
                    }
                    let message = value
                        .get("error")
                        .or_else(|| value.get("message"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("HTTP {} {value}", reply.status));
                    return Err(Trouble::Etcd { message });
                }
            }
        }
        Err(last_refusal.unwrap_or(Trouble::NotSent {
            kind: ErrorKind::BadRequest,
            reason: "no etcd member to ask".into(),
        }))
    }

    /// The key's value and `mod_revision` (0 when absent).
    async fn range(
        &mut self,
        key: &str,
        serializable: bool,
        deadline: Instant,
    ) -> Result<(Option<String>, i64), Trouble> {
        let mut body = json!({ "key": base64_encode(key.as_bytes()) });
        if serializable {
            body["serializable"] = json!(true);
        }
        let answer = self.post("/v3/kv/range", body, deadline).await?;
        let Some(kv) = answer
            .get("kvs")
            .and_then(Value::as_array)
            .and_then(|kvs| kvs.first())
        else {
            return Ok((None, 0));
        };
        let value = kv.get("value").and_then(Value::as_str).unwrap_or_default();
        let value = base64_decode(value)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| Trouble::Unanswered {
                kind: ErrorKind::BadReply,
                reason: format!("range of {key}: value is not base64 UTF-8"),
            })?;
        Ok((Some(value), int_field(kv, "mod_revision")))
    }

    /// A txn: `compare`, then put `key = value` if it held; whether it held.
    async fn guarded_put(
        &mut self,
        compare: Value,
        key: &str,
        value: &str,
        deadline: Instant,
    ) -> Result<bool, Trouble> {
        let body = json!({
            "compare": [compare],
            "success": [{ "request_put": {
                "key": base64_encode(key.as_bytes()),
                "value": base64_encode(value.as_bytes()),
            }}],
        });
        let answer = self.post("/v3/kv/txn", body, deadline).await?;
        // proto3 JSON leaves a false `succeeded` out.
        Ok(answer
            .get("succeeded")
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }

    async fn execute(&mut self, op: Op) -> Result<KvReply, ClientFailure> {
        let deadline = Instant::now() + self.op_timeout;
        let is_write = op.is_write();
        let result = match op {
            Op::Get { key } => {
                let serializable = self.serializable;
                self.range(&key, serializable, deadline)
                    .await
                    .map(|(value, _)| KvReply::Value(value))
            }
            Op::Put { key, value } => {
                let body = json!({
                    "key": base64_encode(key.as_bytes()),
                    "value": base64_encode(value.as_bytes()),
                });
                self.post("/v3/kv/put", body, deadline)
                    .await
                    .map(|_| KvReply::Written)
            }
            Op::Cas { key, expected, new } => {
                let key64 = base64_encode(key.as_bytes());
                let compare = match expected {
                    Some(expected) => json!({
                        "key": key64, "target": "VALUE", "result": "EQUAL",
                        "value": base64_encode(expected.as_bytes()),
                    }),
                    None => json!({
                        "key": key64, "target": "CREATE", "result": "EQUAL",
                        "create_revision": "0",
                    }),
                };
                self.guarded_put(compare, &key, &new, deadline)
                    .await
                    .map(KvReply::Cas)
            }
            Op::Append { key, value } => return self.append(&key, &value, deadline).await,
            Op::Delete { key } => {
                return Err(ClientFailure {
                    definite: true,
                    kind: ErrorKind::BadRequest,
                    reason: format!("delete of {key}: not part of the etcd mapping, not sent"),
                })
            }
        };
        result.map_err(|trouble| failure(trouble, is_write))
    }

    async fn append(
        &mut self,
        key: &str,
        suffix: &str,
        deadline: Instant,
    ) -> Result<KvReply, ClientFailure> {
        for _ in 0..APPEND_ATTEMPTS {
            // Until a txn is sent nothing changed: a failed read fails the append definitely.
            let (current, revision) = self
                .range(key, false, deadline)
                .await
                .map_err(|trouble| failure(trouble, false))?;
            let compare = json!({
                "key": base64_encode(key.as_bytes()), "target": "MOD", "result": "EQUAL",
                "mod_revision": revision.to_string(),
            });
            let longer = current.unwrap_or_default() + suffix;
            match self.guarded_put(compare, key, &longer, deadline).await {
                Ok(true) => return Ok(KvReply::Written),
                Ok(false) => continue,
                Err(trouble) => return Err(failure(trouble, true)),
            }
        }
        Err(ClientFailure {
            definite: true,
            kind: ErrorKind::Busy,
            reason: format!(
                "append to {key}: the key changed under it {APPEND_ATTEMPTS} times, nothing written"
            ),
        })
    }
}

/// An int64 field of a gateway answer (proto3 JSON writes them as strings); 0 when absent.
fn int_field(object: &Value, name: &str) -> i64 {
    match object.get(name) {
        Some(Value::String(text)) => text.parse().unwrap_or(0),
        Some(Value::Number(number)) => number.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// True for etcd errors returned before the request was proposed to Raft, so a write that got
/// one surely did not take effect.
pub fn rejected_before_proposal(message: &str) -> bool {
    const BEFORE: [&str; 7] = [
        "etcdserver: no leader",
        "raft proposal dropped",
        "etcdserver: too many requests",
        "etcdserver: request is too large",
        "etcdserver: mvcc: database space exceeded",
        "etcdserver: not capable",
        "etcdserver: key is not provided",
    ];
    BEFORE.iter().any(|known| message.contains(known))
}

/// The error kind for an etcd error message.
pub fn etcd_error_kind(message: &str) -> ErrorKind {
    if message.contains("request timed out") {
        ErrorKind::Timeout
    } else if message.contains("leader changed") {
        ErrorKind::NotLeader
    } else if message.contains("no leader") || message.contains("proposal dropped") {
        ErrorKind::NoLeader
    } else if message.contains("too many requests") {
        ErrorKind::Busy
    } else {
        ErrorKind::ServerError
    }
}

fn failure(trouble: Trouble, is_write: bool) -> ClientFailure {
    match trouble {
        Trouble::NotSent { kind, reason } => ClientFailure {
            definite: true,
            kind,
            reason,
        },
        Trouble::Unanswered { kind, reason } => ClientFailure {
            definite: !is_write,
            kind,
            reason,
        },
        Trouble::Etcd { message } => ClientFailure {
            definite: !is_write || rejected_before_proposal(&message),
            kind: etcd_error_kind(&message),
            reason: message,
        },
    }
}

impl DbClient for EtcdClient {
    fn call(&mut self, op: Op) -> BoxFuture<'_, Result<KvReply, ClientFailure>> {
        if let Some(home) = self.home {
            self.next = home;
        }
        self.execute(op).boxed()
    }

    fn last_node(&self) -> Option<NodeId> {
        self.last
    }
}

/// True when the member at `addr` says it is the leader (`/v3/maintenance/status`: its own
/// member id equals the leader's).
pub async fn probe_is_leader(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_millis(600);
    let Ok(reply) = request(
        addr,
        "POST",
        "/v3/maintenance/status",
        Some(b"{}"),
        deadline,
    )
    .await
    else {
        return false;
    };
    let Ok(status) = serde_json::from_slice::<Value>(&reply.body) else {
        return false;
    };
    let member = status
        .get("header")
        .and_then(|h| h.get("member_id"))
        .and_then(Value::as_str);
    let leader = status.get("leader").and_then(Value::as_str);
    reply.status == 200 && member.is_some() && member == leader
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_definite_only_when_rejected_before_proposal() {
        let etcd = |message: &str| Trouble::Etcd {
            message: message.into(),
        };
        let timed_out = failure(etcd("etcdserver: request timed out"), true);
        assert!(!timed_out.definite);
        assert_eq!(timed_out.kind, ErrorKind::Timeout);
        let changed = failure(etcd("etcdserver: leader changed"), true);
        assert!(!changed.definite);
        assert_eq!(changed.kind, ErrorKind::NotLeader);
        assert!(!failure(etcd("etcdserver: server stopped"), true).definite);
        let busy = failure(etcd("etcdserver: too many requests"), true);
        assert!(busy.definite);
        assert_eq!(busy.kind, ErrorKind::Busy);
        assert!(failure(etcd("etcdserver: request timed out"), false).definite);
        let reset = Trouble::Unanswered {
            kind: ErrorKind::ConnectionReset,
            reason: "reset".into(),
        };
        assert!(!failure(reset.clone(), true).definite);
        assert!(failure(reset, false).definite);
        let refused = Trouble::NotSent {
            kind: ErrorKind::ConnectionRefused,
            reason: "refused".into(),
        };
        assert!(failure(refused, true).definite);
    }

    #[test]
    fn revisions_are_read_from_strings_or_numbers() {
        let kv = json!({ "mod_revision": "42", "create_revision": 7 });
        assert_eq!(int_field(&kv, "mod_revision"), 42);
        assert_eq!(int_field(&kv, "create_revision"), 7);
        assert_eq!(int_field(&kv, "version"), 0);
    }
}
