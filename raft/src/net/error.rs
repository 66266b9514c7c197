//! Typed errors of the transport: framing, handshake and peer-link failures.
//!
//! Every error names what was expected, so a log line tells an operator what to fix
//! (wrong cluster id, wrong version, a peer sending garbage).

use std::io;

use thiserror::Error;

use super::NodeId;

/// What can go wrong on a peer link or while decoding a frame.
#[derive(Debug, Error)]
pub enum NetError {
    /// A frame payload did not decode as the expected message type.
    #[error("bad frame payload: expected a postcard-encoded {expected}: {source}")]
    Decode {
        /// The Rust type the payload was supposed to hold.
        expected: &'static str,
        /// What postcard reported.
        #[source]
        source: postcard::Error,
    },
    /// A frame payload decoded, but left bytes over: a frame holds exactly one message.
    #[error("bad frame payload: expected exactly one {expected}, found {trailing} trailing bytes")]
    TrailingBytes {
        /// The Rust type the payload was supposed to hold.
        expected: &'static str,
        /// How many bytes were left after the message.
        trailing: usize,
    },
    /// A message could not be encoded (it should always encode; this points at a serde impl bug).
    #[error("could not encode a {what} as postcard: {source}")]
    Encode {
        /// The Rust type being encoded.
        what: &'static str,
        /// What postcard reported.
        #[source]
        source: postcard::Error,
    },
    /// A message encoded to more bytes than the frame limit allows.
    #[error("message of {len} bytes exceeds the maximum frame length of {max} bytes")]
    FrameTooLarge {
        /// Encoded size.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// The remote side announced a frame longer than the limit; the connection is closed without
    /// reading or allocating the payload.
    #[error("the remote side announced a frame longer than the maximum of {max} bytes")]
    AnnouncedFrameTooLarge {
        /// Configured limit.
        max: usize,
    },
    /// The stream broke framing rules (e.g. announced a frame longer than the limit) or the
    /// socket failed.
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
    /// The remote side closed the connection.
    #[error("connection closed by the remote side")]
    Closed,
    /// The remote side sent nothing for this long; the idle connection is closed.
    #[error("no frame for {0:?}; closing the idle connection")]
    IdleTimeout(std::time::Duration),
    /// The handshake did not complete in time.
    #[error("handshake timed out after {0:?}")]
    HandshakeTimeout(std::time::Duration),
    /// The remote side's handshake was refused.
    #[error("handshake refused: {0}")]
    Handshake(#[from] HandshakeError),
    /// No tokio runtime is running on this thread, so no task can be spawned.
    #[error("the transport must be started from inside a tokio runtime")]
    NoRuntime,
}

/// Why a handshake was refused. Both sides check the other's hello.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandshakeError {
    /// The first frame was not a gauntlet hello at all.
    #[error("the peer's first frame is not a gauntlet hello (magic {got:#010x}, expected {expected:#010x}); is something else listening on this port?")]
    BadMagic {
        /// Magic we expect.
        expected: u32,
        /// Magic we received.
        got: u32,
    },
    /// The peer speaks another wire format version.
    #[error("peer {peer} speaks wire format version {got}, this node speaks {expected}; upgrade one of them")]
    WrongVersion {
        /// Node id the peer announced.
        peer: NodeId,
        /// Our version.
        expected: u32,
        /// Theirs.
        got: u32,
    },
    /// The peer belongs to another cluster.
    #[error("peer {peer} belongs to cluster {got}, this node belongs to cluster {expected}; check --cluster-id and --peers")]
    WrongCluster {
        /// Node id the peer announced.
        peer: NodeId,
        /// Our cluster id.
        expected: u64,
        /// Theirs.
        got: u64,
    },
    /// We dialed the address of one node and another answered.
    #[error("dialed node {expected} but node {got} answered; check the --peers address list")]
    UnexpectedPeer {
        /// Who we meant to reach.
        expected: NodeId,
        /// Who answered.
        got: NodeId,
    },
    /// The peer announced our own node id.
    #[error("peer announced node id {0}, which is this node's own id; two nodes share an id")]
    SameNodeId(NodeId),
    /// The hello frame itself did not decode.
    #[error("the peer's hello frame did not decode: {0}")]
    Malformed(String),
    /// We have a peer secret and the peer announced none.
    #[error("peer {peer} has no peer secret, and this node requires one; give every node the same --peer-secret-file")]
    NoSecret {
        /// Node id the peer announced.
        peer: NodeId,
    },
    /// The peer announced a peer secret and we have none.
    #[error("peer {peer} uses a peer secret, and this node has none; give every node the same --peer-secret-file")]
    UnexpectedSecret {
        /// Node id the peer announced.
        peer: NodeId,
    },
    /// The peer's proof of the secret did not verify: another secret, or not the node it claims.
    #[error("peer claiming to be node {peer} failed to prove the cluster's peer secret (another secret, or an impostor); refused")]
    BadProof {
        /// Node id the peer announced.
        peer: NodeId,
    },
}

/// Why [`super::PeerTransport::send`] did not queue a message. Raft tolerates message loss, so a
/// caller may ignore these; they are counted in the peer's metrics as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SendError {
    /// The peer's outbound queue is full (the peer is slow or down); the message was dropped.
    #[error("outbound queue to node {0} is full; message dropped")]
    QueueFull(NodeId),
    /// No peer with this id is configured.
    #[error("node {0} is not a configured peer")]
    UnknownPeer(NodeId),
    /// The transport has been shut down.
    #[error("the transport is shut down")]
    ShutDown,
}
