//! Bad input against real `raft-kv` processes: a corrupted WAL makes a node refuse to start
//! (naming file and offset, non-zero exit); garbage frames and oversized lengths on the peer and
//! client ports close that connection while the node keeps serving.

mod support;

use std::{io::Read, io::Write, net::TcpStream, time::Duration};

use support::LocalCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_wal_refuses_to_start_naming_file_and_offset() {
    let mut cluster = LocalCluster::start(3, 100_000, &[]);
    cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    for i in 0..100 {
        client.put(&format!("k{i}"), "some value").await.unwrap();
    }
    cluster.kill(3);
    let wal_dir = cluster.data_dir(3).join("wal");
    let segment = std::fs::read_dir(&wal_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .expect("a WAL segment");
    let mut bytes = std::fs::read(&segment).unwrap();
    assert!(bytes.len() > 2000, "segment too small: {}", bytes.len());
    let middle = bytes.len() / 3;
    bytes[middle] ^= 0x5a;
    std::fs::write(&segment, &bytes).unwrap();

    let refusal = cluster.start_expecting_failure(3);
    assert!(
        matches!(&refusal, harness::db::DbError::NotReady { detail, .. } if detail.contains("exited")),
        "node with a corrupt WAL: {}",
        refusal.describe()
    );
    let stderr = cluster.stderr(3);
    let name = segment.file_name().unwrap().to_string_lossy().to_string();
    assert!(stderr.contains("corrupt WAL segment"), "{stderr}");
    assert!(
        stderr.contains(&name),
        "error does not name {name}: {stderr}"
    );
    assert!(
        stderr.contains("offset"),
        "error does not name the offset: {stderr}"
    );
    // The other two still serve.
    client.put("still", "serving").await.unwrap();
}

/// Writes `bytes` to `addr` and expects the node to close the connection.
fn expect_closed_after(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue, // e.g. the peer's hello
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("connection to {addr} not closed after bad input: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_frames_close_the_connection_and_the_node_keeps_serving() {
    let mut cluster = LocalCluster::start(3, 1000, &[]);
    let leader = cluster.wait_for_leader(Duration::from_secs(5)).await;
    let garbage: &[u8] = &[0, 0, 0, 6, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa];
    let oversized: &[u8] = &[0xff, 0xff, 0xff, 0xf0, 1, 2, 3];
    for id in 1..=3 {
        expect_closed_after(cluster.client_addr(id), garbage);
        expect_closed_after(cluster.client_addr(id), oversized);
        expect_closed_after(cluster.peer_addr(id), garbage);
        expect_closed_after(cluster.peer_addr(id), oversized);
    }
    let mut client = cluster.client();
    client.put("after", "garbage").await.unwrap();
    assert_eq!(
        client.get("after").await.unwrap().as_deref(),
        Some("garbage")
    );
    assert_eq!(
        cluster.leader().await,
        Some(leader),
        "leadership should not change"
    );
}
