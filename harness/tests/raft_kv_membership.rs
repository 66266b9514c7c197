//! Membership administration through the client port, with real processes: a fourth node that
//! is not in the initial configuration is added as a learner, promoted, and then needed for the
//! quorum after an original voter is removed and another one is killed.

mod support;

use std::time::Duration;

use raft::client::ClientError;
use raft::kv::AdminRequest;
use support::LocalCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_joins_as_learner_is_promoted_and_carries_the_quorum() {
    let mut cluster = LocalCluster::start(4, 1000, &["--voters", "1,2,3"]);
    let leader = cluster.wait_for_leader(Duration::from_secs(5)).await;
    assert_ne!(leader, 4, "node 4 is not a voter and must not lead");
    let mut client = cluster.client();
    for i in 0..10 {
        client.put(&format!("k{i}"), "v").await.unwrap();
    }
    client
        .admin(AdminRequest::AddLearner {
            id: 4,
            peer_addr: cluster.peer_addr(4).to_string(),
            client_addr: cluster.client_addr(4).to_string(),
        })
        .await
        .unwrap();
    // Promoting a voter is refused as invalid, and that is a definite failure.
    let err = client
        .admin(AdminRequest::Promote { id: leader })
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Rejected { .. }), "{err}");
    // The leader refuses to promote a learner it does not yet see caught up (a definite
    // refusal that says how far it is); asked again, it promotes it once it is.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.admin(AdminRequest::Promote { id: 4 }).await {
            Ok(_) => break,
            Err(ClientError::Rejected { reason })
                if reason.contains("has not caught up") && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("promote 4: {err}"),
        }
    }

    let followers: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    client
        .admin(AdminRequest::Remove { id: followers[0] })
        .await
        .unwrap();
    cluster.kill(followers[0]);
    cluster.kill(followers[1]);
    // Voters are now {leader, followers[1], 4}; with followers[1] down, node 4 is the quorum.
    client.put("after-membership", "ok").await.unwrap();
    for i in 0..10 {
        assert_eq!(
            client.get(&format!("k{i}")).await.unwrap().as_deref(),
            Some("v")
        );
    }
}
