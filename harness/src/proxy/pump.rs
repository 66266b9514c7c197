//! One byte direction of a proxied connection, as two halves joined by a bounded queue:
//! the reader takes chunks off the source socket (not while the direction is held) and stamps
//! each with the instant it may be delivered; the writer waits for that instant, then lets the
//! direction's state decide: write, hold, drop, or close.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::direction::Direction;
use super::link::LinkState;
use super::stale::{stale_times, stall_strand_release};
use super::stats::LinkCounters;

/// A chunk in flight; empty bytes stand for end of stream (the source half-closed).
pub(crate) struct Chunk {
    deliver_at: Instant,
    bytes: Bytes,
    /// Holds the chunk's share of the byte budget until the writer is done with it.
    _budget: OwnedSemaphorePermit,
}

impl Chunk {
    /// The chunk's bytes (empty: end of stream).
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

/// The bounds of one byte direction's queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueLimits {
    /// Largest chunk read at once (clamped to `max_bytes`).
    pub chunk_bytes: usize,
    /// Most chunks queued.
    pub max_chunks: usize,
    /// Most bytes queued (bytes read but not yet delivered or dropped).
    pub max_bytes: usize,
}

/// The reader's end of a direction's queue: a bounded channel plus a byte budget.
pub(crate) struct QueueSender {
    chunks: mpsc::Sender<Chunk>,
    budget: Arc<Semaphore>,
    chunk_bytes: usize,
}

/// A bounded queue between a reader and a writer.
pub(crate) fn queue(limits: QueueLimits) -> (QueueSender, mpsc::Receiver<Chunk>) {
    let max_bytes = limits.max_bytes.clamp(1, Semaphore::MAX_PERMITS);
    let (chunks, receiver) = mpsc::channel(limits.max_chunks.max(1));
    let sender = QueueSender {
        chunks,
        budget: Arc::new(Semaphore::new(max_bytes)),
        chunk_bytes: limits.chunk_bytes.clamp(1, max_bytes),
    };
    (sender, receiver)
}

/// Why the proxy itself closed a connection (as opposed to a socket error).
#[derive(Debug, thiserror::Error)]
#[error("closed by the fault proxy: {0}")]
pub(crate) struct FaultClose(pub &'static str);

pub(crate) fn fault_closed(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, FaultClose(why))
}

/// True when the proxy closed the connection on purpose (reset, hole after dropped bytes).
pub(crate) fn is_fault_close(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<FaultClose>())
}

/// Waits until the state is no longer `Blackhole { drop: false }`. Errors once the proxy is gone.
async fn wait_while_held(state: &mut watch::Receiver<LinkState>) -> io::Result<LinkState> {
    loop {
        let current = *state.borrow_and_update();
        if current != (LinkState::Blackhole { drop: false }) {
            return Ok(current);
        }
        state
            .changed()
            .await
            .map_err(|_| fault_closed("proxy stopped"))?;
    }
}

/// Reads from `source` and queues stamped chunks for the writer.
pub(crate) async fn read_half<R: AsyncRead + Unpin>(
    mut source: R,
    direction: &Direction,
    mut state: watch::Receiver<LinkState>,
    queue: QueueSender,
) -> io::Result<()> {
    let chunk_bytes = queue.chunk_bytes;
    let mut last_deliver_at = Instant::now();
    // One buffer, split after each read: once the writer has dropped earlier chunks, `reserve`
    // reuses their memory instead of allocating.
    let mut buf = BytesMut::with_capacity(chunk_bytes);
    loop {
        wait_while_held(&mut state).await?;
        buf.reserve(chunk_bytes);
        let n = source.read_buf(&mut (&mut buf).limit(chunk_bytes)).await?;
        // n <= chunk_bytes <= the semaphore's size, so this fits in u32 and can be granted.
        let permits = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        let Ok(budget) = Arc::clone(&queue.budget).acquire_many_owned(permits).await else {
            return Ok(());
        };
        let now = Instant::now();
        let delay = match *state.borrow() {
            LinkState::Delay { fixed, jitter } => Some(direction.draw_delay(fixed, jitter)),
            _ => None,
        };
        // Keep delivery instants monotone so jitter never reorders the stream; an undelayed
        // chunk goes at once (it still waits behind earlier chunks in the queue).
        last_deliver_at = match delay {
            Some(delay) => last_deliver_at.max(now + delay),
            None => now,
        };
        let chunk = Chunk {
            deliver_at: last_deliver_at,
            bytes: buf.split().freeze(),
            _budget: budget,
        };
        if queue.chunks.send(chunk).await.is_err() || n == 0 {
            return Ok(());
        }
    }
}

/// Delivers queued chunks to `sink` as the direction's state allows. `strand` is given to the
/// writer of a connection's forward direction (the one its sender dials for): under
/// [`LinkState::Stale`] it runs the stale cycle, cancelling `strand` to close the sender's side.
pub(crate) async fn write_half<W: AsyncWrite + Unpin>(
    mut sink: W,
    direction: &Direction,
    mut state: watch::Receiver<LinkState>,
    mut queue: mpsc::Receiver<Chunk>,
    lossy: &AtomicBool,
    strand: Option<&CancellationToken>,
) -> io::Result<()> {
    let counters = &direction.counters;
    // When this connection's current stale cycle began (it passes for `pass` from then on).
    let mut stale_since: Option<Instant> = None;
    loop {
        let stall_at = match (strand, *state.borrow()) {
            (Some(_), LinkState::Stale { pass, .. }) => {
                Some(*stale_since.get_or_insert_with(Instant::now) + pass)
            }
            _ => {
                stale_since = None;
                None
            }
        };
        let chunk = tokio::select! {
            chunk = queue.recv() => match chunk {
                Some(chunk) => chunk,
                None => return Ok(()),
            },
            changed = state.changed() => {
                changed.map_err(|_| fault_closed("proxy stopped"))?;
                close_if_lossy_after_heal(&state, lossy)?;
                continue;
            }
            _ = sleep_until_some(stall_at) => {
                let (Some(strand), Some(times)) = (strand, stale_times(*state.borrow())) else {
                    continue;
                };
                return stall_strand_release(&mut sink, direction, &mut queue, strand, times).await;
            }
        };
        // Only touch the timer for real delays: tokio's timer has millisecond granularity, so
        // even an already-passed deadline would cost up to a millisecond per chunk.
        if chunk.deliver_at > Instant::now() {
            tokio::time::sleep_until(chunk.deliver_at).await;
        }
        let eof = chunk.bytes.is_empty();
        match wait_while_held(&mut state).await? {
            LinkState::Blackhole { .. } => {
                // A dropping blackhole: the bytes (or the end of stream) vanish.
                LinkCounters::add(&counters.bytes_dropped, chunk.bytes.len() as u64);
                lossy.store(true, Ordering::Relaxed);
                continue;
            }
            LinkState::Reset => return Err(fault_closed("link reset")),
            LinkState::Pass | LinkState::Delay { .. } | LinkState::Stale { .. } => {
                close_if_lossy_after_heal(&state, lossy)?;
            }
        }
        if eof {
            sink.shutdown().await?;
            return Ok(());
        }
        sink.write_all(&chunk.bytes).await?;
        LinkCounters::add(&counters.bytes_forwarded, chunk.bytes.len() as u64);
    }
}

/// Sleeps until `at`, or forever when there is no `at`.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A stream that lost bytes cannot continue once the link delivers again: close it.
fn close_if_lossy_after_heal(
    state: &watch::Receiver<LinkState>,
    lossy: &AtomicBool,
) -> io::Result<()> {
    let dropping = *state.borrow() == LinkState::Blackhole { drop: true };
    if lossy.load(Ordering::Relaxed) && !dropping {
        return Err(fault_closed("bytes were dropped on this connection"));
    }
    Ok(())
}
