//! One `gauntlet test` run of any [`Target`], phase by phase (Jepsen's `run!` is the model): plan
//! the fault schedule and the cluster, start the db, start the clients and the nemesis, run the case, heal and wait
//! for recovery, read every key with a fresh client, stop the nodes, check their Raft event streams
//! (when the db writes them),
//! analyze the history, and leave the whole story in the run directory, `results.json`
//! ([`RunResults`]) included.

pub mod cluster;
pub mod options;
pub mod phases;
pub mod recovery;
pub mod results;
pub mod target;
pub mod verdict;
pub mod windows;
pub mod workers;

use serde_json::json;

pub use options::RunOptions;
pub use results::{RunResults, RunVerdict};
pub use target::{NodePlan, PeerRouting, PlannedNodes, Target};

use crate::artifacts::{git_commit, RunDir};
use crate::db::ClientProfile;
use crate::nemesis::{Cluster, Schedule};
use crate::progress::Progress;

/// How a run ended.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub dir: std::path::PathBuf,
    /// What `results.json` holds.
    pub results: RunResults,
    /// The one-line summary printed at the end.
    pub summary: String,
}

impl RunOutcome {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.results.exit_code
    }
}

/// Runs one test of `target`; never leaves a node running. Errors before the run directory exists
/// (a nemesis the target refuses among them) are returned; later ones become a `harness-failed`
/// outcome recorded in `results.json`.
pub async fn run(options: RunOptions, target: &dyn Target) -> anyhow::Result<RunOutcome> {
    target
        .check_nemeses(&options.nemesis)
        .map_err(anyhow::Error::msg)?;
    let test_name = options.test_name(&target.test_name_suffix());
    let dir = RunDir::create(&options.store, &test_name)?;
    if let Err(err) = crate::console_log::attach(&dir.file("gauntlet.log")) {
        tracing::warn!(%err, "cannot keep the console's log in the run directory");
    }
    dir.write_json(
        "test.json",
        &json!({
            "test": test_name,
            "db": target.name(),
            "options": options,
            "target": target.options_json(),
            "seed": options.seed,
            "gauntlet_version": env!("CARGO_PKG_VERSION"),
            "git_commit": git_commit(),
            "started": crate::artifacts::utc_stamp(std::time::SystemTime::now()),
            "replay": replay_command(&options, target),
        }),
    )?;
    let started = std::time::Instant::now();
    let results = match run_in(&options, target, &dir).await {
        Ok(results) => results,
        Err(err) => {
            let results = RunResults::harness_failed(options.seed, &err);
            let _ = dir.write_json("results.json", &results);
            results
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let summary = format!(
        "gauntlet: {}{} (exit {}) seed {} in {seconds:.1}s: {}; everything is in {}{}",
        results.verdict.name(),
        results
            .anomaly
            .as_ref()
            .map(|a| format!(" [{a}]"))
            .unwrap_or_default(),
        results.exit_code,
        options.seed,
        results.detail,
        dir.path.display(),
        timeline_note(&dir.path)
    );
    Ok(RunOutcome {
        dir: dir.path,
        results,
        summary,
    })
}

/// Where the run's timeline page is, for the summary line (nothing when it was not written).
fn timeline_note(dir: &std::path::Path) -> String {
    let page = dir.join("timeline.html");
    if page.is_file() {
        format!("; open {}", page.display())
    } else {
        String::new()
    }
}

/// The command line that repeats this run (the target adds its own flags).
pub fn replay_command(options: &RunOptions, target: &dyn Target) -> String {
    let mut command = format!(
        "gauntlet test --nodes {} --time {} --workload {} --nemesis {} --nemesis-interval {} --concurrency {} --rate {} --keys {} --seed {}",
        options.nodes,
        options.time.as_secs_f64(),
        options.workload.kind.name(),
        nemesis_names(options, ","),
        options.nemesis_interval.as_secs_f64(),
        options.workload.concurrency,
        options.rate,
        options.workload.keys,
        options.seed,
    );
    command.push_str(&target.replay_args());
    command
}

/// Plans the schedule and the cluster, runs the phases, and always tears the cluster down.
async fn run_in(
    options: &RunOptions,
    target: &dyn Target,
    dir: &RunDir,
) -> anyhow::Result<RunResults> {
    let mut progress = Progress::new(options.time);
    let schedule = cluster::plan_schedule(options);
    dir.write_json("schedule.json", &schedule)?;
    let cluster = cluster::set_up_cluster(options, target, dir).await?;
    let results = run_phases(options, target, dir, &schedule, &cluster, &mut progress).await;
    progress.finish();
    tokio::task::block_in_place(|| cluster.db().teardown());
    results
}

/// The phases in order (see [`phases`]); errors are harness failures.
async fn run_phases(
    options: &RunOptions,
    target: &dyn Target,
    dir: &RunDir,
    schedule: &Schedule,
    cluster: &Cluster,
    progress: &mut Progress,
) -> anyhow::Result<RunResults> {
    phases::start_db(options, target, dir, cluster, progress)?;
    let (history, recorder) = phases::open_history(options, dir)?;
    let mut probe = cluster.db().client(ClientProfile::Patient);
    let Some(first_leader) =
        recovery::wait_until_serving(probe.as_mut(), options.recovery_timeout).await
    else {
        let detail = format!(
            "no leader served within {:?} of start",
            options.recovery_timeout
        );
        let results = RunResults::no_leader_at_start(options.seed, detail);
        phases::write_artifacts(dir, options, &results)?;
        return Ok(results);
    };
    progress.phase(&format!(
        "cluster serving after {:.1}s; workload {} x{} and nemesis {} for {:?}",
        first_leader.as_secs_f64(),
        options.workload.kind.name(),
        options.workload.concurrency,
        nemesis_names(options, ","),
        options.time
    ));
    let case = phases::start_clients_and_nemesis(options, cluster, &recorder, schedule);
    let activity = phases::run_case(case, options, &recorder, progress).await?;
    let liveness =
        phases::heal_and_recover(cluster, probe.as_mut(), options, first_leader, progress).await;
    let final_reads = phases::final_reads(cluster, &recorder, options, &liveness).await?;
    let zero_ns = recorder.zero_monotonic_ns();
    drop(recorder);
    let raft_check = if cluster.db().writes_event_streams() {
        Some(phases::check_raft(dir, options, zero_ns, progress)?)
    } else {
        None
    };
    let results = phases::analyze(
        &history,
        options,
        activity,
        liveness,
        final_reads,
        raft_check,
        progress,
    )?;
    phases::write_artifacts(dir, options, &results)?;
    Ok(results)
}

/// The run's nemeses joined by `separator` (`none` for none).
fn nemesis_names(options: &RunOptions, separator: &str) -> String {
    if options.nemesis.is_empty() {
        "none".to_string()
    } else {
        options
            .nemesis
            .iter()
            .map(|n| n.name())
            .collect::<Vec<_>>()
            .join(separator)
    }
}
