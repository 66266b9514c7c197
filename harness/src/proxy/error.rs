//! Typed errors of the fault proxy.

use std::net::SocketAddr;

use thiserror::Error;

use super::link::LinkId;

#[derive(Debug, Error)]
pub enum ProxyError {
    /// The listener for a link could not be bound.
    #[error("could not bind the proxy listener for link {link} on {addr}: {source}")]
    Bind {
        link: LinkId,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The same directed link was given twice to `Proxy::start`.
    #[error("link {0} is listed twice (each directed link gets exactly one listener)")]
    DuplicateLink(LinkId),
    /// A control call named a direction the proxy does not carry.
    #[error("link {0} is not proxied (neither it nor its reverse was given to Proxy::start)")]
    UnknownLink(LinkId),
}
