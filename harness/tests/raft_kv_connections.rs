//! Real `raft-kv` processes under connection abuse (issue 16): idle and half-sent connections
//! beyond the client port's global limit do not lock clients out, half-sent frames announcing
//! 1 MiB do not grow a node's memory, and a flood of garbage connections writes a few WARN lines a
//! second, not one per connection.
//!
//! Every node sees loopback clients; the attacks come from other loopback addresses
//! (127.0.0.2, ...: the socket is bound before connecting) so that per-source limits apply to
//! them as they would to remote hosts, and some from 127.0.0.1 too, the test client's own source.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use harness::db::Db;
use support::LocalCluster;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

/// A connection to `addr` from the loopback address 127.0.0.`last`.
async fn connect_from(last: u8, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::from([127, 0, 0, last]), 0))
        .expect("bind to a loopback address");
    socket.connect(addr).await.expect("connect")
}

/// Sends a frame header announcing 1 MiB, then 8 bytes of it, then nothing.
async fn send_half_a_frame(stream: &mut TcpStream) {
    let mut bytes = (1u32 << 20).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0; 8]);
    stream.write_all(&bytes).await.expect("write");
}

/// Whether the remote end has not closed `stream` (no EOF or error waiting to be read).
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// A field of /proc/PID/status, in KiB (`VmRSS`, `VmData`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_beyond_the_global_limit_leave_puts_working() {
    let mut cluster = LocalCluster::start(3, 1000, &[]);
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let target = cluster.client_addr(leader);
    cluster
        .client()
        .put("before", "1")
        .await
        .expect("a put before the attack");

    // 1,100 from five other addresses (220 each, under the default 256 per source), every other
    // one half-sent, plus 300 idle from the client's own address: 1,400 > the global 1,024.
    let mut attack = Vec::new();
    for i in 0..1100u32 {
        let mut stream = connect_from(2 + (i / 220) as u8, target).await;
        if i % 2 == 1 {
            send_half_a_frame(&mut stream).await;
        }
        attack.push(stream);
    }
    for _ in 0..300 {
        attack.push(connect_from(1, target).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A new client: its connections are made now, while the port is full.
    let mut client = cluster.client();
    let started = Instant::now();
    for i in 0..20 {
        client
            .put(&format!("k{i}"), &format!("v{i}"))
            .await
            .unwrap_or_else(|e| panic!("put k{i} with 1,400 abusive connections open: {e}"));
    }
    let took = started.elapsed();
    eprintln!(
        "20 puts through the leader took {took:?} with 1,400 idle and half-sent connections open"
    );
    assert!(took < Duration::from_secs(3), "20 puts took {took:?}");
    for i in [0, 19] {
        assert_eq!(
            client.get(&format!("k{i}")).await.expect("get"),
            Some(format!("v{i}"))
        );
    }
    // The node held the attack at its limits instead of closing everything at once.
    let open = attack.iter().filter(|s| still_open(s)).count();
    assert!(
        open >= 500,
        "only {open} of the abusive connections are still held"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_frames_do_not_grow_a_nodes_memory() {
    let mut cluster = LocalCluster::start(1, 1000, &[]);
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    let target = cluster.client_addr(1);
    let pid = cluster.db.pid(1).expect("node 1 runs");
    let mut client = cluster.client();
    client.put("warm", "up").await.expect("a put");
    let data_before = status_kib(pid, "VmData");
    let rss_before = status_kib(pid, "VmRSS");

    let mut half_sent = Vec::new();
    for i in 0..300u32 {
        let mut stream = connect_from(2 + (i % 2) as u8, target).await;
        send_half_a_frame(&mut stream).await;
        half_sent.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let held = half_sent.iter().filter(|s| still_open(s)).count();
    let data_after = status_kib(pid, "VmData");
    let rss_after = status_kib(pid, "VmRSS");
    eprintln!(
        "300 half-sent 1 MiB frames ({held} held): VmData {data_before} -> {data_after} KiB, \
         VmRSS {rss_before} -> {rss_after} KiB"
    );
    assert!(held >= 290, "only {held} of 300 connections were held");
    // Each would pin 1 MiB if the announced length were reserved: 300 MiB. Allow 64 MiB.
    let bound = 64 * 1024;
    assert!(
        data_after.saturating_sub(data_before) < bound,
        "VmData grew {data_before} -> {data_after} KiB"
    );
    assert!(
        rss_after.saturating_sub(rss_before) < bound,
        "VmRSS grew {rss_before} -> {rss_after} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_flood_writes_a_few_warning_lines_a_second() {
    let mut cluster = LocalCluster::start(1, 1000, &[]);
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    let ports = [cluster.client_addr(1), cluster.peer_addr(1)];
    let lines_before = cluster.stderr(1).lines().count();

    // Frames that announce 5 bytes of garbage: each is a bad request or a malformed hello.
    let garbage = b"\x00\x00\x00\x05garbage!".repeat(4);
    let started = Instant::now();
    let mut connections = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        for addr in ports {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let _ = stream.write_all(&garbage).await;
            connections += 1;
        }
    }
    // One more of each after a quiet second reports what the window before it suppressed.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for addr in ports {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let _ = stream.write_all(&garbage).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seconds = started.elapsed().as_secs() + 1;

    let log = cluster.stderr(1);
    let new_lines: Vec<&str> = log.lines().skip(lines_before).collect();
    let warnings: Vec<&str> = new_lines
        .iter()
        .copied()
        .filter(|l| l.contains(" WARN "))
        .collect();
    eprintln!(
        "{connections} garbage connections in 3 s: {} new stderr lines, {} WARN",
        new_lines.len(),
        warnings.len()
    );
    // At most a line and its "suppressed" note per kind per second; allow four kinds.
    let bound = 4 * 2 * seconds as usize;
    assert!(
        connections as usize > 10 * bound,
        "the flood was too small to tell ({connections} connections)"
    );
    assert!(
        warnings.len() <= bound,
        "{} WARN lines for {connections} bad connections:\n{}",
        warnings.len(),
        warnings.join("\n")
    );
    assert!(
        warnings.iter().any(|l| l.contains("suppressed")),
        "no line counts what was suppressed:\n{}",
        warnings.join("\n")
    );
}
