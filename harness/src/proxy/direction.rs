//! The shared state of one traffic direction `X -> Y`: its fault state (a watch channel the
//! pumps follow), its counters, its seeded jitter RNG, and the connections that carry it (so a
//! reset can close them all).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::link::{LinkId, LinkState};
use super::stats::LinkCounters;

pub(crate) struct Direction {
    pub link: LinkId,
    state: watch::Sender<LinkState>,
    pub counters: LinkCounters,
    rng: Mutex<ChaCha8Rng>,
    connections: Mutex<BTreeMap<u64, CancellationToken>>,
    /// Stalls begun since the direction last entered `Stale` (they alternate short and long).
    stalls: AtomicU64,
}

/// Poisoning only means another task panicked mid-update of plain data; keep going.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Direction {
    pub fn new(link: LinkId, seed: u64) -> Direction {
        let link_seed = seed
            ^ link.from.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ link.to.rotate_left(32).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        Direction {
            link,
            state: watch::Sender::new(LinkState::Pass),
            counters: LinkCounters::default(),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(link_seed)),
            connections: Mutex::new(BTreeMap::new()),
            stalls: AtomicU64::new(0),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<LinkState> {
        self.state.subscribe()
    }

    pub fn state(&self) -> LinkState {
        *self.state.borrow()
    }

    /// Changes the state; entering `Reset` closes every connection carrying this direction.
    pub fn set(&self, state: LinkState) {
        if matches!(state, LinkState::Stale { .. }) {
            self.stalls.store(0, Ordering::Relaxed);
        }
        let old = self.state.send_replace(state);
        if old != state {
            tracing::info!(link = %self.link, ?old, new = ?state, "proxy link state changed");
        }
        if state == LinkState::Reset {
            self.reset_connections();
        }
    }

    /// Counts a stall beginning; returns how many began before it since the state was set.
    pub fn next_stall(&self) -> u64 {
        self.stalls.fetch_add(1, Ordering::Relaxed)
    }

    /// Closes every connection carrying this direction now; returns how many.
    pub fn reset_connections(&self) -> usize {
        let connections = lock(&self.connections);
        for token in connections.values() {
            token.cancel();
        }
        if !connections.is_empty() {
            tracing::info!(link = %self.link, count = connections.len(), "proxy reset connections");
        }
        connections.len()
    }

    /// Records that connection `id` carries this direction until the returned guard drops.
    pub fn register(self: &Arc<Self>, id: u64, token: CancellationToken) -> Registration {
        lock(&self.connections).insert(id, token);
        Registration {
            direction: Arc::clone(self),
            id,
        }
    }

    /// `fixed + uniform(0..=jitter)`, from this direction's seeded RNG.
    pub fn draw_delay(&self, fixed: Duration, jitter: Duration) -> Duration {
        let jitter_ns = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
        if jitter_ns == 0 {
            return fixed;
        }
        let extra = lock(&self.rng).random_range(0..=jitter_ns);
        fixed.saturating_add(Duration::from_nanos(extra))
    }
}

/// Removes a connection from its direction's registry when dropped.
pub(crate) struct Registration {
    direction: Arc<Direction>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.direction.connections).remove(&self.id);
    }
}
