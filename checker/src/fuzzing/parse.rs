//! The `parse_history` fuzz target: arbitrary bytes through format detection, every history
//! format, pairing into operations, and a time-bounded check; every history that parses must also
//! survive a trip through the native JSON Lines format unchanged, and the fast paths (of each
//! reader, and of `gauntlet check` into operations) must read what the general readers read.

use std::str::FromStr;
use std::time::Duration;

use serde_json::{json, Map, Value as Json};

use crate::formats::{self, Format, ParsedHistory};
use crate::history::{Event, EventKind, Process, Value};
use crate::{check_operations, wellformed, CheckOptions, ModelKind};

/// Histories with more operations than this are paired but not searched (the fuzzer wants many
/// executions per second, not a hard search).
const MAX_CHECKED_OPS: usize = 12;

/// Feeds `data` to every history parser and asserts their properties. Panics on a broken property.
pub fn parse_history(data: &[u8]) {
    let detected = formats::detect(data);
    if let Ok(parsed) = formats::load_bytes(data, None, "fuzz-input") {
        assert_eq!(
            Some(parsed.format),
            detected,
            "load_bytes parsed with another format than detect() names"
        );
    }
    for format in Format::ALL {
        if let Ok(parsed) = formats::load_bytes(data, Some(format), "fuzz-input") {
            assert_eq!(parsed.format, format);
            check_parsed(data, &parsed);
        }
    }
    fast_and_general_paths_agree(data);
    super::paired_history(data);
}

/// The parsers' fast paths must give exactly what the general readers give: the same events, or
/// the same error.
fn fast_and_general_paths_agree(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Jsonl, Format::Jepsen, Format::PorcupineKv] {
        let fast = formats::parse_text(text, format, "fuzz-input", true);
        let general = formats::parse_text(text, format, "fuzz-input", false);
        match (fast, general) {
            (Ok(fast), Ok(general)) => assert_eq!(fast, general, "{format}: the paths disagree"),
            (Err(fast), Err(general)) => assert_eq!(
                fast.to_string(),
                general.to_string(),
                "{format}: the paths word the error differently"
            ),
            (fast, general) => panic!(
                "{format}: one path reads what the other refuses: fast {:?}, general {:?}",
                fast.map(|_| ()),
                general.map(|_| ())
            ),
        }
    }
}

fn check_parsed(data: &[u8], parsed: &ParsedHistory) {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut previous_line = 1;
    for (position, event) in parsed.history.events.iter().enumerate() {
        assert_eq!(event.index, position, "event index is not its position");
        assert!(
            (previous_line..=lines).contains(&event.line),
            "event {position} claims line {} (previous {previous_line}, {lines} lines)",
            event.line
        );
        previous_line = event.line;
    }
    native_round_trip(parsed);

    let Ok(ops) = wellformed::pair(&parsed.history) else {
        return;
    };
    for (id, op) in ops.iter().enumerate() {
        assert_eq!(op.id, id, "operation ids are not dense");
        let call = &parsed.history.events[op.call];
        assert_eq!(
            call.kind,
            EventKind::Invoke,
            "op {id} does not start at an invocation"
        );
        assert_eq!(call.process, Process::Client(op.process));
        if let Some(ret) = op.ret {
            assert!(ret > op.call, "op {id} returns before it is called");
            assert_eq!(parsed.history.events[ret].kind, EventKind::Ok);
            assert_eq!(parsed.history.events[ret].process, call.process);
        }
        if id > 0 {
            assert!(
                ops[id - 1].call < op.call,
                "operations not in invocation order"
            );
        }
    }
    if ops.len() <= MAX_CHECKED_OPS {
        let model = parsed
            .default_model
            .and_then(|name| ModelKind::from_str(name).ok())
            .unwrap_or(ModelKind::Register);
        let options = CheckOptions {
            timeout: Some(Duration::from_millis(50)),
            memory_budget_bytes: 16 << 20,
            threads: 1,
            witness: true,
        };
        let report = check_operations(&ops, model, &options);
        let _ = report.render_text(&ops);
    }
}

/// Writes the parsed events as native JSON Lines, reads them back and demands the same events
/// (line numbers aside). A `nil` key is written as JSON `null`, which reads back as no key.
fn native_round_trip(parsed: &ParsedHistory) {
    let mut text = String::new();
    if let Some(header) = &parsed.header {
        text.push_str(&serde_json::to_string(header).unwrap_or_default());
        text.push('\n');
    }
    for event in &parsed.history.events {
        text.push_str(&event_json(event).to_string());
        text.push('\n');
    }
    if parsed.history.events.is_empty() && parsed.header.is_none() {
        return;
    }
    let again = match formats::load_bytes(text.as_bytes(), Some(Format::Jsonl), "round-trip") {
        Ok(again) => again,
        Err(err) => panic!(
            "a parsed {} history does not read back from JSONL: {err}\n{text}",
            parsed.format
        ),
    };
    if parsed.format == Format::Jsonl {
        assert_eq!(
            again.header, parsed.header,
            "header changed in the round trip"
        );
    }
    assert_eq!(again.history.events.len(), parsed.history.events.len());
    for (before, after) in parsed.history.events.iter().zip(&again.history.events) {
        let mut expected = before.clone();
        if expected.key == Some(Value::Nil) {
            expected.key = None;
        }
        expected.line = after.line;
        assert_eq!(
            after, &expected,
            "event changed in the JSONL round trip\n{text}"
        );
    }
}

pub(super) fn event_json(event: &Event) -> Json {
    let mut object = Map::new();
    let kind = match event.kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    };
    object.insert("type".into(), json!(kind));
    object.insert(
        "process".into(),
        match event.process {
            Process::Client(id) => json!(id),
            Process::Nemesis => json!("nemesis"),
        },
    );
    object.insert("f".into(), json!(event.f));
    if let Some(key) = &event.key {
        object.insert("key".into(), value_json(key));
    }
    object.insert("value".into(), value_json(&event.value));
    if let Some(time) = event.time_ns {
        object.insert("time_ns".into(), json!(time));
    }
    Json::Object(object)
}

fn value_json(value: &Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Str(s) => json!(s),
        Value::List(items) => Json::Array(items.iter().map(value_json).collect()),
    }
}
