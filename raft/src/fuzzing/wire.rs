//! The `wire_decode` fuzz target: everything a node decodes from bytes that came over a socket
//! (peer messages, client frames, the handshake) or out of a log entry or snapshot.

use std::collections::VecDeque;

use crate::core::{ConfChange, EntryKind, Message, MessageBody};
use crate::kv::{
    snapshot, ClientRequestFrame, ClientResponseFrame, Command, KvConfig, KvStateMachine,
};
use crate::net::handshake::{check_hello, Hello, WIRE_FORMAT_VERSION, WIRE_MAGIC};
use crate::net::{decode_frame_payload, decode_stream};

use super::round_trip::assert_round_trip;

/// Frame limit used when decoding `data` as a stream: small, so that the fuzzer reaches the
/// "announced frame too large" path with short inputs.
const STREAM_MAX_FRAME_LEN: usize = 4096;

/// Feeds `data` to every wire decoder and asserts their properties. Panics on a broken property.
pub fn wire_decode(data: &[u8]) {
    log_entry_command(data);
    peer_message(data);
    client_frames(data);
    handshake(data);
    kv_snapshot(data);
    client_stream(data);
    peer_stream(data);
}

/// A committed entry's bytes: decode, round trip, and apply to a fresh state machine.
fn log_entry_command(data: &[u8]) {
    let mut machine = KvStateMachine::new(KvConfig::default());
    let applied = machine.apply_entry(1, data);
    match Command::decode(data) {
        Ok(command) => {
            assert_round_trip("Command", data, &command, Command::encode, Command::decode);
            assert!(
                applied.is_ok(),
                "apply_entry refused a command that decodes: {applied:?}"
            );
        }
        Err(_) => assert!(
            data.is_empty() == applied.is_ok(),
            "apply_entry and Command::decode disagree on {data:?}: {applied:?}"
        ),
    }
    assert_eq!(
        machine.applied_index(),
        1,
        "apply_entry must advance the applied index"
    );
}

/// A Raft peer message, and the payloads nested in it (commands in entries, membership changes,
/// the KV snapshot of an InstallSnapshot sent in one chunk), decoded as the node would.
fn peer_message(data: &[u8]) {
    let Ok(message) = decode_frame_payload::<Message>(data) else {
        return;
    };
    assert_round_trip(
        "Message",
        data,
        &message,
        |m| postcard::to_allocvec(m).unwrap_or_default(),
        decode_frame_payload::<Message>,
    );
    match &message.body {
        MessageBody::AppendEntries { entries, .. } => {
            for entry in entries {
                match entry.kind {
                    EntryKind::Normal => log_entry_command(&entry.data),
                    EntryKind::ConfChange => {
                        // The core decodes with `from_bytes` (trailing bytes allowed).
                        if let Ok(change) = postcard::from_bytes::<ConfChange>(&entry.data) {
                            let canonical = postcard::to_allocvec(&change).unwrap_or_default();
                            assert_eq!(
                                postcard::from_bytes::<ConfChange>(&canonical).ok(),
                                Some(change),
                                "ConfChange does not round trip"
                            );
                        }
                    }
                    EntryKind::Noop => {}
                }
            }
        }
        // A snapshot sent whole, in one chunk: its data is a KV snapshot.
        MessageBody::InstallSnapshot {
            offset: 0,
            data,
            done: true,
            ..
        } => kv_snapshot(data),
        _ => {}
    }
}

/// Client-port frames, decoded both by their own `decode` and by the generic framing decoder,
/// which must agree.
fn client_frames(data: &[u8]) {
    let request = ClientRequestFrame::decode(data);
    let generic = decode_frame_payload::<ClientRequestFrame>(data);
    match (&request, &generic) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "the two ClientRequestFrame decoders disagree");
            assert_round_trip(
                "ClientRequestFrame",
                data,
                a,
                ClientRequestFrame::encode,
                ClientRequestFrame::decode,
            );
        }
        (Err(_), Err(_)) => {}
        _ => {
            panic!("ClientRequestFrame::decode gave {request:?}, decode_frame_payload {generic:?}")
        }
    }

    let response = ClientResponseFrame::decode(data);
    let generic = decode_frame_payload::<ClientResponseFrame>(data);
    match (&response, &generic) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "the two ClientResponseFrame decoders disagree");
            assert_round_trip(
                "ClientResponseFrame",
                data,
                a,
                ClientResponseFrame::encode,
                ClientResponseFrame::decode,
            );
        }
        (Err(_), Err(_)) => {}
        _ => panic!(
            "ClientResponseFrame::decode gave {response:?}, decode_frame_payload {generic:?}"
        ),
    }
}

/// The peer handshake frame (trailing bytes are allowed by design) and the check of it. A hello
/// shorter than this version's (an older node's, or no gauntlet node's) decodes only to be refused.
fn handshake(data: &[u8]) {
    let Ok(hello) = Hello::decode(data) else {
        return;
    };
    let current = hello.magic == WIRE_MAGIC && hello.format_version == WIRE_FORMAT_VERSION;
    if postcard::take_from_bytes::<Hello>(data).is_ok() {
        assert_round_trip(
            "Hello",
            data,
            &hello,
            |h| postcard::to_allocvec(h).unwrap_or_default(),
            Hello::decode,
        );
    } else {
        assert!(
            !current,
            "a hello too short for this version decoded as one: {hello:?}"
        );
    }
    let mine = Hello::new(hello.cluster_id, hello.node_id.wrapping_add(1));
    let verdict = check_hello(&mine, &hello, None);
    let acceptable = current && !hello.proves_secret;
    assert_eq!(
        verdict.is_ok(),
        acceptable,
        "check_hello({hello:?}) gave {verdict:?}"
    );
}

/// KV snapshot bytes (they arrive in InstallSnapshot and sit in the snapshot file).
fn kv_snapshot(data: &[u8]) {
    let Ok(parts) = snapshot::decode(data) else {
        assert!(
            KvStateMachine::from_snapshot(KvConfig::default(), data).is_err(),
            "a state machine restored from a snapshot that does not decode"
        );
        return;
    };
    let encode = |p: &snapshot::SnapshotParts| {
        let tombstones: VecDeque<u64> = p.tombstones.iter().copied().collect();
        snapshot::encode(
            p.applied_index,
            p.applied_digest,
            &p.data,
            &p.sessions,
            &tombstones,
        )
    };
    assert_round_trip("KV snapshot", data, &parts, encode, snapshot::decode);
    let canonical = encode(&parts);

    let machine = match KvStateMachine::from_snapshot(KvConfig::default(), data) {
        Ok(machine) => machine,
        Err(err) => panic!("a snapshot that decodes is refused by restore: {err}"),
    };
    assert_eq!(
        machine.snapshot(),
        canonical,
        "restore-then-snapshot differs from the canonical encoding"
    );
    // The restored session table must keep working: apply one more entry (a no-op).
    let mut machine = machine;
    if let Some(next) = parts.applied_index.checked_add(1) {
        let result = machine.apply_entry(next, &[]);
        assert!(result.is_ok(), "no-op after restore failed: {result:?}");
        assert_eq!(machine.applied_index(), next);
    }
}

/// A raw client connection byte stream: whatever decodes must survive re-framing unchanged.
fn client_stream(data: &[u8]) {
    let (messages, _error) = decode_stream::<ClientRequestFrame>(data, STREAM_MAX_FRAME_LEN);
    let payloads: Vec<Vec<u8>> = messages.iter().map(ClientRequestFrame::encode).collect();
    let wire = frame_all(&payloads);
    let (again, error) = decode_stream::<ClientRequestFrame>(&wire, STREAM_MAX_FRAME_LEN);
    assert!(
        error.is_none(),
        "re-framed messages do not decode: {error:?}"
    );
    assert_eq!(again, messages, "re-framed messages decode differently");
    assert!(wire.len() <= data.len(), "re-framing grew the stream");
}

/// A raw peer connection byte stream after the handshake: Raft messages, re-framed unchanged.
fn peer_stream(data: &[u8]) {
    let (messages, _error) = decode_stream::<Message>(data, STREAM_MAX_FRAME_LEN);
    let payloads: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| postcard::to_allocvec(m).unwrap_or_default())
        .collect();
    let wire = frame_all(&payloads);
    let (again, error) = decode_stream::<Message>(&wire, STREAM_MAX_FRAME_LEN);
    assert!(
        error.is_none(),
        "re-framed peer messages do not decode: {error:?}"
    );
    assert_eq!(
        again, messages,
        "re-framed peer messages decode differently"
    );
    assert!(wire.len() <= data.len(), "re-framing grew the peer stream");
}

/// Length-prefixes each payload the way the transport does (u32 big-endian).
fn frame_all(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for payload in payloads {
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        wire.extend_from_slice(&len.to_be_bytes());
        wire.extend_from_slice(payload);
    }
    wire
}
