//! gauntlet's native history format: JSON Lines, one event a line, optionally after a header line.
//!
//! `{"index":0,"type":"invoke","process":3,"f":"append","key":"k7","value":12,"time_ns":1834}`;
//! `process` is a number or `"nemesis"`; `key`, `value` (default null), `time_ns` and `index` are
//! optional and other fields are ignored. The header is a first line without a `type`, such as
//! `{"format":"gauntlet-history","version":1,"workload":"kv","seed":7,"model":"kv"}`.
//! A recorder flushes every line as it writes it, so a crash can leave the last line cut short:
//! an unterminated last line that is not valid JSON is dropped with a warning.
//! The full description is `docs/history-format.md`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::error::ParseError;
use crate::history::{Event, EventKind, History, Process, Value};

/// The only header version this reader knows.
pub const FORMAT_VERSION: u64 = 1;

/// The optional first line of a native history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// `"gauntlet-history"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The model to check with: `register`, `cas-register`, `kv`, `list-append` or `set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Parses a native history; returns its header (if any) and events.
#[cfg(test)]
pub(crate) fn parse(text: &str, file: &str) -> Result<(Option<Header>, History), ParseError> {
    parse_with(text, file, true)
}

/// [`parse`], with the fast path for plain event lines on or off.
pub(crate) fn parse_with(
    text: &str,
    file: &str,
    fast: bool,
) -> Result<(Option<Header>, History), ParseError> {
    let mut header = None;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut events = Vec::with_capacity(lines.len());
    let mut seen_first = false;
    let ends_with_newline = text.ends_with('\n');
    for (number, raw) in lines.iter().enumerate() {
        let line_no = number + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let is_last = number + 1 == lines.len();
        // Fast paths for well-formed event lines (a plain scan, then serde into borrowed
        // fields); anything unusual takes the slow path below, which also words the error.
        let fast_event =
            || super::jsonl_fast::fast_event(line, line_no).or_else(|| fast_event(line, line_no));
        if let Some(mut event) = fast.then(fast_event).flatten() {
            seen_first = true;
            event.index = events.len();
            events.push(event);
            continue;
        }
        let object: Map<String, Json> = match serde_json::from_str(line) {
            Ok(Json::Object(object)) => object,
            Ok(other) => {
                return Err(ParseError::invalid(
                    file,
                    line_no,
                    Some(1),
                    format!("expected a JSON object, found {}", json_kind(&other)),
                ))
            }
            Err(err) if is_last && !ends_with_newline && err.is_eof() => {
                tracing::warn!(file, line = line_no, "dropping a cut-off last line: {err}");
                continue;
            }
            Err(err) => {
                return Err(ParseError::invalid(
                    file,
                    line_no,
                    Some(err.column()),
                    format!("expected a JSON object: {}", without_position(&err)),
                ))
            }
        };
        let first = !seen_first;
        seen_first = true;
        if first && !object.contains_key("type") {
            header = Some(parse_header(object, file, line_no)?);
            continue;
        }
        let mut event = parse_event(&object, file, line_no)?;
        event.index = events.len();
        events.push(event);
    }
    Ok((header, History { events }))
}

/// The header on a first line, when the line is an object without a `type` and a header this
/// reader accepts; `None` for anything else (the general reader then reads the line and words any
/// error).
pub(super) fn read_header_line(line: &str) -> Option<Header> {
    match serde_json::from_str(line) {
        Ok(Json::Object(object)) if !object.contains_key("type") => {
            parse_header(object, "", 1).ok()
        }
        _ => None,
    }
}

fn parse_header(object: Map<String, Json>, file: &str, line: usize) -> Result<Header, ParseError> {
    let header: Header = serde_json::from_value(Json::Object(object)).map_err(|err| {
        ParseError::invalid(
            file,
            line,
            None,
            format!("expected a header with string format/workload/model and integer version/seed: {err}"),
        )
    })?;
    if let Some(version) = header.version {
        if version != FORMAT_VERSION {
            return Err(ParseError::invalid(
                file,
                line,
                None,
                format!(
                    "expected history format version {FORMAT_VERSION}, found version {version}"
                ),
            ));
        }
    }
    Ok(header)
}

fn parse_event(object: &Map<String, Json>, file: &str, line: usize) -> Result<Event, ParseError> {
    let invalid = |message: String| ParseError::invalid(file, line, None, message);
    let kind = match object.get("type").and_then(Json::as_str) {
        Some("invoke") => EventKind::Invoke,
        Some("ok") => EventKind::Ok,
        Some("fail") => EventKind::Fail,
        Some("info") => EventKind::Info,
        _ => {
            return Err(invalid(format!(
                "expected \"type\" to be \"invoke\", \"ok\", \"fail\" or \"info\", found {}",
                object
                    .get("type")
                    .map_or("nothing".to_string(), Json::to_string)
            )))
        }
    };
    let process = match object.get("process") {
        Some(Json::Number(n)) if n.as_u64().is_some() => Process::Client(n.as_u64().unwrap_or(0)),
        Some(Json::String(s)) if s == "nemesis" => Process::Nemesis,
        other => {
            return Err(invalid(format!(
                "expected \"process\" to be a non-negative integer or \"nemesis\", found {}",
                other.map_or("nothing".to_string(), Json::to_string)
            )))
        }
    };
    let f = match (object.get("f"), process) {
        (Some(Json::String(f)), _) => f.clone(),
        (None, Process::Nemesis) => String::new(),
        (other, _) => {
            return Err(invalid(format!(
                "expected \"f\" to be a function name such as \"read\", found {}",
                other.map_or("nothing".to_string(), Json::to_string)
            )))
        }
    };
    let value_of = |field: &str| -> Result<Value, ParseError> {
        match object.get(field) {
            None => Ok(Value::Nil),
            Some(json) if process == Process::Nemesis => Ok(value_from_json(json).unwrap_or(Value::Nil)),
            Some(json) => value_from_json(json).map_err(|what| {
                invalid(format!(
                    "expected \"{field}\" to be null, a boolean, an integer, a string or an array of those; found {what}"
                ))
            }),
        }
    };
    let key = match object.get("key") {
        None | Some(Json::Null) => None,
        Some(_) => Some(value_of("key")?),
    };
    let value = value_of("value")?;
    let time_ns = match object.get("time_ns") {
        None | Some(Json::Null) => None,
        Some(t) => Some(t.as_u64().ok_or_else(|| {
            invalid(format!(
                "expected \"time_ns\" to be a non-negative integer, found {t}"
            ))
        })?),
    };
    Ok(Event {
        index: 0,
        kind,
        process,
        f,
        key,
        value,
        time_ns,
        line,
    })
}

/// The header as a native history line (no newline).
pub fn header_line(header: &Header) -> String {
    serde_json::to_string(header).unwrap_or_else(|_| "{}".to_string())
}

/// One event as a native history line (no newline): `index`, `type`, `process`, `f`, then `key`
/// and `time_ns` when present, and `value`.
pub fn event_line(event: &Event) -> String {
    let mut object = Map::new();
    object.insert("index".into(), Json::from(event.index));
    let kind = match event.kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    };
    object.insert("type".into(), Json::from(kind));
    let process = match event.process {
        Process::Client(p) => Json::from(p),
        Process::Nemesis => Json::from("nemesis"),
    };
    object.insert("process".into(), process);
    object.insert("f".into(), Json::from(event.f.as_str()));
    if let Some(key) = &event.key {
        object.insert("key".into(), json_from_value(key));
    }
    object.insert("value".into(), json_from_value(&event.value));
    if let Some(time) = event.time_ns {
        object.insert("time_ns".into(), Json::from(time));
    }
    Json::Object(object).to_string()
}

fn json_from_value(value: &Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Str(s) => Json::from(s.as_str()),
        Value::List(items) => Json::Array(items.iter().map(json_from_value).collect()),
    }
}

/// A well-formed event line, read without building a JSON tree.
#[derive(Deserialize)]
struct FastEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    process: FastProcess,
    #[serde(borrow)]
    f: Cow<'a, str>,
    #[serde(default)]
    key: Option<FastValue>,
    #[serde(default)]
    value: Option<FastValue>,
    #[serde(default)]
    time_ns: Option<u64>,
}

fn fast_event(line: &str, line_no: usize) -> Option<Event> {
    let raw: FastEvent<'_> = serde_json::from_str(line).ok()?;
    let kind = match raw.kind.as_ref() {
        "invoke" => EventKind::Invoke,
        "ok" => EventKind::Ok,
        "fail" => EventKind::Fail,
        "info" => EventKind::Info,
        _ => return None,
    };
    Some(Event {
        index: 0,
        kind,
        process: raw.process.0,
        f: raw.f.into_owned(),
        key: raw.key.map(|k| k.0),
        value: raw.value.map_or(Value::Nil, |v| v.0),
        time_ns: raw.time_ns,
        line: line_no,
    })
}

/// A process: a non-negative integer or `"nemesis"`.
struct FastProcess(Process);

impl<'de> Deserialize<'de> for FastProcess {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl Visitor<'_> for Visit {
            type Value = FastProcess;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or \"nemesis\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FastProcess, E> {
                Ok(FastProcess(Process::Client(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FastProcess, E> {
                match v {
                    "nemesis" => Ok(FastProcess(Process::Nemesis)),
                    _ => Err(E::custom("not a process")),
                }
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// A history value read straight from JSON (no floats, no objects).
struct FastValue(Value);

impl<'de> Deserialize<'de> for FastValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = FastValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null, a boolean, an integer, a string or an array")
            }
            fn visit_unit<E: de::Error>(self) -> Result<FastValue, E> {
                Ok(FastValue(Value::Nil))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FastValue, E> {
                Ok(FastValue(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FastValue, E> {
                Ok(FastValue(Value::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FastValue, E> {
                i64::try_from(v)
                    .map(|v| FastValue(Value::Int(v)))
                    .map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FastValue, E> {
                Ok(FastValue(Value::Str(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FastValue, E> {
                Ok(FastValue(Value::Str(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FastValue, A::Error> {
                let mut items = Vec::new();
                while let Some(FastValue(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(FastValue(Value::List(items)))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// Converts JSON to a [`Value`]; floats, integers beyond `i64` and objects are refused.
fn value_from_json(json: &Json) -> Result<Value, String> {
    match json {
        Json::Null => Ok(Value::Nil),
        Json::Bool(b) => Ok(Value::Bool(*b)),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| format!("the number {n}")),
        Json::String(s) => Ok(Value::Str(s.clone())),
        Json::Array(items) => items
            .iter()
            .map(value_from_json)
            .collect::<Result<_, _>>()
            .map(Value::List),
        Json::Object(_) => Err("an object".to_string()),
    }
}

/// serde_json's message without its " at line L column C" (the line is ours, the column is given).
fn without_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_lines_read_back_as_the_same_events() {
        let header = Header {
            model: Some("kv".into()),
            seed: Some(3),
            ..Header::default()
        };
        let text = "{\"type\":\"invoke\",\"process\":3,\"f\":\"cas\",\"key\":[\"k\",1],\"value\":[null,\"x\"],\"time_ns\":5}\n\
{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"kill\",\"value\":[\"n1\"]}\n\
{\"type\":\"ok\",\"process\":3,\"f\":\"cas\",\"key\":[\"k\",1],\"value\":true}\n";
        let (_, original) = parse(text, "a.jsonl").unwrap();
        let mut written = header_line(&header);
        for event in &original.events {
            written.push('\n');
            written.push_str(&event_line(event));
        }
        written.push('\n');
        let (read_header, read) = parse(&written, "b.jsonl").unwrap();
        assert_eq!(read_header, Some(header));
        assert_eq!(read.events.len(), original.events.len());
        for (a, b) in read.events.iter().zip(&original.events) {
            assert_eq!(
                Event {
                    line: 0,
                    ..a.clone()
                },
                Event {
                    line: 0,
                    ..b.clone()
                }
            );
        }
    }

    #[test]
    fn fast_and_slow_paths_agree() {
        for line in [
            "{\"type\":\"invoke\",\"process\":3,\"f\":\"append\",\"key\":\"k\\\"7\",\"value\":-12,\"time_ns\":1834}",
            "{\"f\":\"cas\",\"type\":\"ok\",\"process\":0,\"value\":[null,[true,\"\\u00e9\"]],\"extra\":{\"a\":1}}",
            "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"kill\",\"key\":null,\"time_ns\":null}",
            "{\"type\":\"fail\",\"process\":18446744073709551615,\"f\":\"read\",\"index\":4}",
        ] {
            let fast = fast_event(line, 9).expect(line);
            let object: Map<String, Json> = serde_json::from_str(line).unwrap();
            let slow = parse_event(&object, "f", 9).unwrap();
            assert_eq!(fast, slow, "{line}");
        }
        // Lines the fast path leaves to the slow one (which words the error or reads the oddity).
        for line in [
            "{\"type\":\"done\",\"process\":0,\"f\":\"read\"}",
            "{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":1.5}",
            "{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":9223372036854775808}",
            "{\"type\":\"info\",\"process\":\"nemesis\"}",
        ] {
            assert!(fast_event(line, 1).is_none(), "{line}");
        }
    }

    #[test]
    fn reads_header_and_events() {
        let text = "{\"format\":\"gauntlet-history\",\"version\":1,\"workload\":\"kv\",\"seed\":7,\"model\":\"kv\"}\n\
{\"index\":0,\"type\":\"invoke\",\"process\":3,\"f\":\"append\",\"key\":\"k7\",\"value\":12,\"time_ns\":1834}\n\
\n\
{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"partition\",\"value\":{\"n1\":[\"n2\"]}}\n\
{\"type\":\"ok\",\"process\":3,\"f\":\"append\",\"key\":\"k7\",\"value\":12}\n";
        let (header, h) = parse(text, "h.jsonl").unwrap();
        let header = header.unwrap();
        assert_eq!(header.model.as_deref(), Some("kv"));
        assert_eq!(header.seed, Some(7));
        assert_eq!(h.events.len(), 3);
        assert_eq!(h.events[0].key, Some(Value::Str("k7".into())));
        assert_eq!(h.events[0].time_ns, Some(1834));
        assert_eq!(h.events[0].line, 2);
        assert_eq!(h.events[1].process, Process::Nemesis);
        assert_eq!((h.events[2].index, h.events[2].line), (2, 5));
    }

    #[test]
    fn a_cut_off_last_line_is_dropped_but_a_broken_middle_line_is_an_error() {
        let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"type\":\"ok\",\"pro";
        let (_, h) = parse(text, "h.jsonl").unwrap();
        assert_eq!(h.events.len(), 1);
        let text =
            "{\"type\":\"invoke\",\"pro\n{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n";
        let err = parse(text, "h.jsonl").unwrap_err();
        assert_eq!(err.line(), Some(1));
        assert_eq!(
            err.to_string(),
            "h.jsonl:1:21: expected a JSON object: EOF while parsing a string"
        );
    }

    #[test]
    fn errors_name_the_line_and_what_was_expected() {
        for (text, expected) in [
            (
                "{\"type\":\"done\",\"process\":0,\"f\":\"read\"}",
                "\"invoke\", \"ok\"",
            ),
            (
                "{\"type\":\"ok\",\"process\":-2,\"f\":\"read\"}",
                "non-negative integer or \"nemesis\"",
            ),
            ("{\"type\":\"ok\",\"process\":0}", "\"f\""),
            (
                "{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":1.5}",
                "the number 1.5",
            ),
            (
                "{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":{}}",
                "an object",
            ),
            (
                "{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"time_ns\":\"x\"}",
                "time_ns",
            ),
            ("[1]", "expected a JSON object, found an array"),
        ] {
            let text = format!("{{\"model\":\"register\"}}\n{text}\n");
            let err = parse(&text, "h.jsonl").unwrap_err();
            let message = err.to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.starts_with("h.jsonl:2"), "{message}");
        }
        let err = parse("{\"version\":2}\n", "h.jsonl").unwrap_err();
        assert!(err.to_string().contains("version 1"), "{err}");
    }
}
