//! The client library's error contract against fake client ports: refusals and unreachable
//! nodes give a definite failure; a write that reached a node and got no answer is indefinite;
//! a failed read is always definite; retries reuse the same sequence number.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use raft::client::{Client, ClientConfig, ClientError};
use raft::kv::{ClientRequest, ClientRequestFrame, ClientResponse, ClientResponseFrame, OpResult};
use raft::net::{serve_framed, ListenerHandle, ServeOptions};
use tokio::net::TcpListener;

/// A client port that answers every request with `answer(attempt number, request)`, or never
/// answers when it returns `None`. Records every request it saw.
async fn fake_node<F>(answer: F) -> (ListenerHandle, SocketAddr, Arc<Mutex<Vec<ClientRequest>>>)
where
    F: Fn(usize, &ClientRequest) -> Option<ClientResponse> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = Arc::new(answer);
    let handle = serve_framed(
        listener,
        move |frame: ClientRequestFrame| {
            let n = {
                let mut log = log.lock().unwrap();
                log.push(frame.request.clone());
                log.len()
            };
            let response = answer(n, &frame.request);
            async move {
                let response = match response {
                    Some(r) => r,
                    None => std::future::pending().await,
                };
                ClientResponseFrame {
                    request_id: frame.request_id,
                    response,
                }
            }
        },
        ServeOptions::default(),
    )
    .unwrap();
    (handle, addr, seen)
}

fn client(addrs: Vec<SocketAddr>) -> Client {
    let mut cfg = ClientConfig::new(addrs);
    cfg.op_timeout = Duration::from_millis(600);
    cfg.attempt_timeout = Duration::from_millis(150);
    cfg.retry_pause = Duration::from_millis(10);
    Client::new(cfg)
}

fn seqs(seen: &Mutex<Vec<ClientRequest>>) -> Vec<u64> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            ClientRequest::Kv { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn unreachable_cluster_is_a_definite_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut c = client(vec![port]);
    let err = c.put("k", "v").await.unwrap_err();
    assert!(matches!(err, ClientError::Definite { .. }), "{err}");
}

#[tokio::test]
async fn refusals_everywhere_are_a_definite_failure() {
    let (_h, addr, seen) = fake_node(|_, _| {
        Some(ClientResponse::NotLeader {
            leader_hint: None,
            leader_client_addr: None,
        })
    })
    .await;
    let mut c = client(vec![addr]);
    let err = c.put("k", "v").await.unwrap_err();
    assert!(err.is_definite(), "{err}");
    assert!(seqs(&seen).len() > 1, "the client should have retried");
}

#[tokio::test]
async fn a_write_without_an_answer_is_indefinite_and_a_read_is_not() {
    let (_h, addr, _) = fake_node(|_, _| None).await;
    let mut c = client(vec![addr]);
    let err = c.put("k", "v").await.unwrap_err();
    assert!(matches!(err, ClientError::Indefinite { .. }), "{err}");
    let err = c.get("k").await.unwrap_err();
    assert!(err.is_definite(), "{err}");
}

#[tokio::test]
async fn retries_follow_the_hint_and_keep_the_same_sequence() {
    // The "leader" answers only its third request; until then it times out.
    let (_l, leader, leader_seen) =
        fake_node(|n, _| (n >= 3).then_some(ClientResponse::Ok(OpResult::Written))).await;
    let hint = leader.to_string();
    let (_f, follower, _) = fake_node(move |_, _| {
        Some(ClientResponse::NotLeader {
            leader_hint: Some(1),
            leader_client_addr: Some(hint.clone()),
        })
    })
    .await;
    let mut cfg = ClientConfig::new(vec![follower]);
    cfg.attempt_timeout = Duration::from_millis(150);
    let mut c = Client::new(cfg);
    c.put("k", "v").await.unwrap();
    c.put("k", "w").await.unwrap();
    let seen = seqs(&leader_seen);
    assert!(seen.len() >= 4, "{seen:?}");
    let (first, second) = seen.split_at(seen.len() - 1);
    assert!(
        first.iter().all(|s| *s == 1),
        "retries changed the sequence: {seen:?}"
    );
    assert_eq!(second, &[2]);
}

#[tokio::test]
async fn an_error_answer_then_timeouts_is_indefinite() {
    let (_h, addr, _) =
        fake_node(|n, _| (n == 1).then(|| ClientResponse::Error("outcome unknown".into()))).await;
    let mut c = client(vec![addr]);
    let err = c.append("k", "v").await.unwrap_err();
    assert!(!err.is_definite(), "{err}");
}
