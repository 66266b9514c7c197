//! Outbound peer links: one bounded queue and one task per peer.
//!
//! [`PeerTransport::send`] never waits: it puts the message in the peer's queue or, when the queue
//! is full, drops it and counts the drop (Raft retransmits). Each peer's task connects, handshakes,
//! writes queued messages in batches, and after any failure reconnects with capped, jittered
//! exponential backoff. A slow or dead peer therefore only ever fills its own queue.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{atomic::Ordering::Relaxed, Arc},
    time::Duration,
};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde::{de::DeserializeOwned, Serialize};
use tokio::{
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpStream,
    },
    sync::mpsc,
};
use tokio_util::{
    codec::{FramedRead, FramedWrite},
    sync::CancellationToken,
};

use super::{
    backoff::Backoff,
    framing::{self, frame_codec, FrameCodec, LENGTH_PREFIX_LEN},
    handshake::{handshake_with_secret, Hello, Side},
    metrics::{add, bump, PeerCounters, PeerMetrics},
    tasks::TaskGroup,
    NetError, NodeId, SendError, TransportOptions,
};

/// Outbound links to every configured peer. Dropping it (or [`PeerTransport::shutdown`]) stops
/// every link task and closes their connections.
#[derive(Debug)]
pub struct PeerTransport<M> {
    my_id: NodeId,
    cluster_id: u64,
    opts: TransportOptions,
    inbound: mpsc::Sender<M>,
    links: BTreeMap<NodeId, PeerLink<M>>,
    tasks: TaskGroup,
}

#[derive(Debug)]
struct PeerLink<M> {
    addr: SocketAddr,
    queue: mpsc::Sender<M>,
    counters: Arc<PeerCounters>,
    stop: CancellationToken,
}

impl<M> PeerTransport<M>
where
    M: Serialize + DeserializeOwned + Send + 'static,
{
    /// Starts one link task per peer. `peers` may list this node itself; that entry is skipped.
    /// Messages a peer sends back over a connection we dialed are forwarded to `inbound` (the
    /// usual path for incoming messages is [`super::accept_peers`]). Must be called from inside a
    /// tokio runtime.
    pub fn start(
        my_id: NodeId,
        cluster_id: u64,
        peers: BTreeMap<NodeId, SocketAddr>,
        inbound: mpsc::Sender<M>,
        opts: TransportOptions,
    ) -> Result<PeerTransport<M>, NetError> {
        let mut transport = PeerTransport {
            my_id,
            cluster_id,
            opts,
            inbound,
            links: BTreeMap::new(),
            tasks: TaskGroup::new()?,
        };
        for (id, addr) in peers {
            transport.add_peer(id, addr);
        }
        Ok(transport)
    }

    /// Queues `msg` for peer `to` without ever waiting. A full queue drops the message (counted in
    /// [`PeerMetrics::dropped`]) and says so.
    pub fn send(&self, to: NodeId, msg: M) -> Result<(), SendError> {
        let link = self.links.get(&to).ok_or(SendError::UnknownPeer(to))?;
        match link.queue.try_send(msg) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                bump(&link.counters.dropped);
                Err(SendError::QueueFull(to))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::ShutDown),
        }
    }

    /// Adds a link to a new peer, or moves an existing one to a new address (its queue is
    /// discarded). Adding this node's own id does nothing.
    pub fn add_peer(&mut self, id: NodeId, addr: SocketAddr) {
        if id == self.my_id {
            return;
        }
        if self.links.get(&id).is_some_and(|link| link.addr == addr) {
            return;
        }
        self.remove_peer(id);
        let (queue, queued) = mpsc::channel(self.opts.queue_capacity.max(1));
        let counters = Arc::new(PeerCounters::default());
        let stop = self.tasks.token().child_token();
        let link = LinkTask {
            hello: Hello::new(self.cluster_id, self.my_id),
            peer: id,
            addr,
            opts: self.opts.clone(),
            counters: counters.clone(),
            inbound: self.inbound.clone(),
            stop: stop.clone(),
        };
        self.tasks.spawn(link.run(queued));
        self.links.insert(
            id,
            PeerLink {
                addr,
                queue,
                counters,
                stop,
            },
        );
    }

    /// Stops the link to `id` and drops its queue. Unknown ids are ignored.
    pub fn remove_peer(&mut self, id: NodeId) {
        if let Some(link) = self.links.remove(&id) {
            link.stop.cancel();
        }
    }

    /// Ids of the peers this transport sends to.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.links.keys().copied()
    }

    /// A snapshot of every link's counters.
    pub fn metrics(&self) -> BTreeMap<NodeId, PeerMetrics> {
        self.links
            .iter()
            .map(|(id, link)| (*id, link.counters.snapshot()))
            .collect()
    }

    /// Stops every link task and waits (briefly) for them to end.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown(Duration::from_secs(1)).await;
    }
}

/// Everything one peer link's task needs.
struct LinkTask<M> {
    hello: Hello,
    peer: NodeId,
    addr: SocketAddr,
    opts: TransportOptions,
    counters: Arc<PeerCounters>,
    inbound: mpsc::Sender<M>,
    stop: CancellationToken,
}

type FrameReader = FramedRead<OwnedReadHalf, FrameCodec>;
type FrameWriter = FramedWrite<OwnedWriteHalf, FrameCodec>;

/// Why a connected link ended.
enum LinkEnd {
    /// The transport is stopping or the queue is gone: the task ends.
    Stop,
    /// The connection failed: reconnect after a backoff.
    Failed(NetError),
}

impl<M> LinkTask<M>
where
    M: Serialize + DeserializeOwned + Send + 'static,
{
    async fn run(self, mut queued: mpsc::Receiver<M>) {
        let seed = self.opts.jitter_seed ^ self.hello.node_id.rotate_left(32) ^ self.peer;
        let mut backoff = Backoff::new(self.opts.backoff_initial, self.opts.backoff_max, seed);
        let mut failures_in_a_row = 0u64;
        loop {
            let attempt = tokio::select! {
                _ = self.stop.cancelled() => return,
                attempt = self.connect() => attempt,
            };
            match attempt {
                Ok((reader, writer)) => {
                    bump(&self.counters.connections);
                    self.counters.connected.store(true, Relaxed);
                    failures_in_a_row = 0;
                    let up_since = tokio::time::Instant::now();
                    tracing::info!(node = self.hello.node_id, peer = self.peer, addr = %self.addr, "peer link up");
                    let end = self.pump(&mut queued, reader, writer).await;
                    self.counters.connected.store(false, Relaxed);
                    // Only a connection that stayed up for a while earns a fast retry; one that a
                    // proxy or a crashing peer keeps cutting right after the handshake backs off.
                    if up_since.elapsed() >= self.opts.backoff_max {
                        backoff.reset();
                    }
                    match end {
                        LinkEnd::Stop => return,
                        // A peer closes a link it has heard nothing on for a while.
                        LinkEnd::Failed(NetError::Closed) => {
                            tracing::info!(node = self.hello.node_id, peer = self.peer, addr = %self.addr, "peer link down: closed by the peer; reconnecting")
                        }
                        LinkEnd::Failed(e) => {
                            tracing::warn!(node = self.hello.node_id, peer = self.peer, addr = %self.addr, error = %e, "peer link down; reconnecting")
                        }
                    }
                }
                Err(e) => {
                    failures_in_a_row += 1;
                    // Log the first failure loudly, then quietly until the link comes back.
                    if failures_in_a_row == 1 || matches!(e, NetError::Handshake(_)) {
                        tracing::warn!(node = self.hello.node_id, peer = self.peer, addr = %self.addr, error = %e, "cannot reach peer; retrying with backoff");
                    } else {
                        tracing::debug!(node = self.hello.node_id, peer = self.peer, addr = %self.addr, error = %e, attempt = failures_in_a_row, "still cannot reach peer");
                    }
                }
            }
            bump(&self.counters.reconnects);
            let delay = backoff.next_delay();
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Connects and handshakes within the configured timeouts.
    async fn connect(&self) -> Result<(FrameReader, FrameWriter), NetError> {
        let stream = tokio::time::timeout(self.opts.connect_timeout, TcpStream::connect(self.addr))
            .await
            .map_err(|_| {
                NetError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connect timed out after {:?}", self.opts.connect_timeout),
                ))
            })??;
        stream.set_nodelay(true)?;
        let (read_half, write_half) = stream.into_split();
        let mut reader = FramedRead::new(read_half, frame_codec(self.opts.max_frame_len));
        let mut writer = FramedWrite::new(write_half, frame_codec(self.opts.max_frame_len));
        handshake_with_secret(
            &mut reader,
            &mut writer,
            &self.hello,
            Side::Dialed {
                expected: self.peer,
            },
            self.opts.peer_secret.as_ref(),
            self.opts.handshake_timeout,
            &self.addr.to_string(),
        )
        .await?;
        Ok((reader, writer))
    }

    /// Moves queued messages onto the connection until it fails or the link stops.
    async fn pump(
        &self,
        queued: &mut mpsc::Receiver<M>,
        mut reader: FrameReader,
        mut writer: FrameWriter,
    ) -> LinkEnd {
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return LinkEnd::Stop,
                frame = reader.next() => {
                    let frame = match frame {
                        Some(Ok(frame)) => frame,
                        Some(Err(e)) => return LinkEnd::Failed(framing::classify_io_error(e, self.opts.max_frame_len)),
                        None => return LinkEnd::Failed(NetError::Closed),
                    };
                    let msg = match framing::decode_frame_payload::<M>(&frame) {
                        Ok(msg) => msg,
                        Err(e) => return LinkEnd::Failed(e),
                    };
                    bump(&self.counters.received);
                    if self.inbound.send(msg).await.is_err() {
                        return LinkEnd::Stop;
                    }
                }
                first = queued.recv() => {
                    let Some(first) = first else { return LinkEnd::Stop };
                    if let Err(e) = self.write_batch(first, queued, &mut writer).await {
                        return LinkEnd::Failed(e);
                    }
                }
            }
        }
    }

    /// Writes `first` and whatever else is already queued (up to the batch limit), then flushes,
    /// all within the write timeout.
    async fn write_batch(
        &self,
        first: M,
        queued: &mut mpsc::Receiver<M>,
        writer: &mut FrameWriter,
    ) -> Result<(), NetError> {
        let mut batch: Vec<Bytes> = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match framing::encode_frame_payload(&msg, self.opts.max_frame_len) {
                Ok(payload) => batch.push(payload),
                Err(e) => {
                    bump(&self.counters.lost);
                    tracing::error!(node = self.hello.node_id, peer = self.peer, error = %e, "message cannot be sent; dropped");
                }
            }
            if batch.len() < self.opts.max_write_batch.max(1) {
                next = queued.try_recv().ok();
            }
        }
        let count = batch.len() as u64;
        let bytes: u64 = batch
            .iter()
            .map(|p| (p.len() + LENGTH_PREFIX_LEN) as u64)
            .sum();
        let write = async {
            for payload in batch {
                writer.feed(payload).await?;
            }
            SinkExt::<Bytes>::flush(writer).await
        };
        match tokio::time::timeout(self.opts.write_timeout, write).await {
            Ok(Ok(())) => {
                add(&self.counters.sent, count);
                add(&self.counters.bytes_sent, bytes);
                Ok(())
            }
            Ok(Err(e)) => {
                add(&self.counters.lost, count);
                Err(NetError::Io(e))
            }
            Err(_) => {
                add(&self.counters.lost, count);
                Err(NetError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "peer did not take a batch within {:?}",
                        self.opts.write_timeout
                    ),
                )))
            }
        }
    }
}
