//! The one encoder of history lines ([`HistoryLog`]): header, `invoke`, `ok`/`fail`/`info` (with
//! the node that answered or was last tried, and a failure's `error_kind`) and nemesis events
//! (with the nodes and links they hit) in the native JSONL format (`docs/history-format.md`), with
//! their running index, the counts of completions and the set of keys touched. It does not read a clock: every
//! event comes with its time. The [`super::Recorder`] of `gauntlet test` gives it wall-clock
//! time behind a lock and a file; the simulator gives it simulated time and a buffer in memory.
//!
//! Each line is encoded whole, then written with its newline in one `write_all` and flushed, so a
//! crash loses at most the last line.

use std::collections::BTreeSet;
use std::io::{self, Write};

use checker::formats::jsonl::Header;
use serde::Serialize;
use serde_json::Value as Json;

use super::completion::Completion;
use super::CountsSnapshot;
use crate::nemesis::resolved::{fault_record, Resolved};
use crate::nemesis::schedule::{Fault, NodeId};
use crate::workload::OpSpec;

/// Who an event belongs to: a client process or the nemesis.
#[derive(Serialize)]
#[serde(untagged)]
enum Process {
    Client(u64),
    Named(&'static str),
}

/// One history line. Fields in alphabetical order: the order `serde_json::Map` (a `BTreeMap`)
/// gave the recorder's lines before this encoder existed, so their bytes did not change.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_kind: Option<&'static str>,
    f: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<Json>,
    index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<NodeId>,
    process: Process,
    time_ns: u64,
    #[serde(rename = "type")]
    kind: &'a str,
    value: Json,
}

/// An append-only history written to `out`.
#[derive(Debug)]
pub struct HistoryLog<W: Write> {
    out: W,
    line: Vec<u8>,
    next_index: u64,
    counts: CountsSnapshot,
    keys: BTreeSet<String>,
}

impl<W: Write> HistoryLog<W> {
    /// A history on `out`, starting with its header line.
    pub fn new(out: W, header: &Header) -> io::Result<HistoryLog<W>> {
        let mut log = HistoryLog {
            out,
            line: Vec::with_capacity(256),
            next_index: 0,
            counts: CountsSnapshot::default(),
            keys: BTreeSet::new(),
        };
        log.emit(header)?;
        Ok(log)
    }

    /// Records that `process` is about to send `op` at `time_ns`.
    pub fn invoke(&mut self, process: u64, op: &OpSpec, time_ns: u64) -> io::Result<()> {
        let key = op.store_key();
        if !self.keys.contains(key) {
            self.keys.insert(key.to_string());
        }
        self.counts.invoked += 1;
        let line = Line {
            error: None,
            error_kind: None,
            f: op.f(),
            fault: None,
            index: self.next_index,
            key: op.history_key(),
            node: None,
            process: Process::Client(process),
            time_ns,
            kind: "invoke",
            value: op.invoke_value(),
        };
        self.emit_event(&line)
    }

    /// Records how `op` of `process` ended at `time_ns`; `node` answered it (`ok`) or was the
    /// last one tried (`fail`/`info`), when known. A `fail` or `info` keeps the invoked value and
    /// carries its reason as `error` and its kind as `error_kind`.
    pub fn complete(
        &mut self,
        process: u64,
        op: &OpSpec,
        completion: &Completion,
        node: Option<NodeId>,
        time_ns: u64,
    ) -> io::Result<()> {
        let counter = match completion {
            Completion::Ok(_) => &mut self.counts.ok,
            Completion::Fail(_) => &mut self.counts.fail,
            Completion::Info(_) => &mut self.counts.info,
        };
        *counter += 1;
        let value = match completion {
            Completion::Ok(value) => value.clone(),
            _ => op.invoke_value(),
        };
        let line = Line {
            error: completion.error(),
            error_kind: completion.error_kind().map(|kind| kind.name()),
            f: op.f(),
            fault: None,
            index: self.next_index,
            key: op.history_key(),
            node,
            process: Process::Client(process),
            time_ns,
            kind: completion.kind(),
            value,
        };
        self.emit_event(&line)
    }

    /// Records the start or end (`phase`) of a fault at `time_ns`, as `info` of the nemesis
    /// with `f` = `<fault>-<phase>`, `value` = what was done, and the fault itself with the nodes
    /// and links it hit ([`fault_record`]).
    pub fn nemesis(
        &mut self,
        phase: &str,
        fault: &Fault,
        resolved: &Resolved,
        detail: &str,
        time_ns: u64,
    ) -> io::Result<()> {
        let f = format!("{}-{phase}", fault.name());
        let line = Line {
            error: None,
            error_kind: None,
            f: &f,
            fault: Some(fault_record(fault, resolved)),
            index: self.next_index,
            key: None,
            node: None,
            process: Process::Named("nemesis"),
            time_ns,
            kind: "info",
            value: Json::String(detail.to_string()),
        };
        self.emit_event(&line)
    }

    /// Completions so far.
    pub fn counts(&self) -> CountsSnapshot {
        self.counts
    }

    /// Every store key an operation was invoked on.
    pub fn keys(&self) -> &BTreeSet<String> {
        &self.keys
    }

    /// Where the lines went.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Where the lines go, to take what was written (the simulator's buffer).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn emit_event(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.emit(line)?;
        self.next_index += 1;
        Ok(())
    }

    fn emit(&mut self, line: &impl Serialize) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, line).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::schedule::Targets;
    use crate::recorder::completion::Failure;
    use raft::client::ErrorKind;
    use serde_json::json;

    fn header() -> Header {
        Header {
            format: Some("gauntlet-history".into()),
            version: Some(1),
            workload: Some("append".into()),
            seed: Some(3),
            model: Some("list-append".into()),
        }
    }

    fn lines(log: &HistoryLog<Vec<u8>>) -> Vec<String> {
        String::from_utf8(log.get_ref().clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn events_are_encoded_with_the_time_they_are_given() {
        let mut log = HistoryLog::new(Vec::new(), &header()).unwrap();
        let append = OpSpec::ListAppend {
            key: "k1".into(),
            element: 7,
        };
        log.invoke(2, &append, 1_000).unwrap();
        let timeout = Completion::Info(Failure::new(ErrorKind::Timeout, "timeout"));
        log.complete(2, &append, &timeout, Some(3), 5_000).unwrap();
        let fault = Fault::Kill {
            targets: Targets::Leader,
        };
        let hit = Resolved::nodes(vec![1]);
        log.nemesis("start", &fault, &hit, "kill leader 1", 6_000)
            .unwrap();
        let read = OpSpec::RegisterRead;
        log.invoke(3, &read, 7_000).unwrap();
        log.complete(3, &read, &Completion::Ok(json!(4)), Some(2), 8_000)
            .unwrap();
        let lines = lines(&log);
        assert!(
            lines[0].contains("\"format\":\"gauntlet-history\""),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            r#"{"f":"append","index":0,"key":"k1","process":2,"time_ns":1000,"type":"invoke","value":7}"#
        );
        assert_eq!(
            lines[2],
            r#"{"error":"timeout","error_kind":"timeout","f":"append","index":1,"key":"k1","node":3,"process":2,"time_ns":5000,"type":"info","value":7}"#
        );
        let nemesis: Json = serde_json::from_str(&lines[3]).unwrap();
        assert_eq!(nemesis["process"], "nemesis");
        assert_eq!(nemesis["f"], "kill-start");
        assert_eq!(nemesis["index"], 2);
        assert_eq!(
            nemesis["fault"],
            json!({"fault": "kill", "targets": "leader", "nodes": [1], "links": []})
        );
        assert_eq!(
            lines[5],
            r#"{"f":"read","index":4,"node":2,"process":3,"time_ns":8000,"type":"ok","value":4}"#
        );
        let counts = log.counts();
        assert_eq!(
            (counts.invoked, counts.ok, counts.fail, counts.info),
            (2, 1, 0, 1)
        );
        let keys: Vec<&str> = log.keys().iter().map(String::as_str).collect();
        assert_eq!(keys, ["k1", "register"]);
    }
}
