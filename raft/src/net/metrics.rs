//! Counters of the transport: per outbound peer link and per inbound listener. Lock-free atomics
//! written by the link tasks; read as plain snapshots.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// A snapshot of one outbound peer link's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerMetrics {
    /// Messages written and flushed to the peer.
    pub sent: u64,
    /// Frame bytes (length prefix included) written to the peer.
    pub bytes_sent: u64,
    /// Messages dropped because the outbound queue was full.
    pub dropped: u64,
    /// Messages taken from the queue but lost because the connection failed while writing them,
    /// or refused because they encoded larger than the frame limit.
    pub lost: u64,
    /// Connections established (handshake completed).
    pub connections: u64,
    /// Reconnect waits: each failed connect attempt or broken connection counts one.
    pub reconnects: u64,
    /// Messages received back over the dialed connection (forwarded to the inbound channel).
    pub received: u64,
    /// Whether a handshaken connection is up right now.
    pub connected: bool,
}

#[derive(Debug, Default)]
pub(crate) struct PeerCounters {
    pub sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub dropped: AtomicU64,
    pub lost: AtomicU64,
    pub connections: AtomicU64,
    pub reconnects: AtomicU64,
    pub received: AtomicU64,
    pub connected: AtomicBool,
}

impl PeerCounters {
    pub fn snapshot(&self) -> PeerMetrics {
        PeerMetrics {
            sent: self.sent.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            lost: self.lost.load(Relaxed),
            connections: self.connections.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            received: self.received.load(Relaxed),
            connected: self.connected.load(Relaxed),
        }
    }
}

/// A snapshot of a listener's counters (peer listener or client port).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenerMetrics {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections open right now.
    pub open: u64,
    /// Connections closed right away because the connection limit was reached and every
    /// connection held had already spoken.
    pub over_limit: u64,
    /// Connections closed right away because their source address held its limit already.
    pub over_source_limit: u64,
    /// Connections closed to make room for a new one before they had spoken (first request, or
    /// handshake).
    pub evicted: u64,
    /// Connections closed for missing the handshake deadline or staying idle too long.
    pub timed_out: u64,
    /// Connections refused at the handshake (peer listener only).
    pub refused: u64,
    /// Connections closed because a frame was oversized or did not decode.
    pub bad_frames: u64,
    /// Messages decoded and handed on.
    pub received: u64,
    /// Frame bytes (length prefix included) received.
    pub bytes_received: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ListenerCounters {
    pub accepted: AtomicU64,
    pub open: AtomicU64,
    pub over_limit: AtomicU64,
    pub over_source_limit: AtomicU64,
    pub evicted: AtomicU64,
    pub timed_out: AtomicU64,
    pub refused: AtomicU64,
    pub bad_frames: AtomicU64,
    pub received: AtomicU64,
    pub bytes_received: AtomicU64,
}

impl ListenerCounters {
    pub fn snapshot(&self) -> ListenerMetrics {
        ListenerMetrics {
            accepted: self.accepted.load(Relaxed),
            open: self.open.load(Relaxed),
            over_limit: self.over_limit.load(Relaxed),
            over_source_limit: self.over_source_limit.load(Relaxed),
            evicted: self.evicted.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            refused: self.refused.load(Relaxed),
            bad_frames: self.bad_frames.load(Relaxed),
            received: self.received.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

/// Counts one open connection for as long as it lives (also when its task is aborted).
pub(crate) struct OpenConnection(pub std::sync::Arc<ListenerCounters>);

impl OpenConnection {
    pub fn new(counters: std::sync::Arc<ListenerCounters>) -> OpenConnection {
        bump(&counters.open);
        OpenConnection(counters)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Relaxed);
    }
}
