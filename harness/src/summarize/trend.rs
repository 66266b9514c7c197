//! The trend file (`<store>/trend.jsonl` by default): one JSON line per run per night (a real run,
//! a merged sim sweep, a fuzz target), appended by every `gauntlet summarize` and read back the
//! next night, so the summary can say what changed since the last night: failures that are new,
//! failures that are gone, availability and latency that moved.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::collect::Collected;

/// One run's line in the trend file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendLine {
    /// The night (UTC date `YYYY-MM-DD`) the line was written for.
    pub night: String,
    /// `real`, `sim` or `fuzz`.
    pub kind: String,
    /// What is compared from night to night: the test name of a real run, a sweep's command
    /// without its seeds, a fuzz target.
    pub key: String,
    /// What makes the run itself unique (its directory, its sweep, its log), so that summarizing
    /// the same store twice in a night appends nothing new.
    pub id: String,
    pub verdict: String,
    /// How it failed (`invalid [lost-write]`, an invariant, `crash`); empty when it passed.
    pub failures: Vec<String>,
    pub availability: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The trend lines of what was collected tonight.
pub fn lines_for(collected: &Collected, night: &str) -> Vec<TrendLine> {
    let mut lines = Vec::new();
    for run in &collected.runs {
        let failures = if run.verdict == "valid" {
            Vec::new()
        } else {
            let anomaly = run
                .anomaly
                .as_ref()
                .map(|a| format!(" [{a}]"))
                .unwrap_or_default();
            vec![format!("{}{anomaly}", run.verdict)]
        };
        lines.push(TrendLine {
            night: night.to_string(),
            kind: "real".into(),
            key: run.test.clone(),
            id: run.dir.display().to_string(),
            verdict: run.verdict.clone(),
            failures,
            availability: run.availability,
            p99_ms: run.latency.map(|l| l.p99_ms),
        });
    }
    for sweep in &collected.sweeps {
        let failures: BTreeSet<String> = sweep
            .failures
            .iter()
            .filter(|f| f.verdict != "unknown")
            .map(|f| f.anomaly.clone())
            .collect();
        lines.push(TrendLine {
            night: night.to_string(),
            kind: "sim".into(),
            key: sweep
                .command
                .replacen(&format!(" --seeds {}", sweep.seeds), "", 1),
            id: sweep.command.clone(),
            verdict: crate::verdict::ExitVerdict::from_exit_code(sweep.exit_code)
                .map_or("unknown", |v| v.name())
                .to_string(),
            failures: failures.into_iter().collect(),
            availability: None,
            p99_ms: None,
        });
    }
    for fuzz in &collected.fuzz {
        let crashed = fuzz.crashes > 0 || fuzz.exit_status != 0;
        lines.push(TrendLine {
            night: night.to_string(),
            kind: "fuzz".into(),
            key: fuzz.target.clone(),
            id: fuzz.log.display().to_string(),
            verdict: if crashed { "crash" } else { "valid" }.into(),
            failures: if crashed {
                vec!["crash".into()]
            } else {
                Vec::new()
            },
            availability: None,
            p99_ms: None,
        });
    }
    lines
}

/// Reads the trend file (missing: none yet), appends those of `tonight` it does not hold yet
/// (by night and id), and returns every line. A line that does not parse is skipped with a
/// warning, so a torn last line from a killed job does not stop the next night.
pub fn append(path: &Path, tonight: &[TrendLine]) -> anyhow::Result<Vec<TrendLine>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let mut lines: Vec<TrendLine> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(parsed) => lines.push(parsed),
            Err(err) => tracing::warn!("{}:{}: skipped: {err}", path.display(), number + 1),
        }
    }
    let known: BTreeSet<(String, String)> = lines
        .iter()
        .map(|l| (l.night.clone(), l.id.clone()))
        .collect();
    let new: Vec<&TrendLine> = tonight
        .iter()
        .filter(|l| !known.contains(&(l.night.clone(), l.id.clone())))
        .collect();
    if !new.is_empty() {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut out = String::new();
        if !text.is_empty() && !text.ends_with('\n') {
            out.push('\n');
        }
        for line in &new {
            out.push_str(&serde_json::to_string(line)?);
            out.push('\n');
        }
        file.write_all(out.as_bytes())
            .with_context(|| format!("appending to {}", path.display()))?;
        lines.extend(new.into_iter().cloned());
    }
    Ok(lines)
}

/// One failure that appeared or went away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureChange {
    pub kind: String,
    pub key: String,
    pub failure: String,
}

/// A figure that moved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FigureMove {
    /// The test name, or `all real runs`.
    pub key: String,
    /// `availability` (a share) or `p99-latency-ms`.
    pub figure: String,
    pub before: f64,
    pub after: f64,
}

/// What changed since the previous night in the trend file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    pub previous_night: String,
    pub new_failures: Vec<FailureChange>,
    /// Failures of the previous night whose key ran tonight without them.
    pub fixed: Vec<FailureChange>,
    /// Failures of the previous night whose key did not run tonight.
    pub not_rerun: Vec<FailureChange>,
    /// Of the passing real runs: availability moving by a percentage point or more, p99 latency
    /// by a quarter or more, per test; and the figures over all of them, moved or not.
    pub moved: Vec<FigureMove>,
}

/// An availability change worth a line (one percentage point).
const AVAILABILITY_STEP: f64 = 0.01;
/// A p99 latency ratio worth a line.
const LATENCY_RATIO: f64 = 1.25;

/// Compares `night` with the latest earlier night in `lines` (`None` when there is none).
pub fn changes(lines: &[TrendLine], night: &str) -> Option<Changes> {
    let previous = lines
        .iter()
        .map(|l| l.night.as_str())
        .filter(|n| *n < night)
        .max()?
        .to_string();
    let of = |n: &str| -> Vec<&TrendLine> { lines.iter().filter(|l| l.night == n).collect() };
    let (before, after) = (of(&previous), of(night));
    let failures = |set: &[&TrendLine]| -> BTreeSet<(String, String, String)> {
        set.iter()
            .flat_map(|l| {
                l.failures
                    .iter()
                    .map(|f| (l.kind.clone(), l.key.clone(), f.clone()))
            })
            .collect()
    };
    let ran_tonight: BTreeSet<(String, String)> = after
        .iter()
        .map(|l| (l.kind.clone(), l.key.clone()))
        .collect();
    let change = |(kind, key, failure): &(String, String, String)| FailureChange {
        kind: kind.clone(),
        key: key.clone(),
        failure: failure.clone(),
    };
    let (was, is) = (failures(&before), failures(&after));
    let gone: Vec<&(String, String, String)> = was.difference(&is).collect();
    let ran = |c: &&(String, String, String)| ran_tonight.contains(&(c.0.clone(), c.1.clone()));
    Some(Changes {
        new_failures: is.difference(&was).map(change).collect(),
        fixed: gone.iter().copied().filter(ran).map(change).collect(),
        not_rerun: gone
            .iter()
            .copied()
            .filter(|c| !ran(c))
            .map(change)
            .collect(),
        moved: moved(&before, &after),
        previous_night: previous,
    })
}

/// Availability and p99 latency of the passing real runs, per test and over all of them, before
/// and after.
fn moved(before: &[&TrendLine], after: &[&TrendLine]) -> Vec<FigureMove> {
    type Means = BTreeMap<String, (Option<f64>, Option<f64>)>;
    let means = |set: &[&TrendLine]| -> Means {
        let mut sums: BTreeMap<String, [(f64, u32); 2]> = BTreeMap::new();
        for line in set
            .iter()
            .filter(|l| l.kind == "real" && l.verdict == "valid")
        {
            for key in [line.key.clone(), ALL_RUNS.to_string()] {
                let slot = sums.entry(key).or_default();
                for (i, value) in [line.availability, line.p99_ms].into_iter().enumerate() {
                    if let Some(v) = value {
                        slot[i].0 += v;
                        slot[i].1 += 1;
                    }
                }
            }
        }
        let mean = |(sum, n): (f64, u32)| (n > 0).then(|| sum / f64::from(n));
        sums.into_iter()
            .map(|(k, [a, p])| (k, (mean(a), mean(p))))
            .collect()
    };
    let (was, is) = (means(before), means(after));
    let mut moves = Vec::new();
    for (key, (avail_after, p99_after)) in &is {
        let Some((avail_before, p99_before)) = was.get(key) else {
            continue;
        };
        let all = key == ALL_RUNS;
        if let (Some(b), Some(a)) = (avail_before, avail_after) {
            if all || (a - b).abs() >= AVAILABILITY_STEP {
                moves.push(FigureMove {
                    key: key.clone(),
                    figure: "availability".into(),
                    before: *b,
                    after: *a,
                });
            }
        }
        if let (Some(b), Some(a)) = (p99_before, p99_after) {
            let ratio = if *b > 0.0 { a / b } else { 1.0 };
            if all || !(1.0 / LATENCY_RATIO..LATENCY_RATIO).contains(&ratio) {
                moves.push(FigureMove {
                    key: key.clone(),
                    figure: "p99-latency-ms".into(),
                    before: *b,
                    after: *a,
                });
            }
        }
    }
    // The figures over all runs first, then per test.
    moves.sort_by_key(|m| (m.key != ALL_RUNS, m.key.clone(), m.figure.clone()));
    moves
}

/// The key of the figures over all real runs.
pub const ALL_RUNS: &str = "all real runs";
