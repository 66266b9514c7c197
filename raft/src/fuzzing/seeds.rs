//! Seed inputs for the fuzz targets, built from valid encodings plus a few mutations of them.
//! `raft/tests/fuzz_corpus.rs` writes them to `fuzz/corpus/<target>/` on request (see
//! `docs/fuzzing.md`); the fuzzer starts from them instead of from nothing.

use crate::core::{ConfChange, Entry, EntryKind, Message, MessageBody, RejectHint};
use crate::kv::{
    AdminRequest, AuthorizedAdmin, ClientRequest, ClientRequestFrame, ClientResponse,
    ClientResponseFrame, Command, KvConfig, KvStateMachine, Op, OpResult, PresentedToken,
};
use crate::net::handshake::Hello;
use crate::storage::atomic_file::encode_value;
use crate::storage::record::encode_record_into;

use super::wal::{
    embedded_frame_torn_write, sample_hard_state, sample_records, sample_snapshot, WalRecord,
};

/// A named seed input.
pub type Seed = (String, Vec<u8>);

fn sample_ops() -> Vec<Op> {
    vec![
        Op::Get { key: "k1".into() },
        Op::Put {
            key: "k1".into(),
            value: "v1".into(),
        },
        Op::Append {
            key: "list".into(),
            value: " 7".into(),
        },
        Op::Cas {
            key: "k1".into(),
            expected: Some("v1".into()),
            new: "v2".into(),
        },
        Op::Cas {
            key: "k2".into(),
            expected: None,
            new: "fresh".into(),
        },
        Op::Delete { key: "k1".into() },
    ]
}

fn sample_requests() -> Vec<ClientRequestFrame> {
    let mut requests: Vec<ClientRequest> = sample_ops()
        .into_iter()
        .enumerate()
        .map(|(i, op)| ClientRequest::Kv {
            client_id: 0xfeed_0000 + i as u64,
            seq: 1 + i as u64,
            op,
        })
        .collect();
    requests.push(ClientRequest::Admin(AdminRequest::AddLearner {
        id: 4,
        peer_addr: "127.0.0.1:7004".into(),
        client_addr: "127.0.0.1:8004".into(),
    }));
    requests.push(ClientRequest::Admin(AdminRequest::Promote { id: 4 }));
    requests.push(ClientRequest::Admin(AdminRequest::Remove { id: 2 }));
    requests.push(ClientRequest::AuthorizedAdmin(AuthorizedAdmin {
        request: AdminRequest::Remove { id: 3 },
        token: Some(PresentedToken(b"an-admin-token-of-the-seeds".to_vec())),
        force: true,
    }));
    requests
        .into_iter()
        .enumerate()
        .map(|(i, request)| ClientRequestFrame {
            request_id: i as u64,
            request,
        })
        .collect()
}

fn sample_responses() -> Vec<ClientResponseFrame> {
    [
        ClientResponse::Ok(OpResult::Value(Some("v".into()))),
        ClientResponse::Ok(OpResult::Value(None)),
        ClientResponse::Ok(OpResult::Written),
        ClientResponse::Ok(OpResult::CasOk),
        ClientResponse::Ok(OpResult::CasMismatch {
            current: Some("x".into()),
        }),
        ClientResponse::Ok(OpResult::Deleted { existed: true }),
        ClientResponse::AdminOk,
        ClientResponse::NotLeader {
            leader_hint: Some(3),
            leader_client_addr: Some("127.0.0.1:8003".into()),
        },
        ClientResponse::SessionExpired,
        ClientResponse::StaleSequence,
        ClientResponse::Busy,
        ClientResponse::Error("disk full".into()),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, response)| ClientResponseFrame {
        request_id: i as u64,
        response,
    })
    .collect()
}

fn sample_kv_snapshot() -> Vec<u8> {
    let mut machine = KvStateMachine::new(KvConfig {
        session_idle_entries: 4,
        ..KvConfig::default()
    });
    for (i, op) in sample_ops().into_iter().enumerate() {
        let index = 1 + i as u64;
        let command = Command {
            client_id: 10 + (i as u64 % 3),
            seq: 1 + i as u64 / 3,
            op,
        };
        machine.apply(index, &command);
    }
    machine.snapshot()
}

fn sample_messages() -> Vec<Message> {
    let command = Command {
        client_id: 7,
        seq: 1,
        op: Op::Put {
            key: "k".into(),
            value: "v".into(),
        },
    };
    let entries = vec![
        Entry {
            term: 2,
            index: 5,
            kind: EntryKind::Noop,
            data: Vec::new(),
        },
        Entry {
            term: 2,
            index: 6,
            kind: EntryKind::Normal,
            data: command.encode(),
        },
        Entry {
            term: 2,
            index: 7,
            kind: EntryKind::ConfChange,
            data: postcard::to_allocvec(&ConfChange::AddLearner(4)).unwrap_or_default(),
        },
    ];
    let mut snapshot = sample_snapshot();
    snapshot.data = sample_kv_snapshot();
    let bodies = vec![
        MessageBody::PreVote {
            last_log_index: 4,
            last_log_term: 1,
        },
        MessageBody::PreVoteResponse { granted: true },
        MessageBody::Vote {
            last_log_index: 4,
            last_log_term: 1,
            leadership_transfer: false,
        },
        MessageBody::VoteResponse { granted: false },
        MessageBody::AppendEntries {
            prev_log_index: 4,
            prev_log_term: 1,
            entries,
            commit: 4,
        },
        MessageBody::AppendEntriesResponse {
            success: false,
            index: 4,
            reject_hint: Some(RejectHint {
                conflict_term: Some(1),
                first_index: 2,
            }),
        },
        MessageBody::Heartbeat {
            commit: 7,
            read_round: 3,
        },
        MessageBody::HeartbeatResponse {
            read_round: 3,
            last_index: 7,
        },
        // A whole snapshot in one chunk (the KV snapshot inside is decoded too).
        MessageBody::InstallSnapshot {
            meta: snapshot.meta(),
            offset: 0,
            data: snapshot.data.clone(),
            done: true,
        },
        MessageBody::InstallSnapshotResponse {
            snapshot_index: 9,
            received: 1 << 20,
            rejected: false,
            index: 5,
        },
        MessageBody::TimeoutNow,
    ];
    bodies
        .into_iter()
        .map(|body| Message {
            from: 1,
            to: 2,
            term: 2,
            body,
        })
        .collect()
}

/// Small deterministic mutations of a valid encoding: cut in half, one byte flipped, one extra byte.
fn mutations(name: &str, bytes: &[u8]) -> Vec<Seed> {
    let mut out = vec![(name.to_string(), bytes.to_vec())];
    if bytes.len() > 1 {
        out.push((format!("{name}-cut"), bytes[..bytes.len() / 2].to_vec()));
        let mut flipped = bytes.to_vec();
        flipped[bytes.len() / 3] ^= 0x41;
        out.push((format!("{name}-flip"), flipped));
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    out.push((format!("{name}-trailing"), longer));
    out
}

fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for payload in payloads {
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out
}

/// Seeds for [`super::wire_decode`].
pub fn wire_decode_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let requests = sample_requests();
    for (i, frame) in requests.iter().enumerate() {
        seeds.extend(mutations(&format!("client-request-{i}"), &frame.encode()));
        if let ClientRequest::Kv { client_id, seq, op } = &frame.request {
            let command = Command {
                client_id: *client_id,
                seq: *seq,
                op: op.clone(),
            };
            seeds.push((format!("command-{i}"), command.encode()));
        }
    }
    for (i, frame) in sample_responses().iter().enumerate() {
        seeds.push((format!("client-response-{i}"), frame.encode()));
    }
    let messages = sample_messages();
    let message_bytes: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| postcard::to_allocvec(m).unwrap_or_default())
        .collect();
    for (message, bytes) in messages.iter().zip(&message_bytes) {
        let name = format!("peer-{}", message.body.kind_name());
        if matches!(
            message.body,
            MessageBody::AppendEntries { .. } | MessageBody::InstallSnapshot { .. }
        ) {
            seeds.extend(mutations(&name, bytes));
        } else {
            seeds.push((name, bytes.clone()));
        }
    }
    seeds.extend(mutations("peer-stream", &framed(&message_bytes[..6])));
    let hello = postcard::to_allocvec(&Hello::new(0xc1u64, 2)).unwrap_or_default();
    seeds.extend(mutations("hello", &hello));
    seeds.extend(mutations("kv-snapshot", &sample_kv_snapshot()));
    let payloads: Vec<Vec<u8>> = requests.iter().take(4).map(|r| r.encode()).collect();
    seeds.extend(mutations("client-stream", &framed(&payloads)));
    seeds.push(("empty".into(), Vec::new()));
    seeds
}

fn zero_tail_of(segment: &[u8]) -> Vec<u8> {
    let mut out = segment.to_vec();
    out.extend_from_slice(&[0; 32]);
    out
}

/// Seeds for [`super::wal_recover`]: postcard records followed by a damage spec (what the
/// structured half of the target reads), real segments, and value files.
pub fn wal_recover_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let records = sample_records();
    let mut concatenated = Vec::new();
    for record in &records {
        concatenated.extend(postcard::to_allocvec(record).unwrap_or_default());
    }
    // Damage specs: [kind % 3, position (u16 LE), mask or zero count].
    let specs: [(&str, [u8; 5]); 4] = [
        ("cut", [0, 17, 0, 0, 0]),
        ("flip", [1, 40, 0, 0x10, 0]),
        ("zero-tail", [2, 0, 0, 12, 0]),
        ("cut-in-header", [0, 3, 0, 0, 0]),
    ];
    for (name, spec) in specs {
        let mut input = concatenated.clone();
        // A byte no WalRecord starts with ends the record list; the spec follows it.
        input.push(0xff);
        input.extend_from_slice(&spec);
        seeds.push((format!("records-then-{name}"), input));
    }
    seeds.push((
        "records-then-cut-through-embedded-frame".into(),
        embedded_frame_torn_write(),
    ));
    let mut segment = Vec::new();
    for record in &records {
        if encode_record_into::<WalRecord>(&mut segment, record, 1 << 20).is_err() {
            break;
        }
    }
    seeds.extend(mutations("segment", &segment));
    seeds.push(("segment-zero-tail".into(), zero_tail_of(&segment)));
    // Inputs ending in b'D' are also opened as a data directory.
    let on_disk = |bytes: &[u8]| {
        let mut input = bytes.to_vec();
        input.push(b'D');
        input
    };
    seeds.push(("segment-on-disk".into(), on_disk(&segment)));
    seeds.push((
        "segment-zero-tail-on-disk".into(),
        on_disk(&zero_tail_of(&segment)),
    ));
    seeds.push((
        "segment-cut-on-disk".into(),
        on_disk(&segment[..segment.len().saturating_sub(3)]),
    ));
    let mut gap = Vec::new();
    for index in [4, 6] {
        let entry = WalRecord::Entry(Entry {
            term: 1,
            index,
            kind: EntryKind::Normal,
            data: Vec::new(),
        });
        let _ = encode_record_into::<WalRecord>(&mut gap, &entry, 1 << 20);
    }
    seeds.push(("segment-with-gap-on-disk".into(), on_disk(&gap)));
    let hard_state = encode_value(&sample_hard_state()).unwrap_or_default();
    seeds.extend(mutations("value-file", &hard_state));
    let snapshot = encode_value(&sample_snapshot()).unwrap_or_default();
    seeds.extend(mutations("snapshot-file", &snapshot));
    seeds.push(("empty".into(), Vec::new()));
    seeds
}
