//! The phases of one run, each a small function, composed in order by [`super::run_phases`] (as
//! Jepsen's `run!` composes its own): start the db, open the history and wait for a leader, start
//! the clients and the nemesis, run the case, heal and recover, read every key a last time, check
//! the nodes' Raft event streams, then analyze and leave the artifacts.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use checker::formats::jsonl::{Header, FORMAT_VERSION};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::options::RunOptions;
use super::recovery::{self, FinalReads};
use super::results::{Activity, Liveness, RunResults};
use super::target::Target;
use super::verdict::judge;
use super::workers::{Worker, WorkerStats};
use crate::artifacts::RunDir;
use crate::db::{ClientProfile, DbClient};
use crate::nemesis::{Cluster, NemesisRunner, Schedule};
use crate::plots::series::read_history;
use crate::progress::Progress;
use crate::raft_check::{check_streams, load_streams, RaftCheckReport};
use crate::recorder::Recorder;
use crate::workload::WorkerGenerator;

/// Set up the db: start every node.
pub fn start_db(
    options: &RunOptions,
    target: &dyn Target,
    dir: &RunDir,
    cluster: &Cluster,
    progress: &Progress,
) -> anyhow::Result<()> {
    progress.phase(&format!(
        "starting {} {} nodes ({}), seed {}, run dir {}",
        options.nodes,
        target.name(),
        target.describe(),
        options.seed,
        dir.path.display()
    ));
    tokio::task::block_in_place(|| {
        let mut db = cluster.db();
        for node in db.nodes() {
            db.start(node)?;
        }
        Ok(())
    })
}

/// Create `history.jsonl` with its header; the recorder every client and the nemesis write to.
pub fn open_history(
    options: &RunOptions,
    dir: &RunDir,
) -> anyhow::Result<(PathBuf, Arc<Recorder>)> {
    let header = Header {
        format: Some("gauntlet-history".into()),
        version: Some(FORMAT_VERSION),
        workload: Some(options.workload.kind.name().into()),
        seed: Some(options.seed),
        model: Some(options.workload.kind.model().name().into()),
    };
    let path = dir.file("history.jsonl");
    let recorder = Recorder::create(&path, &header, options.workload.concurrency as u64)
        .with_context(|| format!("creating {}", path.display()))?;
    record_clock_zero(dir, recorder.zero_monotonic_ns())?;
    Ok((path, Arc::new(recorder)))
}

/// Adds `history_zero_monotonic_ns` to `test.json`: `CLOCK_MONOTONIC` at the history's time
/// zero, so the nodes' event streams (stamped on that clock) map onto the history's `time_ns`.
fn record_clock_zero(dir: &RunDir, zero_ns: u64) -> anyhow::Result<()> {
    let path = dir.file("test.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut test: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if let Some(fields) = test.as_object_mut() {
        fields.insert("history_zero_monotonic_ns".into(), zero_ns.into());
    }
    Ok(dir.write_json("test.json", &test)?)
}

/// Read back every node's event stream (the nodes are stopped) and check the Raft invariants
/// over them.
pub fn check_raft(
    dir: &RunDir,
    options: &RunOptions,
    zero_ns: u64,
    progress: &Progress,
) -> anyhow::Result<RaftCheckReport> {
    let nodes = nodes_that_ran(dir, options);
    let streams = load_streams(&dir.path, &nodes)?;
    let report = check_streams(&streams, Some(zero_ns));
    progress.phase(&format!(
        "checked the Raft event streams: {} events ({} KB, {:.1} KB/s), {}",
        report.events,
        report.bytes / 1024,
        report.bytes_per_s / 1024.0,
        match report.first_violation() {
            None => "no violation".to_string(),
            Some(v) => format!(
                "{} violation(s), first {} on node {}: {}",
                report.violation_count, v.name, v.node, v.detail
            ),
        }
    ));
    Ok(report)
}

/// The initial nodes and every spare that membership churn started (spares are taken in id
/// order, so they are the ids after the initial ones that left an event stream).
fn nodes_that_ran(dir: &RunDir, options: &RunOptions) -> Vec<u64> {
    let mut nodes: Vec<u64> = (1..=options.nodes as u64).collect();
    let mut next = options.nodes as u64 + 1;
    while dir.file(&crate::raft_check::stream_file(next)).is_file() {
        nodes.push(next);
        next += 1;
    }
    nodes
}

/// The clients and the nemesis, running.
pub struct Case {
    stop: CancellationToken,
    workers: Vec<JoinHandle<std::io::Result<WorkerStats>>>,
    nemesis: JoinHandle<usize>,
    /// The faults in force now, for the progress line.
    active: Arc<Mutex<Vec<String>>>,
    started: Instant,
}

/// Start the clients (one seeded generator each, paced to the run's rate) and the nemesis (the
/// schedule, timed from now).
pub fn start_clients_and_nemesis(
    options: &RunOptions,
    cluster: &Cluster,
    recorder: &Arc<Recorder>,
    schedule: &Schedule,
) -> Case {
    let stop = CancellationToken::new();
    let pace = (options.rate > 0.0)
        .then(|| Duration::from_secs_f64(options.workload.concurrency as f64 / options.rate));
    let workers = (0..options.workload.concurrency)
        .map(|index| {
            let worker = Worker {
                index,
                generator: WorkerGenerator::new(&options.workload, index),
                client: cluster.db().client(ClientProfile::Workload),
                recorder: Arc::clone(recorder),
                pace,
            };
            tokio::spawn(worker.run(stop.clone()))
        })
        .collect();
    let active = Arc::new(Mutex::new(Vec::new()));
    let runner = NemesisRunner {
        cluster: cluster.clone(),
        recorder: Arc::clone(recorder),
        active: Arc::clone(&active),
    };
    let started = Instant::now();
    let nemesis_stop = stop.clone();
    let schedule = schedule.clone();
    let nemesis = tokio::spawn(async move { runner.run(&schedule, started, nemesis_stop).await });
    Case {
        stop,
        workers,
        nemesis,
        active,
        started,
    }
}

/// Run the case for the run's time, showing progress; then stop the clients (each finishes the
/// operation in flight) and the nemesis (it reverts the faults in progress).
pub async fn run_case(
    case: Case,
    options: &RunOptions,
    recorder: &Recorder,
    progress: &mut Progress,
) -> anyhow::Result<Activity> {
    let deadline = case.started + options.time;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250).min(deadline - Instant::now())).await;
        let faults = case
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join(" + ");
        let faults = (!faults.is_empty()).then_some(faults);
        progress.update(case.started.elapsed(), recorder.counts(), faults.as_deref());
    }
    case.stop.cancel();
    let mut activity = Activity::default();
    for worker in case.workers {
        let stats = worker
            .await
            .context("a workload client panicked")?
            .context("a workload client could not write to history.jsonl")?;
        activity.bad_replies += stats.bad_replies;
    }
    activity.faults_applied = case.nemesis.await.context("the nemesis panicked")?;
    Ok(activity)
}

/// Heal every fault and wait for the cluster to serve again; `first_leader` is how long it took
/// to serve at the start.
pub async fn heal_and_recover(
    cluster: &Cluster,
    probe: &mut dyn DbClient,
    options: &RunOptions,
    first_leader: Duration,
    progress: &Progress,
) -> Liveness {
    progress.phase("healing every fault");
    let heal_problems = cluster.heal_everything();
    for problem in &heal_problems {
        progress.phase(&format!("while healing: {problem}"));
    }
    let recovered = recovery::wait_until_serving(probe, options.recovery_timeout).await;
    match recovered {
        Some(t) => progress.phase(&format!(
            "cluster serving again after {:.1}s; final reads",
            t.as_secs_f64()
        )),
        None => progress.phase(&format!(
            "cluster did NOT serve within {:?} after healing (liveness failure); final reads anyway",
            options.recovery_timeout
        )),
    }
    Liveness {
        leader_at_start: true,
        first_leader_s: Some(first_leader.as_secs_f64()),
        recovered: recovered.is_some(),
        recovery_s: recovered.map(|t| t.as_secs_f64()),
        heal_problems,
    }
}

/// Read every key the workload touched with a fresh client (five tries each if the cluster
/// recovered, one if not), then stop the nodes: the history is complete.
pub async fn final_reads(
    cluster: &Cluster,
    recorder: &Arc<Recorder>,
    options: &RunOptions,
    liveness: &Liveness,
) -> anyhow::Result<FinalReads> {
    let keys = recorder.keys();
    let attempts = if liveness.recovered { 5 } else { 1 };
    let mut reader = cluster.db().client(ClientProfile::Patient);
    let reads = recovery::final_reads(
        reader.as_mut(),
        recorder,
        options.workload.kind,
        &keys,
        attempts,
    )
    .await
    .context("writing the final reads to the history")?;
    tokio::task::block_in_place(|| cluster.db().teardown());
    Ok(reads)
}

/// Check the history with the workload's model and weigh the result with liveness and the Raft
/// check (`None`: the db writes no event streams).
pub fn analyze(
    history: &std::path::Path,
    options: &RunOptions,
    activity: Activity,
    liveness: Liveness,
    final_reads: FinalReads,
    raft_check: Option<RaftCheckReport>,
    progress: &Progress,
) -> anyhow::Result<RunResults> {
    progress.phase("checking the history");
    let judgement = judge(
        history,
        options.workload.kind.model(),
        options.check_timeout,
    )?;
    let text = std::fs::read_to_string(history)
        .with_context(|| format!("reading {}", history.display()))?;
    let results = RunResults::analyzed(options.seed, judgement, activity, liveness, final_reads);
    let results = match raft_check {
        Some(report) => results.with_raft_check(report),
        None => results,
    };
    Ok(results.with_history_figures(&read_history(&text)))
}

/// Write `results.json`, the timeline page and the plots (a page or plot that cannot be drawn is a
/// warning, not a failed run); a run that passed drops its nodes' data directories (the logs stay).
pub fn write_artifacts(
    dir: &RunDir,
    options: &RunOptions,
    results: &RunResults,
) -> anyhow::Result<()> {
    dir.write_json("results.json", results)?;
    if results.exit_code == 0 {
        for node in nodes_that_ran(dir, options) {
            let _ = std::fs::remove_dir_all(dir.file(&format!("data-{node}")));
            let _ = std::fs::remove_dir_all(dir.file(&format!("disk-{node}")));
        }
    }
    for failure in crate::report_cmd::rebuild(&dir.path).1 {
        tracing::warn!("{failure}");
    }
    Ok(())
}
