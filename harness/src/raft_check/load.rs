//! Reads the nodes' event streams (`events-<id>.jsonl`) of a run directory, merges them in time
//! order, runs the [`StreamChecker`] over them and sums up what they hold: the Raft check's part
//! of `results.json`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use raft::core::NodeId;
use raft::events::{read_stream, EventRecord, Stream};
use serde::{Deserialize, Serialize};

use super::check::{StreamChecker, StreamViolation};

/// The file name of node `node`'s stream in a run directory.
pub fn stream_file(node: NodeId) -> String {
    format!("events-{node}.jsonl")
}

/// One node's stream, read back.
#[derive(Clone, Debug)]
pub struct NodeStream {
    pub node: NodeId,
    pub path: PathBuf,
    pub bytes: u64,
    pub stream: Stream,
}

/// What one node's stream held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamStats {
    pub node: NodeId,
    pub events: usize,
    pub bytes: u64,
    /// Times the node started (restarts after a kill included).
    pub starts: usize,
    /// The last line was cut short (the node was killed while writing it); it was skipped.
    pub truncated_last_line: bool,
}

/// The Raft check of a run, as `results.json` holds it (`raft_check`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaftCheckReport {
    /// The invariants broken, at most 20 (in time order); empty when the check passed.
    pub violations: Vec<StreamViolation>,
    /// How many violations there were in all.
    pub violation_count: usize,
    pub events: usize,
    pub bytes: u64,
    /// Bytes of all streams per second of the time they span.
    pub bytes_per_s: f64,
    pub nodes: Vec<StreamStats>,
}

impl RaftCheckReport {
    /// The first violation's name, if any.
    pub fn first_violation(&self) -> Option<&StreamViolation> {
        self.violations.first()
    }
}

/// Reads the streams of nodes `nodes` in `dir`; a node without a stream file is skipped with a
/// warning (it never started).
pub fn load_streams(dir: &Path, nodes: &[NodeId]) -> anyhow::Result<Vec<NodeStream>> {
    let mut streams = Vec::new();
    for &node in nodes {
        let path = dir.join(stream_file(node));
        if !path.is_file() {
            tracing::warn!(node, path = %path.display(), "no event stream");
            continue;
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let stream =
            read_stream(&path).with_context(|| format!("reading node {node}'s event stream"))?;
        streams.push(NodeStream {
            node,
            path,
            bytes,
            stream,
        });
    }
    Ok(streams)
}

/// Checks `streams` together; `zero_ns` is the history's time zero on the streams' clock.
pub fn check_streams(streams: &[NodeStream], zero_ns: Option<u64>) -> RaftCheckReport {
    let mut records: Vec<EventRecord> = streams
        .iter()
        .flat_map(|s| s.stream.records.iter().cloned())
        .collect();
    // Stable: each node's own order is kept among equal times.
    records.sort_by_key(|r| r.time_ns);
    let (violations, violation_count) = StreamChecker::new(zero_ns).run(&records);
    let bytes: u64 = streams.iter().map(|s| s.bytes).sum();
    let span_s = match (records.first(), records.last()) {
        (Some(first), Some(last)) if last.time_ns > first.time_ns => {
            (last.time_ns - first.time_ns) as f64 / 1e9
        }
        _ => 0.0,
    };
    RaftCheckReport {
        violations,
        violation_count,
        events: records.len(),
        bytes,
        bytes_per_s: if span_s > 0.0 {
            bytes as f64 / span_s
        } else {
            0.0
        },
        nodes: streams
            .iter()
            .map(|s| StreamStats {
                node: s.node,
                events: s.stream.records.len(),
                bytes: s.bytes,
                starts: s
                    .stream
                    .records
                    .iter()
                    .filter(|r| r.event.name() == "started")
                    .count(),
                truncated_last_line: s.stream.truncated_last_line,
            })
            .collect(),
    }
}
