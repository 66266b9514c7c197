//! Starting the proxy and controlling it: one listener per link, runtime state changes through
//! [`ProxyHandle`], counters, and shutdown (explicit, or by dropping the handle).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::direction::Direction;
use super::error::ProxyError;
use super::link::{LinkId, LinkSpec, LinkState};
use super::listener::accept_loop;
use super::stats::LinkStats;

/// Tuning of the proxy. Every buffer has an explicit bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Seeds the per-direction jitter RNGs.
    pub seed: u64,
    /// How long the proxy waits when dialing a link's target.
    pub connect_timeout: Duration,
    /// Largest chunk read from a socket at once.
    pub chunk_bytes: usize,
    /// Most chunks queued per byte direction of a connection.
    pub queue_chunks: usize,
    /// Most bytes queued per byte direction of a connection (read, not yet delivered): under a
    /// delay this is the link's bandwidth-delay budget; beyond it the sender feels back-pressure.
    pub queue_bytes: usize,
}

impl Default for ProxyConfig {
    fn default() -> ProxyConfig {
        ProxyConfig {
            seed: 0,
            connect_timeout: Duration::from_secs(2),
            chunk_bytes: 64 * 1024,
            queue_chunks: 4096,
            queue_bytes: 4 * 1024 * 1024,
        }
    }
}

/// State shared by the handle and every task.
pub(crate) struct Shared {
    pub config: ProxyConfig,
    /// Every link and its reverse; fixed after start.
    pub directions: HashMap<LinkId, Arc<Direction>>,
    /// Where each listener's connections are dialed to; changeable at runtime.
    pub targets: HashMap<LinkId, Mutex<SocketAddr>>,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    pub next_connection_id: AtomicU64,
}

impl Shared {
    /// The current target of a listener's link.
    pub fn target(&self, link: LinkId) -> Option<SocketAddr> {
        let slot = self.targets.get(&link)?;
        Some(*slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// Entry point: `Proxy::start(links)` opens the listeners and returns the handle.
pub struct Proxy;

impl Proxy {
    /// Starts a proxy with the default config (seed 0). Needs a tokio runtime.
    pub async fn start(links: Vec<LinkSpec>) -> Result<ProxyHandle, ProxyError> {
        Proxy::start_with(ProxyConfig::default(), links).await
    }

    /// Binds one listener per link and starts accepting. All links start in `Pass`.
    pub async fn start_with(
        config: ProxyConfig,
        links: Vec<LinkSpec>,
    ) -> Result<ProxyHandle, ProxyError> {
        let mut listeners = Vec::with_capacity(links.len());
        let mut addrs = BTreeMap::new();
        for spec in &links {
            if addrs.contains_key(&spec.link) {
                return Err(ProxyError::DuplicateLink(spec.link));
            }
            let bind_err = |source| ProxyError::Bind {
                link: spec.link,
                addr: spec.listen,
                source,
            };
            let listener = TcpListener::bind(spec.listen).await.map_err(bind_err)?;
            let local = listener.local_addr().map_err(bind_err)?;
            addrs.insert(spec.link, local);
            listeners.push((spec.clone(), listener));
        }
        let mut directions = HashMap::new();
        for spec in &links {
            for link in [spec.link, spec.link.reverse()] {
                directions
                    .entry(link)
                    .or_insert_with(|| Arc::new(Direction::new(link, config.seed)));
            }
        }
        let targets = links
            .iter()
            .map(|spec| (spec.link, Mutex::new(spec.target)))
            .collect();
        let shared = Arc::new(Shared {
            config,
            directions,
            targets,
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            next_connection_id: AtomicU64::new(0),
        });
        for (spec, listener) in listeners {
            tracing::info!(link = %spec.link, listen = ?addrs.get(&spec.link), target = %spec.target, "proxy link listening");
            shared
                .tracker
                .spawn(accept_loop(Arc::clone(&shared), spec.link, listener));
        }
        Ok(ProxyHandle { shared, addrs })
    }
}

/// Controls a running proxy. Dropping it stops every listener and connection.
pub struct ProxyHandle {
    shared: Arc<Shared>,
    addrs: BTreeMap<LinkId, SocketAddr>,
}

impl ProxyHandle {
    /// The address node `link.from` must dial to reach `link.to`.
    pub fn addr(&self, link: LinkId) -> Option<SocketAddr> {
        self.addrs.get(&link).copied()
    }

    /// The links that have a listener, in order.
    pub fn links(&self) -> Vec<LinkId> {
        self.addrs.keys().copied().collect()
    }

    fn direction(&self, link: LinkId) -> Result<&Arc<Direction>, ProxyError> {
        self.shared
            .directions
            .get(&link)
            .ok_or(ProxyError::UnknownLink(link))
    }

    /// Sets the state of the direction `link.from -> link.to` (a listener's link or the reverse
    /// of one). Other directions are untouched, so this is how one-way faults are made.
    pub fn set(&self, link: LinkId, state: LinkState) -> Result<(), ProxyError> {
        self.direction(link)?.set(state);
        Ok(())
    }

    /// Points a listener's link at a new address (say, a node restarted on another port).
    /// Connections accepted from now on dial it; open connections keep their peer.
    pub fn set_target(&self, link: LinkId, target: SocketAddr) -> Result<(), ProxyError> {
        let slot = self
            .shared
            .targets
            .get(&link)
            .ok_or(ProxyError::UnknownLink(link))?;
        *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = target;
        tracing::info!(%link, %target, "proxy link target changed");
        Ok(())
    }

    /// The address a listener's connections are dialed to.
    pub fn target(&self, link: LinkId) -> Option<SocketAddr> {
        self.shared.target(link)
    }

    /// The current state of a direction.
    pub fn state(&self, link: LinkId) -> Result<LinkState, ProxyError> {
        Ok(self.direction(link)?.state())
    }

    /// Sets every direction back to `Pass`.
    pub fn heal_all(&self) {
        for direction in self.shared.directions.values() {
            direction.set(LinkState::Pass);
        }
    }

    /// Closes every connection carrying this direction now, leaving its state as it is.
    /// Returns how many connections were closed.
    pub fn reset_connections(&self, link: LinkId) -> Result<usize, ProxyError> {
        Ok(self.direction(link)?.reset_connections())
    }

    /// Counters of a direction.
    pub fn stats(&self, link: LinkId) -> Result<LinkStats, ProxyError> {
        Ok(self.direction(link)?.counters.snapshot())
    }

    /// Stops all tasks and waits until they are gone (listeners closed, connections reset).
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}
