//! Directed links, what the proxy needs to know about each, and the fault states a link can be in.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// A directed link: bytes travelling from node `from` to node `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId {
    pub from: u64,
    pub to: u64,
}

impl LinkId {
    pub fn new(from: u64, to: u64) -> LinkId {
        LinkId { from, to }
    }

    /// The opposite direction.
    pub fn reverse(self) -> LinkId {
        LinkId {
            from: self.to,
            to: self.from,
        }
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.from, self.to)
    }
}

/// One listener to open: `from` will dial `listen` (port 0 = any free port), and the proxy dials
/// `target`, the real address of `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSpec {
    pub link: LinkId,
    pub listen: SocketAddr,
    pub target: SocketAddr,
}

impl LinkSpec {
    /// A spec listening on a free loopback port.
    pub fn loopback(link: LinkId, target: SocketAddr) -> LinkSpec {
        LinkSpec {
            link,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            target,
        }
    }
}

/// The fault state of one direction of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkState {
    /// Bytes flow as fast as the proxy can move them.
    #[default]
    Pass,
    /// Nothing is delivered. `drop: false`: bytes are held (not read, so TCP back-pressure keeps
    /// them at the sender) and delivered after healing. `drop: true`: bytes are read and thrown
    /// away; connections that lost bytes are closed when the link heals.
    Blackhole { drop: bool },
    /// Every chunk is delivered `fixed + uniform(0..=jitter)` after it was read, in order.
    Delay { fixed: Duration, jitter: Duration },
    /// Every connection carrying this direction is closed with a reset now, and new connections
    /// are refused until the state changes.
    Reset,
    /// Stale delivery across connections: each connection whose `from` side is this direction's
    /// sender passes bytes for `pass`, then stalls for `stall` (`long_stall` every second time:
    /// the direction's stalls alternate, short first) (the proxy keeps reading, so the
    /// sender's writes succeed, but delivers nothing), then is stranded: its sender's side is
    /// closed (the sender reconnects, and the new connection starts its own cycle) while its
    /// target side stays open, and `release` later the held bytes are delivered to the target on
    /// that old connection, after whatever the new one carried: the first half of the held
    /// chunks, then the old connection is closed (the rest lost). Order within
    /// each connection is kept, as TCP does; only the order between connections is lost.
    /// Leaving the state lets passing connections pass; a stranded one still releases.
    Stale {
        pass: Duration,
        stall: Duration,
        long_stall: Duration,
        release: Duration,
    },
}

impl LinkState {
    /// True when bytes may be passed on now (possibly late).
    pub fn delivers(&self) -> bool {
        matches!(
            self,
            LinkState::Pass | LinkState::Delay { .. } | LinkState::Stale { .. }
        )
    }
}

/// One destination listener (see `Proxy::start_by_destination`): every other node dials `listen`
/// (port 0 = any free port) to reach node `to`, and the proxy dials `target`, `to`'s real address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationSpec {
    pub to: u64,
    pub listen: SocketAddr,
    pub target: SocketAddr,
}

impl DestinationSpec {
    /// A spec listening on a free loopback port.
    pub fn loopback(to: u64, target: SocketAddr) -> DestinationSpec {
        DestinationSpec {
            to,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            target,
        }
    }
}
