//! Stale delivery ([`LinkState::Stale`]): the end of a connection's cycle, once it has passed
//! bytes for its `pass` time. Stall (hold what the sender writes, which the proxy keeps reading,
//! so the sender believes it sent), strand (close the sender's side so it reconnects; the target
//! side stays open) and, `release` later, deliver the first half of the held bytes to the target
//! on the old connection, after whatever the sender's new connection carried meanwhile, then
//! close it (the path failed again while flushing: the rest is lost).
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

/// The `stall`, `long_stall` and `release` of a `Stale` state, if that is the state.
pub(crate) fn stale_times(state: LinkState) -> Option<(Duration, Duration, Duration)> {
    match state {
        LinkState::Stale {
            stall,
            long_stall,
            release,
            ..
        } => Some((stall, long_stall, release)),
        _ => None,
    }
}

/// Stalls (for `stall`, or `long_stall` when an odd number of stalls of this direction began
/// before), strands (cancels `strand`, which closes the sender's side and stops the reader, so
/// the queue ends after what was read), waits `release`, then delivers the first half of the held
/// chunks (at least one) to `sink` in order and closes it (the path breaks again while flushing;
/// the rest of the held bytes are lost, counted as dropped).
pub(crate) async fn stall_strand_release<W: AsyncWrite + Unpin>(
    sink: &mut W,
    direction: &Direction,
    queue: &mut mpsc::Receiver<Chunk>,
    strand: &CancellationToken,
    (stall, long_stall, release): (Duration, Duration, Duration),
) -> io::Result<()> {
    let counters = &direction.counters;
    let stall = if direction.next_stall() % 2 == 1 {
        long_stall
    } else {
        stall
    };
    tokio::time::sleep(stall).await;
    strand.cancel();
    LinkCounters::add(&counters.connections_stranded, 1);
    tracing::debug!(link = %direction.link, "proxy stranded a connection; holding its bytes");
    tokio::time::sleep(release).await;
    let mut held = Vec::new();
    while let Some(chunk) = queue.recv().await {
        if chunk.bytes().is_empty() {
            break;
        }
        held.push(chunk);
    }
    let deliver = held.len().div_ceil(2);
    let mut released = 0u64;
    for chunk in &held[..deliver] {
        let bytes = chunk.bytes();
        sink.write_all(bytes).await?;
        released += bytes.len() as u64;
        LinkCounters::add(&counters.bytes_forwarded, bytes.len() as u64);
        LinkCounters::add(&counters.bytes_stale, bytes.len() as u64);
    }
    let lost: u64 = held[deliver..].iter().map(|c| c.bytes().len() as u64).sum();
    LinkCounters::add(&counters.bytes_dropped, lost);
    tracing::debug!(link = %direction.link, released, lost, "proxy released part of a stranded connection's bytes");
    // A close, not a reset: a reset could make the target's kernel discard what it has not
    // read yet. A frame cut in half by the loss reads as a broken stream, whole ones as sent.
    sink.shutdown().await
}
