//! The accept loop of one listener: every accepted connection becomes a connection task. A link's
//! listener knows its link; a destination's listener first reads the connection's request head to
//! tell its sender (see `sniff`), and passes a connection with no known sender on untouched.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::connection::{self, ConnectionContext};
use super::handle::Shared;
use super::link::LinkId;
use super::pump::QueueLimits;
use super::sniff::{read_head, request_line, sender_of};

/// How long a destination listener waits for a connection's request head.
const HEAD_WAIT: Duration = Duration::from_secs(5);

/// What a listener stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ListenerRole {
    /// Every connection is on this link.
    Link(LinkId),
    /// Every connection goes to this node; its first request names the sender.
    Destination(u64),
}

pub(crate) async fn accept_loop(shared: Arc<Shared>, role: ListenerRole, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (client, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(?role, error = %err, "proxy accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if let Err(err) = client.set_nodelay(true) {
            tracing::debug!(?role, error = %err, "could not set TCP_NODELAY");
        }
        match role {
            ListenerRole::Link(link) => {
                if !start_connection(&shared, link, client, peer, Vec::new()) {
                    return;
                }
            }
            ListenerRole::Destination(to) => {
                let task = sort_connection(Arc::clone(&shared), to, client, peer);
                shared.tracker.spawn(task);
            }
        }
    }
}

/// Reads a destination listener's connection's request head, then runs it on its sender's link,
/// or relays it untouched when it names no sender.
async fn sort_connection(shared: Arc<Shared>, to: u64, mut client: TcpStream, peer: SocketAddr) {
    let head = tokio::select! {
        _ = shared.shutdown.cancelled() => return,
        head = read_head(&mut client, HEAD_WAIT) => head,
    };
    let head = match head {
        Ok(head) if !head.is_empty() => head,
        Ok(_) => return,
        Err(err) => {
            tracing::debug!(to, error = %err, "proxy: no request head");
            return;
        }
    };
    match sender_of(&head, &shared.senders).filter(|&from| from != to) {
        Some(from) => {
            start_connection(&shared, LinkId::new(from, to), client, peer, head);
        }
        None => {
            tracing::debug!(to, request = %request_line(&head), "proxy: no sender named; relayed untouched");
            relay(&shared, to, client, head).await;
        }
    }
}

/// Passes a connection with no known sender to `to` as it is, outside every fault.
async fn relay(shared: &Shared, to: u64, mut client: TcpStream, head: Vec<u8>) {
    let Some(target) = shared.target_of_node(to) else {
        return;
    };
    let relayed = async {
        let mut server =
            tokio::time::timeout(shared.config.connect_timeout, TcpStream::connect(target))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "dial timed out")
                })??;
        server.write_all(&head).await?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await
    };
    tokio::select! {
        _ = shared.shutdown.cancelled() => {}
        result = relayed => {
            if let Err(err) = result {
                tracing::debug!(to, error = %err, "proxy relay ended");
            }
        }
    }
}

/// Spawns the connection task of `link`, `prefix` (bytes already read from the client) passed
/// on first. False when the proxy does not know the link (a bug: the listener stops).
fn start_connection(
    shared: &Arc<Shared>,
    link: LinkId,
    client: TcpStream,
    peer: SocketAddr,
    prefix: Vec<u8>,
) -> bool {
    let (Some(forward), Some(backward)) = (
        shared.directions.get(&link).cloned(),
        shared.directions.get(&link.reverse()).cloned(),
    ) else {
        tracing::error!(%link, "proxy has no direction state for its own link");
        return false;
    };
    let Some(target) = shared.target(link) else {
        tracing::error!(%link, "proxy has no target for its own link");
        return false;
    };
    let id = shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(%link, id, %peer, "proxy accepted connection");
    let ctx = ConnectionContext {
        id,
        link,
        target,
        forward,
        backward,
        token: shared.shutdown.child_token(),
        shutdown: shared.shutdown.clone(),
        connect_timeout: shared.config.connect_timeout,
        limits: QueueLimits {
            chunk_bytes: shared.config.chunk_bytes,
            max_chunks: shared.config.queue_chunks,
            max_bytes: shared.config.queue_bytes,
        },
        prefix,
    };
    shared.tracker.spawn(connection::run(ctx, client));
    true
}
