//! `gauntlet sim`: one simulated run (`--seed N`), a sweep on all cores (`--seeds A..B`), shrinking
//! a failure (`--shrink`) and replaying a saved run (`--replay FILE`). Exits with the run's
//! [`ExitVerdict`] (a sweep: the worst of its seeds): 0 valid, 1 violation, 2 unknown, 3 harness
//! failure.

use std::fs;
use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::artifacts::{utc_stamp, write_atomic, write_json_atomic};
use crate::shard::Shard;
use crate::sim::churn::ChurnSpec;
use crate::sim::schedule::{parse_sim_nemesis_list, NemesisKind};
use crate::sim::shrink::shrink;
use crate::sim::spec::{parse_bugs, SimSpec, SimWorkload, DEFAULT_SNAPSHOT_EVERY};
use crate::sim::sweep::{sweep_seeds, MarkTally};
use crate::sim::{run, RunOptions, SimOutcome, SimVerdict};
use crate::sweep_record::{MarkSeeds, SweepFailure, SweepRecord, SWEEP_FORMAT};
use crate::verdict::ExitVerdict;
use raft::core::DEFAULT_SNAPSHOT_CHUNK_BYTES;
use raft::coverage::MarkCounts;

/// Flags of `gauntlet sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Run this one seed.
    #[arg(long, conflicts_with_all = ["seeds", "replay"])]
    pub seed: Option<u64>,
    /// Run every seed in `A..B` (B excluded) on all cores, and write a summary of the sweep to
    /// `<store>/sim/sweeps/A..B[-shard-I-of-N].json`.
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    pub seeds: Option<Range<u64>>,
    /// With `--seeds A..B`: run only the I-th of N disjoint slices of the range, I from 1 to N.
    /// The slices are strided (shard I runs seeds A+I-1, A+I-1+N, ...), so N machines given
    /// 1/N .. N/N run every seed exactly once. Default: 1/1, the whole range.
    #[arg(long, value_name = "I/N", conflicts_with_all = ["seed", "replay"])]
    pub shard: Option<Shard>,
    /// Run a saved spec again (the file `--shrink` writes).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Shrink a failing run (`--seed N` or `--replay FILE`) to a minimal one and write it to
    /// `--out`.
    #[arg(long)]
    pub shrink: bool,
    /// Where `--shrink` writes the minimal run (default: `<store>/sim/seed-N-shrunk.json`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 5)]
    pub nodes: u64,
    /// Simulated seconds of workload (a read-only phase of 2 s follows).
    #[arg(long, default_value_t = 10.0)]
    pub time: f64,
    #[arg(long, default_value = "append", value_parser = parse_workload)]
    pub workload: SimWorkload,
    /// Faults, comma-separated: partition, kill, pause, delay, stale-links, lag-kill, diverge,
    /// membership
    /// (add, promote, remove and replace nodes), all (the four single kinds and membership) or
    /// none. client-partition is accepted and recorded as skipped (the simulator's clients are
    /// outside its network model).
    #[arg(long, default_value = "all", value_parser = parse_nemesis)]
    pub nemesis: NemesisList,
    /// Mean seconds of a fault and of the quiet gap after it.
    #[arg(long, default_value_t = 1.0)]
    pub nemesis_interval: f64,
    /// Number of clients.
    #[arg(long, alias = "clients", default_value_t = 10)]
    pub concurrency: usize,
    /// Planted bug to switch on (repeatable): stale-read, no-dedup, ack-before-commit,
    /// ack-before-sync, vote-any, snapshot-keeps-suffix, snapshot-drops-sessions,
    /// commit-old-term, truncate-matching, promote-unready, two-changes-in-flight (these two
    /// need `--nemesis membership`). Default: none.
    #[arg(long = "unsafe-bug", value_name = "NAME")]
    pub unsafe_bugs: Vec<String>,
    /// Directory for histories and schedules of failing (or single) runs.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Seconds the checker may spend per run before answering "unknown".
    #[arg(long, default_value_t = 30.0)]
    pub check_timeout: f64,
    /// Byte budget of one AppendEntries (the server's budget unless set).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_msg_bytes: usize,
    /// Chance that a peer message is lost.
    #[arg(long, default_value_t = 0.01)]
    pub loss: f64,
    /// Chance that a peer message is held up to 300 ms, so later ones overtake it.
    #[arg(long, default_value_t = 0.02)]
    pub slow: f64,
    /// Chance that a peer message is delivered twice.
    #[arg(long, default_value_t = 0.02)]
    pub duplicate: f64,
    /// The core's window of in-flight AppendEntries per follower (the server's window unless set).
    #[arg(long, default_value_t = 256)]
    pub max_inflight_msgs: usize,
    /// Bytes of snapshot data per InstallSnapshot chunk, at least 1 (the server's size unless
    /// set). Only with `--no-swarm`: swarm testing draws it per seed (16 B to 16 KiB).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_SNAPSHOT_CHUNK_BYTES)]
    pub snapshot_chunk_bytes: usize,
    /// Leader churn: strike each new leader with this chance 0.1-20 ms after its election and after
    /// its first commit, or else after a tenure of up to 2 s (crash it, or cut it off, for
    /// 0.2-2 s).
    #[arg(long, value_name = "CHANCE")]
    pub leader_churn: Option<f64>,
    /// With `--leader-churn`: the chance that a strike cuts the leader off (messages in flight
    /// to and from it are lost) rather than crashing it.
    #[arg(long, default_value_t = 0.25, value_name = "CHANCE")]
    pub churn_isolate: f64,
    /// Snapshot (and compact the log) every N applied entries, 0 = never (the server's interval
    /// unless set). Only with `--no-swarm`: swarm testing draws it per seed.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SNAPSHOT_EVERY)]
    pub snapshot_every: u64,
    /// Turn swarm testing off and run every seed in the one world the flags above describe.
    /// By default every seed draws its own knobs from the seed (message size and in-flight
    /// window, loss/duplicate/slow chances, fault kinds and interval, clients, leader churn,
    /// snapshot interval and chunk size, session expiry), bounded by `--nemesis` and `--concurrency`; the drawn
    /// values override the other flags and spec.json records them.
    #[arg(long)]
    pub no_swarm: bool,
    /// Swarm testing (the default; accepted so that older command lines still run).
    #[arg(long, conflicts_with = "no_swarm")]
    pub swarm: bool,
    /// Sweep: stop after the first chunk of seeds that holds a failure.
    #[arg(long)]
    pub until_first: bool,
    /// Sweep: worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// A parsed `--nemesis` list.
#[derive(Debug, Clone)]
pub struct NemesisList(pub Vec<NemesisKind>);

fn parse_nemesis(s: &str) -> Result<NemesisList, String> {
    parse_sim_nemesis_list(s)
        .map(NemesisList)
        .map_err(|e| e.to_string())
}

fn parse_workload(s: &str) -> Result<SimWorkload, String> {
    s.parse()
        .map_err(|e: crate::workload::UnknownWorkload| e.to_string())
}

fn parse_range(s: &str) -> Result<Range<u64>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("expected a seed range like 0..1000, found {s:?}"))?;
    let a: u64 = a
        .parse()
        .map_err(|_| format!("expected a number before '..', found {a:?}"))?;
    let b: u64 = b
        .parse()
        .map_err(|_| format!("expected a number after '..', found {b:?}"))?;
    if a >= b {
        return Err(format!("expected A < B in A..B, found {s}"));
    }
    Ok(a..b)
}

impl SimArgs {
    /// The spec of seed `seed` under these flags (unless `--no-swarm`, its knobs drawn from the
    /// seed).
    pub fn spec(&self, seed: u64) -> anyhow::Result<SimSpec> {
        Ok(self.template(seed)?.for_seed(seed))
    }

    /// The flags as a spec before any per-seed draw (what a sweep starts from).
    pub fn template(&self, seed: u64) -> anyhow::Result<SimSpec> {
        parse_bugs(&self.unsafe_bugs).map_err(anyhow::Error::msg)?;
        if !(self.time > 0.0 && self.nemesis_interval > 0.0) {
            bail!("expected --time and --nemesis-interval above 0");
        }
        let mut spec = SimSpec::new(seed);
        spec.nodes = self.nodes;
        spec.clients = self.concurrency;
        spec.time_ms = (self.time * 1000.0) as u64;
        spec.workload = self.workload;
        spec.nemesis = self.nemesis.0.clone();
        spec.fault_interval_ms = (self.nemesis_interval * 1000.0) as u64;
        spec.bugs = self.unsafe_bugs.clone();
        spec.max_msg_bytes = self.max_msg_bytes;
        spec.network.loss_chance = self.loss;
        spec.network.slow_chance = self.slow;
        spec.network.duplicate_chance = self.duplicate;
        spec.max_inflight_msgs = self.max_inflight_msgs;
        if self.snapshot_chunk_bytes == 0 {
            bail!("expected --snapshot-chunk-bytes of at least 1");
        }
        spec.snapshot_chunk_bytes = self.snapshot_chunk_bytes;
        if let Some(chance) = self.leader_churn {
            let churn = ChurnSpec {
                chance,
                commit_chance: chance,
                tenure_chance: chance,
                isolate_chance: self.churn_isolate,
                ..ChurnSpec::default()
            };
            churn.validate().map_err(anyhow::Error::msg)?;
            spec.churn = Some(churn);
        }
        spec.snapshot_every = self.snapshot_every;
        spec.swarm = !self.no_swarm;
        Ok(spec)
    }

    fn run_options(&self) -> RunOptions {
        RunOptions {
            check_timeout: Duration::from_secs_f64(self.check_timeout.max(0.001)),
            record_events: false,
        }
    }

    /// The command line that reproduces seed `seed` (on any machine: no shard, no store).
    pub fn reproduce_command(&self, seed: u64) -> String {
        format!("gauntlet sim --seed {seed}{}", self.world_flags())
    }

    /// The `--shard` slice (the whole range without the flag).
    pub fn shard(&self) -> Shard {
        self.shard.unwrap_or(Shard::WHOLE)
    }

    /// The command line of a sweep of `seeds` (with the shard, unless it is the whole range).
    pub fn sweep_command(&self, seeds: &Range<u64>) -> String {
        let shard = if self.shard().is_whole() {
            String::new()
        } else {
            format!(" --shard {}", self.shard())
        };
        format!(
            "gauntlet sim --seeds {}..{}{shard}{}",
            seeds.start,
            seeds.end,
            self.world_flags()
        )
    }

    /// The flags that shape every seed's world, each with a leading space.
    fn world_flags(&self) -> String {
        let nemesis: Vec<&str> = self.nemesis.0.iter().map(|k| k.name()).collect();
        let nemesis = if nemesis.is_empty() {
            "none".to_string()
        } else {
            nemesis.join(",")
        };
        let mut cmd = format!(
            " --nodes {} --time {} --workload {} --nemesis {nemesis} --nemesis-interval {} --concurrency {}",
            self.nodes,
            self.time,
            self.workload.name(),
            self.nemesis_interval,
            self.concurrency
        );
        if self.max_msg_bytes != 1 << 20 {
            cmd.push_str(&format!(" --max-msg-bytes {}", self.max_msg_bytes));
        }
        if self.max_inflight_msgs != 256 {
            cmd.push_str(&format!(" --max-inflight-msgs {}", self.max_inflight_msgs));
        }
        if let Some(chance) = self.leader_churn {
            cmd.push_str(&format!(
                " --leader-churn {chance} --churn-isolate {}",
                self.churn_isolate
            ));
        }
        if self.no_swarm {
            cmd.push_str(" --no-swarm");
        }
        if self.snapshot_every != DEFAULT_SNAPSHOT_EVERY {
            cmd.push_str(&format!(" --snapshot-every {}", self.snapshot_every));
        }
        if self.snapshot_chunk_bytes != DEFAULT_SNAPSHOT_CHUNK_BYTES {
            cmd.push_str(&format!(
                " --snapshot-chunk-bytes {}",
                self.snapshot_chunk_bytes
            ));
        }
        cmd.push_str(&format!(
            " --loss {} --slow {} --duplicate {}",
            self.loss, self.slow, self.duplicate
        ));
        for bug in &self.unsafe_bugs {
            cmd.push_str(&format!(" --unsafe-bug {bug}"));
        }
        cmd
    }
}

/// How many runs `--shrink` may spend on one failure.
const SHRINK_BUDGET: u32 = 500;

/// Runs `gauntlet sim`; returns the exit code.
pub fn run_cmd(args: &SimArgs) -> anyhow::Result<u8> {
    if let Some(seeds) = &args.seeds {
        return run_sweep(args, seeds.clone());
    }
    let spec = if let Some(file) = &args.replay {
        let text =
            fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a saved simulator run", file.display()))?
    } else if let Some(seed) = args.seed {
        args.spec(seed)?
    } else {
        bail!("expected --seed N, --seeds A..B or --replay FILE");
    };
    let seed = spec.seed;
    let started = Instant::now();
    let options = RunOptions {
        record_events: true,
        ..args.run_options()
    };
    let outcome = run(&spec, options);
    report_one(&outcome);
    print_marks(&outcome.coverage);
    print_speed(outcome.stats.sim_time_us, started.elapsed());
    let dir = save(&args.store, &outcome)?;
    println!("history and schedule: {}", dir.display());
    report_pages(&dir);
    if args.shrink && outcome.verdict.kind().is_some() {
        let shrunk = shrink(&outcome, args.run_options(), SHRINK_BUDGET);
        let out = args.out.clone().unwrap_or_else(|| {
            args.store
                .join("sim")
                .join(format!("seed-{seed}-shrunk.json"))
        });
        write_spec(&out, &shrunk.outcome.spec)?;
        let history = out.with_extension("history.jsonl");
        write_atomic(&history, &shrunk.outcome.history)?;
        let s = &shrunk.outcome;
        println!(
            "shrunk in {} runs to {} fault(s), {} client(s), {} op(s), {} ms: {}",
            shrunk.attempts,
            s.steps.len(),
            s.spec.clients,
            s.ops.0,
            s.spec.time_ms,
            s.verdict.summary()
        );
        for step in &s.steps {
            println!(
                "  {:>6}..{:<6} ms  {}",
                step.start_ms,
                step.end_ms,
                serde_json::to_string(&step.fault).unwrap_or_default()
            );
        }
        if !s.strikes.is_empty() {
            println!(
                "leader churn: {} strike(s) (opportunities {:?}); every fault as it happened:",
                s.strikes.len(),
                s.strikes
            );
            for line in fault_timeline(&s.history) {
                println!("  {line}");
            }
        }
        println!(
            "minimal run: {}  (history: {})",
            out.display(),
            history.display()
        );
        println!("replay: gauntlet sim --replay {}", out.display());
    }
    Ok(outcome.verdict.exit_code())
}

fn run_sweep(args: &SimArgs, seeds: Range<u64>) -> anyhow::Result<u8> {
    let template = args.template(seeds.start)?;
    let shard = args.shard();
    let slice: Vec<u64> = shard.seeds(seeds.clone()).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting the sweep's thread pool")?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(slice.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg} [{elapsed} / ~{eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let failed = std::sync::atomic::AtomicU64::new(0);
    let started_at = utc_stamp(std::time::SystemTime::now());
    let started = Instant::now();
    let result = pool.install(|| {
        sweep_seeds(
            &template,
            &slice,
            args.run_options(),
            args.until_first,
            &|outcome: &SimOutcome| {
                if outcome.verdict.kind().is_some() {
                    let n = failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    bar.set_message(format!("{n} failed"));
                }
                bar.inc(1);
            },
        )
    });
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let mut verdicts = Vec::new();
    let mut failures = Vec::new();
    for outcome in &result.failures {
        let dir = save(&args.store, outcome)?;
        save_events(&dir, &outcome.spec, args.run_options())?;
        report_pages(&dir);
        let reproduce = args.reproduce_command(outcome.spec.seed);
        println!(
            "seed {} FAILED ({}): {reproduce}\n  saved: {}",
            outcome.spec.seed,
            outcome.verdict.summary(),
            dir.display()
        );
        verdicts.push(outcome.verdict.outcome());
        failures.push(SweepFailure {
            seed: outcome.spec.seed,
            verdict: outcome.verdict.outcome().name().to_string(),
            anomaly: outcome.verdict.kind().unwrap_or("valid").to_string(),
            summary: outcome.verdict.summary(),
            reproduce,
            dir,
        });
    }
    let shard_label = if shard.is_whole() {
        String::new()
    } else {
        format!("shard {shard} of ")
    };
    println!(
        "{} of {} seeds ({shard_label}{}..{}), {} failed, in {:.1} s wall; {:.0} simulated s per wall s",
        result.runs,
        slice.len(),
        seeds.start,
        seeds.end,
        result.failures.len(),
        wall,
        result.sim_time_us as f64 / 1e6 / wall.max(1e-9)
    );
    let violations = result
        .failures
        .iter()
        .filter(|f| f.verdict.outcome() == ExitVerdict::Violation);
    if let Some(first) = violations.clone().next() {
        let position = slice
            .iter()
            .position(|&s| s == first.spec.seed)
            .unwrap_or(0);
        println!(
            "first violating seed: {} ({} seeds run to find it; {} violations)",
            first.spec.seed,
            position + 1,
            violations.count()
        );
    }
    print_tally(&result.coverage, result.runs);
    // A harness failure outranks a violation, which outranks an unknown.
    let exit_code = ExitVerdict::worst(verdicts).exit_code();
    let record = SweepRecord {
        format: SWEEP_FORMAT.to_string(),
        version: 1,
        seeds: format!("{}..{}", seeds.start, seeds.end),
        first_seed: seeds.start,
        end_seed: seeds.end,
        shard,
        started: started_at,
        command: args.sweep_command(&seeds),
        seeds_planned: slice.len() as u64,
        seeds_run: result.runs,
        unknowns: failures
            .iter()
            .filter(|f| f.verdict == ExitVerdict::Unknown.name())
            .count() as u64,
        failures,
        simulated_s: result.sim_time_us as f64 / 1e6,
        wall_s: wall,
        jobs: pool.current_num_threads(),
        coverage: result
            .coverage
            .iter()
            .map(|(mark, seeds)| MarkSeeds {
                mark: mark.name().to_string(),
                seeds,
            })
            .collect(),
        exit_code,
    };
    let path = record.save(&args.store)?;
    println!("sweep summary: {}", path.display());
    Ok(exit_code)
}

/// Columns of the coverage tables.
const MARK_COLUMNS: usize = 2;

/// A single run's coverage marks: how often it passed each.
fn print_marks(counts: &MarkCounts) {
    let cells: Vec<String> = counts
        .iter()
        .map(|(mark, n)| format!("{:<34}{n:>7}", mark.name()))
        .collect();
    println!("coverage marks (times passed):");
    print_columns(&cells);
}

/// A sweep's coverage marks: how many seeds passed each, and which none did.
fn print_tally(tally: &MarkTally, runs: u64) {
    let cells: Vec<String> = tally
        .iter()
        .map(|(mark, seeds)| {
            let share = 100.0 * seeds as f64 / runs.max(1) as f64;
            format!("{:<34}{seeds:>6} {share:>5.1}%", mark.name())
        })
        .collect();
    println!("coverage marks (seeds that passed each, of {runs}):");
    print_columns(&cells);
    let missed: Vec<&str> = tally
        .iter()
        .filter(|(_, seeds)| *seeds == 0)
        .map(|(mark, _)| mark.name())
        .collect();
    if !missed.is_empty() {
        println!("marks no seed passed: {}", missed.join(", "));
    }
}

fn print_columns(cells: &[String]) {
    for row in cells.chunks(MARK_COLUMNS) {
        println!("  {}", row.join("   "));
    }
}

/// The speed figure: simulated time over the wall time of the runs and their checks.
fn print_speed(sim_time_us: u64, wall: Duration) {
    let simulated = sim_time_us as f64 / 1e6;
    let wall = wall.as_secs_f64();
    println!(
        "simulated {simulated:.1} s in {wall:.2} s wall ({:.0} x)",
        simulated / wall.max(1e-9)
    );
}

/// The nemesis lines of a history as `time ms  start|stop  what`.
fn fault_timeline(history: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(history)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["process"] == "nemesis")
        .map(|event| {
            format!(
                "{:>10.3} ms  {:<5}  {}",
                event["time_ns"].as_f64().unwrap_or(0.0) / 1e6,
                event["f"].as_str().unwrap_or(""),
                event["value"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn report_one(outcome: &SimOutcome) {
    let (invoked, ok, fail, info) = outcome.ops;
    println!(
        "seed {}: {} ({} faults, {} ops: {ok} ok, {fail} fail, {info} info; {} messages, {:.1} simulated s)",
        outcome.spec.seed,
        outcome.verdict.summary(),
        outcome.steps.len(),
        invoked,
        outcome.stats.messages,
        outcome.stats.sim_time_us as f64 / 1e6
    );
    match &outcome.verdict {
        SimVerdict::Violation { detail, .. } => {
            let lines: Vec<&str> = detail.lines().take(40).collect();
            println!("{}", lines.join("\n"));
        }
        SimVerdict::HarnessFailure(reason) | SimVerdict::Unknown(reason) => println!("{reason}"),
        SimVerdict::Valid => {}
    }
}

/// Saves a run's history, schedule and spec under `<store>/sim/seed-N/` (or `seed-N.2/`, ... when
/// an earlier run of the seed is there: [`crate::sim_dirs`]).
fn save(store: &Path, outcome: &SimOutcome) -> anyhow::Result<PathBuf> {
    let seed = outcome.spec.seed;
    let dir = crate::sim_dirs::claim_run_dir(store, seed).with_context(|| {
        format!(
            "creating a directory for seed {seed} under {}",
            store.join("sim").display()
        )
    })?;
    write_atomic(&dir.join("history.jsonl"), &outcome.history)?;
    write_json_atomic(&dir.join("schedule.json"), &outcome.steps)?;
    let mut spec = outcome.spec.clone();
    spec.schedule = Some(outcome.steps.clone());
    write_spec(&dir.join("spec.json"), &spec)?;
    write_atomic(
        &dir.join("verdict.txt"),
        verdict_text(&outcome.verdict).as_bytes(),
    )?;
    if !outcome.events.is_empty() {
        write_events(&dir, &outcome.events)?;
    }
    Ok(dir)
}

/// `verdict.txt`: the verdict's one-line summary, then what it found (a violation's detail, the
/// reason for an unknown or a harness failure), which the timeline page shows.
fn verdict_text(verdict: &SimVerdict) -> String {
    let mut text = verdict.summary() + "\n";
    match verdict {
        SimVerdict::Violation { detail, .. } => text.push_str(detail),
        SimVerdict::Unknown(reason) | SimVerdict::HarnessFailure(reason) => text.push_str(reason),
        SimVerdict::Valid => {}
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Draws a saved seed's timeline page and plots (`timeline.html`, `latency.svg`,
/// `throughput.svg`) and names the page; one that cannot be drawn is a warning.
fn report_pages(dir: &Path) {
    let (written, failures) = crate::report_cmd::rebuild(dir);
    if let Some(page) = written.iter().find(|path| path.ends_with("timeline.html")) {
        println!("  timeline: {}", page.display());
    }
    for failure in failures {
        tracing::warn!("{failure}");
    }
}

/// A sweep does not keep event streams (they cost time on every seed); a failing seed is run
/// again with them (the same seed runs the same way) and its streams saved beside its history.
fn save_events(dir: &Path, spec: &SimSpec, options: RunOptions) -> anyhow::Result<()> {
    let options = RunOptions {
        record_events: true,
        ..options
    };
    write_events(dir, &run(spec, options).events)
}

/// Writes every node's event stream, in virtual nanoseconds, as `events.jsonl` (the format of
/// `raft-kv serve --events`, all nodes in one file: `docs/events.md`).
fn write_events(dir: &Path, events: &[raft::events::EventRecord]) -> anyhow::Result<()> {
    let mut text = String::new();
    for event in events {
        text.push_str(&serde_json::to_string(event)?);
        text.push('\n');
    }
    Ok(write_atomic(&dir.join("events.jsonl"), text.as_bytes())?)
}

fn write_spec(path: &Path, spec: &SimSpec) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(write_json_atomic(path, spec)?)
}
