//! The client side of the client port: one framed connection sending requests and receiving
//! responses, whose errors say whether a request surely never left ("not sent": definite) or may
//! have reached the server ("sent, then lost": indefinite).

use std::{io, marker::PhantomData, net::SocketAddr, time::Duration};

use bytes::Bytes;
use futures::SinkExt;
use serde::{de::DeserializeOwned, Serialize};
use thiserror::Error;
use tokio::net::{
    tcp::{OwnedReadHalf, OwnedWriteHalf},
    TcpStream,
};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::{
    framing::{self, frame_codec, FrameCodec, DEFAULT_MAX_FRAME_LEN},
    NetError,
};

/// Whether a failed request may have reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The request surely never reached the server: the operation definitely did not happen.
    NotSent,
    /// The request may have reached the server: the outcome is unknown.
    MaybeSent,
}

/// What went wrong talking to a client port.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The TCP connection could not be made (refused, unreachable). Nothing was sent.
    #[error("could not connect to {addr}: {source}")]
    Connect {
        /// Where we tried to connect.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The TCP connection was not made in time. Nothing was sent.
    #[error("connecting to {addr} timed out after {after:?}")]
    ConnectTimeout {
        /// Where we tried to connect.
        addr: SocketAddr,
        /// The timeout.
        after: Duration,
    },
    /// The request could not be encoded (or is larger than the frame limit). Nothing was sent.
    #[error("request not sent: {0}")]
    Encode(NetError),
    /// An earlier error broke this connection, so the request was not sent; reconnect.
    #[error("request not sent: the connection is already broken by an earlier error")]
    Broken,
    /// Writing the request failed part-way or the peer reset: it may have been delivered.
    #[error("writing the request failed; it may have reached the server: {0}")]
    Send(#[source] io::Error),
    /// Writing the request did not finish in time: it may have been delivered.
    #[error("writing the request timed out after {0:?}; it may have reached the server")]
    SendTimeout(Duration),
    /// No response arrived in time.
    #[error("no response within {0:?}; the request may have taken effect")]
    RecvTimeout(Duration),
    /// The server closed the connection before answering.
    #[error(
        "the server closed the connection before answering; the request may have taken effect"
    )]
    Closed,
    /// The connection failed while reading, or the response did not decode.
    #[error("reading the response failed; the request may have taken effect: {0}")]
    Recv(NetError),
}

impl ClientError {
    /// Whether the request may have reached the server.
    pub fn delivery(&self) -> Delivery {
        match self {
            ClientError::Connect { .. }
            | ClientError::ConnectTimeout { .. }
            | ClientError::Encode(_)
            | ClientError::Broken => Delivery::NotSent,
            ClientError::Send(_)
            | ClientError::SendTimeout(_)
            | ClientError::RecvTimeout(_)
            | ClientError::Closed
            | ClientError::Recv(_) => Delivery::MaybeSent,
        }
    }

    /// True when the request surely did not reach the server (record as `fail`, not `info`).
    pub fn is_definite(&self) -> bool {
        self.delivery() == Delivery::NotSent
    }
}

/// Limits and timeouts of a [`FramedClient`].
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Time allowed for the TCP connect.
    pub connect_timeout: Duration,
    /// Time allowed to write one request, and to wait for one response in [`FramedClient::recv`].
    pub io_timeout: Duration,
    /// Largest request or response payload, in bytes.
    pub max_frame_len: usize,
}

impl ClientOptions {
    /// Options with both timeouts set to `timeout` and the default frame limit.
    pub fn with_timeout(timeout: Duration) -> ClientOptions {
        ClientOptions {
            connect_timeout: timeout,
            io_timeout: timeout,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

/// One connection to a client port, sending `Req` and receiving `Resp`.
#[derive(Debug)]
pub struct FramedClient<Req, Resp> {
    sender: FramedSender<Req>,
    receiver: FramedReceiver<Resp>,
}

impl<Req: Serialize, Resp: DeserializeOwned> FramedClient<Req, Resp> {
    /// Connects with `timeout` for the connect and for every later send and recv.
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, ClientError> {
        Self::connect_with(addr, ClientOptions::with_timeout(timeout)).await
    }

    /// Connects with explicit options.
    pub async fn connect_with(addr: SocketAddr, opts: ClientOptions) -> Result<Self, ClientError> {
        let stream =
            match tokio::time::timeout(opts.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(source)) => return Err(ClientError::Connect { addr, source }),
                Err(_) => {
                    return Err(ClientError::ConnectTimeout {
                        addr,
                        after: opts.connect_timeout,
                    })
                }
            };
        stream
            .set_nodelay(true)
            .map_err(|source| ClientError::Connect { addr, source })?;
        let (read_half, write_half) = stream.into_split();
        Ok(FramedClient {
            sender: FramedSender {
                writer: FramedWrite::new(write_half, frame_codec(opts.max_frame_len)),
                opts: opts.clone(),
                broken: false,
                _req: PhantomData,
            },
            receiver: FramedReceiver {
                reader: FramedRead::new(read_half, frame_codec(opts.max_frame_len)),
                opts,
                _resp: PhantomData,
            },
        })
    }

    /// Writes one request within the I/O timeout.
    pub async fn send(&mut self, request: &Req) -> Result<(), ClientError> {
        self.sender.send(request).await
    }

    /// Waits up to the I/O timeout for the next response.
    pub async fn recv(&mut self) -> Result<Resp, ClientError> {
        self.receiver.recv().await
    }

    /// Waits up to `timeout` for the next response.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Resp, ClientError> {
        self.receiver.recv_timeout(timeout).await
    }

    /// Splits into a sending and a receiving half, for pipelining from two tasks.
    pub fn into_split(self) -> (FramedSender<Req>, FramedReceiver<Resp>) {
        (self.sender, self.receiver)
    }
}

/// The sending half of a [`FramedClient`].
#[derive(Debug)]
pub struct FramedSender<Req> {
    writer: FramedWrite<OwnedWriteHalf, FrameCodec>,
    opts: ClientOptions,
    broken: bool,
    _req: PhantomData<fn(Req)>,
}

impl<Req: Serialize> FramedSender<Req> {
    /// Writes one request within the I/O timeout. After a failed write every later send fails
    /// with [`ClientError::Broken`] without writing anything.
    pub async fn send(&mut self, request: &Req) -> Result<(), ClientError> {
        if self.broken {
            return Err(ClientError::Broken);
        }
        let payload: Bytes = framing::encode_frame_payload(request, self.opts.max_frame_len)
            .map_err(ClientError::Encode)?;
        match tokio::time::timeout(self.opts.io_timeout, self.writer.send(payload)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.broken = true;
                Err(ClientError::Send(e))
            }
            Err(_) => {
                self.broken = true;
                Err(ClientError::SendTimeout(self.opts.io_timeout))
            }
        }
    }
}

/// The receiving half of a [`FramedClient`].
#[derive(Debug)]
pub struct FramedReceiver<Resp> {
    reader: FramedRead<OwnedReadHalf, FrameCodec>,
    opts: ClientOptions,
    _resp: PhantomData<fn() -> Resp>,
}

impl<Resp: DeserializeOwned> FramedReceiver<Resp> {
    /// Waits up to the I/O timeout for the next response.
    pub async fn recv(&mut self) -> Result<Resp, ClientError> {
        self.recv_timeout(self.opts.io_timeout).await
    }

    /// Waits up to `timeout` for the next response.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Resp, ClientError> {
        match tokio::time::timeout(
            timeout,
            framing::read_message::<Resp, _>(&mut self.reader, self.opts.max_frame_len),
        )
        .await
        {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(NetError::Closed)) => Err(ClientError::Closed),
            Ok(Err(e)) => Err(ClientError::Recv(e)),
            Err(_) => Err(ClientError::RecvTimeout(timeout)),
        }
    }
}
