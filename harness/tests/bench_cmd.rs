//! `gauntlet bench` against real clusters: a short raft-kv bench (JSON and text) completes
//! operations and reports figures of the right shape, an interrupted one leaves no node behind,
//! bad flags exit 3, and the same bench against etcd (SKIPPED when etcd is not installed).

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

const GAUNTLET: &str = env!("CARGO_BIN_EXE_gauntlet");

/// `gauntlet bench` with `args`, its clusters in `dir`.
fn bench(dir: &Path, args: &[&str]) -> Output {
    Command::new(GAUNTLET)
        .arg("bench")
        .arg("--node-bin")
        .arg(support::node_bin())
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("running gauntlet bench")
}

/// Live processes started for the clusters in `dir` (their command lines name it), and etcd
/// watchdogs of a gauntlet with pid `gauntlet` (their script names it).
fn survivors(dir: &Path, gauntlet: u32) -> Vec<u32> {
    let dir = dir.to_string_lossy().to_string();
    let watchdog = format!("kill -0 {gauntlet} ");
    support::live_processes_where(|cmdline| cmdline.contains(&dir) || cmdline.contains(&watchdog))
}

fn number(value: &Value, name: &str) -> f64 {
    value[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} is not a number in {value}"))
}

/// Checks a `--json` report of `dbs` x (put, get) x (1, 4 clients), one run.
fn assert_json_report(output: &Output, db: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|err| panic!("stdout is not one JSON object ({err}): {stdout}"));
    assert_eq!(report["settings"]["dbs"], serde_json::json!([db]));
    assert_eq!(report["settings"]["value-bytes"], 64);
    let measurements = report["measurements"].as_array().expect("measurements");
    let shapes: Vec<(String, u64)> = measurements
        .iter()
        .map(|m| {
            (
                m["op"].as_str().unwrap().to_string(),
                m["clients"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected =
        [("put", 1), ("put", 4), ("get", 1), ("get", 4)].map(|(op, n)| (op.to_string(), n));
    assert_eq!(shapes, expected, "{stdout}");
    for m in measurements {
        assert_eq!(m["db"], db);
        assert_eq!(m["run"], 1);
        let ops = m["ops"].as_u64().expect("ops");
        assert!(ops > 0, "no operation completed: {m}");
        let rate = number(m, "ops-per-sec");
        assert!((rate - ops as f64 / 1.0).abs() < 1e-6, "{m}");
        let (p50, p99, max) = (
            number(m, "p50-ms"),
            number(m, "p99-ms"),
            number(m, "max-ms"),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{m}");
        assert!(m["fail"].is_u64() && m["info"].is_u64(), "{m}");
    }
    let summaries = report["summaries"].as_array().expect("summaries");
    assert_eq!(summaries.len(), 4, "{stdout}");
    for s in summaries {
        assert_eq!(s["runs"], 1);
        let spread = &s["ops-per-sec"];
        assert_eq!(spread["min"], spread["max"], "{s}");
        assert!(number(spread, "median") > 0.0, "{s}");
    }
    // The per-measurement lines went to standard error.
    assert_eq!(stderr.matches(" ops/s ").count(), 4, "{stderr}");
}

const SHORT_JSON: [&str; 12] = [
    "--clients",
    "1,4",
    "--op",
    "put,get",
    "--duration",
    "1",
    "--warmup",
    "0.5",
    "--keys",
    "20",
    "--value-bytes",
    "64",
];

#[test]
fn a_short_raft_kv_bench_completes_operations_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let output = bench(
        dir.path(),
        &[&["--db", "raft-kv", "--json"][..], &SHORT_JSON].concat(),
    );
    assert_json_report(&output, "raft-kv");
    let logs = dir.path().join("raft-kv-run-1");
    assert!(
        logs.join("node-1.log").is_file(),
        "no node log in {}",
        logs.display()
    );
    assert!(
        survivors(dir.path(), 0).is_empty(),
        "nodes outlived the bench"
    );
}

#[test]
fn runs_are_fresh_clusters_summarized_as_spreads() {
    let dir = tempfile::tempdir().unwrap();
    let output = bench(
        dir.path(),
        &[
            "--clients",
            "2",
            "--runs",
            "2",
            "--duration",
            "0.5",
            "--warmup",
            "0.2",
            "--keys",
            "5",
            "--client-profile",
            "workload",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("gauntlet bench: 3 nodes, workload clients"),
        "{stdout}"
    );
    assert!(
        stdout.contains("raft-kv  put     2 clients  run 1/2:"),
        "{stdout}"
    );
    assert!(stdout.contains("run 2/2:"), "{stdout}");
    assert!(
        stdout.contains("median [min-max] over the runs"),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|line| line.starts_with("raft-kv  put") && !line.contains("run "))
        .unwrap_or_else(|| panic!("no summary row: {stdout}"));
    assert!(row.contains('[') && row.contains(']'), "{row}");
    for run in 1..=2 {
        assert!(dir
            .path()
            .join(format!("raft-kv-run-{run}/node-3.log"))
            .is_file());
    }
    // A second bench in the same directory would not start fresh clusters: refused.
    let again = bench(dir.path(), &["--duration", "0.2", "--warmup", "0"]);
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn bad_flags_exit_3_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["--clients", "0"][..], "--clients must be from 1 to 1024"),
        (
            &["--clients", "2000"][..],
            "--clients must be from 1 to 1024",
        ),
        (&["--db", "mysql"][..], "unknown system \"mysql\""),
        (&["--op", "cas"][..], "unknown operation \"cas\""),
        (
            &["--client-profile", "lazy"][..],
            "unknown client profile \"lazy\"",
        ),
        (&["--duration", "0"][..], "--duration must be a positive"),
        (
            &["--value-bytes", "2000000"][..],
            "--value-bytes must be at most",
        ),
    ] {
        let output = bench(dir.path(), args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(survivors(dir.path(), 0).is_empty());
}

#[test]
fn an_interrupted_bench_leaves_no_node_behind() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(GAUNTLET)
        .arg("bench")
        .arg("--node-bin")
        .arg(support::node_bin())
        .arg("--dir")
        .arg(dir.path())
        .args(["--clients", "4", "--duration", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the cluster runs (every node has a log and a process).
    let started = Instant::now();
    while survivors(dir.path(), child.id()).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the cluster did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("SIGINT: every node killed"), "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !survivors(dir.path(), 0).is_empty() {
        assert!(Instant::now() < deadline, "nodes survived SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_short_etcd_bench_completes_operations_and_reports_json() {
    if !support::etcd_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(GAUNTLET)
        .arg("bench")
        .arg("--dir")
        .arg(dir.path())
        .args(["--db", "etcd", "--json"])
        .args(SHORT_JSON)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = {
        let started = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break child.wait_with_output().unwrap();
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                panic!("the etcd bench did not finish in 120 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert_json_report(&output, "etcd");
    assert!(dir.path().join("etcd-run-1/node-1.log").is_file());
    let deadline = Instant::now() + Duration::from_secs(3);
    while !survivors(dir.path(), pid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "etcd members or watchdogs outlived the bench"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
