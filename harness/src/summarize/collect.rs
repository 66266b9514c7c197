//! Reading a store: every real run directory (`<store>/<test>/<time>/`: `test.json`,
//! `results.json`, `history.jsonl`), every simulated sweep summary
//! (`<store>/sim/sweeps/*.json`, the shards of one sweep merged into one) and every fuzz result
//! (`<store>/fuzz/**/<target>.result.json`, written by `scripts/fuzz-nightly`). Whatever cannot be
//! read is kept as an [`Unreadable`] entry with the reason, never a panic. Everything comes back
//! sorted, so the same store gives the same summary.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::latency::{history_latency, Latency};
use super::when::stamp_seconds;
use crate::run::{RunResults, RunVerdict};
use crate::shard::Shard;
use crate::sweep_record::{MarkSeeds, SweepFailure, SweepRecord, SWEEP_FORMAT};
use crate::verdict::ExitVerdict;

/// The `format` of a fuzz result file.
pub const FUZZ_FORMAT: &str = "gauntlet-fuzz-result";

/// One real run (`gauntlet test`), from its run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealRun {
    /// `<workload>-<nemeses>[-bug-...]`, the directory above the run's.
    pub test: String,
    pub dir: PathBuf,
    /// The file that tells the run's story: a `timeline*` file when the run wrote one, else the
    /// history.
    pub timeline: PathBuf,
    pub started: String,
    pub seed: u64,
    /// The run's verdict: `valid`, `invalid`, `unknown`, `bad-replies`, `no-liveness`,
    /// `harness-failed`, `interrupted`.
    pub verdict: String,
    pub exit_code: u8,
    pub anomaly: Option<String>,
    pub detail: String,
    /// The `gauntlet test` command that repeats the run.
    pub reproduce: String,
    pub availability: Option<f64>,
    pub recovery_s: Option<f64>,
    /// Seconds from the start to `results.json` being written.
    pub duration_s: Option<f64>,
    pub latency: Option<Latency>,
}

/// A run directory, sweep summary or fuzz result that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreadable {
    pub path: PathBuf,
    pub problem: String,
}

/// One simulated sweep, its shards merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimSweep {
    /// `A..B`.
    pub seeds: String,
    /// The sweep's command line without `--shard`.
    pub command: String,
    /// Into how many shards it was cut, which of them are here, and which are missing.
    pub shard_count: u64,
    pub shards: Vec<u64>,
    pub missing_shards: Vec<u64>,
    pub files: Vec<PathBuf>,
    pub started: String,
    pub seeds_planned: u64,
    pub seeds_run: u64,
    /// Every failing seed of every shard, in seed order.
    pub failures: Vec<SweepFailure>,
    pub unknowns: u64,
    pub simulated_s: f64,
    /// Wall seconds summed over the shards, and CPU seconds (wall x worker threads).
    pub wall_s: f64,
    pub cpu_s: f64,
    pub coverage: Vec<MarkSeeds>,
    pub exit_code: u8,
}

/// One fuzz target's night, as `scripts/fuzz-nightly` wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FuzzResult {
    pub format: String,
    pub target: String,
    pub seconds: u64,
    pub runs: Option<u64>,
    pub exec_per_s: Option<u64>,
    pub crashes: u64,
    /// libFuzzer's exit status (0 when it ran its time without a crash).
    pub exit_status: i32,
    pub crash_dir: PathBuf,
    pub log: PathBuf,
    pub finished: String,
}

/// Everything read from a store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Collected {
    pub runs: Vec<RealRun>,
    pub sweeps: Vec<SimSweep>,
    pub fuzz: Vec<FuzzResult>,
    pub unreadable: Vec<Unreadable>,
}

/// The top-level store entries that are not test directories.
const NOT_TESTS: [&str; 3] = ["sim", "fuzz", "latest"];

/// Reads `store`, leaving out what started before `since` (a store stamp).
pub fn collect(store: &Path, since: Option<&str>) -> anyhow::Result<Collected> {
    if !store.is_dir() {
        anyhow::bail!(
            "{} is not a directory (expected a gauntlet store)",
            store.display()
        );
    }
    let recent = |stamp: &str| since.is_none_or(|since| stamp >= since);
    let mut collected = Collected::default();
    for test_dir in subdirectories(store)? {
        let name = file_name(&test_dir);
        if NOT_TESTS.contains(&name.as_str()) || test_dir.is_symlink() {
            continue;
        }
        for run_dir in subdirectories(&test_dir)? {
            match read_run(&name, &run_dir) {
                Ok(run) if recent(&run.started) => collected.runs.push(run),
                Ok(_) => {}
                Err(problem) if recent(&file_name(&run_dir)) => {
                    collected.unreadable.push(Unreadable {
                        path: run_dir,
                        problem,
                    })
                }
                Err(_) => {}
            }
        }
    }
    let (sweeps, bad) = read_sweeps(&store.join("sim").join("sweeps"));
    collected.sweeps = sweeps.into_iter().filter(|s| recent(&s.started)).collect();
    collected.unreadable.extend(bad);
    let mut fuzz_files = Vec::new();
    find_files(&store.join("fuzz"), ".result.json", 3, &mut fuzz_files);
    fuzz_files.sort();
    for path in fuzz_files {
        match read_json::<FuzzResult>(&path) {
            Ok(result) if result.format != FUZZ_FORMAT => collected.unreadable.push(Unreadable {
                path,
                problem: format!("format {:?}, expected {FUZZ_FORMAT:?}", result.format),
            }),
            Ok(result) if recent(&result.finished) => collected.fuzz.push(result),
            Ok(_) => {}
            Err(problem) => collected.unreadable.push(Unreadable { path, problem }),
        }
    }
    collected
        .fuzz
        .sort_by(|a, b| (&a.target, &a.finished, &a.log).cmp(&(&b.target, &b.finished, &b.log)));
    Ok(collected)
}

/// The top-level fields of `test.json` the summary needs.
#[derive(Deserialize)]
struct TestFile {
    seed: u64,
    #[serde(default)]
    started: String,
    #[serde(default)]
    replay: String,
}

/// One run directory, or what is wrong with it.
fn read_run(test: &str, dir: &Path) -> Result<RealRun, String> {
    let test_file: TestFile = match read_json(&dir.join("test.json")) {
        Ok(file) => file,
        Err(problem) if !dir.join("test.json").exists() => {
            return Err(format!("not a run directory: no test.json ({problem})"));
        }
        Err(problem) => return Err(problem),
    };
    let results_path = dir.join("results.json");
    if !results_path.exists() {
        return Err(
            "half-written run: no results.json (stopped before its verdict, or still running)"
                .to_string(),
        );
    }
    let results: RunResults = read_json(&results_path)?;
    let written = fs::metadata(&results_path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64());
    let duration_s = match (written, stamp_seconds(&test_file.started)) {
        (Some(end), Some(start)) if end >= start => Some(end - start),
        _ => None,
    };
    let history = dir.join("history.jsonl");
    let latency = fs::read_to_string(&history)
        .ok()
        .and_then(|text| history_latency(&text));
    let timeline = timeline_file(dir).unwrap_or(history);
    Ok(RealRun {
        test: test.to_string(),
        dir: dir.to_path_buf(),
        timeline,
        started: test_file.started,
        seed: test_file.seed,
        verdict: results.verdict.name().to_string(),
        exit_code: results.exit_code,
        anomaly: results.anomaly.clone(),
        detail: results.detail.clone(),
        reproduce: test_file.replay,
        availability: results.availability,
        recovery_s: results.liveness.recovery_s,
        duration_s,
        latency,
    })
}

/// A `timeline*` file in the run directory, if the run wrote one.
fn timeline_file(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && file_name(p).starts_with("timeline"))
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Reads every sweep summary in `dir` and merges the shards of each sweep.
fn read_sweeps(dir: &Path) -> (Vec<SimSweep>, Vec<Unreadable>) {
    let mut bad = Vec::new();
    let mut files = Vec::new();
    find_files(dir, ".json", 1, &mut files);
    files.sort();
    let mut groups: BTreeMap<(u64, u64, String), Vec<(PathBuf, SweepRecord)>> = BTreeMap::new();
    for path in files {
        match read_json::<SweepRecord>(&path) {
            Ok(record) if record.format != SWEEP_FORMAT => bad.push(Unreadable {
                path,
                problem: format!("format {:?}, expected {SWEEP_FORMAT:?}", record.format),
            }),
            Ok(record) => {
                let command = without_shard(&record.command, record.shard);
                groups
                    .entry((record.first_seed, record.end_seed, command))
                    .or_default()
                    .push((path, record));
            }
            Err(problem) => bad.push(Unreadable { path, problem }),
        }
    }
    let sweeps = groups
        .into_iter()
        .map(|((_, _, command), records)| merge(command, records))
        .collect();
    (sweeps, bad)
}

/// A sweep's command line without its `--shard I/N`.
fn without_shard(command: &str, shard: Shard) -> String {
    command.replacen(&format!(" --shard {shard}"), "", 1)
}

/// The shards of one sweep as one.
fn merge(command: String, mut records: Vec<(PathBuf, SweepRecord)>) -> SimSweep {
    records.sort_by_key(|(path, r)| (r.shard.count, r.shard.index, path.clone()));
    let first = &records[0].1;
    let shard_count = records
        .iter()
        .map(|(_, r)| r.shard.count)
        .max()
        .unwrap_or(1);
    let shards: Vec<u64> = records.iter().map(|(_, r)| r.shard.index).collect();
    let missing_shards = (1..=shard_count).filter(|i| !shards.contains(i)).collect();
    let mut coverage: Vec<MarkSeeds> = first.coverage.clone();
    for (_, record) in &records[1..] {
        for mark in &record.coverage {
            match coverage.iter_mut().find(|m| m.mark == mark.mark) {
                Some(total) => total.seeds += mark.seeds,
                None => coverage.push(mark.clone()),
            }
        }
    }
    let mut failures: Vec<SweepFailure> = records
        .iter()
        .flat_map(|(_, r)| r.failures.iter().cloned())
        .collect();
    failures.sort_by_key(|f| f.seed);
    let verdicts = records
        .iter()
        .filter_map(|(_, r)| ExitVerdict::from_exit_code(r.exit_code));
    SimSweep {
        seeds: first.seeds.clone(),
        command,
        shard_count,
        shards,
        missing_shards,
        files: records.iter().map(|(p, _)| p.clone()).collect(),
        started: records
            .iter()
            .map(|(_, r)| r.started.clone())
            .min()
            .unwrap_or_default(),
        seeds_planned: records.iter().map(|(_, r)| r.seeds_planned).sum(),
        seeds_run: records.iter().map(|(_, r)| r.seeds_run).sum(),
        failures,
        unknowns: records.iter().map(|(_, r)| r.unknowns).sum(),
        simulated_s: records.iter().fold(0.0, |t, (_, r)| t + r.simulated_s),
        wall_s: records.iter().fold(0.0, |t, (_, r)| t + r.wall_s),
        cpu_s: records
            .iter()
            .fold(0.0, |t, (_, r)| t + r.wall_s * r.jobs.max(1) as f64),
        coverage,
        exit_code: ExitVerdict::worst(verdicts).exit_code(),
    }
}

/// The order run verdicts are listed in (an exhaustive match, so a new verdict is not forgotten).
pub fn verdict_rank(verdict: RunVerdict) -> usize {
    match verdict {
        RunVerdict::Valid => 0,
        RunVerdict::Invalid => 1,
        RunVerdict::Unknown => 2,
        RunVerdict::BadReplies => 3,
        RunVerdict::NoLiveness => 4,
        RunVerdict::HarnessFailed => 5,
        RunVerdict::Interrupted => 6,
    }
}

/// Every run verdict, in [`verdict_rank`] order.
pub const RUN_VERDICTS: [RunVerdict; 7] = [
    RunVerdict::Valid,
    RunVerdict::Invalid,
    RunVerdict::Unknown,
    RunVerdict::BadReplies,
    RunVerdict::NoLiveness,
    RunVerdict::HarnessFailed,
    RunVerdict::Interrupted,
];

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        let name = file_name(path);
        if text.trim().is_empty() {
            format!("{name} is empty (half-written?)")
        } else {
            format!("{name} does not parse: {e}")
        }
    })
}

/// The directories in `dir`, sorted.
fn subdirectories(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.display()))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Files under `dir` (down to `depth` levels) whose names end with `suffix`.
fn find_files(dir: &Path, suffix: &str, depth: u32, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        if path.is_dir() && depth > 1 {
            find_files(&path, suffix, depth - 1, found);
        } else if path.is_file() && file_name(&path).ends_with(suffix) {
            found.push(path);
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
