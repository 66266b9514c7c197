//! `gauntlet summarize STORE_DIR`: reads every run in a store (real run directories, simulated
//! sweep summaries, fuzz results), writes `summary.md` (for a person), `summary.json` (for
//! machines) and `junit.xml` (for CI test reports), appends the night's lines to the trend file
//! and says what changed since the previous night. Exits with the worst verdict of what it read
//! (0 all passed, 1 a violation or fuzz crash, 2 an unknown, 3 a harness failure or an unreadable
//! run directory); a store it cannot read at all is unusable input (3).

pub mod collect;
pub mod junit;
pub mod latency;
pub mod markdown;
pub mod report;
pub mod trend;
pub mod when;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context};
use clap::Args;

pub use report::Summary;

/// Flags of `gauntlet summarize`.
#[derive(Debug, Clone, Args)]
pub struct SummarizeArgs {
    /// The store to read: what `gauntlet test --store`, `gauntlet sim --store` and
    /// `scripts/nightly-torture --store` wrote into.
    #[arg(value_name = "STORE_DIR")]
    pub store: PathBuf,
    /// Only what started since then: a date (2026-12-07), a UTC time (2026-12-07T18:30:00Z) or a
    /// duration back from now (36h, 90m, 2d, 600s). Default: everything in the store.
    #[arg(long, value_name = "DATE-OR-DURATION")]
    pub since: Option<String>,
    /// Where summary.md, summary.json and junit.xml are written. Default: STORE_DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The trend file: one JSON line per run per night, appended to and compared with the
    /// previous night. Default: STORE_DIR/trend.jsonl.
    #[arg(long, value_name = "FILE")]
    pub trend: Option<PathBuf>,
    /// The night (UTC date) the trend file records these runs under. Default: today, in UTC.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub night: Option<String>,
}

/// The files one summary wrote.
#[derive(Clone, Debug)]
pub struct Written {
    pub markdown: PathBuf,
    pub json: PathBuf,
    pub junit: PathBuf,
    pub trend: PathBuf,
}

/// Runs `gauntlet summarize`; returns the exit code.
pub fn run(args: &SummarizeArgs) -> anyhow::Result<u8> {
    let (summary, written) = write_summary(args, SystemTime::now())?;
    let failures = summary
        .collected
        .runs
        .iter()
        .filter(|r| r.verdict != "valid")
        .count()
        + summary
            .collected
            .sweeps
            .iter()
            .map(|s| s.failures.len())
            .sum::<usize>()
        + summary.fuzz_crashed as usize
        + summary.collected.unreadable.len();
    println!(
        "summarize: {} real runs, {} simulated seeds, {} fuzz targets; {failures} failure(s) (exit {})",
        summary.real.runs, summary.sim.seeds_run, summary.fuzz_targets, summary.exit_code
    );
    println!(
        "summary: {}\njson: {}\njunit: {}\ntrend: {}",
        written.markdown.display(),
        written.json.display(),
        written.junit.display(),
        written.trend.display()
    );
    Ok(summary.exit_code)
}

/// Reads the store, appends to the trend file and writes the three reports; `now` is the present
/// (for `--since DURATION` and the default night).
pub fn write_summary(args: &SummarizeArgs, now: SystemTime) -> anyhow::Result<(Summary, Written)> {
    let since = args
        .since
        .as_deref()
        .map(|s| when::since_stamp(s, now))
        .transpose()?;
    let night = match &args.night {
        Some(night) => check_night(night)?,
        None => when::night_of(now),
    };
    let collected = collect::collect(&args.store, since.as_deref())?;
    let trend_path = args
        .trend
        .clone()
        .unwrap_or_else(|| args.store.join("trend.jsonl"));
    let lines = trend::append(&trend_path, &trend::lines_for(&collected, &night))?;
    let changes = trend::changes(&lines, &night);
    let store = args.store.display().to_string();
    let summary = report::summarize(collected, changes, &night, &store, since);
    let out = args.out.clone().unwrap_or_else(|| args.store.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let written = Written {
        markdown: out.join("summary.md"),
        json: out.join("summary.json"),
        junit: out.join("junit.xml"),
        trend: trend_path,
    };
    write(&written.markdown, &markdown::render(&summary))?;
    write(
        &written.json,
        &(serde_json::to_string_pretty(&summary)? + "\n"),
    )?;
    write(&written.junit, &junit::render(&summary))?;
    Ok((summary, written))
}

/// A night is a UTC date, `YYYY-MM-DD`.
fn check_night(night: &str) -> anyhow::Result<String> {
    let stamp = night.replace('-', "");
    let shaped = night.len() == 10 && night.as_bytes()[4] == b'-' && night.as_bytes()[7] == b'-';
    if !shaped || when::stamp_seconds(&format!("{stamp}T000000.000Z")).is_none() {
        bail!("expected --night as a date like 2026-12-07, found {night:?}");
    }
    Ok(night.to_string())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    Ok(crate::artifacts::write_atomic(path, text.as_bytes())?)
}
