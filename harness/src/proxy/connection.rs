//! One proxied connection: accepted from `from`, held or drained while its direction is
//! blackholed, then dialed through to `to`, with one pump per byte direction. A fault closes both
//! sockets with a TCP reset; a clean end on both sides closes them normally.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::direction::Direction;
use super::link::{LinkId, LinkState};
use super::pump::{fault_closed, is_fault_close, queue, read_half, write_half, QueueLimits};
use super::stats::LinkCounters;

/// What a connection task needs to know.
pub(crate) struct ConnectionContext {
    pub id: u64,
    pub link: LinkId,
    pub target: SocketAddr,
    /// Bytes from `link.from` to `link.to`.
    pub forward: Arc<Direction>,
    /// Bytes from `link.to` back to `link.from`.
    pub backward: Arc<Direction>,
    /// Cancelled by a reset of either direction or by proxy shutdown.
    pub token: CancellationToken,
    pub shutdown: CancellationToken,
    pub connect_timeout: Duration,
    pub limits: QueueLimits,
    /// Bytes already read from the client (a destination listener's request head), passed on
    /// before anything else the client sends.
    pub prefix: Vec<u8>,
}

/// Decrements the active-connection counter when the task ends, however it ends.
struct ActiveGuard<'a>(&'a LinkCounters);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        LinkCounters::sub(&self.0.connections_active, 1);
    }
}

pub(crate) async fn run(ctx: ConnectionContext, mut client: TcpStream) {
    let counters = &ctx.forward.counters;
    LinkCounters::add(&counters.connections_accepted, 1);
    LinkCounters::add(&counters.connections_active, 1);
    let _active = ActiveGuard(counters);
    let _forward_registration = ctx.forward.register(ctx.id, ctx.token.clone());
    let _backward_registration = ctx.backward.register(ctx.id, ctx.token.clone());

    let mut target: Option<TcpStream> = None;
    let forward_lossy = AtomicBool::new(false);
    let backward_lossy = AtomicBool::new(false);
    let outcome = tokio::select! {
        _ = ctx.token.cancelled() => Err(fault_closed("link reset")),
        result = serve(&ctx, &mut client, &mut target, &forward_lossy, &backward_lossy) => result,
    };
    let Err(err) = outcome else {
        tracing::debug!(link = %ctx.link, id = ctx.id, "proxied connection closed cleanly");
        return;
    };
    if ctx.shutdown.is_cancelled() {
        return;
    }
    let by_fault = is_fault_close(&err)
        || forward_lossy.load(Ordering::Relaxed)
        || backward_lossy.load(Ordering::Relaxed);
    if by_fault {
        LinkCounters::add(&counters.connections_reset, 1);
    }
    tracing::debug!(link = %ctx.link, id = ctx.id, error = %err, by_fault, "proxied connection aborted");
    // Abort with a reset rather than a graceful close, as a broken network path would look.
    for stream in std::iter::once(&client).chain(target.as_ref()) {
        if let Err(err) = stream.set_zero_linger() {
            tracing::debug!(error = %err, "could not set SO_LINGER 0 before reset");
        }
    }
}

async fn serve(
    ctx: &ConnectionContext,
    client: &mut TcpStream,
    target_slot: &mut Option<TcpStream>,
    forward_lossy: &AtomicBool,
    backward_lossy: &AtomicBool,
) -> io::Result<()> {
    if !wait_until_dialable(ctx, client).await? {
        return Ok(());
    }
    let stream = tokio::time::timeout(ctx.connect_timeout, TcpStream::connect(ctx.target))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "proxy dial timed out"))??;
    stream.set_nodelay(true)?;
    let target = target_slot.insert(stream);

    let (client_read, mut client_write) = client.split();
    let client_read = ctx.prefix.as_slice().chain(client_read);
    let (target_read, target_write) = target.split();
    let (forward_tx, forward_rx) = queue(ctx.limits);
    let (backward_tx, backward_rx) = queue(ctx.limits);
    let (fwd, bwd) = (&*ctx.forward, &*ctx.backward);
    // Cancelled by a stale cycle: the sender's side stops and is closed, while the forward writer
    // keeps the target side open to deliver the held bytes late.
    let strand = CancellationToken::new();
    let sender_side = async {
        let ended = tokio::select! {
            result = async {
                tokio::try_join!(
                    read_half(client_read, fwd, fwd.subscribe(), forward_tx),
                    read_half(target_read, bwd, bwd.subscribe(), backward_tx),
                    write_half(
                        &mut client_write,
                        bwd,
                        bwd.subscribe(),
                        backward_rx,
                        backward_lossy,
                        None,
                    ),
                )
            } => Some(result),
            _ = strand.cancelled() => None,
        };
        match ended {
            Some(result) => result.map(|_| ()),
            // Stranded: tell the sender the connection is over, so it dials a new one.
            None => client_write.shutdown().await,
        }
    };
    tokio::try_join!(
        write_half(
            target_write,
            fwd,
            fwd.subscribe(),
            forward_rx,
            forward_lossy,
            Some(&strand),
        ),
        sender_side,
    )?;
    Ok(())
}

/// A connection opened while its direction is blackholed reaches nobody: hold it (or drain and
/// drop what it sends) until the direction delivers again. Returns false when the client went
/// away first; errors when the connection must be closed by a fault.
async fn wait_until_dialable(ctx: &ConnectionContext, client: &mut TcpStream) -> io::Result<bool> {
    let mut state = ctx.forward.subscribe();
    let mut dropped_any = false;
    if !ctx.prefix.is_empty() && *state.borrow() == (LinkState::Blackhole { drop: true }) {
        // The request head was read while the direction drops: it is lost like any other byte.
        LinkCounters::add(&ctx.forward.counters.bytes_dropped, ctx.prefix.len() as u64);
        dropped_any = true;
    }
    let mut scratch = vec![0u8; ctx.limits.chunk_bytes.clamp(1, 64 * 1024)];
    loop {
        let current = *state.borrow_and_update();
        match current {
            LinkState::Pass | LinkState::Delay { .. } | LinkState::Stale { .. } if dropped_any => {
                return Err(fault_closed("bytes were dropped before the link healed"));
            }
            LinkState::Pass | LinkState::Delay { .. } | LinkState::Stale { .. } => return Ok(true),
            LinkState::Reset => return Err(fault_closed("link is reset")),
            LinkState::Blackhole { drop: false } => {
                state
                    .changed()
                    .await
                    .map_err(|_| fault_closed("proxy stopped"))?;
            }
            LinkState::Blackhole { drop: true } => {
                tokio::select! {
                    read = client.read(&mut scratch) => {
                        let n = read?;
                        if n == 0 {
                            return Ok(false);
                        }
                        LinkCounters::add(&ctx.forward.counters.bytes_dropped, n as u64);
                        dropped_any = true;
                    }
                    changed = state.changed() => {
                        changed.map_err(|_| fault_closed("proxy stopped"))?;
                    }
                }
            }
        }
    }
}
