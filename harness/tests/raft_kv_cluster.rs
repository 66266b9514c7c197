//! Three real `raft-kv` processes on loopback: election, round trips, leader crash (SIGKILL),
//! restart with catch-up through InstallSnapshot, whole-cluster crash and restart.

mod support;

use std::time::{Duration, Instant};

use support::LocalCluster;

/// The election timeout the local cluster runs with (`RaftKvOptions::local`).
const ELECTION_MS: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_a_leader_and_round_trip_every_operation() {
    let mut cluster = LocalCluster::start(3, 1000, &[]);
    cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    for i in 0..20 {
        client
            .put(&format!("k{i}"), &format!("v{i}"))
            .await
            .unwrap();
    }
    for i in 0..20 {
        assert_eq!(
            client.get(&format!("k{i}")).await.unwrap(),
            Some(format!("v{i}"))
        );
    }
    client.append("k0", "+").await.unwrap();
    assert_eq!(client.get("k0").await.unwrap().as_deref(), Some("v0+"));
    assert!(client.cas("k1", Some("v1"), "w1").await.unwrap());
    assert!(!client.cas("k1", Some("v1"), "x1").await.unwrap());
    assert_eq!(client.get("k1").await.unwrap().as_deref(), Some("w1"));
    assert!(client.delete("k2").await.unwrap());
    assert!(!client.delete("k2").await.unwrap());
    assert_eq!(client.get("k2").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_crash_new_leader_keeps_acknowledged_writes_and_restarted_node_catches_up() {
    let mut cluster = LocalCluster::start(3, 20, &[]);
    let old_leader = cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    for i in 0..50 {
        client
            .put(&format!("k{i}"), &format!("v{i}"))
            .await
            .unwrap();
    }

    cluster.kill(old_leader);
    let killed_at = Instant::now();
    let mut probe = cluster.client();
    probe.put("after-crash", "1").await.unwrap();
    let recovery = killed_at.elapsed();
    eprintln!("a new leader served {recovery:?} after the leader was SIGKILLed");
    let bound = Duration::from_millis(2 * ELECTION_MS) + Duration::from_secs(2);
    assert!(
        recovery < bound,
        "new leader served after {recovery:?} (bound {bound:?})"
    );
    for i in 0..50 {
        assert_eq!(
            client.get(&format!("k{i}")).await.unwrap(),
            Some(format!("v{i}")),
            "acknowledged write k{i} is missing after the leader crash"
        );
    }

    // While the old leader is down, the others move far past the snapshot threshold, so its
    // log can only be repaired with InstallSnapshot.
    for i in 50..150 {
        client
            .put(&format!("k{i}"), &format!("v{i}"))
            .await
            .unwrap();
    }
    cluster.restart(old_leader);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster.stderr(old_leader).contains("installed snapshot") {
        assert!(
            Instant::now() < deadline,
            "restarted node never installed a snapshot:\n{}",
            cluster.stderr(old_leader)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Now stop another node: the restarted one must be part of every quorum.
    let current = cluster.wait_for_leader(Duration::from_secs(5)).await;
    let other = (1..=3)
        .find(|id| *id != current && *id != old_leader)
        .unwrap();
    cluster.kill(other);
    client.put("with-restarted-node", "yes").await.unwrap();
    for i in (0..150).step_by(7) {
        assert_eq!(
            client.get(&format!("k{i}")).await.unwrap(),
            Some(format!("v{i}"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_cluster_killed_and_restarted_keeps_its_data() {
    let mut cluster = LocalCluster::start(3, 25, &[]);
    cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    for i in 0..60 {
        client.append("log", &format!("{i},")).await.unwrap();
    }
    let expected: String = (0..60).map(|i| format!("{i},")).collect();
    for id in 1..=3 {
        cluster.kill(id);
    }
    for id in 1..=3 {
        cluster.restart(id);
    }
    cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    assert_eq!(client.get("log").await.unwrap(), Some(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_node_cleanly_and_it_restarts() {
    let mut cluster = LocalCluster::start(3, 1000, &[]);
    cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    client.put("a", "1").await.unwrap();
    let status = cluster.terminate(2);
    assert!(status.success(), "SIGTERM exit status {status}");
    assert!(cluster.stderr(2).contains("node stopped"));
    client.put("b", "2").await.unwrap();
    cluster.restart(2);
    assert_eq!(client.get("a").await.unwrap().as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_before_sync_bug_loses_acknowledged_writes_when_the_cluster_is_killed() {
    let args = ["--unsafe-bug", "ack-before-sync", "--lazy-sync-ms", "5000"];
    let mut cluster = LocalCluster::start(3, 1000, &args);
    cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    for i in 0..20 {
        client.put(&format!("k{i}"), "acknowledged").await.unwrap();
    }
    for id in 1..=3 {
        cluster.kill(id);
    }
    for id in 1..=3 {
        cluster.restart(id);
    }
    cluster.wait_for_leader(Duration::from_secs(5)).await;
    let mut client = cluster.client();
    let mut missing = 0;
    for i in 0..20 {
        if client.get(&format!("k{i}")).await.unwrap().is_none() {
            missing += 1;
        }
    }
    assert!(
        missing > 0,
        "the planted bug should have lost acknowledged writes"
    );
}
