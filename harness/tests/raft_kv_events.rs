//! Three real `raft-kv` processes writing their event streams (`--events`, as `gauntlet test`
//! runs them): a follower killed with SIGKILL and restarted behind a snapshot, then the Raft
//! check over the streams passes, and the streams say what happened (starts with what was
//! recovered, a leader, applied digests that agree, snapshots taken, a graceful stop). A cut last line, as a
//! killed node leaves, is tolerated.

mod support;

use std::io::Write;
use std::time::Duration;

use harness::raft_check::{check_streams, load_streams};
use raft::events::NodeEvent;
use support::LocalCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_of_a_cluster_with_a_killed_follower_pass_the_raft_check() {
    let mut cluster = LocalCluster::start(3, 20, &[]);
    let leader = cluster.wait_for_leader(Duration::from_secs(5)).await;
    let follower = if leader == 1 { 2 } else { 1 };
    let mut client = cluster.client();
    for i in 0..40 {
        client.put(&format!("k{i}"), "a").await.unwrap();
    }
    cluster.kill(follower);
    for i in 0..100 {
        client.put(&format!("k{i}"), "b").await.unwrap();
    }
    cluster.restart(follower);
    for i in 0..40 {
        client.put(&format!("k{i}"), "c").await.unwrap();
    }
    // Let the restarted follower catch up, then stop everyone gracefully.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for node in 1..=3 {
        cluster.terminate(node);
    }

    let streams = load_streams(cluster.dir.path(), &[1, 2, 3]).unwrap();
    assert_eq!(streams.len(), 3);
    let report = check_streams(&streams, None);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let starts: Vec<usize> = report.nodes.iter().map(|n| n.starts).collect();
    let expected: Vec<usize> = (1..=3).map(|n| if n == follower { 2 } else { 1 }).collect();
    assert_eq!(starts, expected);

    let events = |node: u64| {
        streams
            .iter()
            .find(|s| s.node == node)
            .unwrap()
            .stream
            .records
            .iter()
            .map(|r| r.event.clone())
            .collect::<Vec<_>>()
    };
    let leader_events = events(leader);
    assert!(leader_events
        .iter()
        .any(|e| matches!(e, NodeEvent::Role { role, leader: Some(l), .. } if *l == leader && role == &raft::events::RoleName::Leader)));
    assert!(leader_events
        .iter()
        .any(|e| matches!(e, NodeEvent::SnapshotTaken { .. })));
    assert_eq!(leader_events.last(), Some(&NodeEvent::Stopped));
    // The second start says what the follower recovered: a snapshot (taken every 20 entries)
    // and the log after it, at least the 40 entries it had when it was killed.
    let restarted = events(follower);
    let recovered = restarted
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Started {
                term,
                snapshot_index,
                last_index,
                ..
            } => Some((*term, *snapshot_index, *last_index)),
            _ => None,
        })
        .nth(1)
        .expect("a second start");
    assert!(
        recovered.0 >= 1 && recovered.1 >= 20 && recovered.2 >= 40,
        "{restarted:?}"
    );
    // Every node applied index 128 (a checkpoint) with one digest.
    let digests: Vec<_> = (1..=3)
        .map(|node| {
            events(node).into_iter().find_map(|e| match e {
                NodeEvent::Applied { index: 128, digest } => Some(digest),
                _ => None,
            })
        })
        .collect();
    let leader_digest = digests[leader as usize - 1].expect("the leader applied 128");
    assert!(digests.iter().flatten().count() >= 2, "{digests:?}");
    for digest in digests.iter().flatten() {
        assert_eq!(*digest, leader_digest);
    }

    // A node killed mid-line leaves a cut last line: skipped, not an error.
    let path = cluster
        .dir
        .path()
        .join(harness::raft_check::stream_file(leader));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(br#"{"time_ns":1,"node":1,"ev"#).unwrap();
    drop(file);
    let streams = load_streams(cluster.dir.path(), &[1, 2, 3]).unwrap();
    let report = check_streams(&streams, None);
    assert!(report.violations.is_empty());
    assert!(report
        .nodes
        .iter()
        .any(|n| n.node == leader && n.truncated_last_line));
}
