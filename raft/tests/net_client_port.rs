//! Loopback tests of the client port framing: out-of-order responses, definite vs indefinite
//! client errors, bad input closing only the offending connection.

use std::{net::SocketAddr, time::Duration};

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use raft::net::{
    framing::{frame_codec, FrameCodec},
    serve_framed, ClientError, ClientOptions, Delivery, FramedClient, ServeOptions,
};
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    time::timeout,
};
use tokio_util::codec::{Framed, FramedRead};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Request {
    id: u64,
    delay_ms: u64,
    padding: Vec<u8>,
    reply_bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Response {
    id: u64,
    payload: Vec<u8>,
}

const LIMIT: Duration = Duration::from_secs(10);

fn req(id: u64, delay_ms: u64) -> Request {
    Request {
        id,
        delay_ms,
        padding: Vec::new(),
        reply_bytes: 0,
    }
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// A server whose handler waits `delay_ms` (forever if u64::MAX) and echoes the id.
async fn echo_server(opts: ServeOptions) -> raft::net::ListenerHandle {
    serve_framed(
        listener().await,
        |r: Request| async move {
            if r.delay_ms == u64::MAX {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(r.delay_ms)).await;
            Response {
                id: r.id,
                payload: vec![1; r.reply_bytes],
            }
        },
        opts,
    )
    .unwrap()
}

async fn client(addr: SocketAddr) -> FramedClient<Request, Response> {
    FramedClient::connect(addr, Duration::from_secs(5))
        .await
        .unwrap()
}

async fn closed_by_remote(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    let read_until_closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    timeout(LIMIT, read_until_closed).await.is_ok()
}

#[tokio::test]
async fn responses_come_back_as_soon_as_each_is_ready() {
    let server = echo_server(ServeOptions::default()).await;
    let mut c = client(server.local_addr()).await;
    c.send(&req(1, 300)).await.unwrap();
    c.send(&req(2, 100)).await.unwrap();
    c.send(&req(3, 0)).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..3 {
        order.push(c.recv().await.unwrap().id);
    }
    assert_eq!(order, vec![3, 2, 1]);
    assert_eq!(server.metrics().received, 3);
}

#[tokio::test]
async fn many_pipelined_requests_over_split_halves() {
    let server = echo_server(ServeOptions {
        max_inflight_per_connection: 8,
        ..ServeOptions::default()
    })
    .await;
    let (mut tx, mut rx) = client(server.local_addr()).await.into_split();
    let sender = tokio::spawn(async move {
        for id in 0..500 {
            tx.send(&req(id, 0)).await.unwrap();
        }
    });
    let mut seen = vec![false; 500];
    for _ in 0..500 {
        let id = timeout(LIMIT, rx.recv()).await.unwrap().unwrap().id as usize;
        assert!(!seen[id], "response {id} twice");
        seen[id] = true;
    }
    sender.await.unwrap();
    assert!(seen.iter().all(|s| *s));
}

#[tokio::test]
async fn refused_connect_is_definite() {
    let addr = listener().await.local_addr().unwrap();
    let err = FramedClient::<Request, Response>::connect(addr, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    assert_eq!(err.delivery(), Delivery::NotSent);
    assert!(err.is_definite());
}

#[tokio::test]
async fn no_answer_is_indefinite() {
    let server = echo_server(ServeOptions::default()).await;
    let mut c = FramedClient::<Request, Response>::connect_with(
        server.local_addr(),
        ClientOptions {
            io_timeout: Duration::from_millis(100),
            ..ClientOptions::with_timeout(Duration::from_secs(2))
        },
    )
    .await
    .unwrap();
    c.send(&req(1, u64::MAX)).await.unwrap();
    let err = c.recv().await.unwrap_err();
    assert!(matches!(err, ClientError::RecvTimeout(_)), "{err}");
    assert_eq!(err.delivery(), Delivery::MaybeSent);
}

#[tokio::test]
async fn connection_closed_after_sending_is_indefinite() {
    // A server that reads one request and hangs up without answering.
    let raw = listener().await;
    let addr = raw.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = raw.accept().await.unwrap();
        let mut frames = FramedRead::new(stream, frame_codec(1024));
        let _ = frames.next().await;
    });
    let mut c = client(addr).await;
    c.send(&req(1, 0)).await.unwrap();
    let err = c.recv().await.unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err}");
    assert!(!err.is_definite());
}

#[tokio::test]
async fn server_shutdown_closes_client_connections() {
    let server = echo_server(ServeOptions::default()).await;
    let mut c = client(server.local_addr()).await;
    c.send(&req(1, u64::MAX)).await.unwrap();
    timeout(LIMIT, server.shutdown()).await.unwrap();
    let err = c.recv().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Closed | ClientError::Recv(_)),
        "{err}"
    );
    assert_eq!(err.delivery(), Delivery::MaybeSent);
}

#[tokio::test]
async fn oversized_request_is_not_sent_and_the_connection_stays_usable() {
    let server = echo_server(ServeOptions::default()).await;
    let mut c = FramedClient::<Request, Response>::connect_with(
        server.local_addr(),
        ClientOptions {
            max_frame_len: 1024,
            ..ClientOptions::with_timeout(Duration::from_secs(5))
        },
    )
    .await
    .unwrap();
    let big = Request {
        id: 1,
        delay_ms: 0,
        padding: vec![0; 4096],
        reply_bytes: 0,
    };
    let err = c.send(&big).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Encode(raft::net::NetError::FrameTooLarge { .. })
        ),
        "{err}"
    );
    assert!(err.is_definite());
    c.send(&req(2, 0)).await.unwrap();
    assert_eq!(c.recv().await.unwrap().id, 2);
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let server = echo_server(ServeOptions {
        max_frame_len: 1024,
        ..ServeOptions::default()
    })
    .await;
    let addr = server.local_addr();
    let mut bystander = client(addr).await;

    // An oversized announced length: closed without waiting for the payload.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    let mut header = BytesMut::new();
    header.put_u32(1 << 30);
    header.put_slice(b"xyz");
    raw.write_all(&header).await.unwrap();
    assert!(closed_by_remote(&mut raw).await);

    // A payload that is not a request.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(&[0, 0, 0, 3, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    assert!(closed_by_remote(&mut raw).await);

    assert_eq!(server.metrics().bad_frames, 2);
    bystander.send(&req(7, 0)).await.unwrap();
    assert_eq!(bystander.recv().await.unwrap().id, 7);
    let mut fresh = client(addr).await;
    fresh.send(&req(8, 0)).await.unwrap();
    assert_eq!(fresh.recv().await.unwrap().id, 8);
}

#[tokio::test]
async fn connection_limit_closes_extra_connections() {
    let server = echo_server(ServeOptions {
        max_connections: 1,
        ..ServeOptions::default()
    })
    .await;
    let mut first = client(server.local_addr()).await;
    first.send(&req(1, 0)).await.unwrap();
    assert_eq!(first.recv().await.unwrap().id, 1);
    let mut second = client(server.local_addr()).await;
    let _ = second.send(&req(2, 0)).await;
    let err = second.recv().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Closed | ClientError::Recv(_)),
        "{err}"
    );
    assert_eq!(server.metrics().over_limit, 1);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let server = echo_server(ServeOptions {
        write_timeout: Duration::from_millis(200),
        max_frame_len: 1 << 20,
        ..ServeOptions::default()
    })
    .await;
    let mut c = client(server.local_addr()).await;
    let total = 64;
    for id in 0..total {
        let request = Request {
            reply_bytes: 512 * 1024,
            ..req(id, 0)
        };
        c.send(&request).await.unwrap();
    }
    // 32 MiB of responses cannot all sit in socket buffers: the server's writer times out.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut answered = 0;
    let err = loop {
        match c.recv().await {
            Ok(_) => answered += 1,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, ClientError::Closed | ClientError::Recv(_)),
        "{err}"
    );
    assert!(
        answered < total,
        "the server must give up before answering everything"
    );
}

/// A connection to `addr` from the loopback address `source` (127.0.0.x: every one is local).
async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// A frame header announcing `len` bytes, followed by only a few of them.
async fn send_half_a_frame(stream: &mut TcpStream, len: u32) {
    let mut head = BytesMut::new();
    head.put_u32(len);
    head.put_slice(&[0; 8]);
    stream.write_all(&head).await.unwrap();
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_at_the_handshake_deadline() {
    let server = echo_server(ServeOptions {
        handshake_timeout: Duration::from_millis(200),
        ..ServeOptions::default()
    })
    .await;
    let started = tokio::time::Instant::now();
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut half_sent = TcpStream::connect(server.local_addr()).await.unwrap();
    send_half_a_frame(&mut half_sent, 1 << 20).await;
    assert!(closed_by_remote(&mut silent).await);
    assert!(closed_by_remote(&mut half_sent).await);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(server.metrics().timed_out, 2);
    // A client that speaks at once is served as before.
    let mut c = client(server.local_addr()).await;
    c.send(&req(1, 0)).await.unwrap();
    assert_eq!(c.recv().await.unwrap().id, 1);
}

#[tokio::test]
async fn an_idle_connection_is_closed_but_not_one_waiting_for_an_answer() {
    let server = echo_server(ServeOptions {
        idle_timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    })
    .await;
    let mut idle = client(server.local_addr()).await;
    idle.send(&req(1, 0)).await.unwrap();
    assert_eq!(idle.recv().await.unwrap().id, 1);
    // A request answered after three idle timeouts keeps its connection.
    let mut waiting = client(server.local_addr()).await;
    waiting.send(&req(2, 900)).await.unwrap();
    assert_eq!(waiting.recv().await.unwrap().id, 2);
    let err = idle.recv().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Closed | ClientError::Recv(_)),
        "{err}"
    );
    assert!(server.metrics().timed_out >= 1);
}

/// Sends one request over a raw connection and waits for its answer: the connection has spoken.
async fn speak(stream: TcpStream, id: u64) -> Framed<TcpStream, FrameCodec> {
    let mut framed = Framed::new(stream, frame_codec(1 << 20));
    let payload = postcard::to_allocvec(&req(id, 0)).unwrap();
    framed.send(Bytes::from(payload)).await.unwrap();
    let answer = timeout(LIMIT, framed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let answer: Response = postcard::from_bytes(&answer).unwrap();
    assert_eq!(answer.id, id);
    framed
}

#[tokio::test]
async fn one_source_address_cannot_take_more_than_its_share() {
    let server = echo_server(ServeOptions {
        max_connections: 16,
        max_connections_per_source: 4,
        ..ServeOptions::default()
    })
    .await;
    let addr = server.local_addr();
    // Four connections that have spoken hold their source's share: a fifth is refused.
    let mut spoken = Vec::new();
    for id in 0..4 {
        spoken.push(speak(connect_from([127, 0, 0, 2], addr).await, id).await);
    }
    let mut fifth = connect_from([127, 0, 0, 2], addr).await;
    assert!(closed_by_remote(&mut fifth).await);
    assert_eq!(server.metrics().over_source_limit, 1);
    // Four silent ones: a fifth from the same source takes the oldest one's slot.
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(connect_from([127, 0, 0, 3], addr).await);
    }
    speak(connect_from([127, 0, 0, 3], addr).await, 10).await;
    assert!(closed_by_remote(&mut silent[0]).await);
    assert_eq!(server.metrics().evicted, 1);
    // Another source is served.
    let mut c = client(addr).await;
    c.send(&req(1, 0)).await.unwrap();
    assert_eq!(c.recv().await.unwrap().id, 1);
}

#[tokio::test]
async fn a_full_port_closes_the_oldest_silent_connection_for_a_client_that_speaks() {
    let server = echo_server(ServeOptions {
        max_connections: 8,
        max_connections_per_source: 8,
        ..ServeOptions::default()
    })
    .await;
    let addr = server.local_addr();
    let mut silent = Vec::new();
    for i in 0..8 {
        let mut stream = connect_from([127, 0, 0, 2], addr).await;
        if i % 2 == 1 {
            send_half_a_frame(&mut stream, 1 << 20).await;
        }
        silent.push(stream);
    }
    let deadline = tokio::time::Instant::now() + LIMIT;
    while server.metrics().open < 8 {
        assert!(tokio::time::Instant::now() < deadline, "8 connections open");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut c = client(addr).await;
    c.send(&req(1, 0)).await.unwrap();
    assert_eq!(c.recv().await.unwrap().id, 1);
    assert_eq!(server.metrics().evicted, 1);
    assert!(closed_by_remote(&mut silent[0]).await);
    // The client that spoke is never evicted: eight more silent ones take the other slots.
    for _ in 0..8 {
        silent.push(connect_from([127, 0, 0, 3], addr).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.send(&req(2, 0)).await.unwrap();
    assert_eq!(c.recv().await.unwrap().id, 2);
}
