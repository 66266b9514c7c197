//! Stale delivery ([`LinkState::Stale`]): the end of a connection's cycle, once it has passed
//! bytes for its `pass` time. Stall (hold what the sender writes, which the proxy keeps reading,
//! so the sender believes it sent), strand (close the sender's side so it reconnects; the target
//! side stays open) and, `release` later, deliver the held bytes to the target on the old
//! connection, after whatever the sender's new connection carried meanwhile, then close it.
//!
//! This is what a TCP-terminating middlebox does when its client leg breaks while its server leg
//! still holds data it already acknowledged, and what a kernel does with the unsent data of a
//! closed socket on a stalled path: within each connection the bytes stay in order, but nothing
//! orders two connections, and a receiver that reads every connection from a peer (as raft-kv's
//! does) sees the old batch after the new one.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::direction::Direction;
use super::link::LinkState;
use super::pump::Chunk;
use super::stats::LinkCounters;

/// The `stall` and `release` of a `Stale` state, if that is the state.
pub(crate) fn stale_times(state: LinkState) -> Option<(Duration, Duration)> {
    match state {
        LinkState::Stale { stall, release, .. } => Some((stall, release)),
        _ => None,
    }
}

/// Stalls, strands (cancels `strand`, which closes the sender's side and stops the reader, so
/// the queue ends after what was read), waits `release`, delivers the held chunks to `sink` in
/// order, and closes it.
pub(crate) async fn stall_strand_release<W: AsyncWrite + Unpin>(
    sink: &mut W,
    direction: &Direction,
    queue: &mut mpsc::Receiver<Chunk>,
    strand: &CancellationToken,
    stall: Duration,
    release: Duration,
) -> io::Result<()> {
    let counters = &direction.counters;
    tokio::time::sleep(stall).await;
    strand.cancel();
    LinkCounters::add(&counters.connections_stranded, 1);
    tracing::debug!(link = %direction.link, "proxy stranded a connection; holding its bytes");
    tokio::time::sleep(release).await;
    let mut released = 0u64;
    while let Some(chunk) = queue.recv().await {
        let bytes = chunk.bytes();
        if bytes.is_empty() {
            break;
        }
        sink.write_all(bytes).await?;
        released += bytes.len() as u64;
        LinkCounters::add(&counters.bytes_forwarded, bytes.len() as u64);
        LinkCounters::add(&counters.bytes_stale, bytes.len() as u64);
    }
    tracing::debug!(link = %direction.link, released, "proxy released a stranded connection's bytes");
    sink.shutdown().await
}
