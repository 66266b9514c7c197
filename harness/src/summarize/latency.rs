//! Client latency of a run, read from its `history.jsonl` (runs older than `results.json`'s own
//! latency figures have only the history): each client invocation paired with the same
//! process's next completion, over the operations that completed `ok`. The reading and the
//! percentiles are those of `results.json` ([`crate::run::windows`]).

use serde::{Deserialize, Serialize};

use crate::plots::series::read_history;
use crate::run::windows::LatencyPercentiles;

/// Latency percentiles of the `ok` operations of one history, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub ok_ops: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The latency of the `ok` operations in a native history (`None` when it has none).
pub fn history_latency(history: &str) -> Option<Latency> {
    let times = read_history(history);
    let p = LatencyPercentiles::of_ok(times.operations.iter())?;
    Some(Latency {
        ok_ops: p.ok_ops,
        p50_ms: p.p50_ms,
        p99_ms: p.p99_ms,
        max_ms: p.max_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_each_invocation_with_its_process_completion() {
        let mut lines = vec![r#"{"format":"gauntlet-history","version":1}"#.to_string()];
        // Process 0: ops of 1..=100 ms; process 1: one failed op of 5 s (not counted).
        for i in 1..=100u64 {
            let start = i * 1_000_000_000;
            lines.push(format!(
                r#"{{"type":"invoke","process":0,"f":"read","time_ns":{start}}}"#
            ));
            if i == 50 {
                lines.push(format!(
                    r#"{{"type":"invoke","process":1,"f":"read","time_ns":{start}}}"#
                ));
                lines.push(r#"{"type":"info","process":"nemesis","f":"kill"}"#.to_string());
            }
            lines.push(format!(
                r#"{{"type":"ok","process":0,"f":"read","time_ns":{}}}"#,
                start + i * 1_000_000
            ));
            if i == 55 {
                lines.push(format!(
                    r#"{{"type":"fail","process":1,"f":"read","time_ns":{}}}"#,
                    start + 5_000_000_000
                ));
            }
        }
        let latency = history_latency(&lines.join("\n")).unwrap();
        assert_eq!(latency.ok_ops, 100);
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(latency.max_ms, 100.0);
        assert_eq!(history_latency("{\"format\":\"gauntlet-history\"}\n"), None);
    }
}
