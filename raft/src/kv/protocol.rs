//! The client port's wire types: requests (KV operations and membership administration) and
//! responses, each wrapped in a frame with a request id so that several requests can be in flight
//! on one connection and answers matched to them. Serialized with postcard.
//!
//! What each response promises about whether the request took effect is part of the contract,
//! because the client library turns it into a definite (`fail`) or indefinite (`info`) outcome.

use serde::{Deserialize, Serialize};

use super::error::KvError;
use super::op::{Op, OpResult};
use super::state_machine::Reply;

/// A Raft node id: the core's, re-exported because membership requests name nodes.
pub use crate::core::NodeId;

/// A request on the client port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientRequest {
    /// A KV operation in the client's session. A retry reuses `seq`.
    Kv { client_id: u64, seq: u64, op: Op },
    /// Membership administration, handled by the leader, without credentials: taken only by a
    /// node with no admin token whose client port is on loopback (see `docs/security.md`), and
    /// never below the node's voter floor.
    Admin(AdminRequest),
    /// Membership administration with credentials. Appended after `Admin`, so the encodings of
    /// the older variants did not change.
    AuthorizedAdmin(AuthorizedAdmin),
}

/// An admin request with the caller's admin token and whether it overrides the voter floor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizedAdmin {
    pub request: AdminRequest,
    /// The node's admin token, as read from the client's `--admin-token-file`.
    pub token: Option<PresentedToken>,
    /// Carry out a change that would leave fewer voters than the node's floor (`--min-voters`).
    pub force: bool,
}

/// Token bytes a client presents; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentedToken(pub Vec<u8>);

impl std::fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PresentedToken(<{} bytes, not shown>)", self.0.len())
    }
}

/// Membership changes (and leadership hand-over) requested through the client port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRequest {
    /// Add a node as a learner; `peer_addr` is its Raft port, `client_addr` its client port.
    AddLearner {
        id: NodeId,
        peer_addr: String,
        client_addr: String,
    },
    /// Promote a caught-up learner to voter.
    Promote { id: NodeId },
    /// Remove a node (voter or learner, the leader included).
    Remove { id: NodeId },
    /// Hand leadership to the voter `to`. Answered `AdminOk` once this node sees `to` lead (at
    /// once if it already does); a target that is no voter is refused (`Error`, definite); a
    /// transfer that did not finish within two election timeouts is answered with an `Error`
    /// saying the outcome is unknown (the target may still win its election).
    TransferLeadership { to: NodeId },
}

/// A response on the client port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientResponse {
    /// The operation took effect (or, for a retry, had taken effect) with this result.
    Ok(OpResult),
    /// The membership change was committed (or the leadership transfer finished).
    AdminOk,
    /// This node is not the leader and did not propose the request: it surely did not take effect
    /// through this node. The hints say where to go instead, when known.
    NotLeader {
        leader_hint: Option<NodeId>,
        leader_client_addr: Option<String>,
    },
    /// The client's session is gone; nothing was applied now (an earlier attempt with the same
    /// sequence may have been). The client must continue under a new client id.
    SessionExpired,
    /// A later sequence of this client was already applied; nothing was applied now.
    StaleSequence,
    /// The node is overloaded and did not propose the request; retry later.
    Busy,
    /// Anything else; the request may or may not have taken effect.
    Error(String),
}

impl From<Reply> for ClientResponse {
    fn from(reply: Reply) -> ClientResponse {
        match reply {
            Reply::Ok(result) => ClientResponse::Ok(result),
            Reply::SessionExpired => ClientResponse::SessionExpired,
            Reply::StaleSequence => ClientResponse::StaleSequence,
        }
    }
}

/// A request with the id its response will carry (chosen by the client, unique per connection).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequestFrame {
    pub request_id: u64,
    pub request: ClientRequest,
}

/// A response to the request with the same `request_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientResponseFrame {
    pub request_id: u64,
    pub response: ClientResponse,
}

fn encode_frame<T: Serialize>(frame: &T, what: &'static str) -> Vec<u8> {
    // postcard into a Vec has no failure path for these plain types.
    postcard::to_allocvec(frame).unwrap_or_else(|err| {
        unreachable!("postcard encoding of a {what} into a Vec cannot fail: {err}")
    })
}

fn decode_frame<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &'static str) -> Result<T, KvError> {
    let (frame, rest) =
        postcard::take_from_bytes::<T>(bytes).map_err(|source| KvError::Decode { what, source })?;
    if rest.is_empty() {
        Ok(frame)
    } else {
        Err(KvError::Decode {
            what,
            source: postcard::Error::DeserializeBadEncoding,
        })
    }
}

impl ClientRequestFrame {
    pub fn encode(&self) -> Vec<u8> {
        encode_frame(self, "ClientRequestFrame")
    }

    pub fn decode(bytes: &[u8]) -> Result<ClientRequestFrame, KvError> {
        decode_frame(bytes, "ClientRequestFrame")
    }
}

impl ClientResponseFrame {
    pub fn encode(&self) -> Vec<u8> {
        encode_frame(self, "ClientResponseFrame")
    }

    pub fn decode(bytes: &[u8]) -> Result<ClientResponseFrame, KvError> {
        decode_frame(bytes, "ClientResponseFrame")
    }
}
