//! Per-direction counters, updated lock-free by the connection tasks.

use std::sync::atomic::{AtomicU64, Ordering};

/// A point-in-time copy of one direction's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Connections accepted on this direction's listener.
    pub connections_accepted: u64,
    /// Of those, still open.
    pub connections_active: u64,
    /// Connections accepted on this direction's listener that the proxy closed because of a
    /// fault (a reset of either direction, or a hole left by a dropping blackhole).
    pub connections_reset: u64,
    /// Bytes delivered in this direction (on any connection).
    pub bytes_forwarded: u64,
    /// Bytes thrown away in this direction by `Blackhole { drop: true }`.
    pub bytes_dropped: u64,
    /// Connections carrying this direction that `Stale` stranded (sender's side closed, held
    /// bytes delivered late on the old connection).
    pub connections_stranded: u64,
    /// Of `bytes_forwarded`, the bytes delivered late by stranded connections.
    pub bytes_stale: u64,
}

#[derive(Debug, Default)]
pub(crate) struct LinkCounters {
    pub connections_accepted: AtomicU64,
    pub connections_active: AtomicU64,
    pub connections_reset: AtomicU64,
    pub bytes_forwarded: AtomicU64,
    pub bytes_dropped: AtomicU64,
    pub connections_stranded: AtomicU64,
    pub bytes_stale: AtomicU64,
}

impl LinkCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> LinkStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LinkStats {
            connections_accepted: get(&self.connections_accepted),
            connections_active: get(&self.connections_active),
            connections_reset: get(&self.connections_reset),
            bytes_forwarded: get(&self.bytes_forwarded),
            bytes_dropped: get(&self.bytes_dropped),
            connections_stranded: get(&self.connections_stranded),
            bytes_stale: get(&self.bytes_stale),
        }
    }
}
