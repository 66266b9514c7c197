//! What one run concluded, as typed data: the run's own verdict (finer than the exit code: it
//! tells a lost liveness from a checker that gave up), the checker's findings, the liveness
//! figures, and what the run did. Written as the run directory's `results.json` and read back by
//! tests and scripts; `docs/harness.md` lists the fields.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::recovery::FinalReads;
use super::verdict::{HistoryCounts, Judgement};
use super::windows::{availability_by_window, latency_figures, LatencyFigures, WindowAvailability};
use crate::plots::series::HistoryTimes;
use crate::raft_check::RaftCheckReport;
use crate::verdict::ExitVerdict;

/// The run's verdict, as `results.json` and the summary line name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunVerdict {
    /// The history is linearizable and the cluster served again after healing (exit 0).
    Valid,
    /// The history is not linearizable, or the nodes' event streams break a Raft invariant
    /// (exit 1).
    Invalid,
    /// The checker reached its time or memory bound (exit 2).
    Unknown,
    /// The history checks out, but some replies were malformed, so the clients' view of it is in
    /// doubt (exit 2).
    BadReplies,
    /// No leader served at the start, or the cluster did not serve again within the recovery
    /// timeout after healing (or a node would not restart); the history checks out (exit 2).
    NoLiveness,
    /// The harness itself failed (exit 3); `error` says how.
    HarnessFailed,
    /// gauntlet was stopped by a signal before it reached a verdict (exit 3); `signal` says which.
    Interrupted,
}

impl RunVerdict {
    /// The exit verdict this run verdict falls under.
    pub fn outcome(self) -> ExitVerdict {
        match self {
            RunVerdict::Valid => ExitVerdict::Valid,
            RunVerdict::Invalid => ExitVerdict::Violation,
            RunVerdict::Unknown | RunVerdict::BadReplies | RunVerdict::NoLiveness => {
                ExitVerdict::Unknown
            }
            RunVerdict::HarnessFailed | RunVerdict::Interrupted => ExitVerdict::HarnessFailure,
        }
    }

    /// The kebab-case name (`valid`, `invalid`, `no-liveness`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RunVerdict::Valid => "valid",
            RunVerdict::Invalid => "invalid",
            RunVerdict::Unknown => "unknown",
            RunVerdict::BadReplies => "bad-replies",
            RunVerdict::NoLiveness => "no-liveness",
            RunVerdict::HarnessFailed => "harness-failed",
            RunVerdict::Interrupted => "interrupted",
        }
    }
}

/// Whether and when the cluster served.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Liveness {
    /// A leader served before the workload began.
    pub leader_at_start: bool,
    /// Seconds from starting the nodes until a leader served.
    pub first_leader_s: Option<f64>,
    /// The cluster served again after every fault was healed.
    pub recovered: bool,
    /// Seconds from the heal until it served again.
    pub recovery_s: Option<f64>,
    /// What went wrong while healing (a node that would not restart).
    pub heal_problems: Vec<String>,
}

/// The checker's part of the results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckerResults {
    /// The checker's own verdict: `{"kind": "linearizable" | "not-linearizable" | "unknown"}`.
    pub verdict: Json,
    pub unknown_reason: Option<String>,
    /// The counterexample of a non-linearizable history (see `docs/checker.md`).
    pub counterexample: Json,
    /// Search statistics.
    pub stats: Json,
}

/// Everything `results.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    pub verdict: RunVerdict,
    /// The process exit code (that of `verdict.outcome()`).
    pub exit_code: u8,
    /// One line on what happened (the end of the summary line gauntlet prints).
    pub detail: String,
    pub seed: u64,
    /// The first anomaly's name for a violation: `lost-write`, `duplicate`, `stale-read`,
    /// `nonlinearizable`, ...
    pub anomaly: Option<String>,
    /// Seconds from the start of the history to the completion of the last operation of the
    /// earliest anomaly: how long the run took to show the violation.
    pub detected_at_s: Option<f64>,
    /// Each anomaly: `{kind, description, operations}`.
    pub anomalies: Vec<Json>,
    /// The checker's findings (absent when the history was never checked).
    pub checker: Option<CheckerResults>,
    /// Completions counted from the history (absent when it was never checked).
    pub counts: Option<HistoryCounts>,
    /// Share of completed client operations that were `ok` (as in `counts`).
    pub availability: Option<f64>,
    /// Replies a client could not make sense of.
    pub bad_replies: u64,
    /// Faults the nemesis applied.
    pub faults_applied: usize,
    pub liveness: Liveness,
    /// The final reads of every key after healing (absent when the run never got there).
    pub final_reads: Option<FinalReads>,
    /// The Raft check of the nodes' event streams (absent when the run never got there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raft_check: Option<RaftCheckReport>,
    /// Latency percentiles of the `ok` client operations, overall and per function (absent when
    /// the history was never analyzed, and in results written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyFigures>,
    /// Availability and latency in each fault window and fault-free stretch, by start time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowAvailability>,
    /// Why the harness failed (verdict `harness-failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The signal that stopped gauntlet (verdict `interrupted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

impl RunResults {
    /// Results with this verdict and nothing measured yet.
    fn bare(verdict: RunVerdict, seed: u64, detail: String) -> RunResults {
        RunResults {
            verdict,
            exit_code: verdict.outcome().exit_code(),
            detail,
            seed,
            anomaly: None,
            detected_at_s: None,
            anomalies: Vec::new(),
            checker: None,
            counts: None,
            availability: None,
            bad_replies: 0,
            faults_applied: 0,
            liveness: Liveness::default(),
            final_reads: None,
            raft_check: None,
            latency: None,
            windows: Vec::new(),
            error: None,
            signal: None,
        }
    }

    /// No leader served before the workload could begin.
    pub fn no_leader_at_start(seed: u64, detail: String) -> RunResults {
        RunResults::bare(RunVerdict::NoLiveness, seed, detail)
    }

    /// The harness failed with `error`.
    pub fn harness_failed(seed: u64, error: &anyhow::Error) -> RunResults {
        let error = format!("{error:#}");
        RunResults {
            error: Some(error.clone()),
            ..RunResults::bare(RunVerdict::HarnessFailed, seed, error)
        }
    }

    /// gauntlet was stopped by `signal`.
    pub fn interrupted(seed: u64, signal: &str) -> RunResults {
        RunResults {
            signal: Some(signal.to_string()),
            ..RunResults::bare(
                RunVerdict::Interrupted,
                seed,
                format!("interrupted by {signal}"),
            )
        }
    }

    /// The verdict of a checked history: the checker's, unless the history checks out and the
    /// cluster did not serve again (`no-liveness`) or some replies were malformed
    /// (`bad-replies`).
    pub fn analyzed(
        seed: u64,
        judgement: Judgement,
        activity: Activity,
        liveness: Liveness,
        final_reads: FinalReads,
    ) -> RunResults {
        let verdict = match judgement.outcome {
            ExitVerdict::Violation => RunVerdict::Invalid,
            ExitVerdict::Unknown | ExitVerdict::HarnessFailure => RunVerdict::Unknown,
            ExitVerdict::Valid if !liveness.recovered || !liveness.heal_problems.is_empty() => {
                RunVerdict::NoLiveness
            }
            ExitVerdict::Valid if activity.bad_replies > 0 => RunVerdict::BadReplies,
            ExitVerdict::Valid => RunVerdict::Valid,
        };
        let counts = &judgement.counts;
        let detail = format!(
            "{} ok / {} fail / {} info, availability {:.0}%, {} faults{}{}",
            counts.ok,
            counts.fail,
            counts.info,
            counts.availability * 100.0,
            activity.faults_applied,
            judgement
                .detected_at_s
                .map(|t| format!(", violation shown {t:.1}s into the history"))
                .unwrap_or_default(),
            judgement
                .unknown_reason
                .as_ref()
                .map(|r| format!(", checker: {r}"))
                .unwrap_or_default()
        );
        let report = &judgement.report;
        RunResults {
            anomaly: judgement.anomaly,
            detected_at_s: judgement.detected_at_s,
            anomalies: judgement.anomalies,
            checker: Some(CheckerResults {
                verdict: to_json(&report.verdict),
                unknown_reason: judgement.unknown_reason,
                counterexample: to_json(&report.counterexample),
                stats: to_json(&report.stats),
            }),
            availability: Some(counts.availability),
            counts: Some(judgement.counts),
            bad_replies: activity.bad_replies,
            faults_applied: activity.faults_applied,
            liveness,
            final_reads: Some(final_reads),
            ..RunResults::bare(verdict, seed, detail)
        }
    }

    /// Adds the Raft check of the event streams: a violation makes the run `invalid` (exit 1)
    /// whatever the history says, names the first violation as the anomaly when the history
    /// showed none, and ends the detail with it.
    pub fn with_raft_check(mut self, report: RaftCheckReport) -> RunResults {
        if let Some(first) = report.first_violation() {
            self.verdict = RunVerdict::Invalid;
            self.exit_code = self.verdict.outcome().exit_code();
            self.anomaly.get_or_insert_with(|| first.name.clone());
            self.detail.push_str(&format!(
                "; raft check: {} violation(s), first {} (node {}{}): {}",
                report.violation_count,
                first.name,
                first.node,
                first
                    .time_s
                    .map(|t| format!(" at {t:.1}s"))
                    .unwrap_or_default(),
                first.detail
            ));
        }
        self.raft_check = Some(report);
        self
    }

    /// Adds the latency percentiles and the availability per fault window of the history.
    pub fn with_history_figures(mut self, times: &HistoryTimes) -> RunResults {
        self.latency = Some(latency_figures(times));
        self.windows = availability_by_window(times);
        self
    }

    /// The exit verdict.
    pub fn outcome(&self) -> ExitVerdict {
        self.verdict.outcome()
    }
}

/// What the clients and the nemesis did during the case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub bad_replies: u64,
    pub faults_applied: usize,
}

fn to_json<T: Serialize>(value: &T) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft_check::StreamViolation;

    #[test]
    fn every_run_verdict_has_its_exit_code_and_kebab_name() {
        let all = [
            (RunVerdict::Valid, 0),
            (RunVerdict::Invalid, 1),
            (RunVerdict::Unknown, 2),
            (RunVerdict::BadReplies, 2),
            (RunVerdict::NoLiveness, 2),
            (RunVerdict::HarnessFailed, 3),
            (RunVerdict::Interrupted, 3),
        ];
        for (verdict, code) in all {
            assert_eq!(verdict.outcome().exit_code(), code, "{verdict:?}");
            let json = serde_json::to_string(&verdict).unwrap();
            assert_eq!(json, format!("\"{}\"", verdict.name()));
        }
    }

    #[test]
    fn results_survive_a_trip_through_json() {
        let results = RunResults::interrupted(7, "SIGINT");
        let text = serde_json::to_string_pretty(&results).unwrap();
        assert!(text.contains("\"verdict\": \"interrupted\""), "{text}");
        assert!(text.contains("\"exit_code\": 3"), "{text}");
        assert_eq!(serde_json::from_str::<RunResults>(&text).unwrap(), results);
        let failed = RunResults::harness_failed(1, &anyhow::anyhow!("no raft-kv binary"));
        assert_eq!(failed.error.as_deref(), Some("no raft-kv binary"));
        assert_eq!(failed.outcome(), ExitVerdict::HarnessFailure);
    }

    #[test]
    fn results_written_before_the_latency_and_window_figures_still_load() {
        let mut old = serde_json::to_value(RunResults::interrupted(7, "SIGINT")).unwrap();
        let fields = old.as_object_mut().unwrap();
        assert!(!fields.contains_key("latency") && !fields.contains_key("windows"));
        fields.remove("signal");
        let loaded: RunResults = serde_json::from_value(old).unwrap();
        assert_eq!((loaded.latency, loaded.windows.len()), (None, 0));

        let history = [
            r#"{"type":"invoke","process":0,"f":"read","time_ns":0}"#,
            r#"{"type":"info","process":"nemesis","f":"pause-start","time_ns":1000000,"value":"pause nodes [1]"}"#,
            r#"{"type":"ok","process":0,"f":"read","time_ns":2000000}"#,
        ]
        .join("\n");
        let times = crate::plots::series::read_history(&history);
        let measured = RunResults::interrupted(7, "SIGINT").with_history_figures(&times);
        let text = serde_json::to_string_pretty(&measured).unwrap();
        assert!(
            text.contains("\"p95_ms\": 2.0") && text.contains("\"name\": \"pause\""),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<RunResults>(&text).unwrap(), measured);
    }

    fn raft_report(violations: Vec<StreamViolation>) -> RaftCheckReport {
        RaftCheckReport {
            violation_count: violations.len(),
            violations,
            events: 10,
            bytes: 1000,
            bytes_per_s: 100.0,
            nodes: Vec::new(),
        }
    }

    #[test]
    fn a_raft_check_violation_makes_a_valid_run_invalid_and_names_it() {
        let valid = RunResults::bare(RunVerdict::Valid, 3, "all good".into());
        let passed = valid.clone().with_raft_check(raft_report(Vec::new()));
        assert_eq!((passed.verdict, passed.exit_code), (RunVerdict::Valid, 0));
        assert!(passed.raft_check.is_some());

        let violation = StreamViolation {
            name: "acked-entry-truncated".into(),
            node: 2,
            time_ns: 5,
            time_s: Some(1.5),
            detail: "node 2 removed entries".into(),
        };
        let failed = valid.with_raft_check(raft_report(vec![violation]));
        assert_eq!((failed.verdict, failed.exit_code), (RunVerdict::Invalid, 1));
        assert_eq!(failed.anomaly.as_deref(), Some("acked-entry-truncated"));
        assert!(
            failed.detail.contains(
                "raft check: 1 violation(s), first acked-entry-truncated (node 2 at 1.5s)"
            ),
            "{}",
            failed.detail
        );
        let text = serde_json::to_string(&failed).unwrap();
        assert_eq!(serde_json::from_str::<RunResults>(&text).unwrap(), failed);
    }
}
