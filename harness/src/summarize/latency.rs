//! Client latency of a run, read from its `history.jsonl`: each client invocation paired with the
//! same process's next completion, over the operations that completed `ok` (`results.json` holds
//! no latency figure, so the summary measures it from the history).

use serde::{Deserialize, Serialize};

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
    let mut open: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut samples: Vec<u64> = Vec::new();
    for line in history.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(kind), Some(time)) = (event["type"].as_str(), event["time_ns"].as_u64()) else {
            continue;
        };
        let process = event["process"].to_string();
        match kind {
            "invoke" => {
                open.insert(process, time);
            }
            "ok" | "fail" | "info" => {
                if let Some(invoked) = open.remove(&process) {
                    if kind == "ok" {
                        samples.push(time.saturating_sub(invoked));
                    }
                }
            }
            _ => {}
        }
    }
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let rank = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1] as f64 / 1e6
    };
    Some(Latency {
        ok_ops: samples.len() as u64,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
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
