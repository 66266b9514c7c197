//! The server side of the client port, generic over request and response types: every connection
//! runs an async handler per request and writes each response as soon as it is ready (responses may
//! leave in any order; the message types carry their own request id). The client side is
//! `framed_client.rs`.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde::{de::DeserializeOwned, Serialize};
use tokio::{
    net::{tcp::OwnedWriteHalf, TcpListener, TcpStream},
    sync::{mpsc, Semaphore},
    task::JoinSet,
};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::{
    admission::{AdmissionLimits, Slot},
    framing::{self, frame_codec, FrameCodec, LENGTH_PREFIX_LEN},
    metrics::{add, bump, ListenerCounters},
    tasks::{spawn_listener, ListenerHandle},
    NetError,
};

/// Limits of [`serve_framed`].
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Largest request or response payload, in bytes.
    pub max_frame_len: usize,
    /// Most client connections served at once. When full, a new connection takes the slot of the
    /// oldest connection that has not sent a complete request yet; when every connection has,
    /// the new one is closed right after accept.
    pub max_connections: usize,
    /// Most client connections from one source IP address at once.
    pub max_connections_per_source: usize,
    /// Time a new connection has to deliver its first complete request; it is closed otherwise.
    pub handshake_timeout: Duration,
    /// A connection with no request in flight that delivers no complete request for this long is
    /// closed.
    pub idle_timeout: Duration,
    /// Most requests of one connection being handled at once; the connection is not read further
    /// until one finishes.
    pub max_inflight_per_connection: usize,
    /// Time allowed to write one batch of responses; a client that stops reading is disconnected.
    pub write_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_frame_len: 1024 * 1024,
            max_connections: 1024,
            max_connections_per_source: 256,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_inflight_per_connection: 256,
            write_timeout: Duration::from_secs(5),
        }
    }
}

/// Serves `listener`: every connection reads framed `Req`s, runs `handler` on each concurrently,
/// and writes each `Resp` as soon as it is ready. A frame that is oversized or does not decode
/// closes that connection only. Stops when the handle is dropped or shut down. Must be called from
/// inside a tokio runtime.
pub fn serve_framed<Req, Resp, H, Fut>(
    listener: TcpListener,
    handler: H,
    opts: ServeOptions,
) -> Result<ListenerHandle, NetError>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    H: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let handler = Arc::new(handler);
    let limits = AdmissionLimits {
        max_connections: opts.max_connections,
        max_per_source: opts.max_connections_per_source,
    };
    spawn_listener(
        listener,
        limits,
        "client port",
        move |stream, remote, counters, slot| {
            serve_client_connection(
                stream,
                remote,
                handler.clone(),
                opts.clone(),
                counters,
                slot,
            )
        },
    )
}

async fn serve_client_connection<Req, Resp, H, Fut>(
    stream: TcpStream,
    remote: SocketAddr,
    handler: Arc<H>,
    opts: ServeOptions,
    counters: Arc<ListenerCounters>,
    slot: Slot,
) where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    H: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let (read_half, write_half) = stream.into_split();
    let mut reader = FramedRead::new(read_half, frame_codec(opts.max_frame_len));
    let writer = FramedWrite::new(write_half, frame_codec(opts.max_frame_len));
    let inflight_limit = opts.max_inflight_per_connection.max(1);
    let inflight = Arc::new(Semaphore::new(inflight_limit));
    let (responses, pending) = mpsc::channel::<Resp>(inflight_limit);
    // The writer and the handlers live in these sets: when the connection ends, they are aborted.
    let mut writer_task = JoinSet::new();
    writer_task.spawn(write_responses(writer, pending, opts.clone(), remote));
    let mut handlers = JoinSet::new();
    let mut spoken = false;
    'connection: loop {
        // A finished writer means the connection is broken.
        let permit = tokio::select! {
            permit = inflight.clone().acquire_owned() => permit,
            _ = writer_task.join_next() => break,
        };
        let Ok(permit) = permit else { break };
        let frame = loop {
            let wait = if spoken {
                opts.idle_timeout
            } else {
                opts.handshake_timeout
            };
            let waited = tokio::select! {
                waited = tokio::time::timeout(wait, reader.next()) => waited,
                _ = writer_task.join_next() => break 'connection,
            };
            match waited {
                Ok(frame) => break frame,
                Err(_) => {
                    while handlers.try_join_next().is_some() {}
                    if !handlers.is_empty() {
                        // Requests in flight: the client is waiting for us, not idle.
                        continue;
                    }
                    bump(&counters.timed_out);
                    if spoken {
                        tracing::debug!(%remote, timeout = ?wait, "client port: connection idle; closing it");
                    } else {
                        tracing::warn!(%remote, timeout = ?wait, "client port: no complete request within the handshake deadline; closing the connection");
                    }
                    break 'connection;
                }
            }
        };
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                let e = framing::classify_io_error(e, opts.max_frame_len);
                if matches!(e, NetError::AnnouncedFrameTooLarge { .. }) {
                    bump(&counters.bad_frames);
                    tracing::warn!(%remote, error = %e, "client port: closing connection after a bad frame");
                } else {
                    tracing::debug!(%remote, error = %e, "client port: connection failed");
                }
                break;
            }
            None => {
                // The client finished sending (half-close): answer what is in flight, then close.
                drop(responses);
                while handlers.join_next().await.is_some() {}
                while writer_task.join_next().await.is_some() {}
                return;
            }
        };
        add(
            &counters.bytes_received,
            (frame.len() + LENGTH_PREFIX_LEN) as u64,
        );
        let request = match framing::decode_frame_payload::<Req>(&frame) {
            Ok(request) => request,
            Err(e) => {
                bump(&counters.bad_frames);
                tracing::warn!(%remote, error = %e, "client port: closing connection after a bad frame");
                break;
            }
        };
        bump(&counters.received);
        if !spoken {
            spoken = true;
            slot.prove();
        }
        let handled = handler(request);
        let responses = responses.clone();
        while handlers.try_join_next().is_some() {}
        handlers.spawn(async move {
            let response = handled.await;
            let _ = responses.send(response).await;
            drop(permit);
        });
    }
}

/// Writes responses as they come, one flush per batch of whatever is ready. A batch that cannot
/// be written within `write_timeout` (a client that stopped reading) ends the connection.
async fn write_responses<Resp: Serialize>(
    mut writer: FramedWrite<OwnedWriteHalf, FrameCodec>,
    mut pending: mpsc::Receiver<Resp>,
    opts: ServeOptions,
    remote: SocketAddr,
) {
    while let Some(first) = pending.recv().await {
        let batch = async {
            let mut next = Some(first);
            while let Some(response) = next.take() {
                match framing::encode_frame_payload(&response, opts.max_frame_len) {
                    Ok(payload) => writer.feed(payload).await?,
                    Err(e) => {
                        tracing::error!(%remote, error = %e, "client port: response cannot be sent; dropped")
                    }
                }
                next = pending.try_recv().ok();
            }
            SinkExt::<Bytes>::flush(&mut writer).await
        };
        match tokio::time::timeout(opts.write_timeout, batch).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(%remote, error = %e, "client port: write failed");
                return;
            }
            Err(_) => {
                tracing::warn!(%remote, timeout = ?opts.write_timeout, "client port: client is not reading its responses; closing the connection");
                return;
            }
        }
    }
}
