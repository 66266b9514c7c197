//! The simulated run's history in the native JSONL format (`docs/history-format.md`), written to
//! memory with simulated time, so the same seed gives the same bytes.

use checker::formats::jsonl::Header;
use serde_json::{json, Map, Value as Json};

/// The type of a history event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl EventType {
    fn name(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }
}

/// An append-only history in memory.
#[derive(Debug, Default)]
pub struct HistoryWriter {
    bytes: Vec<u8>,
    next_index: u64,
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

impl HistoryWriter {
    /// A history starting with its header line.
    pub fn new(header: &Header) -> HistoryWriter {
        let mut writer = HistoryWriter::default();
        if let Ok(line) = serde_json::to_string(header) {
            writer.bytes.extend_from_slice(line.as_bytes());
            writer.bytes.push(b'\n');
        }
        writer
    }

    /// A client event.
    pub fn client(
        &mut self,
        kind: EventType,
        process: u64,
        f: &str,
        key: Option<&str>,
        value: Json,
        time_us: u64,
    ) {
        match kind {
            EventType::Invoke => self.invoked += 1,
            EventType::Ok => self.ok += 1,
            EventType::Fail => self.fail += 1,
            EventType::Info => self.info += 1,
        }
        let mut line = Map::new();
        line.insert("index".into(), json!(self.next_index));
        line.insert("type".into(), json!(kind.name()));
        line.insert("process".into(), json!(process));
        line.insert("f".into(), json!(f));
        if let Some(key) = key {
            line.insert("key".into(), json!(key));
        }
        line.insert("value".into(), value);
        line.insert("time_ns".into(), json!(time_us * 1_000));
        self.push(line);
    }

    /// A nemesis event (`start` or `stop` of a fault, described in `value`).
    pub fn nemesis(&mut self, f: &str, description: String, time_us: u64) {
        let mut line = Map::new();
        line.insert("index".into(), json!(self.next_index));
        line.insert("type".into(), json!("info"));
        line.insert("process".into(), json!("nemesis"));
        line.insert("f".into(), json!(f));
        line.insert("value".into(), json!(description));
        line.insert("time_ns".into(), json!(time_us * 1_000));
        self.push(line);
    }

    fn push(&mut self, line: Map<String, Json>) {
        self.next_index += 1;
        if let Ok(text) = serde_json::to_string(&Json::Object(line)) {
            self.bytes.extend_from_slice(text.as_bytes());
            self.bytes.push(b'\n');
        }
    }

    /// The JSONL bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
