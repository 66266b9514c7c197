//! The connection limits and deadlines of `raft-kv serve`, for the client port and the peer
//! listener (defaults: `raft::net::ServeOptions` and `raft::net::TransportOptions`).

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use raft::net::{ServeOptions, TransportOptions};
use raft::server::ServerConfig;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn client() -> ServeOptions {
    ServeOptions::default()
}

fn peer() -> TransportOptions {
    TransportOptions::default()
}

#[derive(Args)]
pub struct ConnArgs {
    /// Most client connections at once. When full, a new connection takes the slot of the oldest
    /// one that has not sent a complete request yet, or is closed if every one has.
    #[arg(long, value_name = "N", default_value_t = client().max_connections as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    client_max_connections: u64,
    /// Most client connections at once from one source IP address.
    #[arg(long, value_name = "N", default_value_t = client().max_connections_per_source as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    client_max_per_source: u64,
    /// Time a new client connection has to deliver its first complete request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = ms(client().handshake_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    client_handshake_timeout_ms: u64,
    /// A client connection with no request in flight is closed after this many milliseconds
    /// without a complete request.
    #[arg(long, value_name = "MS", default_value_t = ms(client().idle_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    client_idle_timeout_ms: u64,
    /// Most inbound peer connections at once. When full, a new connection takes the slot of the
    /// oldest one still in its handshake, or is closed if none is.
    #[arg(long, value_name = "N", default_value_t = peer().max_inbound_connections as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    peer_max_connections: u64,
    /// Most inbound peer connections at once from one source IP address.
    #[arg(long, value_name = "N", default_value_t = peer().max_inbound_per_source as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    peer_max_per_source: u64,
    /// Time allowed for the peer handshake, both ways (a dialed peer must answer within it; an
    /// accepted connection that has not completed it is closed), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = ms(peer().handshake_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    peer_handshake_timeout_ms: u64,
    /// An inbound peer connection that delivers nothing for this many milliseconds is closed
    /// (the dialing peer reconnects when it has something to send).
    #[arg(long, value_name = "MS", default_value_t = ms(peer().inbound_idle_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    peer_idle_timeout_ms: u64,
}

impl ConnArgs {
    /// Writes the limits into the node's config.
    pub fn apply(&self, cfg: &mut ServerConfig) -> Result<()> {
        let count =
            |n: u64, flag: &str| usize::try_from(n).with_context(|| format!("{flag} is too large"));
        cfg.client_port.max_connections =
            count(self.client_max_connections, "--client-max-connections")?;
        cfg.client_port.max_connections_per_source =
            count(self.client_max_per_source, "--client-max-per-source")?;
        cfg.client_port.handshake_timeout = Duration::from_millis(self.client_handshake_timeout_ms);
        cfg.client_port.idle_timeout = Duration::from_millis(self.client_idle_timeout_ms);
        cfg.transport.max_inbound_connections =
            count(self.peer_max_connections, "--peer-max-connections")?;
        cfg.transport.max_inbound_per_source =
            count(self.peer_max_per_source, "--peer-max-per-source")?;
        cfg.transport.handshake_timeout = Duration::from_millis(self.peer_handshake_timeout_ms);
        cfg.transport.inbound_idle_timeout = Duration::from_millis(self.peer_idle_timeout_ms);
        Ok(())
    }
}
