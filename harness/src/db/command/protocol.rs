//! The client protocol of a [`super::CommandDb`] node: JSON lines over TCP, one request and one
//! reply per line, any number of them in turn on one connection. Encoding requests and judging
//! replies is here, with no I/O; the exact specification is `docs/your-system.md`.
//!
//! Requests: `{"id":1,"f":"get","key":"k"}`, `{"id":2,"f":"put","key":"k","value":"v"}`,
//! `{"id":3,"f":"append","key":"k","value":"v"}`,
//! `{"id":4,"f":"cas","key":"k","expected":"old","value":"new"}` (`"expected":null`: swap only
//! if the key is absent), and the optional probe `{"id":5,"f":"leader"}`.
//!
//! Replies carry the request's `id` and a `type`: `ok` (took effect: a get adds `"value"`, a
//! string or null, a cas adds `"swapped"`, true or false), `fail` (surely did not take effect) or
//! `info` (may have taken effect), the last two with an `error` text and optionally an
//! `error_kind` from the history's kinds. Anything else is a bad reply: outcome unknown.

use raft::client::ErrorKind;
use raft::kv::Op;
use serde_json::{json, Map, Value};

use crate::db::{ClientFailure, KvReply};

/// The longest reply line read, in bytes (a longer one is a bad reply).
pub const MAX_REPLY_BYTES: usize = 1 << 20;

/// The request line (without its newline) for `op`; an operation the protocol does not carry
/// (delete) is a definite failure, never sent.
pub fn encode_request(id: u64, op: &Op) -> Result<String, ClientFailure> {
    let request = match op {
        Op::Get { key } => json!({ "id": id, "f": "get", "key": key }),
        Op::Put { key, value } => json!({ "id": id, "f": "put", "key": key, "value": value }),
        Op::Append { key, value } => {
            json!({ "id": id, "f": "append", "key": key, "value": value })
        }
        Op::Cas { key, expected, new } => {
            json!({ "id": id, "f": "cas", "key": key, "expected": expected, "value": new })
        }
        Op::Delete { key } => {
            return Err(ClientFailure {
                definite: true,
                kind: ErrorKind::BadRequest,
                reason: format!("delete of {key}: not part of the command protocol, not sent"),
            })
        }
    };
    Ok(request.to_string())
}

/// The leader probe's request line.
pub fn encode_leader_probe(id: u64) -> String {
    json!({ "id": id, "f": "leader" }).to_string()
}

/// An indefinite failure: a reply that does not say what happened.
fn bad_reply(reason: String) -> ClientFailure {
    ClientFailure {
        definite: false,
        kind: ErrorKind::BadReply,
        reason,
    }
}

/// Shortens a reply for a message.
fn excerpt(line: &str) -> String {
    const LIMIT: usize = 200;
    match line.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

/// Parses a reply line into its JSON object, checking its `id`.
fn reply_object(line: &str, id: u64) -> Result<Map<String, Value>, ClientFailure> {
    let value: Value = serde_json::from_str(line)
        .map_err(|err| bad_reply(format!("reply is not JSON ({err}): {}", excerpt(line))))?;
    let Value::Object(object) = value else {
        return Err(bad_reply(format!(
            "reply is not a JSON object: {}",
            excerpt(line)
        )));
    };
    match object.get("id").and_then(Value::as_u64) {
        Some(got) if got == id => Ok(object),
        Some(got) => Err(bad_reply(format!(
            "reply is for request {got}, not {id}: {}",
            excerpt(line)
        ))),
        None => Err(bad_reply(format!(
            "reply has no numeric `id`: {}",
            excerpt(line)
        ))),
    }
}

/// Judges the reply `line` to request `id` carrying `op`: ok, definite failure (`fail`) or
/// indefinite failure (`info`, or a reply that cannot be understood).
pub fn decode_reply(line: &str, id: u64, op: &Op) -> Result<KvReply, ClientFailure> {
    let object = reply_object(line, id)?;
    match object.get("type").and_then(Value::as_str) {
        Some("ok") => ok_reply(&object, op)
            .map_err(|reason| bad_reply(format!("{}: {}", reason, excerpt(line)))),
        Some(kind @ ("fail" | "info")) => Err(failure(&object, kind == "fail")),
        Some(other) => Err(bad_reply(format!(
            "reply type {other:?} is none of ok, fail, info: {}",
            excerpt(line)
        ))),
        None => Err(bad_reply(format!(
            "reply has no string `type`: {}",
            excerpt(line)
        ))),
    }
}

/// What an `ok` reply says for `op`, or why it says nothing usable.
fn ok_reply(object: &Map<String, Value>, op: &Op) -> Result<KvReply, String> {
    match op {
        Op::Get { .. } => match object.get("value") {
            Some(Value::Null) => Ok(KvReply::Value(None)),
            Some(Value::String(value)) => Ok(KvReply::Value(Some(value.clone()))),
            Some(_) => Err("an ok get's `value` is neither a string nor null".into()),
            None => Err("an ok get has no `value` (null for an absent key)".into()),
        },
        Op::Put { .. } | Op::Append { .. } => Ok(KvReply::Written),
        Op::Cas { .. } => match object.get("swapped").and_then(Value::as_bool) {
            Some(swapped) => Ok(KvReply::Cas(swapped)),
            None => Err("an ok cas has no boolean `swapped`".into()),
        },
        Op::Delete { .. } => Err("a delete was never sent".into()),
    }
}

/// A `fail` (definite) or `info` (indefinite) reply as a failure.
fn failure(object: &Map<String, Value>, definite: bool) -> ClientFailure {
    let error = object
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("the node gave no error text");
    let named = object.get("error_kind").and_then(Value::as_str);
    let kind = named.and_then(ErrorKind::from_name);
    let reason = match (named, kind) {
        (Some(name), None) => format!("{error} (unknown error_kind {name:?})"),
        _ => error.to_string(),
    };
    ClientFailure {
        definite,
        kind: kind.unwrap_or(ErrorKind::ServerError),
        reason,
    }
}

/// True when the reply to leader probe `id` is `ok` with `"leader": true`.
pub fn decode_leader_reply(line: &str, id: u64) -> bool {
    reply_object(line, id).is_ok_and(|object| {
        object.get("type").and_then(Value::as_str) == Some("ok")
            && object.get("leader").and_then(Value::as_bool) == Some(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get() -> Op {
        Op::Get { key: "k".into() }
    }

    fn cas(expected: Option<&str>) -> Op {
        Op::Cas {
            key: "k".into(),
            expected: expected.map(str::to_owned),
            new: "n".into(),
        }
    }

    #[test]
    fn requests_are_one_json_object_each() {
        let line = encode_request(4, &cas(None)).unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({"id": 4, "f": "cas", "key": "k", "expected": null, "value": "n"})
        );
        assert!(!line.contains('\n'));
        let newline = encode_request(
            1,
            &Op::Put {
                key: "a\nb".into(),
                value: "x".into(),
            },
        );
        assert!(
            !newline.unwrap().contains('\n'),
            "a newline in a key is escaped"
        );
        let delete = encode_request(2, &Op::Delete { key: "k".into() }).unwrap_err();
        assert!(delete.definite);
        assert_eq!(delete.kind, ErrorKind::BadRequest);
    }

    #[test]
    fn ok_replies_become_kv_replies() {
        assert_eq!(
            decode_reply(r#"{"id":1,"type":"ok","value":"v"}"#, 1, &get()),
            Ok(KvReply::Value(Some("v".into())))
        );
        assert_eq!(
            decode_reply(r#"{"id":1,"type":"ok","value":null}"#, 1, &get()),
            Ok(KvReply::Value(None))
        );
        assert_eq!(
            decode_reply(
                r#"{"id":1,"type":"ok","swapped":false}"#,
                1,
                &cas(Some("o"))
            ),
            Ok(KvReply::Cas(false))
        );
        let put = Op::Put {
            key: "k".into(),
            value: "v".into(),
        };
        assert_eq!(
            decode_reply(r#"{"type":"ok","id":1}"#, 1, &put),
            Ok(KvReply::Written)
        );
    }

    #[test]
    fn fail_is_definite_and_info_is_not() {
        let fail = decode_reply(
            r#"{"id":1,"type":"fail","error":"no quorum","error_kind":"no-leader"}"#,
            1,
            &get(),
        )
        .unwrap_err();
        assert!(fail.definite);
        assert_eq!(fail.kind, ErrorKind::NoLeader);
        assert_eq!(fail.reason, "no quorum");
        let info = decode_reply(r#"{"id":1,"type":"info","error":"lost"}"#, 1, &get()).unwrap_err();
        assert!(!info.definite);
        assert_eq!(info.kind, ErrorKind::ServerError);
        let odd =
            decode_reply(r#"{"id":1,"type":"fail","error_kind":"weird"}"#, 1, &get()).unwrap_err();
        assert!(odd.definite);
        assert!(
            odd.reason.contains("unknown error_kind \"weird\""),
            "{}",
            odd.reason
        );
    }

    #[test]
    fn malformed_replies_are_indefinite_bad_replies_with_a_reason() {
        let cases = [
            ("not json", "not JSON"),
            ("[1,2]", "not a JSON object"),
            (r#"{"type":"ok","value":"v"}"#, "no numeric `id`"),
            (
                r#"{"id":2,"type":"ok","value":"v"}"#,
                "for request 2, not 1",
            ),
            (r#"{"id":1,"value":"v"}"#, "no string `type`"),
            (r#"{"id":1,"type":"maybe"}"#, "none of ok, fail, info"),
            (r#"{"id":1,"type":"ok"}"#, "no `value`"),
            (
                r#"{"id":1,"type":"ok","value":3}"#,
                "neither a string nor null",
            ),
        ];
        for (line, why) in cases {
            let failure = decode_reply(line, 1, &get()).unwrap_err();
            assert!(!failure.definite, "{line}");
            assert_eq!(failure.kind, ErrorKind::BadReply, "{line}");
            assert!(failure.reason.contains(why), "{line}: {}", failure.reason);
        }
        let no_swapped = decode_reply(r#"{"id":1,"type":"ok"}"#, 1, &cas(None)).unwrap_err();
        assert!(
            no_swapped.reason.contains("`swapped`"),
            "{}",
            no_swapped.reason
        );
        let long = "x".repeat(1000);
        assert!(decode_reply(&long, 1, &get()).unwrap_err().reason.len() < 400);
    }

    #[test]
    fn the_leader_probe_wants_ok_and_true() {
        assert!(decode_leader_reply(
            r#"{"id":9,"type":"ok","leader":true}"#,
            9
        ));
        assert!(!decode_leader_reply(
            r#"{"id":9,"type":"ok","leader":false}"#,
            9
        ));
        assert!(!decode_leader_reply(
            r#"{"id":8,"type":"ok","leader":true}"#,
            9
        ));
        assert!(!decode_leader_reply(
            r#"{"id":9,"type":"fail","error":"unknown f"}"#,
            9
        ));
        assert!(!decode_leader_reply("garbage", 9));
    }
}
