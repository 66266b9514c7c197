//! `gauntlet summarize` over a store built in a temp dir: real run directories written by
//! serialising the harness's own `RunResults` (and `test.json` as `gauntlet test` writes it), sim
//! sweep shards by serialising `SweepRecord`, fuzz results as `scripts/fuzz-nightly` writes them,
//! and broken run directories. Checks the Markdown, JSON and JUnit outputs, their determinism,
//! `--since`, and the trend between two nights.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::run::results::Liveness;
use harness::run::{RunResults, RunVerdict};
use harness::shard::Shard;
use harness::summarize::Summary;
use harness::sweep_record::{MarkSeeds, SweepFailure, SweepRecord, SWEEP_FORMAT};
use serde_json::json;

/// Runs `gauntlet summarize <args>`; returns the exit code and stdout + stderr.
fn summarize(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("summarize")
        .args(args)
        .output()
        .expect("run gauntlet");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().expect("exit code"), text)
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A run directory `store/<test>/<stamp>/` as `gauntlet test` leaves it.
fn real_run(
    store: &Path,
    test: &str,
    stamp: &str,
    seed: u64,
    verdict: RunVerdict,
    availability: f64,
    op_ms: u64,
) -> PathBuf {
    let dir = store.join(test).join(stamp);
    let test_json = json!({
        "test": test,
        "options": {"nodes": 5, "seed": seed},
        "seed": seed,
        "gauntlet_version": "0.1.0",
        "git_commit": null,
        "started": stamp,
        "replay": format!("gauntlet test --workload append --seed {seed}"),
    });
    write(
        &dir.join("test.json"),
        &serde_json::to_string_pretty(&test_json).unwrap(),
    );
    let results = RunResults {
        verdict,
        exit_code: verdict.outcome().exit_code(),
        detail: format!("{} run", verdict.name()),
        seed,
        anomaly: (verdict == RunVerdict::Invalid).then(|| "lost-write".to_string()),
        detected_at_s: None,
        anomalies: Vec::new(),
        checker: None,
        counts: None,
        availability: Some(availability),
        bad_replies: 0,
        faults_applied: 3,
        liveness: Liveness {
            leader_at_start: true,
            first_leader_s: Some(0.5),
            recovered: true,
            recovery_s: Some(0.25),
            heal_problems: Vec::new(),
        },
        final_reads: None,
        raft_check: None,
        latency: None,
        windows: Vec::new(),
        error: None,
        signal: None,
    };
    write(
        &dir.join("results.json"),
        &serde_json::to_string_pretty(&results).unwrap(),
    );
    // Ten operations of `op_ms` each.
    let mut history = String::from("{\"format\":\"gauntlet-history\",\"version\":1}\n");
    for i in 0..10u64 {
        let t = i * 1_000_000_000;
        history.push_str(&format!(
            "{{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"key\":\"k1\",\"value\":null,\"time_ns\":{t}}}\n{{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"key\":\"k1\",\"value\":[],\"time_ns\":{}}}\n",
            t + op_ms * 1_000_000
        ));
    }
    write(&dir.join("history.jsonl"), &history);
    dir
}

/// One shard of the sweep `0..10`, failing at `failing_seed` if given.
fn sweep_shard(store: &Path, index: u64, failing_seed: Option<u64>) {
    let shard = Shard { index, count: 2 };
    let failures: Vec<SweepFailure> = failing_seed
        .map(|seed| SweepFailure {
            seed,
            verdict: "violation".into(),
            anomaly: "two-leaders".into(),
            summary: "violation: two-leaders".into(),
            reproduce: format!("gauntlet sim --seed {seed} --nodes 5"),
            dir: store.join(format!("sim/seed-{seed}")),
        })
        .into_iter()
        .collect();
    let record = SweepRecord {
        format: SWEEP_FORMAT.into(),
        version: 1,
        seeds: "0..10".into(),
        first_seed: 0,
        end_seed: 10,
        shard,
        started: format!("20261206T00000{index}.000Z"),
        command: format!("gauntlet sim --seeds 0..10 --shard {shard} --nodes 5"),
        seeds_planned: 5,
        seeds_run: 5,
        exit_code: if failures.is_empty() { 0 } else { 1 },
        failures,
        unknowns: 0,
        simulated_s: 60.0,
        wall_s: 2.0,
        jobs: 1,
        coverage: vec![
            MarkSeeds {
                mark: "snapshot-taken".into(),
                seeds: 3,
            },
            MarkSeeds {
                mark: "learner-added".into(),
                seeds: 0,
            },
        ],
    };
    record.save(store).unwrap();
}

fn fuzz_result(store: &Path, target: &str, crashes: u64) {
    let result = json!({
        "format": "gauntlet-fuzz-result",
        "target": target,
        "seconds": 60,
        "runs": 12345,
        "exec_per_s": 205,
        "crashes": crashes,
        "exit_status": if crashes > 0 { 77 } else { 0 },
        "crash_dir": store.join("fuzz").join(target),
        "log": store.join("fuzz").join(format!("{target}.log")),
        "finished": "20261206T050000.000Z",
    });
    write(
        &store.join("fuzz").join(format!("{target}.result.json")),
        &result.to_string(),
    );
}

/// The store of the first night: a passing and a failing run, a half-written run, a run with a
/// broken results.json, a sweep in two shards (one failing seed) and two fuzz targets.
fn first_night(store: &Path) {
    real_run(
        store,
        "append-kill",
        "20261206T010000.000Z",
        11,
        RunVerdict::Valid,
        0.99,
        10,
    );
    real_run(
        store,
        "append-kill",
        "20261206T020000.000Z",
        12,
        RunVerdict::Invalid,
        0.98,
        12,
    );
    write(
        &store.join("kv-partition/20261206T030000.000Z/test.json"),
        r#"{"test":"kv-partition","seed":13,"started":"20261206T030000.000Z","replay":"x"}"#,
    );
    real_run(
        store,
        "kv-partition",
        "20261206T040000.000Z",
        14,
        RunVerdict::Valid,
        1.0,
        5,
    );
    write(
        &store.join("kv-partition/20261206T040000.000Z/results.json"),
        "{\"verdict\": \"val",
    );
    sweep_shard(store, 1, Some(4));
    sweep_shard(store, 2, None);
    fuzz_result(store, "wal_recover", 0);
    fuzz_result(store, "wire_decode", 1);
    std::os::unix::fs::symlink("append-kill/20261206T010000.000Z", store.join("latest")).unwrap();
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_run_failure_and_bad_directory_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    first_night(&store);
    let (code, out) = summarize(&[store.to_str().unwrap(), "--night", "2026-12-06"]);
    // An unreadable run directory is reported as a harness failure.
    assert_eq!(code, 3, "{out}");

    let md = read(&store.join("summary.md"));
    assert!(md.contains("Real runs: 2 (1 valid, 1 invalid)"), "{md}");
    assert!(md.contains("2 unreadable"), "{md}");
    assert!(
        md.contains("### real `append-kill` seed 12: invalid [lost-write]"),
        "{md}"
    );
    assert!(
        md.contains("`gauntlet test --workload append --seed 12`"),
        "{md}"
    );
    let failing = store.join("append-kill/20261206T020000.000Z");
    assert!(
        md.contains(&format!("run directory: `{}`", failing.display())),
        "{md}"
    );
    assert!(md.contains(&format!(
        "timeline: `{}`",
        failing.join("history.jsonl").display()
    )));
    assert!(md.contains("half-written run: no results.json"), "{md}");
    assert!(md.contains("results.json does not parse"), "{md}");
    assert!(
        md.contains("### sim seed 4: violation [two-leaders]"),
        "{md}"
    );
    assert!(md.contains("`gauntlet sim --seed 4 --nodes 5`"), "{md}");
    assert!(
        md.contains("### fuzz `wire_decode`: 1 crash file(s), exit 77"),
        "{md}"
    );
    assert!(
        md.contains("coverage marks no seed passed: learner-added"),
        "{md}"
    );
    // The passing run's figures: availability 99%, every op took 10 ms.
    assert!(
        md.contains("| `append-kill` | 1 | 99.0% (99.0%) | 10.0 / 10.0 / 10.0 |"),
        "{md}"
    );
    assert!(!md.contains("Since the previous night"), "{md}");

    let summary: Summary = serde_json::from_str(&read(&store.join("summary.json"))).unwrap();
    assert_eq!(summary.exit_code, 3);
    assert_eq!(summary.real.runs, 2);
    assert_eq!(summary.collected.unreadable.len(), 2);
    assert_eq!(summary.collected.sweeps.len(), 1, "the two shards merge");
    let sweep = &summary.collected.sweeps[0];
    assert_eq!(sweep.shards, vec![1, 2]);
    assert!(sweep.missing_shards.is_empty());
    assert_eq!(sweep.seeds_run, 10);
    assert_eq!(sweep.command, "gauntlet sim --seeds 0..10 --nodes 5");
    assert_eq!(sweep.coverage[0].seeds, 6);
    assert_eq!(summary.sim.violations, 1);
    assert_eq!((summary.fuzz_targets, summary.fuzz_crashed), (2, 1));

    let junit = read(&store.join("junit.xml"));
    // 2 runs + 2 unreadable; 1 sweep + 1 failing seed; 2 fuzz targets.
    assert_eq!(junit.matches("<testcase ").count(), 8, "{junit}");
    assert_eq!(junit.matches("<failure ").count(), 3, "{junit}");
    assert_eq!(junit.matches("<error ").count(), 2, "{junit}");
    assert!(junit.starts_with("<?xml"), "{junit}");
}

#[test]
fn the_same_store_gives_the_same_files_and_the_trend_is_not_appended_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    first_night(&store);
    let outputs: Vec<(String, String, String, usize)> = ["a", "b"]
        .iter()
        .map(|name| {
            let out = tmp.path().join(name);
            let args = [
                store.to_str().unwrap(),
                "--night",
                "2026-12-06",
                "--out",
                out.to_str().unwrap(),
            ];
            let (code, text) = summarize(&args);
            assert_eq!(code, 3, "{text}");
            let trend_lines = read(&store.join("trend.jsonl")).lines().count();
            (
                read(&out.join("summary.md")),
                read(&out.join("summary.json")),
                read(&out.join("junit.xml")),
                trend_lines,
            )
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
    // 2 readable runs + 1 merged sweep + 2 fuzz targets.
    assert_eq!(outputs[0].3, 5);
}

#[test]
fn since_leaves_out_older_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    first_night(&store);
    let out = tmp.path().join("out");
    let (_, text) = summarize(&[
        store.to_str().unwrap(),
        "--since",
        "2026-12-06T01:30:00Z",
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary: Summary = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary.real.runs, 1, "{text}");
    assert_eq!(summary.collected.runs[0].seed, 12);
    assert_eq!(summary.since.as_deref(), Some("20261206T013000.000Z"));
    assert!(
        summary.collected.sweeps.is_empty(),
        "the sweep started before"
    );
    assert_eq!(summary.fuzz_targets, 2);
}

#[test]
fn the_second_night_says_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    first_night(&store);
    let (_, text) = summarize(&[store.to_str().unwrap(), "--night", "2026-12-06"]);
    assert!(text.contains("trend"), "{text}");

    // The next night: the old runs are gone; append-kill passes (slower, less available),
    // kv-partition fails for the first time, the sweep passes, wire_decode does not crash.
    for dir in ["append-kill", "kv-partition", "sim", "fuzz"] {
        fs::remove_dir_all(store.join(dir)).unwrap();
    }
    real_run(
        &store,
        "append-kill",
        "20261207T010000.000Z",
        21,
        RunVerdict::Valid,
        0.90,
        40,
    );
    real_run(
        &store,
        "kv-partition",
        "20261207T020000.000Z",
        22,
        RunVerdict::Invalid,
        0.97,
        5,
    );
    sweep_shard(&store, 1, None);
    sweep_shard(&store, 2, None);
    fuzz_result(&store, "wire_decode", 0);
    let (code, text) = summarize(&[store.to_str().unwrap(), "--night", "2026-12-07"]);
    assert_eq!(code, 1, "{text}");
    let md = read(&store.join("summary.md"));
    assert!(
        md.contains("## Since the previous night (2026-12-06)"),
        "{md}"
    );
    assert!(
        md.contains("- **new** real `kv-partition`: invalid [lost-write]"),
        "{md}"
    );
    assert!(
        md.contains("- fixed: real `append-kill`: invalid [lost-write]"),
        "{md}"
    );
    assert!(
        md.contains("- fixed: sim `gauntlet sim --nodes 5`: two-leaders"),
        "{md}"
    );
    assert!(md.contains("- fixed: fuzz `wire_decode`: crash"), "{md}");
    assert!(
        md.contains("- availability, `append-kill`: 99.0% -> 90.0%"),
        "{md}"
    );
    assert!(
        md.contains("- p99 latency, `append-kill`: 10.0 ms -> 40.0 ms"),
        "{md}"
    );
    assert!(md.contains("- availability, all real runs:"), "{md}");
    let trend = read(&store.join("trend.jsonl"));
    assert_eq!(trend.lines().count(), 5 + 4, "{trend}");
}

#[test]
fn unusable_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-store");
    let (code, text) = summarize(&[missing.to_str().unwrap()]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("is not a directory"), "{text}");
    let (code, text) = summarize(&[tmp.path().to_str().unwrap(), "--since", "last week"]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("expected --since as a date"), "{text}");
    let (code, text) = summarize(&[tmp.path().to_str().unwrap(), "--night", "monday"]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("expected --night as a date"), "{text}");
    // An empty store is a valid, empty summary.
    let (code, text) = summarize(&[tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(read(&tmp.path().join("summary.md")).contains("Real runs: none"));
}
