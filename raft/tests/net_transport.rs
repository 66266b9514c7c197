//! Loopback tests of the peer transport: round trips, refusals, overflow, reconnect, garbage input.
//! Every wait is bounded by a timeout so a bug fails the test instead of hanging it.

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use raft::net::{
    accept_peers,
    framing::{self, frame_codec},
    handshake::{handshake, Hello},
    ListenerHandle, NodeId, PeerTransport, SendError, TransportOptions,
};
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
    time::timeout,
};
use tokio_util::codec::Framed;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TestMsg {
    from: NodeId,
    seq: u64,
    body: Vec<u8>,
}

const CLUSTER: u64 = 42;
const LIMIT: Duration = Duration::from_secs(10);

fn msg(from: NodeId, seq: u64) -> TestMsg {
    TestMsg {
        from,
        seq,
        body: vec![7; 32],
    }
}

fn fast_opts() -> TransportOptions {
    TransportOptions {
        queue_capacity: 256,
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        connect_timeout: Duration::from_millis(500),
        handshake_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_millis(500),
        ..TransportOptions::default()
    }
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// An address nothing listens on (bound, then released).
async fn free_addr() -> SocketAddr {
    listener().await.local_addr().unwrap()
}

/// Starts a node's peer listener; returns the handle and its inbound channel.
async fn start_listener(
    id: NodeId,
    cluster: u64,
    opts: &TransportOptions,
) -> (ListenerHandle, mpsc::Receiver<TestMsg>) {
    let (tx, rx) = mpsc::channel(1024);
    let handle = accept_peers(listener().await, id, cluster, tx, opts).unwrap();
    (handle, rx)
}

async fn recv(rx: &mut mpsc::Receiver<TestMsg>) -> TestMsg {
    timeout(LIMIT, rx.recv())
        .await
        .expect("message within the limit")
        .expect("channel open")
}

/// Polls `check` every 5 ms until it holds or the limit passes.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A raw connection that has completed the handshake as node `id`.
async fn raw_peer(
    addr: SocketAddr,
    id: NodeId,
    cluster: u64,
) -> Framed<TcpStream, framing::FrameCodec> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut framed = Framed::new(stream, frame_codec(framing::DEFAULT_MAX_FRAME_LEN));
    let hello = Hello::new(cluster, id);
    framed
        .send(Bytes::from(postcard::to_allocvec(&hello).unwrap()))
        .await
        .unwrap();
    let theirs = timeout(LIMIT, framed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    Hello::decode(&theirs).unwrap();
    framed
}

/// Reads until EOF or error; true if the remote closed within the limit.
async fn closed_by_remote(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_round_trip_between_two_nodes() {
    let opts = fast_opts();
    let (l1, mut in1) = start_listener(1, CLUSTER, &opts).await;
    let (l2, mut in2) = start_listener(2, CLUSTER, &opts).await;
    let peers = BTreeMap::from([(1, l1.local_addr()), (2, l2.local_addr())]);
    let (back1, _) = mpsc::channel(16);
    let (back2, _) = mpsc::channel(16);
    let t1 =
        PeerTransport::<TestMsg>::start(1, CLUSTER, peers.clone(), back1, opts.clone()).unwrap();
    let t2 = PeerTransport::<TestMsg>::start(2, CLUSTER, peers, back2, opts).unwrap();
    assert_eq!(
        t1.peers().collect::<Vec<_>>(),
        vec![2],
        "a node does not link to itself"
    );
    for seq in 0..100 {
        t1.send(2, msg(1, seq)).unwrap();
        t2.send(1, msg(2, seq)).unwrap();
    }
    for seq in 0..100 {
        assert_eq!(recv(&mut in2).await, msg(1, seq));
        assert_eq!(recv(&mut in1).await, msg(2, seq));
    }
    let m = t1.metrics()[&2];
    assert_eq!((m.sent, m.dropped, m.lost, m.connections), (100, 0, 0, 1));
    assert!(m.bytes_sent > 100 * 32);
    assert!(m.connected);
    assert_eq!(l2.metrics().received, 100);
    assert_eq!(t1.send(9, msg(1, 0)), Err(SendError::UnknownPeer(9)));
    timeout(LIMIT, t1.shutdown()).await.unwrap();
    timeout(LIMIT, t2.shutdown()).await.unwrap();
}

#[tokio::test]
async fn oversize_announced_length_closes_the_connection_before_reading_the_payload() {
    let opts = TransportOptions {
        max_frame_len: 1024,
        ..fast_opts()
    };
    let (l2, mut in2) = start_listener(2, CLUSTER, &opts).await;
    let mut framed = raw_peer(l2.local_addr(), 1, CLUSTER).await;
    let stream = framed.get_mut();
    // Announce a 4 GiB frame and send only a few bytes of it: waiting for the payload (or
    // reserving room for it) would keep the connection open.
    let mut header = BytesMut::new();
    header.put_u32(u32::MAX);
    header.put_slice(b"abc");
    stream.write_all(&header).await.unwrap();
    assert!(
        closed_by_remote(stream).await,
        "the listener must close the connection"
    );
    assert_eq!(l2.metrics().bad_frames, 1);
    // The listener keeps serving other connections.
    let mut good = raw_peer(l2.local_addr(), 3, CLUSTER).await;
    good.send(Bytes::from(postcard::to_allocvec(&msg(3, 1)).unwrap()))
        .await
        .unwrap();
    assert_eq!(recv(&mut in2).await, msg(3, 1));
}

#[tokio::test]
async fn peer_of_another_cluster_is_refused() {
    let opts = fast_opts();
    let (l2, mut in2) = start_listener(2, CLUSTER, &opts).await;
    let (back, _) = mpsc::channel(16);
    let stranger = PeerTransport::<TestMsg>::start(
        1,
        CLUSTER + 1,
        BTreeMap::from([(2, l2.local_addr())]),
        back,
        opts,
    )
    .unwrap();
    stranger.send(2, msg(1, 0)).unwrap();
    eventually("two refused handshakes", || l2.metrics().refused >= 2).await;
    let m = stranger.metrics()[&2];
    assert_eq!(
        m.connections, 0,
        "the stranger must never count a connection"
    );
    assert!(m.reconnects >= 1);
    assert!(
        in2.try_recv().is_err(),
        "nothing from another cluster may be delivered"
    );

    // The dialing side gets the typed refusal too.
    let stream = TcpStream::connect(l2.local_addr()).await.unwrap();
    let framed = Framed::new(stream, frame_codec(1024));
    let (mut sink, mut source) = framed.split();
    let err = handshake(
        &mut source,
        &mut sink,
        &Hello::new(7, 1),
        Some(2),
        LIMIT,
        "test",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            raft::net::NetError::Handshake(raft::net::HandshakeError::WrongCluster {
                peer: 2,
                expected: 7,
                got: CLUSTER
            })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn peer_of_another_version_is_refused() {
    let opts = fast_opts();
    let (l2, _in2) = start_listener(2, CLUSTER, &opts).await;
    let stream = TcpStream::connect(l2.local_addr()).await.unwrap();
    let mut framed = Framed::new(stream, frame_codec(1024));
    let newer = Hello {
        format_version: raft::net::handshake::WIRE_FORMAT_VERSION + 1,
        ..Hello::new(CLUSTER, 1)
    };
    framed
        .send(Bytes::from(postcard::to_allocvec(&newer).unwrap()))
        .await
        .unwrap();
    assert!(closed_by_remote(framed.get_mut()).await);
    eventually("one refused handshake", || l2.metrics().refused == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_overflow_drops_and_counts_without_blocking_other_peers() {
    let opts = TransportOptions {
        queue_capacity: 16,
        ..fast_opts()
    };
    let (healthy, mut healthy_in) = start_listener(4, CLUSTER, &opts).await;
    // Peer 3 handshakes and then never reads: its socket buffers fill and writes stall.
    let stalled = listener().await;
    let stalled_addr = stalled.local_addr().unwrap();
    let stalled_peer = tokio::spawn(async move {
        let (stream, _) = stalled.accept().await.unwrap();
        let mut framed = Framed::new(stream, frame_codec(framing::DEFAULT_MAX_FRAME_LEN));
        let (mut sink, mut source) = (&mut framed).split();
        handshake(
            &mut source,
            &mut sink,
            &Hello::new(CLUSTER, 3),
            None,
            LIMIT,
            "test",
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let peers = BTreeMap::from([
        (2, free_addr().await),
        (3, stalled_addr),
        (4, healthy.local_addr()),
    ]);
    let (back, _) = mpsc::channel(16);
    let transport = PeerTransport::<TestMsg>::start(1, CLUSTER, peers, back, opts).unwrap();

    let total = 2_000u64;
    let big = vec![0u8; 64 * 1024];
    let mut slowest_send = Duration::ZERO;
    let mut refused_to_dead = 0;
    for seq in 0..total {
        let started = std::time::Instant::now();
        if transport.send(2, msg(1, seq)) == Err(SendError::QueueFull(2)) {
            refused_to_dead += 1;
        }
        let _ = transport.send(
            3,
            TestMsg {
                from: 1,
                seq,
                body: big.clone(),
            },
        );
        transport
            .send(4, msg(1, seq))
            .unwrap_or_else(|e| panic!("healthy peer refused {seq}: {e}"));
        slowest_send = slowest_send.max(started.elapsed());
        // The healthy peer keeps receiving, in order, while the others are dead or stalled.
        assert_eq!(recv(&mut healthy_in).await.seq, seq);
    }
    assert!(
        slowest_send < Duration::from_millis(250),
        "send must never block: {slowest_send:?}"
    );
    // The dead peer's link never takes from its queue: exactly `capacity` messages fit.
    let dead = transport.metrics()[&2];
    assert_eq!(dead.dropped, total - 16);
    assert_eq!(refused_to_dead, total - 16);
    assert_eq!(dead.connections, 0);
    let stalled_metrics = transport.metrics()[&3];
    assert!(
        stalled_metrics.dropped > 0,
        "the stalled peer's queue must overflow: {stalled_metrics:?}"
    );
    stalled_peer.abort();
    timeout(LIMIT, transport.shutdown()).await.unwrap();
}

#[tokio::test]
async fn peer_down_then_up_gets_later_messages_after_reconnect() {
    let opts = fast_opts();
    let addr = free_addr().await;
    let (back, _) = mpsc::channel(16);
    let transport = PeerTransport::<TestMsg>::start(
        1,
        CLUSTER,
        BTreeMap::from([(2, addr)]),
        back,
        opts.clone(),
    )
    .unwrap();
    // Down: messages wait in the queue while the link retries.
    for seq in 0..10 {
        transport.send(2, msg(1, seq)).unwrap();
    }
    eventually("a few failed connects", || {
        transport.metrics()[&2].reconnects >= 2
    })
    .await;

    // Up: queued messages arrive, then later ones.
    let (tx, mut inbound) = mpsc::channel::<TestMsg>(1024);
    let first = accept_peers(
        TcpListener::bind(addr).await.unwrap(),
        2,
        CLUSTER,
        tx,
        &opts,
    )
    .unwrap();
    for seq in 0..10 {
        assert_eq!(recv(&mut inbound).await, msg(1, seq));
    }
    transport.send(2, msg(1, 10)).unwrap();
    assert_eq!(recv(&mut inbound).await, msg(1, 10));

    // Down again (the listener and its connections go away), then up on the same address.
    timeout(LIMIT, first.shutdown()).await.unwrap();
    eventually("the link notices", || !transport.metrics()[&2].connected).await;
    let (tx, mut inbound) = mpsc::channel::<TestMsg>(1024);
    let _second = accept_peers(
        TcpListener::bind(addr).await.unwrap(),
        2,
        CLUSTER,
        tx,
        &opts,
    )
    .unwrap();
    // Messages sent while the link was down may be lost (Raft retransmits); keep sending until
    // one arrives, then everything after it arrives in order.
    let mut seq = 11;
    let arrived = loop {
        let _ = transport.send(2, msg(1, seq));
        seq += 1;
        if let Ok(Some(m)) = timeout(Duration::from_millis(20), inbound.recv()).await {
            break m;
        }
        assert!(
            seq < 11 + 500,
            "no message arrived after the peer came back"
        );
    };
    let next = seq;
    transport.send(2, msg(1, next)).unwrap();
    let mut last = arrived.seq;
    while last != next {
        let m = recv(&mut inbound).await;
        assert!(
            m.seq > last,
            "in order after reconnect: {} after {last}",
            m.seq
        );
        last = m.seq;
    }
    let m = transport.metrics()[&2];
    assert_eq!(m.connections, 2);
    assert!(m.reconnects >= 3, "{m:?}");
}

#[tokio::test]
async fn garbage_bytes_close_the_connection_and_the_listener_keeps_serving() {
    let opts = fast_opts();
    let (l2, mut in2) = start_listener(2, CLUSTER, &opts).await;

    // Garbage instead of a hello.
    let mut raw = TcpStream::connect(l2.local_addr()).await.unwrap();
    raw.write_all(&[0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0xff])
        .await
        .unwrap();
    assert!(closed_by_remote(&mut raw).await);

    // A valid hello, then a frame whose payload is not a message.
    let mut framed = raw_peer(l2.local_addr(), 1, CLUSTER).await;
    framed
        .send(Bytes::from_static(&[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]))
        .await
        .unwrap();
    assert!(closed_by_remote(framed.get_mut()).await);

    // Random bytes of many shapes: the listener survives all of them.
    let mut seed = 0x1234_5678_u64;
    for round in 0..20 {
        let mut raw = TcpStream::connect(l2.local_addr()).await.unwrap();
        let bytes: Vec<u8> = (0..(round * 13 + 1))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = raw.write_all(&bytes).await;
        drop(raw);
    }

    let metrics = l2.metrics();
    assert!(metrics.refused >= 1);
    eventually("the bad payload is counted", || {
        l2.metrics().bad_frames >= 1
    })
    .await;
    let (back, _) = mpsc::channel(16);
    let good = PeerTransport::<TestMsg>::start(
        3,
        CLUSTER,
        BTreeMap::from([(2, l2.local_addr())]),
        back,
        opts,
    )
    .unwrap();
    good.send(2, msg(3, 99)).unwrap();
    assert_eq!(recv(&mut in2).await, msg(3, 99));
}

#[tokio::test]
async fn dropping_the_transport_closes_its_connections() {
    let raw = listener().await;
    let addr = raw.local_addr().unwrap();
    let (back, _) = mpsc::channel(16);
    let transport =
        PeerTransport::<TestMsg>::start(1, CLUSTER, BTreeMap::from([(2, addr)]), back, fast_opts())
            .unwrap();
    let (stream, _) = timeout(LIMIT, raw.accept()).await.unwrap().unwrap();
    let mut framed = Framed::new(stream, frame_codec(1024));
    {
        let (mut sink, mut source) = (&mut framed).split();
        handshake(
            &mut source,
            &mut sink,
            &Hello::new(CLUSTER, 2),
            Some(1),
            LIMIT,
            "test",
        )
        .await
        .unwrap();
    }
    eventually("link up", || transport.metrics()[&2].connected).await;
    drop(transport);
    assert!(
        closed_by_remote(framed.get_mut()).await,
        "the link's connection must close on drop"
    );
}

#[tokio::test]
async fn messages_sent_back_over_a_dialed_connection_reach_inbound() {
    let raw = listener().await;
    let addr = raw.local_addr().unwrap();
    let (back, mut inbound) = mpsc::channel(16);
    let transport =
        PeerTransport::<TestMsg>::start(1, CLUSTER, BTreeMap::from([(2, addr)]), back, fast_opts())
            .unwrap();
    let (stream, _) = timeout(LIMIT, raw.accept()).await.unwrap().unwrap();
    let mut framed = Framed::new(stream, frame_codec(1024));
    {
        let (mut sink, mut source) = (&mut framed).split();
        handshake(
            &mut source,
            &mut sink,
            &Hello::new(CLUSTER, 2),
            Some(1),
            LIMIT,
            "test",
        )
        .await
        .unwrap();
    }
    framed
        .send(Bytes::from(postcard::to_allocvec(&msg(2, 5)).unwrap()))
        .await
        .unwrap();
    assert_eq!(recv(&mut inbound).await, msg(2, 5));
    assert_eq!(transport.metrics()[&2].received, 1);
}

#[tokio::test]
async fn a_wrong_address_in_the_peer_list_is_refused_by_the_dialer() {
    let opts = fast_opts();
    // Node 3 listens where the configuration says node 2 is.
    let (l3, mut in3) = start_listener(3, CLUSTER, &opts).await;
    let (back, _) = mpsc::channel(16);
    let transport = PeerTransport::<TestMsg>::start(
        1,
        CLUSTER,
        BTreeMap::from([(2, l3.local_addr())]),
        back,
        opts,
    )
    .unwrap();
    transport.send(2, msg(1, 0)).unwrap();
    eventually("two attempts", || transport.metrics()[&2].reconnects >= 2).await;
    assert_eq!(transport.metrics()[&2].connections, 0);
    assert!(
        in3.try_recv().is_err(),
        "a message for node 2 must never reach node 3"
    );
}

#[tokio::test]
async fn peers_can_be_added_moved_and_removed_at_runtime() {
    let opts = fast_opts();
    let (l2, mut in2) = start_listener(2, CLUSTER, &opts).await;
    let (l2_moved, mut in2_moved) = start_listener(2, CLUSTER, &opts).await;
    let (back, _) = mpsc::channel(16);
    let mut transport =
        PeerTransport::<TestMsg>::start(1, CLUSTER, BTreeMap::new(), back, opts).unwrap();
    assert_eq!(transport.send(2, msg(1, 0)), Err(SendError::UnknownPeer(2)));

    transport.add_peer(2, l2.local_addr());
    transport.send(2, msg(1, 1)).unwrap();
    assert_eq!(recv(&mut in2).await, msg(1, 1));
    assert_eq!(l2.metrics().open, 1);

    transport.add_peer(2, l2_moved.local_addr());
    transport.send(2, msg(1, 2)).unwrap();
    assert_eq!(recv(&mut in2_moved).await, msg(1, 2));
    eventually("the old connection closes", || {
        if let Ok(m) = in2.try_recv() {
            panic!("message {m:?} went to the old address");
        }
        l2.metrics().open == 0
    })
    .await;

    transport.remove_peer(2);
    assert_eq!(transport.send(2, msg(1, 3)), Err(SendError::UnknownPeer(2)));
    assert!(transport.metrics().is_empty());
}

#[tokio::test]
async fn an_idle_peer_connection_is_closed_and_a_silent_one_at_the_handshake_deadline() {
    let opts = TransportOptions {
        inbound_idle_timeout: Duration::from_millis(300),
        handshake_timeout: Duration::from_millis(200),
        ..fast_opts()
    };
    let (handle, _rx) = start_listener(1, 7, &opts).await;
    let mut silent = TcpStream::connect(handle.local_addr()).await.unwrap();
    let idle = raw_peer(handle.local_addr(), 2, 7).await;
    let mut idle = idle.into_inner();
    assert!(closed_by_remote(&mut silent).await);
    assert!(closed_by_remote(&mut idle).await);
    assert_eq!(handle.metrics().timed_out, 2);
}
