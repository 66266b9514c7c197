//! The summary as data (`summary.json`): totals per kind of run, the figures of passing real runs
//! per test, everything collected, what changed since the previous night, and the exit code.
//! `summary.md` and `junit.xml` are renderings of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::collect::{verdict_rank, Collected, RUN_VERDICTS};
use super::trend::Changes;
use crate::verdict::ExitVerdict;

/// The value of `summary.json`'s `format` field.
pub const SUMMARY_FORMAT: &str = "gauntlet-summary";

/// Everything `gauntlet summarize` concluded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format: String,
    pub version: u32,
    /// The night the trend file records this summary under (UTC date).
    pub night: String,
    pub store: String,
    /// The earliest start admitted (`--since`), as a store stamp.
    pub since: Option<String>,
    pub real: RealTotals,
    pub sim: SimTotals,
    pub fuzz_targets: u64,
    pub fuzz_crashed: u64,
    /// Figures of the passing real runs, per test.
    pub passing: Vec<PassingFigures>,
    #[serde(flatten)]
    pub collected: Collected,
    pub changes: Option<Changes>,
    /// `gauntlet summarize`'s exit code: the worst of every run, sweep and fuzz target (a crash
    /// counts as a violation, an unreadable run directory as a harness failure).
    pub exit_code: u8,
}

/// Real runs by verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealTotals {
    pub runs: u64,
    /// Every run verdict with its count, zeros included, in a fixed order.
    pub by_verdict: Vec<VerdictCount>,
    pub unreadable: u64,
}

/// How many runs ended with one verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCount {
    pub verdict: String,
    pub runs: u64,
}

/// Simulated seeds over every sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimTotals {
    pub sweeps: u64,
    pub seeds_run: u64,
    pub violations: u64,
    pub unknowns: u64,
    pub harness_failures: u64,
    pub simulated_s: f64,
    pub cpu_s: f64,
}

/// Availability, latency and recovery of the passing runs of one test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassingFigures {
    pub test: String,
    pub runs: u64,
    pub availability_mean: Option<f64>,
    pub availability_min: Option<f64>,
    /// The mean of the runs' median latencies, and the worst p99 and maximum of any run.
    pub p50_ms_mean: Option<f64>,
    pub p99_ms_max: Option<f64>,
    pub max_ms: Option<f64>,
    pub recovery_s_max: Option<f64>,
    pub duration_s_mean: Option<f64>,
}

/// Builds the summary of what was collected.
pub fn summarize(
    collected: Collected,
    changes: Option<Changes>,
    night: &str,
    store: &str,
    since: Option<String>,
) -> Summary {
    let mut by_verdict: BTreeMap<usize, u64> = BTreeMap::new();
    let mut verdicts = Vec::new();
    for run in &collected.runs {
        let verdict = RUN_VERDICTS.iter().find(|v| v.name() == run.verdict);
        if let Some(verdict) = verdict {
            *by_verdict.entry(verdict_rank(*verdict)).or_default() += 1;
            verdicts.push(verdict.outcome());
        }
    }
    let sweep_failures = || collected.sweeps.iter().flat_map(|s| s.failures.iter());
    let count = |verdict: ExitVerdict| {
        sweep_failures()
            .filter(|f| f.verdict == verdict.name())
            .count() as u64
    };
    let sim = SimTotals {
        sweeps: collected.sweeps.len() as u64,
        seeds_run: collected.sweeps.iter().map(|s| s.seeds_run).sum(),
        violations: count(ExitVerdict::Violation),
        unknowns: count(ExitVerdict::Unknown),
        harness_failures: count(ExitVerdict::HarnessFailure),
        simulated_s: collected.sweeps.iter().fold(0.0, |t, s| t + s.simulated_s),
        cpu_s: collected.sweeps.iter().fold(0.0, |t, s| t + s.cpu_s),
    };
    verdicts.extend(
        collected
            .sweeps
            .iter()
            .filter_map(|s| ExitVerdict::from_exit_code(s.exit_code)),
    );
    let fuzz_crashed = collected
        .fuzz
        .iter()
        .filter(|f| f.crashes > 0 || f.exit_status != 0)
        .count() as u64;
    if fuzz_crashed > 0 {
        verdicts.push(ExitVerdict::Violation);
    }
    if !collected.unreadable.is_empty() {
        verdicts.push(ExitVerdict::HarnessFailure);
    }
    let real = RealTotals {
        runs: collected.runs.len() as u64,
        by_verdict: RUN_VERDICTS
            .iter()
            .map(|v| VerdictCount {
                verdict: v.name().to_string(),
                runs: by_verdict.get(&verdict_rank(*v)).copied().unwrap_or(0),
            })
            .collect(),
        unreadable: collected.unreadable.len() as u64,
    };
    Summary {
        format: SUMMARY_FORMAT.to_string(),
        version: 1,
        night: night.to_string(),
        store: store.to_string(),
        since,
        real,
        sim,
        fuzz_targets: collected.fuzz.len() as u64,
        fuzz_crashed,
        passing: passing_figures(&collected),
        exit_code: ExitVerdict::worst(verdicts).exit_code(),
        collected,
        changes,
    }
}

/// The figures of the valid runs, per test, in test order.
fn passing_figures(collected: &Collected) -> Vec<PassingFigures> {
    let mut by_test: BTreeMap<&str, Vec<&super::collect::RealRun>> = BTreeMap::new();
    for run in collected.runs.iter().filter(|r| r.verdict == "valid") {
        by_test.entry(&run.test).or_default().push(run);
    }
    by_test
        .into_iter()
        .map(|(test, runs)| {
            let values = |f: &dyn Fn(&super::collect::RealRun) -> Option<f64>| -> Vec<f64> {
                runs.iter().filter_map(|r| f(r)).collect()
            };
            let availability = values(&|r| r.availability);
            PassingFigures {
                test: test.to_string(),
                runs: runs.len() as u64,
                availability_mean: mean(&availability),
                availability_min: availability.iter().copied().reduce(f64::min),
                p50_ms_mean: mean(&values(&|r| r.latency.map(|l| l.p50_ms))),
                p99_ms_max: values(&|r| r.latency.map(|l| l.p99_ms))
                    .into_iter()
                    .reduce(f64::max),
                max_ms: values(&|r| r.latency.map(|l| l.max_ms))
                    .into_iter()
                    .reduce(f64::max),
                recovery_s_max: values(&|r| r.recovery_s).into_iter().reduce(f64::max),
                duration_s_mean: mean(&values(&|r| r.duration_s)),
            }
        })
        .collect()
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}
