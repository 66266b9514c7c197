//! Every limit and timeout of the peer transport, in one place with explicit defaults.

use std::time::Duration;

use super::framing::DEFAULT_MAX_FRAME_LEN;
use super::secret::PeerSecret;

/// Limits and timeouts of [`super::PeerTransport`] and [`super::accept_peers`].
#[derive(Clone, Debug)]
pub struct TransportOptions {
    /// Messages waiting per peer; a `send` to a full queue drops the message and counts it.
    pub queue_capacity: usize,
    /// Largest frame payload sent or accepted, in bytes.
    pub max_frame_len: usize,
    /// Most messages written before one flush.
    pub max_write_batch: usize,
    /// Time allowed for a TCP connect.
    pub connect_timeout: Duration,
    /// Time allowed for the hello exchange, both ways: a dialed peer must answer within it, and an
    /// accepted connection that has not completed its handshake within it is closed.
    pub handshake_timeout: Duration,
    /// Time allowed to write and flush one batch; a peer that stops reading is dropped after it.
    pub write_timeout: Duration,
    /// First reconnect delay; doubles after every failure up to `backoff_max`, and starts over
    /// only after a connection stayed up for at least `backoff_max`.
    pub backoff_initial: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// Most inbound peer connections served at once; when full, a new connection takes the slot
    /// of the oldest one still in its handshake, or is closed right after accept.
    pub max_inbound_connections: usize,
    /// Most inbound peer connections from one source IP address at once.
    pub max_inbound_per_source: usize,
    /// An inbound peer connection that delivers no frame for this long is closed (the dialing
    /// peer reconnects when it has something to send).
    pub inbound_idle_timeout: Duration,
    /// Seed of the reconnect jitter (mixed with both node ids, so peers do not retry in lockstep).
    pub jitter_seed: u64,
    /// The cluster's peer secret: with one, both ends of every peer connection must prove it in
    /// the handshake. Default: none (any host that can reach the peer port may join).
    pub peer_secret: Option<PeerSecret>,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            queue_capacity: 4096,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_write_batch: 256,
            connect_timeout: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(1),
            write_timeout: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(500),
            max_inbound_connections: 64,
            max_inbound_per_source: 32,
            inbound_idle_timeout: Duration::from_secs(60),
            jitter_seed: 0x6761_756e_746c_6574,
            peer_secret: None,
        }
    }
}
