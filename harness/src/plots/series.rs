//! The operations and nemesis events of a native `history.jsonl`, as times: each client
//! invocation paired with the same process's next completion (ok, fail or info), and every
//! invocation still open at the end of the history kept as pending. Shared by the plots, the
//! latency and availability figures of `results.json` and the store summary.

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    Fail,
    /// Outcome unknown: an `info` completion, or an invocation that never completed.
    Info,
}

impl Outcome {
    /// The history's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// One client operation, invoke to completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub f: String,
    pub outcome: Outcome,
    pub invoked_ns: u64,
    /// When it completed, or for a pending operation the end of the history (when it was
    /// abandoned).
    pub completed_ns: u64,
    /// It never completed.
    pub pending: bool,
}

impl Operation {
    pub fn latency_ns(&self) -> u64 {
        self.completed_ns.saturating_sub(self.invoked_ns)
    }
}

/// A nemesis line: `<fault>-start` or `<fault>-end`, with its text.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisEvent {
    pub f: String,
    pub time_ns: u64,
    pub value: String,
}

/// Everything the plots and figures need from a history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryTimes {
    /// Client operations in order of completion (pending ones last).
    pub operations: Vec<Operation>,
    pub nemesis: Vec<NemesisEvent>,
    /// The latest time in the history.
    pub end_ns: u64,
}

/// Reads a native history's text; lines that are not events (the header, garbage) are skipped.
pub fn read_history(text: &str) -> HistoryTimes {
    let mut open: std::collections::HashMap<String, (String, u64)> = Default::default();
    let mut times = HistoryTimes::default();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(kind), Some(time)) = (event["type"].as_str(), event["time_ns"].as_u64()) else {
            continue;
        };
        times.end_ns = times.end_ns.max(time);
        let f = event["f"].as_str().unwrap_or("").to_string();
        if event["process"] == "nemesis" {
            times.nemesis.push(NemesisEvent {
                f,
                time_ns: time,
                value: event["value"].as_str().unwrap_or("").to_string(),
            });
            continue;
        }
        let process = event["process"].to_string();
        let outcome = match kind {
            "invoke" => {
                open.insert(process, (f, time));
                continue;
            }
            "ok" => Outcome::Ok,
            "fail" => Outcome::Fail,
            "info" => Outcome::Info,
            _ => continue,
        };
        if let Some((f, invoked_ns)) = open.remove(&process) {
            times.operations.push(Operation {
                f,
                outcome,
                invoked_ns,
                completed_ns: time,
                pending: false,
            });
        }
    }
    let mut pending: Vec<_> = open.into_values().collect();
    pending.sort_by_key(|(_, invoked)| *invoked);
    for (f, invoked_ns) in pending {
        times.operations.push(Operation {
            f,
            outcome: Outcome::Info,
            invoked_ns,
            completed_ns: times.end_ns,
            pending: true,
        });
    }
    times
}

/// Seconds, from nanoseconds.
pub fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_invocations_with_completions_and_keeps_pending_ones() {
        let text = [
            r#"{"format":"gauntlet-history","version":1}"#,
            r#"{"type":"invoke","process":0,"f":"write","time_ns":100}"#,
            r#"{"type":"invoke","process":1,"f":"read","time_ns":150}"#,
            r#"{"type":"info","process":"nemesis","f":"kill-start","time_ns":160,"value":"kill nodes [1]"}"#,
            r#"{"type":"ok","process":1,"f":"read","time_ns":170}"#,
            r#"{"type":"info","process":0,"f":"write","time_ns":400}"#,
            r#"{"type":"invoke","process":1,"f":"cas","time_ns":500}"#,
            r#"{"type":"fail","process":1,"f":"cas","time_ns":520}"#,
            r#"{"type":"invoke","process":2,"f":"read","time_ns":600}"#,
            r#"not json"#,
            r#"{"type":"info","process":"nemesis","f":"kill-end","time_ns":900,"value":"restarted [1]"}"#,
        ]
        .join("\n");
        let times = read_history(&text);
        let summary: Vec<_> = times
            .operations
            .iter()
            .map(|o| {
                (
                    o.f.as_str(),
                    o.outcome,
                    o.latency_ns(),
                    o.completed_ns,
                    o.pending,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("read", Outcome::Ok, 20, 170, false),
                ("write", Outcome::Info, 300, 400, false),
                ("cas", Outcome::Fail, 20, 520, false),
                ("read", Outcome::Info, 300, 900, true),
            ]
        );
        assert_eq!(times.end_ns, 900);
        assert_eq!(times.nemesis.len(), 2);
        assert_eq!(times.nemesis[0].value, "kill nodes [1]");
    }
}
