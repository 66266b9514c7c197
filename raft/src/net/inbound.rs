//! The peer listener: accepts connections from other nodes, handshakes, and forwards every decoded
//! message into the node's inbound channel.
//!
//! A connection that fails the handshake or does not complete it within the handshake deadline,
//! stays idle longer than the idle timeout, sends an oversized length or a payload that does not
//! decode is closed (and counted); the listener and every other connection keep going. Forwarding
//! awaits room in the inbound channel, so a busy node slows its peers' connections down (TCP
//! backpressure) instead of dropping what they already sent.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures::StreamExt;
use serde::de::DeserializeOwned;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::{
    admission::{AdmissionLimits, Slot},
    framing::{self, frame_codec, LENGTH_PREFIX_LEN},
    handshake::{handshake_with_secret, Hello, Side},
    metrics::{add, bump, ListenerCounters},
    tasks::{spawn_listener, ListenerHandle},
    NetError, NodeId, TransportOptions,
};

/// Serves peer connections on `listener` until the returned handle is dropped or shut down.
/// Must be called from inside a tokio runtime.
pub fn accept_peers<M>(
    listener: TcpListener,
    my_id: NodeId,
    cluster_id: u64,
    inbound: mpsc::Sender<M>,
    opts: &TransportOptions,
) -> Result<ListenerHandle, NetError>
where
    M: DeserializeOwned + Send + 'static,
{
    let opts = opts.clone();
    let hello = Hello::new(cluster_id, my_id);
    let limits = AdmissionLimits {
        max_connections: opts.max_inbound_connections,
        max_per_source: opts.max_inbound_per_source,
    };
    spawn_listener(
        listener,
        limits,
        "peer listener",
        move |stream, remote, counters, slot| {
            serve_peer_connection(
                stream,
                remote,
                hello,
                inbound.clone(),
                opts.clone(),
                counters,
                slot,
            )
        },
    )
}

async fn serve_peer_connection<M>(
    stream: TcpStream,
    remote: SocketAddr,
    hello: Hello,
    inbound: mpsc::Sender<M>,
    opts: TransportOptions,
    counters: Arc<ListenerCounters>,
    slot: Slot,
) where
    M: DeserializeOwned + Send + 'static,
{
    let (read_half, write_half) = stream.into_split();
    let mut reader = FramedRead::new(read_half, frame_codec(opts.max_frame_len));
    let mut writer = FramedWrite::new(write_half, frame_codec(opts.max_frame_len));
    let peer_addr = remote.to_string();
    // The deadline covers the whole handshake, however many exchanges it takes.
    let handshaken = tokio::time::timeout(
        opts.handshake_timeout,
        handshake_with_secret(
            &mut reader,
            &mut writer,
            &hello,
            Side::Accepted,
            opts.peer_secret.as_ref(),
            opts.handshake_timeout,
            &peer_addr,
        ),
    )
    .await
    .unwrap_or(Err(NetError::HandshakeTimeout(opts.handshake_timeout)));
    let peer = match handshaken {
        Ok(theirs) => theirs.node_id,
        Err(e) => {
            // `handshake` logged why it failed; a missed deadline is counted apart.
            if matches!(e, NetError::HandshakeTimeout(_)) {
                bump(&counters.timed_out);
                tracing::debug!(node = hello.node_id, %remote, "peer listener: no handshake within the deadline; closing the connection");
            }
            bump(&counters.refused);
            return;
        }
    };
    slot.prove();
    tracing::info!(node = hello.node_id, peer, %remote, "inbound peer connection up");
    let forwarded = forward_messages(
        &mut reader,
        &inbound,
        &counters,
        opts.max_frame_len,
        opts.inbound_idle_timeout,
    )
    .await;
    match forwarded {
        Ok(()) => tracing::debug!(
            node = hello.node_id,
            peer,
            "inbound channel closed; dropping peer connection"
        ),
        Err(NetError::Closed) => {
            tracing::info!(node = hello.node_id, peer, %remote, "inbound peer connection closed")
        }
        Err(NetError::IdleTimeout(idle)) => {
            bump(&counters.timed_out);
            tracing::info!(node = hello.node_id, peer, %remote, ?idle, "inbound peer connection idle; closing it")
        }
        Err(
            e @ (NetError::AnnouncedFrameTooLarge { .. }
            | NetError::Decode { .. }
            | NetError::TrailingBytes { .. }),
        ) => {
            bump(&counters.bad_frames);
            tracing::warn!(node = hello.node_id, peer, %remote, error = %e, "closing peer connection after a bad frame");
        }
        Err(e) => {
            tracing::info!(node = hello.node_id, peer, %remote, error = %e, "inbound peer connection failed")
        }
    }
}

/// Reads frames until the connection ends, breaks or delivers nothing for `idle_timeout`; `Ok`
/// means the inbound channel closed.
async fn forward_messages<M, R>(
    reader: &mut FramedRead<R, framing::FrameCodec>,
    inbound: &mpsc::Sender<M>,
    counters: &ListenerCounters,
    max_frame_len: usize,
    idle_timeout: Duration,
) -> Result<(), NetError>
where
    M: DeserializeOwned,
    R: tokio::io::AsyncRead + Unpin,
{
    loop {
        let next = tokio::time::timeout(idle_timeout, reader.next()).await;
        let frame = match next.map_err(|_| NetError::IdleTimeout(idle_timeout))? {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(framing::classify_io_error(e, max_frame_len)),
            None => return Err(NetError::Closed),
        };
        add(
            &counters.bytes_received,
            (frame.len() + LENGTH_PREFIX_LEN) as u64,
        );
        let msg = framing::decode_frame_payload::<M>(&frame)?;
        bump(&counters.received);
        if inbound.send(msg).await.is_err() {
            return Ok(());
        }
    }
}
