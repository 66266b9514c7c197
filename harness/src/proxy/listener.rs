//! The accept loop of one link's listener: every accepted connection becomes a connection task.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::connection::{self, ConnectionContext};
use super::handle::Shared;
use super::link::LinkId;
use super::pump::QueueLimits;

pub(crate) async fn accept_loop(shared: Arc<Shared>, link: LinkId, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (client, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(%link, error = %err, "proxy accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if let Err(err) = client.set_nodelay(true) {
            tracing::debug!(%link, error = %err, "could not set TCP_NODELAY");
        }
        let (Some(forward), Some(backward)) = (
            shared.directions.get(&link).cloned(),
            shared.directions.get(&link.reverse()).cloned(),
        ) else {
            tracing::error!(%link, "proxy has no direction state for its own link");
            return;
        };
        let Some(target) = shared.target(link) else {
            tracing::error!(%link, "proxy has no target for its own link");
            return;
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
        };
        shared.tracker.spawn(connection::run(ctx, client));
    }
}
