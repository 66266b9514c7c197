//! Tests of the fault proxy on loopback: every fault state against real TCP connections, each
//! bounded by timeouts so a broken proxy fails instead of hanging.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::direction::Direction;
use super::*;

const FORWARD: LinkId = LinkId { from: 1, to: 2 };
const BACKWARD: LinkId = LinkId { from: 2, to: 1 };
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(250);
/// Upper bound for anything that should happen.
const SOON: Duration = Duration::from_secs(5);

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(SOON, fut).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A server that hands every accepted connection to the test.
struct Server {
    addr: SocketAddr,
    accepted: mpsc::UnboundedReceiver<TcpStream>,
}

async fn server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, accepted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if tx.send(stream).is_err() {
                return;
            }
        }
    });
    Server { addr, accepted }
}

impl Server {
    async fn accept(&mut self) -> TcpStream {
        within("the server to accept", self.accepted.recv())
            .await
            .expect("server stopped")
    }

    async fn accepts_nothing(&mut self) {
        let got = tokio::time::timeout(QUIET, self.accepted.recv()).await;
        assert!(
            got.is_err(),
            "the server accepted a connection it should not see"
        );
    }
}

async fn proxy_to(server: &Server) -> ProxyHandle {
    Proxy::start(vec![LinkSpec::loopback(FORWARD, server.addr)])
        .await
        .unwrap()
}

/// A client connected through the proxy, and the server's end of it.
async fn connected(proxy: &ProxyHandle, server: &mut Server) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(proxy.addr(FORWARD).unwrap())
        .await
        .unwrap();
    let upstream = server.accept().await;
    (client, upstream)
}

async fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    within("bytes to arrive", stream.read_exact(&mut buf))
        .await
        .unwrap();
    buf
}

async fn reads_nothing(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let got = tokio::time::timeout(QUIET, stream.read(&mut buf)).await;
    assert!(got.is_err(), "bytes arrived across a cut link: {got:?}");
}

/// Waits until the stream is closed (EOF or error), failing if data arrives instead.
async fn closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match within("the connection to close", stream.read(&mut buf)).await {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("expected the connection to close, read {n} bytes"),
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + SOON;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn pass_through_carries_both_directions_and_counts_bytes() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    client.write_all(b"ping").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 4).await, b"ping");
    upstream.write_all(b"pong!").await.unwrap();
    assert_eq!(read_exact(&mut client, 5).await, b"pong!");
    let forward = proxy.stats(FORWARD).unwrap();
    assert_eq!(forward.bytes_forwarded, 4);
    assert_eq!(forward.connections_accepted, 1);
    assert_eq!(forward.connections_active, 1);
    assert_eq!(proxy.stats(BACKWARD).unwrap().bytes_forwarded, 5);
}

#[tokio::test]
async fn half_close_is_passed_on_and_the_other_side_keeps_talking() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    client.write_all(b"last words").await.unwrap();
    client.shutdown().await.unwrap();
    let mut all = Vec::new();
    within("EOF", upstream.read_to_end(&mut all)).await.unwrap();
    assert_eq!(all, b"last words");
    upstream.write_all(b"reply").await.unwrap();
    assert_eq!(read_exact(&mut client, 5).await, b"reply");
}

#[tokio::test]
async fn held_blackhole_delivers_nothing_then_everything_after_heal() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    proxy
        .set(FORWARD, LinkState::Blackhole { drop: false })
        .unwrap();
    client.write_all(b"held").await.unwrap();
    reads_nothing(&mut upstream).await;
    assert_eq!(proxy.stats(FORWARD).unwrap().bytes_forwarded, 0);
    proxy.heal_all();
    assert_eq!(read_exact(&mut upstream, 4).await, b"held");
}

#[tokio::test]
async fn dropping_blackhole_discards_bytes_and_closes_the_holed_stream_on_heal() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    proxy
        .set(FORWARD, LinkState::Blackhole { drop: true })
        .unwrap();
    client.write_all(b"lost").await.unwrap();
    reads_nothing(&mut upstream).await;
    eventually("dropped bytes to be counted", || {
        proxy.stats(FORWARD).unwrap().bytes_dropped == 4
    })
    .await;
    proxy.heal_all();
    closed(&mut client).await;
    closed(&mut upstream).await;
    assert_eq!(proxy.stats(FORWARD).unwrap().connections_reset, 1);
}

#[tokio::test]
async fn connection_opened_during_partition_reaches_nobody_until_heal() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    proxy
        .set(FORWARD, LinkState::Blackhole { drop: false })
        .unwrap();
    let mut client = TcpStream::connect(proxy.addr(FORWARD).unwrap())
        .await
        .unwrap();
    client.write_all(b"early").await.unwrap();
    server.accepts_nothing().await;
    proxy.heal_all();
    let mut upstream = server.accept().await;
    assert_eq!(read_exact(&mut upstream, 5).await, b"early");
}

#[tokio::test]
async fn heal_restores_new_connections_after_a_dropping_partition() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    proxy
        .set(FORWARD, LinkState::Blackhole { drop: true })
        .unwrap();
    let mut doomed = TcpStream::connect(proxy.addr(FORWARD).unwrap())
        .await
        .unwrap();
    doomed.write_all(b"into the void").await.unwrap();
    server.accepts_nothing().await;
    proxy.heal_all();
    closed(&mut doomed).await;
    server.accepts_nothing().await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    client.write_all(b"fresh").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 5).await, b"fresh");
}

#[tokio::test]
async fn one_way_partition_cuts_only_its_direction() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;

    proxy
        .set(FORWARD, LinkState::Blackhole { drop: false })
        .unwrap();
    client.write_all(b"a").await.unwrap();
    reads_nothing(&mut upstream).await;
    upstream.write_all(b"b").await.unwrap();
    assert_eq!(read_exact(&mut client, 1).await, b"b");

    proxy.set(FORWARD, LinkState::Pass).unwrap();
    proxy
        .set(BACKWARD, LinkState::Blackhole { drop: false })
        .unwrap();
    assert_eq!(read_exact(&mut upstream, 1).await, b"a");
    upstream.write_all(b"c").await.unwrap();
    reads_nothing(&mut client).await;
    client.write_all(b"d").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 1).await, b"d");
    assert_eq!(
        proxy.state(BACKWARD).unwrap(),
        LinkState::Blackhole { drop: false }
    );
}

#[tokio::test]
async fn delay_adds_at_least_the_fixed_latency() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    let fixed = Duration::from_millis(150);
    let jitter = Duration::from_millis(50);
    proxy
        .set(FORWARD, LinkState::Delay { fixed, jitter })
        .unwrap();
    let start = Instant::now();
    client.write_all(b"slow").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 4).await, b"slow");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= fixed,
        "delivered after {elapsed:?}, before the fixed delay"
    );
    assert!(
        elapsed < fixed + jitter + Duration::from_secs(2),
        "took {elapsed:?}"
    );
    // The reverse direction is not delayed.
    let start = Instant::now();
    upstream.write_all(b"fast").await.unwrap();
    assert_eq!(read_exact(&mut client, 4).await, b"fast");
    assert!(
        start.elapsed() < fixed,
        "undelayed direction took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn jittered_stream_arrives_whole_and_in_order() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    proxy
        .set(
            FORWARD,
            LinkState::Delay {
                fixed: Duration::from_millis(1),
                jitter: Duration::from_millis(3),
            },
        )
        .unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let sent = payload.clone();
    let writer = tokio::spawn(async move {
        for piece in sent.chunks(1000) {
            client.write_all(piece).await.unwrap();
        }
        client
    });
    assert_eq!(read_exact(&mut upstream, payload.len()).await, payload);
    within("the writer", writer).await.unwrap();
}

#[test]
fn jitter_is_seeded_and_bounded() {
    let fixed = Duration::from_millis(10);
    let jitter = Duration::from_millis(5);
    let draws = |seed| {
        let d = Direction::new(FORWARD, seed);
        (0..50)
            .map(|_| d.draw_delay(fixed, jitter))
            .collect::<Vec<_>>()
    };
    let a = draws(7);
    assert_eq!(a, draws(7));
    assert_ne!(a, draws(8));
    assert!(a.iter().all(|d| *d >= fixed && *d <= fixed + jitter));
    assert!(a.iter().any(|d| *d != a[0]), "jitter never varied");
}

#[tokio::test]
async fn reset_closes_connections_and_refuses_new_ones_until_changed() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    proxy.set(FORWARD, LinkState::Reset).unwrap();
    closed(&mut client).await;
    closed(&mut upstream).await;
    eventually("the reset to be counted", || {
        proxy.stats(FORWARD).unwrap().connections_reset == 1
    })
    .await;

    let mut refused = TcpStream::connect(proxy.addr(FORWARD).unwrap())
        .await
        .unwrap();
    closed(&mut refused).await;
    server.accepts_nothing().await;

    proxy.set(FORWARD, LinkState::Pass).unwrap();
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    client.write_all(b"again").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 5).await, b"again");
}

#[tokio::test]
async fn reverse_reset_closes_connections_of_the_forward_listener() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, _upstream) = connected(&proxy, &mut server).await;
    proxy.set(BACKWARD, LinkState::Reset).unwrap();
    closed(&mut client).await;
}

#[tokio::test]
async fn one_shot_reset_closes_current_connections_and_keeps_the_state() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, _upstream) = connected(&proxy, &mut server).await;
    assert_eq!(proxy.reset_connections(FORWARD).unwrap(), 1);
    closed(&mut client).await;
    assert_eq!(proxy.state(FORWARD).unwrap(), LinkState::Pass);
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    client.write_all(b"ok").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 2).await, b"ok");
}

#[tokio::test]
async fn dropping_the_handle_stops_listeners_and_connections() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let addr = proxy.addr(FORWARD).unwrap();
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    drop(proxy);
    closed(&mut client).await;
    closed(&mut upstream).await;
    let deadline = Instant::now() + SOON;
    loop {
        match TcpStream::connect(addr).await {
            Err(_) => break,
            Ok(_) => {
                assert!(
                    Instant::now() < deadline,
                    "listener still accepting after drop"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[tokio::test]
async fn shutdown_waits_for_every_task() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, _upstream) = connected(&proxy, &mut server).await;
    within("shutdown", proxy.shutdown()).await;
    closed(&mut client).await;
}

#[tokio::test]
async fn unknown_and_duplicate_links_are_typed_errors() {
    let server = server().await;
    let proxy = proxy_to(&server).await;
    let stranger = LinkId::new(3, 4);
    assert!(matches!(
        proxy.set(stranger, LinkState::Pass),
        Err(ProxyError::UnknownLink(l)) if l == stranger
    ));
    assert!(proxy.stats(stranger).is_err());
    assert_eq!(proxy.links(), vec![FORWARD]);
    assert!(proxy.addr(BACKWARD).is_none());
    let twice = vec![
        LinkSpec::loopback(FORWARD, server.addr),
        LinkSpec::loopback(FORWARD, server.addr),
    ];
    assert!(matches!(
        Proxy::start(twice).await,
        Err(ProxyError::DuplicateLink(l)) if l == FORWARD
    ));
}

#[tokio::test]
async fn unreachable_target_closes_the_client() {
    // Bind then drop a listener to get a port nobody listens on.
    let dead = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = Proxy::start(vec![LinkSpec::loopback(FORWARD, dead)])
        .await
        .unwrap();
    let mut client = TcpStream::connect(proxy.addr(FORWARD).unwrap())
        .await
        .unwrap();
    closed(&mut client).await;
}

#[tokio::test]
async fn new_target_is_used_by_new_connections() {
    let mut old = server().await;
    let mut new = server().await;
    let proxy = proxy_to(&old).await;
    let (mut before, mut old_end) = connected(&proxy, &mut old).await;
    proxy.set_target(FORWARD, new.addr).unwrap();
    assert_eq!(proxy.target(FORWARD), Some(new.addr));
    assert!(proxy.set_target(BACKWARD, new.addr).is_err());
    let (mut after, mut new_end) = connected(&proxy, &mut new).await;
    after.write_all(b"hi").await.unwrap();
    assert_eq!(read_exact(&mut new_end, 2).await, b"hi");
    before.write_all(b"still").await.unwrap();
    assert_eq!(read_exact(&mut old_end, 5).await, b"still");
    old.accepts_nothing().await;
}

#[tokio::test]
async fn stale_strands_a_stalled_connection_and_delivers_its_bytes_after_the_new_one() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut old_client, mut old_upstream) = connected(&proxy, &mut server).await;
    let stale = LinkState::Stale {
        pass: Duration::from_millis(100),
        stall: Duration::from_millis(300),
        long_stall: Duration::from_millis(600),
        release: Duration::from_millis(800),
    };
    proxy.set(FORWARD, stale).unwrap();
    old_client.write_all(b"early").await.unwrap();
    assert_eq!(read_exact(&mut old_upstream, 5).await, b"early");
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Stalling: the proxy takes the bytes (the write succeeds) but delivers nothing.
    old_client.write_all(b"old batch").await.unwrap();
    reads_nothing(&mut old_upstream).await;
    // Stranded: the sender's side ends, so it dials again.
    closed(&mut old_client).await;
    let (mut new_client, mut new_upstream) = connected(&proxy, &mut server).await;
    new_client.write_all(b"new batch").await.unwrap();
    assert_eq!(read_exact(&mut new_upstream, 9).await, b"new batch");
    let mut probe = [0u8; 16];
    assert!(
        matches!(old_upstream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the held bytes arrived before the new connection's"
    );
    // Released late, in order, on the old connection, which then closes.
    let mut late = Vec::new();
    within("the stale release", old_upstream.read_to_end(&mut late))
        .await
        .unwrap();
    assert_eq!(late, b"old batch");
    let stats = proxy.stats(FORWARD).unwrap();
    // The new connection runs its own cycle, so it may have been stranded by now too.
    assert!(stats.connections_stranded >= 1);
    assert_eq!(stats.bytes_stale, 9);
    drop((new_client, new_upstream));
    // Leaving the state lets connections pass for good.
    proxy.set(FORWARD, LinkState::Pass).unwrap();
    let stranded = proxy.stats(FORWARD).unwrap().connections_stranded;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.write_all(b"later").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 5).await, b"later");
    assert_eq!(proxy.stats(FORWARD).unwrap().connections_stranded, stranded);
}

#[tokio::test]
async fn stale_on_the_reverse_direction_never_strands_the_forward_listener() {
    let mut server = server().await;
    let proxy = proxy_to(&server).await;
    let (mut client, mut upstream) = connected(&proxy, &mut server).await;
    let stale = LinkState::Stale {
        pass: Duration::from_millis(20),
        stall: Duration::from_millis(20),
        long_stall: Duration::from_millis(40),
        release: Duration::from_millis(20),
    };
    proxy.set(BACKWARD, stale).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    upstream.write_all(b"reply").await.unwrap();
    assert_eq!(read_exact(&mut client, 5).await, b"reply");
    client.write_all(b"still").await.unwrap();
    assert_eq!(read_exact(&mut upstream, 5).await, b"still");
    assert_eq!(proxy.stats(BACKWARD).unwrap().connections_stranded, 0);
}

/// A request head saying it comes from the node whose listener is `listener`.
fn head_from(listener: SocketAddr) -> Vec<u8> {
    format!("GET /raft/stream/msgapp/1 HTTP/1.1\r\nX-Peerurls: http://{listener}\r\n\r\n")
        .into_bytes()
}

#[tokio::test]
async fn a_destination_listener_puts_each_connection_on_its_senders_link() {
    let mut node3 = server().await;
    let (node1, node2) = (server().await, server().await);
    let proxy = Proxy::start_by_destination(
        ProxyConfig::default(),
        vec![
            DestinationSpec::loopback(1, node1.addr),
            DestinationSpec::loopback(2, node2.addr),
            DestinationSpec::loopback(3, node3.addr),
        ],
    )
    .await
    .unwrap();
    let to3 = proxy.addr(LinkId::new(1, 3)).unwrap();
    assert_eq!(
        proxy.addr(LinkId::new(2, 3)),
        Some(to3),
        "one listener per destination"
    );
    assert_eq!(proxy.links().len(), 6);
    let listener_of = |node| {
        proxy
            .addr(LinkId::new(if node == 1 { 2 } else { 1 }, node))
            .unwrap()
    };

    // Cut 1 -> 3 only: node 2's connection passes, node 1's is held.
    proxy
        .set(LinkId::new(1, 3), LinkState::Blackhole { drop: false })
        .unwrap();
    let mut from2 = TcpStream::connect(to3).await.unwrap();
    from2.write_all(&head_from(listener_of(2))).await.unwrap();
    let mut at3_from2 = node3.accept().await;
    let head = head_from(listener_of(2));
    assert_eq!(read_exact(&mut at3_from2, head.len()).await, head);
    let mut from1 = TcpStream::connect(to3).await.unwrap();
    from1.write_all(&head_from(listener_of(1))).await.unwrap();
    node3.accepts_nothing().await;

    // The reply direction is the reverse link: cutting 3 -> 2 silences node 3's answers to 2.
    proxy
        .set(LinkId::new(3, 2), LinkState::Blackhole { drop: false })
        .unwrap();
    at3_from2.write_all(b"message").await.unwrap();
    reads_nothing(&mut from2).await;
    proxy.heal_all();
    assert_eq!(read_exact(&mut from2, 7).await, b"message");
    // Healed, node 1's held connection goes through, its request head first.
    let mut at3_from1 = node3.accept().await;
    let head = head_from(listener_of(1));
    assert_eq!(read_exact(&mut at3_from1, head.len()).await, head);
    assert!(proxy.stats(LinkId::new(1, 3)).unwrap().connections_accepted >= 1);

    // A request that names no sender is relayed untouched, whatever the links' states.
    for from in [1, 2] {
        proxy.set(LinkId::new(from, 3), LinkState::Reset).unwrap();
    }
    let mut probe = TcpStream::connect(to3).await.unwrap();
    probe
        .write_all(b"GET /raft/probing HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let mut at3_probe = node3.accept().await;
    assert_eq!(
        read_exact(&mut at3_probe, 30).await,
        b"GET /raft/probing HTTP/1.1\r\n\r\n"
    );
}
