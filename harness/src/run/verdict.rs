//! From a recorded history to a verdict: load the history file as the checker would, check it
//! with the workload's model, name the anomaly, and count what the history holds. The run's
//! verdict, which also weighs liveness, is made in [`super::results`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use checker::formats::{self, Format};
use checker::history::{EventKind, Operation, Process};
use checker::{check_operations, wellformed, CheckOptions, CheckReport, ModelKind, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::verdict::ExitVerdict;

/// Counts of completions per function and type, from the history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryCounts {
    /// `f -> type -> count` (types: ok, fail, info; `open` for invocations never completed).
    pub by_function: BTreeMap<String, BTreeMap<String, u64>>,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    pub nemesis_events: u64,
    /// Share of completed client operations that were `ok`.
    pub availability: f64,
}

/// What the checker said, in the run's terms.
#[derive(Clone, Debug, Serialize)]
pub struct Judgement {
    /// The checker's verdict: valid, violation or unknown.
    pub outcome: ExitVerdict,
    /// The anomaly's name for a violation: `lost-write`, `duplicate`, `stale-read` or
    /// `nonlinearizable`.
    pub anomaly: Option<String>,
    /// Each anomaly with the operations that show it.
    pub anomalies: Vec<Json>,
    pub unknown_reason: Option<String>,
    /// Seconds from the start of the history to the completion of the last operation of the
    /// earliest anomaly: how long the run took to show the violation.
    pub detected_at_s: Option<f64>,
    pub counts: HistoryCounts,
    pub report: CheckReport,
}

/// Reads and checks `history`. Errors (unreadable or ill-formed history) are harness failures.
pub fn judge(history: &Path, model: ModelKind, timeout: Duration) -> anyhow::Result<Judgement> {
    let parsed = formats::load_file(history, Some(Format::Jsonl))?;
    let counts = count(&parsed.history.events);
    let operations = wellformed::pair(&parsed.history)?;
    let options = CheckOptions {
        timeout: Some(timeout),
        ..CheckOptions::default()
    };
    let report = check_operations(&operations, model, &options);
    let by_id = |id: usize| operations.iter().find(|op| op.id == id);
    let time_of = |op: &Operation| {
        let index = op.ret.unwrap_or(op.call);
        parsed.history.events.get(index).and_then(|e| e.time_ns)
    };
    let shown_at = |ops: &[&Operation]| ops.iter().filter_map(|op| time_of(op)).max();
    let mut detected_ns: Option<u64> = None;
    let mut note = |ops: &[&Operation]| {
        if let Some(t) = shown_at(ops) {
            detected_ns = Some(detected_ns.map_or(t, |d| d.min(t)));
        }
    };
    let mut anomalies = Vec::new();
    let mut anomaly = None;
    for found in &report.anomalies {
        let kind = serde_json::to_value(found.kind).unwrap_or(Json::Null);
        anomaly.get_or_insert_with(|| kind.as_str().unwrap_or("anomaly").to_string());
        let ops: Vec<&Operation> = found
            .write
            .iter()
            .chain([&found.read])
            .filter_map(|&id| by_id(id))
            .collect();
        note(&ops);
        anomalies.push(json!({"kind": kind, "description": found.description, "operations": ops}));
    }
    if report.verdict == Verdict::NotLinearizable && anomaly.is_none() {
        let name = match &report.counterexample {
            Some(cx) => {
                let blocked_reads = cx
                    .blocked
                    .first()
                    .and_then(|b| by_id(b.op))
                    .is_some_and(|op| matches!(op.f.as_str(), "read" | "get"));
                let ops: Vec<&Operation> = cx.blocked.iter().filter_map(|b| by_id(b.op)).collect();
                note(&ops);
                let name = if blocked_reads {
                    "stale-read"
                } else {
                    "nonlinearizable"
                };
                anomalies.push(json!({
                    "kind": name,
                    "description": cx.explanation,
                    "operations": ops,
                }));
                name
            }
            None => "nonlinearizable",
        };
        anomaly = Some(name.to_string());
    }
    let unknown_reason = match &report.verdict {
        Verdict::Unknown { reason } => Some(reason.clone()),
        Verdict::Linearizable | Verdict::NotLinearizable => None,
    };
    Ok(Judgement {
        outcome: ExitVerdict::of_check(&report.verdict),
        anomaly,
        anomalies,
        unknown_reason,
        detected_at_s: detected_ns.map(|ns| ns as f64 / 1e9),
        counts,
        report,
    })
}

fn count(events: &[checker::history::Event]) -> HistoryCounts {
    let mut counts = HistoryCounts::default();
    let mut open: BTreeMap<u64, String> = BTreeMap::new();
    for event in events {
        let Process::Client(process) = event.process else {
            counts.nemesis_events += 1;
            continue;
        };
        let kind = match event.kind {
            EventKind::Invoke => {
                open.insert(process, event.f.clone());
                continue;
            }
            EventKind::Ok => {
                counts.ok += 1;
                "ok"
            }
            EventKind::Fail => {
                counts.fail += 1;
                "fail"
            }
            EventKind::Info => {
                counts.info += 1;
                "info"
            }
        };
        open.remove(&process);
        *counts
            .by_function
            .entry(event.f.clone())
            .or_default()
            .entry(kind.to_string())
            .or_default() += 1;
    }
    for f in open.into_values() {
        *counts
            .by_function
            .entry(f)
            .or_default()
            .entry("open".into())
            .or_default() += 1;
    }
    let completed = counts.ok + counts.fail + counts.info;
    counts.availability = if completed == 0 {
        0.0
    } else {
        counts.ok as f64 / completed as f64
    };
    counts
}
