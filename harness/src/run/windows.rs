//! Latency percentiles and availability per fault window, for `results.json`: read from the
//! history's operations and nemesis events (the plots' reading, [`crate::plots::series`]), over
//! the fault windows and the fault-free stretches between them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plots::series::{seconds, HistoryTimes, Operation, Outcome};
use crate::plots::windows::{fault_free_stretches, fault_windows};

/// The name of a stretch of the history with no fault in force.
pub const NO_FAULT: &str = "no-fault";

/// Latency percentiles of `ok` operations, in milliseconds (nearest rank).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyPercentiles {
    pub ok_ops: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencyPercentiles {
    /// The percentiles of latencies in nanoseconds (`None` for none).
    pub fn of(mut samples_ns: Vec<u64>) -> Option<LatencyPercentiles> {
        if samples_ns.is_empty() {
            return None;
        }
        samples_ns.sort_unstable();
        let at = |q: f64| {
            let rank = ((samples_ns.len() as f64 * q).ceil() as usize).clamp(1, samples_ns.len());
            samples_ns[rank - 1] as f64 / 1e6
        };
        Some(LatencyPercentiles {
            ok_ops: samples_ns.len() as u64,
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        })
    }

    /// The percentiles of the `ok` operations among `operations`.
    pub fn of_ok<'a>(
        operations: impl Iterator<Item = &'a Operation>,
    ) -> Option<LatencyPercentiles> {
        LatencyPercentiles::of(
            operations
                .filter(|o| o.outcome == Outcome::Ok)
                .map(Operation::latency_ns)
                .collect(),
        )
    }
}

/// Latency of the run's `ok` operations, overall and per function.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyFigures {
    pub overall: Option<LatencyPercentiles>,
    pub by_function: BTreeMap<String, LatencyPercentiles>,
}

/// What the clients saw during one fault window or fault-free stretch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowAvailability {
    /// The fault (`kill`, `partition`, ...) or `no-fault`.
    pub name: String,
    /// What the nemesis did (its start event's text); absent for `no-fault`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seconds into the history.
    pub start_s: f64,
    pub end_s: f64,
    /// Client operations that completed in the window (ok, fail or info).
    pub completed: u64,
    /// Share of them that were `ok` (absent when none completed).
    pub ok_share: Option<f64>,
    /// Latency of the `ok` ones.
    pub latency: Option<LatencyPercentiles>,
}

/// The latency figures of a history.
pub fn latency_figures(times: &HistoryTimes) -> LatencyFigures {
    let mut by_function: BTreeMap<String, Vec<&Operation>> = BTreeMap::new();
    for op in &times.operations {
        by_function.entry(op.f.clone()).or_default().push(op);
    }
    LatencyFigures {
        overall: LatencyPercentiles::of_ok(times.operations.iter()),
        by_function: by_function
            .into_iter()
            .filter_map(|(f, ops)| Some((f, LatencyPercentiles::of_ok(ops.into_iter())?)))
            .collect(),
    }
}

/// Availability in every fault window and every fault-free stretch, by start time. An
/// operation counts in a window when it completed inside it; pending ones never completed.
pub fn availability_by_window(times: &HistoryTimes) -> Vec<WindowAvailability> {
    let windows = fault_windows(&times.nemesis, times.end_ns);
    let mut spans: Vec<(String, Option<String>, u64, u64)> = windows
        .iter()
        .map(|w| {
            (
                w.name.clone(),
                Some(w.description.clone()),
                w.start_ns,
                w.end_ns,
            )
        })
        .collect();
    spans.extend(
        fault_free_stretches(&windows, times.end_ns)
            .into_iter()
            .map(|(start, end)| (NO_FAULT.to_string(), None, start, end)),
    );
    spans.sort_by_key(|span| span.2);
    spans
        .into_iter()
        .map(|(name, description, start, end)| {
            let inside: Vec<&Operation> = times
                .operations
                .iter()
                .filter(|o| !o.pending && (start..=end).contains(&o.completed_ns))
                .collect();
            let ok = inside.iter().filter(|o| o.outcome == Outcome::Ok).count();
            WindowAvailability {
                name,
                description,
                start_s: seconds(start),
                end_s: seconds(end),
                completed: inside.len() as u64,
                ok_share: (!inside.is_empty()).then(|| ok as f64 / inside.len() as f64),
                latency: LatencyPercentiles::of_ok(inside.into_iter()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::series::read_history;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<u64> = (1..=200).map(|ms| ms * 1_000_000).collect();
        let p = LatencyPercentiles::of(samples).unwrap();
        assert_eq!(
            (p.ok_ops, p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms),
            (200, 100.0, 190.0, 198.0, 200.0)
        );
        assert_eq!(LatencyPercentiles::of(Vec::new()), None);
    }

    /// Reads of 10 ms every 100 ms for 3 s; a kill from 1 s to 2 s during which every read
    /// fails; one write that is still pending at the end.
    fn history() -> HistoryTimes {
        let mut lines = Vec::new();
        for i in 0..30u64 {
            let t = i * 100_000_000 + 1;
            let kind = if (10..20).contains(&i) { "fail" } else { "ok" };
            lines.push(format!(
                r#"{{"type":"invoke","process":0,"f":"read","time_ns":{t}}}"#
            ));
            lines.push(format!(
                r#"{{"type":"{kind}","process":0,"f":"read","time_ns":{}}}"#,
                t + 10_000_000
            ));
        }
        lines.push(r#"{"type":"invoke","process":1,"f":"write","time_ns":5}"#.into());
        lines.push(r#"{"type":"info","process":"nemesis","f":"kill-start","time_ns":1000000000,"value":"kill nodes [2]"}"#.into());
        lines.push(r#"{"type":"info","process":"nemesis","f":"kill-end","time_ns":2000000000,"value":"restarted [2]"}"#.into());
        read_history(&lines.join("\n"))
    }

    #[test]
    fn latency_is_measured_over_ok_operations_per_function() {
        let figures = latency_figures(&history());
        let overall = figures.overall.unwrap();
        assert_eq!((overall.ok_ops, overall.max_ms), (20, 10.0));
        assert_eq!(figures.by_function.keys().collect::<Vec<_>>(), vec!["read"]);
    }

    #[test]
    fn each_window_and_fault_free_stretch_has_its_availability() {
        let windows = availability_by_window(&history());
        let summary: Vec<_> = windows
            .iter()
            .map(|w| (w.name.as_str(), w.start_s, w.end_s, w.completed, w.ok_share))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("no-fault", 0.0, 1.0, 10, Some(1.0)),
                ("kill", 1.0, 2.0, 10, Some(0.0)),
                ("no-fault", 2.0, 2.910000001, 10, Some(1.0)),
            ]
        );
        assert_eq!(windows[1].description.as_deref(), Some("kill nodes [2]"));
        assert_eq!(windows[1].latency, None);
        assert_eq!(windows[2].latency.unwrap().p99_ms, 10.0);
    }
}
