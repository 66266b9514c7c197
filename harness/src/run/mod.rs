//! One `gauntlet test` run, phase by phase: plan the cluster and the fault schedule, start the
//! proxy and the nodes, wait for a leader, run workload and nemesis for the run's time, heal
//! everything, wait for recovery, read every key with a fresh client, stop the nodes, check the
//! history, and leave the whole story in the run directory.

pub mod options;
pub mod recovery;
pub mod verdict;
pub mod workers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use checker::formats::jsonl::{Header, FORMAT_VERSION};
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use options::RunOptions;
use verdict::{exit_code, judge, EXIT_HARNESS_FAILED, EXIT_UNKNOWN};
use workers::Worker;

use crate::artifacts::{git_commit, RunDir};
use crate::db::raft_kv::{RaftKv, RaftKvOptions};
use crate::db::{ClientProfile, Db};
use crate::nemesis::{Cluster, NemesisRunner, Schedule, ScheduleOptions};
use crate::progress::Progress;
use crate::proxy::{LinkId, LinkSpec, Proxy, ProxyConfig};
use crate::recorder::Recorder;
use crate::workload::WorkerGenerator;

/// How a run ended.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub dir: std::path::PathBuf,
    pub exit_code: u8,
    /// `valid`, `invalid`, `unknown`, `no-liveness` or `harness-failed`.
    pub verdict: String,
    pub anomaly: Option<String>,
    /// The one-line summary printed at the end.
    pub summary: String,
}

/// Runs one test; never leaves a node running. Errors before the run directory exists are
/// returned; later ones become a `harness-failed` outcome recorded in `results.json`.
pub async fn run(options: RunOptions) -> anyhow::Result<RunOutcome> {
    let dir = RunDir::create(&options.store, &options.test_name())?;
    dir.write_json(
        "test.json",
        &json!({
            "test": options.test_name(),
            "options": options,
            "seed": options.seed,
            "gauntlet_version": env!("CARGO_PKG_VERSION"),
            "git_commit": git_commit(),
            "started": crate::artifacts::utc_stamp(std::time::SystemTime::now()),
            "replay": replay_command(&options),
        }),
    )?;
    let started = std::time::Instant::now();
    let result = run_in(&options, &dir).await;
    let seconds = started.elapsed().as_secs_f64();
    let (exit_code, verdict, anomaly, detail) = match result {
        Ok(outcome) => outcome,
        Err(err) => {
            let _ = dir.write_json(
                "results.json",
                &json!({"verdict": "harness-failed", "exit_code": EXIT_HARNESS_FAILED, "error": format!("{err:#}")}),
            );
            (
                EXIT_HARNESS_FAILED,
                "harness-failed".to_string(),
                None,
                format!("{err:#}"),
            )
        }
    };
    let summary = format!(
        "gauntlet: {verdict}{} (exit {exit_code}) seed {} in {seconds:.1}s: {detail}; everything is in {}",
        anomaly.as_ref().map(|a| format!(" [{a}]")).unwrap_or_default(),
        options.seed,
        dir.path.display()
    );
    Ok(RunOutcome {
        dir: dir.path,
        exit_code,
        verdict,
        anomaly,
        summary,
    })
}

/// The command line that repeats this run.
pub fn replay_command(options: &RunOptions) -> String {
    let mut command = format!(
        "gauntlet test --nodes {} --time {} --workload {} --nemesis {} --nemesis-interval {} --concurrency {} --rate {} --keys {} --seed {}",
        options.nodes,
        options.time.as_secs_f64(),
        options.workload.kind.name(),
        if options.nemesis.is_empty() { "none".to_string() } else { options.nemesis.iter().map(|n| n.name()).collect::<Vec<_>>().join(",") },
        options.nemesis_interval.as_secs_f64(),
        options.workload.concurrency,
        options.rate,
        options.workload.keys,
        options.seed,
    );
    for bug in &options.unsafe_bugs {
        command.push_str(&format!(" --unsafe-bug {bug}"));
    }
    command
}

type Phases = (u8, String, Option<String>, String);

async fn run_in(options: &RunOptions, dir: &RunDir) -> anyhow::Result<Phases> {
    let mut progress = Progress::new(options.time);
    let nodes: Vec<u64> = (1..=options.nodes as u64).collect();
    let schedule = Schedule::generate(&ScheduleOptions {
        seed: options.seed,
        nodes: nodes.clone(),
        kinds: options.nemesis.clone(),
        duration_ms: options.time.as_millis() as u64,
        interval_ms: options.nemesis_interval.as_millis() as u64,
    });
    dir.write_json("schedule.json", &schedule)?;

    let mut raft_kv = RaftKv::plan(RaftKvOptions {
        binary: options.node_bin.clone(),
        nodes: options.nodes,
        dir: dir.path.clone(),
        cluster_id: options.seed | 1,
        election_ms: options.election_ms,
        heartbeat_ms: options.heartbeat_ms,
        snapshot_every: options.snapshot_every,
        unsafe_bugs: options.unsafe_bugs.clone(),
        seed: options.seed,
        ready_timeout: Duration::from_secs(15),
        extra_args: Vec::new(),
    })?;
    let mut links = Vec::new();
    for (&to, &target) in &raft_kv.peer_addrs() {
        for &from in &nodes {
            if from != to {
                links.push(LinkSpec::loopback(LinkId::new(from, to), target));
            }
        }
    }
    let proxy = Proxy::start_with(
        ProxyConfig {
            seed: options.seed,
            ..ProxyConfig::default()
        },
        links,
    )
    .await
    .context("starting the fault proxy")?;
    raft_kv.route_peers(|from, to| {
        proxy
            .addr(LinkId::new(from, to))
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    });
    let cluster = Cluster {
        db: Arc::new(Mutex::new(Box::new(raft_kv) as Box<dyn Db>)),
        proxy: Arc::new(proxy),
    };
    let outcome = run_phases(options, dir, &schedule, &cluster, &mut progress).await;
    progress.finish();
    tokio::task::block_in_place(|| cluster.db().teardown());
    outcome
}

async fn run_phases(
    options: &RunOptions,
    dir: &RunDir,
    schedule: &Schedule,
    cluster: &Cluster,
    progress: &mut Progress,
) -> anyhow::Result<Phases> {
    progress.phase(&format!(
        "starting {} raft-kv nodes ({}), seed {}, run dir {}",
        options.nodes,
        options.node_bin.display(),
        options.seed,
        dir.path.display()
    ));
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        let mut db = cluster.db();
        for node in db.nodes() {
            db.start(node)?;
        }
        Ok(())
    })?;
    let header = Header {
        format: Some("gauntlet-history".into()),
        version: Some(FORMAT_VERSION),
        workload: Some(options.workload.kind.name().into()),
        seed: Some(options.seed),
        model: Some(options.workload.kind.model().name().into()),
    };
    let history_path = dir.file("history.jsonl");
    let recorder = Arc::new(Recorder::create(
        &history_path,
        &header,
        options.workload.concurrency as u64,
    )?);
    let mut probe = cluster.db().client(ClientProfile::Patient);
    let Some(first_leader) =
        recovery::wait_until_serving(probe.as_mut(), options.recovery_timeout).await
    else {
        let detail = format!(
            "no leader served within {:?} of start",
            options.recovery_timeout
        );
        dir.write_json(
            "results.json",
            &json!({"verdict": "no-liveness", "exit_code": EXIT_UNKNOWN, "liveness": {"leader_at_start": false}, "detail": detail}),
        )?;
        return Ok((EXIT_UNKNOWN, "no-liveness".into(), None, detail));
    };
    progress.phase(&format!(
        "cluster serving after {:.1}s; workload {} x{} and nemesis {:?} for {:?}",
        first_leader.as_secs_f64(),
        options.workload.kind.name(),
        options.workload.concurrency,
        options.nemesis,
        options.time
    ));

    let stop = CancellationToken::new();
    let pace = (options.rate > 0.0)
        .then(|| Duration::from_secs_f64(options.workload.concurrency as f64 / options.rate));
    let mut worker_tasks = Vec::new();
    for index in 0..options.workload.concurrency {
        let worker = Worker {
            index,
            generator: WorkerGenerator::new(&options.workload, index),
            client: cluster.db().client(ClientProfile::Workload),
            recorder: Arc::clone(&recorder),
            pace,
        };
        worker_tasks.push(tokio::spawn(worker.run(stop.clone())));
    }
    let active = Arc::new(Mutex::new(Vec::new()));
    let runner = NemesisRunner {
        cluster: cluster.clone(),
        recorder: Arc::clone(&recorder),
        active: Arc::clone(&active),
    };
    let workload_started = Instant::now();
    let nemesis_stop = stop.clone();
    let nemesis_schedule = schedule.clone();
    let nemesis_task = tokio::spawn(async move {
        runner
            .run(&nemesis_schedule, workload_started, nemesis_stop)
            .await
    });
    let deadline = workload_started + options.time;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250).min(deadline - Instant::now())).await;
        let faults = active.lock().unwrap_or_else(|p| p.into_inner()).join(" + ");
        let faults = (!faults.is_empty()).then_some(faults);
        progress.update(
            workload_started.elapsed(),
            recorder.counts(),
            faults.as_deref(),
        );
    }
    stop.cancel();
    let mut bad_replies = 0;
    for task in worker_tasks {
        let stats = task.await.context("a workload client panicked")??;
        bad_replies += stats.bad_replies;
    }
    let faults = nemesis_task.await.context("the nemesis panicked")?;

    progress.phase("healing every fault");
    let heal_problems = cluster.heal_everything();
    for problem in &heal_problems {
        progress.phase(&format!("while healing: {problem}"));
    }
    let recovered = recovery::wait_until_serving(probe.as_mut(), options.recovery_timeout).await;
    match recovered {
        Some(t) => progress.phase(&format!("cluster serving again after {:.1}s; final reads", t.as_secs_f64())),
        None => progress.phase(&format!(
            "cluster did NOT serve within {:?} after healing (liveness failure); final reads anyway",
            options.recovery_timeout
        )),
    }
    let keys = recorder.keys();
    let attempts = if recovered.is_some() { 5 } else { 1 };
    let mut reader = cluster.db().client(ClientProfile::Patient);
    let final_reads = recovery::final_reads(
        reader.as_mut(),
        &recorder,
        options.workload.kind,
        &keys,
        attempts,
    )
    .await?;
    tokio::task::block_in_place(|| cluster.db().teardown());
    drop(recorder);

    progress.phase("checking the history");
    let judgement = judge(
        &history_path,
        options.workload.kind.model(),
        options.check_timeout,
    )?;
    let recovered_ok = recovered.is_some() && heal_problems.is_empty();
    let mut code = exit_code(&judgement, recovered_ok);
    if code == 0 && bad_replies > 0 {
        code = EXIT_UNKNOWN;
    }
    let verdict = match (judgement.verdict, recovered_ok) {
        ("valid", false) => "no-liveness".to_string(),
        (v, _) => v.to_string(),
    };
    dir.write_json(
        "results.json",
        &json!({
            "verdict": verdict,
            "exit_code": code,
            "anomaly": judgement.anomaly,
            "detected_at_s": judgement.detected_at_s,
            "anomalies": judgement.anomalies,
            "checker": {
                "verdict": judgement.report.verdict,
                "unknown_reason": judgement.unknown_reason,
                "counterexample": judgement.report.counterexample,
                "stats": judgement.report.stats,
            },
            "counts": judgement.counts,
            "availability": judgement.counts.availability,
            "bad_replies": bad_replies,
            "faults_applied": faults,
            "liveness": {
                "first_leader_s": first_leader.as_secs_f64(),
                "recovered": recovered.is_some(),
                "recovery_s": recovered.map(|t| t.as_secs_f64()),
                "heal_problems": heal_problems,
            },
            "final_reads": final_reads,
            "seed": options.seed,
        }),
    )?;
    if code == 0 {
        for node in 1..=options.nodes {
            let _ = std::fs::remove_dir_all(dir.file(&format!("data-{node}")));
        }
    }
    let detail = format!(
        "{} ok / {} fail / {} info, availability {:.0}%, {} faults{}",
        judgement.counts.ok,
        judgement.counts.fail,
        judgement.counts.info,
        judgement.counts.availability * 100.0,
        faults,
        judgement
            .detected_at_s
            .map(|t| format!(", violation shown {t:.1}s into the history"))
            .unwrap_or_default()
            + &judgement
                .unknown_reason
                .as_ref()
                .map(|r| format!(", checker: {r}"))
                .unwrap_or_default()
    );
    Ok((code, verdict, judgement.anomaly.clone(), detail))
}
