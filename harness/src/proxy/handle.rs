//! Starting the proxy and controlling it: one listener per link (or one per destination, the
//! sender told by the connection's first request), runtime state changes through
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
use super::link::{DestinationSpec, LinkId, LinkSpec, LinkState};
use super::listener::{accept_loop, ListenerRole};
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
    /// Destination listeners only: each node's listener address (`host:port`) and its id, to
    /// tell a connection's sender (see `sniff`). Empty for per-link listeners.
    pub senders: HashMap<String, u64>,
}

impl Shared {
    /// The current target of a listener's link.
    pub fn target(&self, link: LinkId) -> Option<SocketAddr> {
        let slot = self.targets.get(&link)?;
        Some(*slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The current target of any link into `to` from another destination (they share one with
    /// destination listeners; a link of its own, such as a client's, may have another target).
    pub fn target_of_node(&self, to: u64) -> Option<SocketAddr> {
        let from_destination = |from: u64| self.senders.values().any(|&node| node == from);
        let link = self
            .targets
            .keys()
            .filter(|link| link.to == to && from_destination(link.from))
            .min()?;
        self.target(*link)
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
            let (listener, local) = bind(spec.link, spec.listen).await?;
            addrs.insert(spec.link, local);
            listeners.push((ListenerRole::Link(spec.link), listener));
        }
        let targets = links.iter().map(|spec| (spec.link, spec.target)).collect();
        Ok(Proxy::serve(
            config,
            targets,
            addrs,
            listeners,
            HashMap::new(),
        ))
    }

    /// Binds one listener per destination node, for nodes that have one advertised peer address
    /// every other node dials (etcd): every link `i -> to` of the given nodes shares `to`'s
    /// listener, and each connection is put on its link by the sender its first HTTP request
    /// names (`X-PeerURLs`, the sender's own advertised address, which is its listener here; see
    /// `sniff`). A connection whose first request names no sender (etcd's version, membership and
    /// health probes) is passed on untouched by faults. All links start in `Pass`.
    pub async fn start_by_destination(
        config: ProxyConfig,
        destinations: Vec<DestinationSpec>,
    ) -> Result<ProxyHandle, ProxyError> {
        Proxy::start_by_destination_and_links(config, destinations, Vec::new()).await
    }

    /// [`Proxy::start_by_destination`], plus one listener per link of `links` (say, the
    /// clients' links to each node), each on its own as with [`Proxy::start_with`]. A link of
    /// `links` must not join two destinations.
    pub async fn start_by_destination_and_links(
        config: ProxyConfig,
        destinations: Vec<DestinationSpec>,
        links: Vec<LinkSpec>,
    ) -> Result<ProxyHandle, ProxyError> {
        let mut listeners = Vec::with_capacity(destinations.len() + links.len());
        let mut bound = BTreeMap::new();
        for spec in &destinations {
            let (listener, local) = bind(LinkId::new(spec.to, spec.to), spec.listen).await?;
            if bound.insert(spec.to, local).is_some() {
                return Err(ProxyError::DuplicateLink(LinkId::new(spec.to, spec.to)));
            }
            listeners.push((ListenerRole::Destination(spec.to), listener));
        }
        let mut addrs = BTreeMap::new();
        let mut targets = HashMap::new();
        for spec in &destinations {
            for &from in bound.keys().filter(|&&from| from != spec.to) {
                let link = LinkId::new(from, spec.to);
                addrs.insert(link, bound[&spec.to]);
                targets.insert(link, spec.target);
            }
        }
        for spec in &links {
            if addrs.contains_key(&spec.link) {
                return Err(ProxyError::DuplicateLink(spec.link));
            }
            let (listener, local) = bind(spec.link, spec.listen).await?;
            addrs.insert(spec.link, local);
            targets.insert(spec.link, spec.target);
            listeners.push((ListenerRole::Link(spec.link), listener));
        }
        let senders = bound
            .iter()
            .map(|(&node, addr)| (addr.to_string(), node))
            .collect();
        Ok(Proxy::serve(config, targets, addrs, listeners, senders))
    }

    /// Starts the accept loops of bound listeners.
    fn serve(
        config: ProxyConfig,
        targets: HashMap<LinkId, SocketAddr>,
        addrs: BTreeMap<LinkId, SocketAddr>,
        listeners: Vec<(ListenerRole, TcpListener)>,
        senders: HashMap<String, u64>,
    ) -> ProxyHandle {
        let mut directions = HashMap::new();
        for &link in targets.keys() {
            for link in [link, link.reverse()] {
                directions
                    .entry(link)
                    .or_insert_with(|| Arc::new(Direction::new(link, config.seed)));
            }
        }
        let targets = targets
            .into_iter()
            .map(|(link, target)| (link, Mutex::new(target)))
            .collect();
        let shared = Arc::new(Shared {
            config,
            directions,
            targets,
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            next_connection_id: AtomicU64::new(0),
            senders,
        });
        for (role, listener) in listeners {
            tracing::info!(?role, listen = ?listener.local_addr().ok(), "proxy listening");
            shared
                .tracker
                .spawn(accept_loop(Arc::clone(&shared), role, listener));
        }
        ProxyHandle { shared, addrs }
    }
}

/// Binds one listener (`link` names it in the error).
async fn bind(link: LinkId, listen: SocketAddr) -> Result<(TcpListener, SocketAddr), ProxyError> {
    let bind_err = |source| ProxyError::Bind {
        link,
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    Ok((listener, local))
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

    /// The links that have a listener, in order (with destination listeners, several links
    /// share one).
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
