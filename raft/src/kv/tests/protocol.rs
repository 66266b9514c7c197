//! Client protocol frames: round trips of every variant, strict decoding, reply mapping.

use super::*;
use crate::kv::{
    AdminRequest, ClientRequest, ClientRequestFrame, ClientResponse, ClientResponseFrame, KvError,
    OpResult, Reply,
};

fn all_requests() -> Vec<ClientRequest> {
    vec![
        ClientRequest::Kv {
            client_id: 1,
            seq: 2,
            op: put("k", "v"),
        },
        ClientRequest::Kv {
            client_id: 1,
            seq: 3,
            op: get("k"),
        },
        ClientRequest::Admin(AdminRequest::AddLearner {
            id: 4,
            peer_addr: "127.0.0.1:7004".into(),
            client_addr: "127.0.0.1:8004".into(),
        }),
        ClientRequest::Admin(AdminRequest::Promote { id: 4 }),
        ClientRequest::Admin(AdminRequest::Remove { id: 1 }),
        ClientRequest::Admin(AdminRequest::TransferLeadership { to: 2 }),
    ]
}

fn all_responses() -> Vec<ClientResponse> {
    vec![
        ClientResponse::Ok(OpResult::Value(None)),
        ClientResponse::Ok(OpResult::CasMismatch {
            current: Some("x".into()),
        }),
        ClientResponse::AdminOk,
        ClientResponse::NotLeader {
            leader_hint: Some(2),
            leader_client_addr: Some("127.0.0.1:8002".into()),
        },
        ClientResponse::NotLeader {
            leader_hint: None,
            leader_client_addr: None,
        },
        ClientResponse::SessionExpired,
        ClientResponse::StaleSequence,
        ClientResponse::Busy,
        ClientResponse::Error("disk full".into()),
    ]
}

#[test]
fn request_frames_round_trip_with_their_ids() {
    for (i, request) in all_requests().into_iter().enumerate() {
        let frame = ClientRequestFrame {
            request_id: 1000 + i as u64,
            request,
        };
        assert_eq!(ClientRequestFrame::decode(&frame.encode()).unwrap(), frame);
    }
}

#[test]
fn response_frames_round_trip_with_their_ids() {
    for (i, response) in all_responses().into_iter().enumerate() {
        let frame = ClientResponseFrame {
            request_id: i as u64,
            response,
        };
        assert_eq!(ClientResponseFrame::decode(&frame.encode()).unwrap(), frame);
    }
}

#[test]
fn garbage_and_trailing_bytes_give_typed_errors() {
    let frame = ClientRequestFrame {
        request_id: 5,
        request: all_requests().remove(0),
    };
    let mut bytes = frame.encode();
    bytes.push(0);
    let err = ClientRequestFrame::decode(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            KvError::Decode {
                what: "ClientRequestFrame",
                ..
            }
        ),
        "{err}"
    );
    assert!(ClientResponseFrame::decode(&[0x01, 0xff]).is_err());
    assert!(ClientResponseFrame::decode(&[]).is_err());
}

#[test]
fn replies_map_to_responses() {
    assert_eq!(
        ClientResponse::from(Reply::Ok(OpResult::Written)),
        ClientResponse::Ok(OpResult::Written)
    );
    assert_eq!(
        ClientResponse::from(Reply::SessionExpired),
        ClientResponse::SessionExpired
    );
    assert_eq!(
        ClientResponse::from(Reply::StaleSequence),
        ClientResponse::StaleSequence
    );
}
