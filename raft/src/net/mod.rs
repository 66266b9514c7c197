//! The TCP transport: framing (length prefix + postcard, size-limited), the peer handshake
//! (magic, format version, cluster id, node id, and a proof of the peer secret when one is set), outbound peer links with bounded queues and
//! reconnect, the peer listener, and the generic request/response framing of the client port.
//!
//! Everything is generic over the message type, so the Raft core and the KV protocol never see a
//! socket. See `docs/net.md` for the wire format and the failure behaviour.

mod admission;
mod backoff;
mod client_port;
mod error;
mod framed_client;
pub mod framing;
pub mod handshake;
mod inbound;
mod metrics;
mod options;
mod peers;
mod secret;
mod tasks;

/// A node's id: the core's, re-exported so transport code can name it without reaching into `core`.
pub use crate::core::NodeId;

pub use backoff::Backoff;
pub use client_port::{serve_framed, ServeOptions};
pub use error::{HandshakeError, NetError, SendError};
pub use framed_client::{
    ClientError, ClientOptions, Delivery, FramedClient, FramedReceiver, FramedSender,
};
pub use framing::{decode_frame_payload, decode_stream};
pub use inbound::accept_peers;
pub use metrics::{ListenerMetrics, PeerMetrics};
pub use options::TransportOptions;
pub use peers::PeerTransport;
pub use secret::{read_secret_file, PeerSecret, SecretFileError, MIN_SECRET_LEN};
pub use tasks::ListenerHandle;
