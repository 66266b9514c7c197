//! The fault proxy: the harness puts it between every pair of nodes so it can cut, delay and
//! reset links while the real processes run.
//!
//! One TCP listener per directed link `from -> to`: node `from` dials the listener, the proxy dials
//! node `to`'s real address and pumps bytes both ways. Every byte that travels from X to Y, on
//! whichever connection, obeys the state of the direction `X -> Y`, so partitions can be one-way:
//! cutting `1 -> 2` stops only bytes from 1 to 2; bytes from 2 to 1 (replies on 1's connection, or
//! messages on 2's own connection) still pass.
//!
//! States ([`LinkState`]): `Pass`; `Blackhole { drop: false }` (bytes held: the proxy stops
//! reading, delivers nothing, and delivers everything once healed); `Blackhole { drop: true }`
//! (bytes read and silently discarded; a connection that lost bytes is closed when the link
//! heals, because a TCP stream with a hole in it cannot go on); `Delay { fixed, jitter }`
//! (every chunk is delivered `fixed + uniform(0..=jitter)` after it was read, order kept, jitter
//! from a seeded RNG per direction); `Reset` (every connection carrying that direction is closed
//! with a TCP reset at once, and new ones are refused while the state lasts). A connection opened
//! while its direction is blackholed is accepted but not passed on: the target sees nothing until
//! the link heals. A delay applies to bytes, not to connection setup. Each direction's queue is
//! bounded (bytes and chunks, see [`ProxyConfig`]); beyond it the sender feels TCP back-pressure.
//! `Stale { pass, stall, long_stall, release }` makes stale deliveries across connections: each
//! connection passes bytes for `pass`, then holds what its sender writes for `stall` or
//! `long_stall` (alternately; read and acknowledged, not delivered), then is stranded: the
//! sender's side is closed, so the sender reconnects, while the target side stays open and,
//! `release` later, receives the first half of the held bytes, after what the new connection
//! carried, then closes (see `stale`).
//! Nodes with one advertised peer address that every other node dials (etcd) get one listener per
//! destination instead ([`Proxy::start_by_destination`]): the connection's first HTTP request names
//! its sender (`sniff`), which puts it on its link; from there it is like any other connection.
//! [`Proxy::start_by_destination_and_links`] adds per-link listeners beside them (the clients'
//! links of a run with client faults).
//! `ProxyHandle::set_target` re-points a link at a restarted node. Dropping the [`ProxyHandle`]
//! stops every task.
//!
//! ```no_run
//! # async fn demo(node2: std::net::SocketAddr) -> Result<(), harness::proxy::ProxyError> {
//! use harness::proxy::{LinkId, LinkSpec, LinkState, Proxy};
//! let link = LinkId::new(1, 2);
//! let proxy = Proxy::start(vec![LinkSpec::loopback(link, node2)]).await?;
//! let node1_dials = proxy.addr(link); // give this to node 1 as node 2's address
//! proxy.set(link, LinkState::Blackhole { drop: false })?; // 1 can no longer reach 2
//! proxy.heal_all();
//! # Ok(()) }
//! ```
//!
//! Files: `link` (ids, specs, states), `stats` (counters), `direction` (the shared per-direction
//! state), `listener` (accept loop), `connection` (one proxied connection), `pump` (one byte
//! direction of a connection), `sniff` (the sender of a destination listener's connection), `stale` (the stall, strand and late release of `Stale`),
//! `handle` (start, control, shutdown).

mod connection;
mod direction;
mod error;
mod handle;
mod link;
mod listener;
mod pump;
mod sniff;
mod stale;
mod stats;

#[cfg(test)]
mod tests;

pub use error::ProxyError;
pub use handle::{Proxy, ProxyConfig, ProxyHandle};
pub use link::{DestinationSpec, LinkId, LinkSpec, LinkState};
pub use stats::LinkStats;
