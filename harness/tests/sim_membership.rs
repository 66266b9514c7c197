//! Membership in the simulator: a `membership` run really adds learners, promotes them, removes
//! voters and replaces nodes (counted from the history's nemesis events), a saved schedule
//! replays it byte for byte, the correct build stays clean with membership changes among
//! partitions and kills, and real runs refuse the simulator-only kind.

use std::collections::BTreeMap;
use std::process::Command;

use harness::nemesis::runner::refuse_sim_only;
use harness::sim::schedule::NemesisKind;
use harness::sim::sweep::sweep;
use harness::sim::{run, RunOptions, SimOutcome, SimSpec};

fn template(kinds: &[NemesisKind]) -> SimSpec {
    let mut spec = SimSpec::new(0);
    spec.time_ms = 8_000;
    spec.final_reads_ms = 1_000;
    spec.clients = 4;
    spec.nemesis = kinds.to_vec();
    spec
}

/// Membership actions completed in a run's history, by name (`add-learner`, ...).
fn completed(outcome: &SimOutcome) -> BTreeMap<String, usize> {
    let mut done = BTreeMap::new();
    for line in outcome.history.split(|&b| b == b'\n') {
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if event["process"] != "nemesis" {
            continue;
        }
        let f = event["f"].as_str().unwrap_or_default();
        let finished = event["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("done"));
        if let Some(name) = f.strip_suffix("-end").filter(|_| finished) {
            *done.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    done
}

#[test]
fn a_membership_run_adds_promotes_removes_and_replaces() {
    let mut total: BTreeMap<String, usize> = BTreeMap::new();
    for seed in 0..8 {
        let outcome = run(&template(&[NemesisKind::Membership]).for_seed(seed), RunOptions::default());
        assert_eq!(
            outcome.verdict.exit_code(),
            0,
            "seed {seed}: {}",
            outcome.verdict.summary()
        );
        for (name, count) in completed(&outcome) {
            *total.entry(name).or_insert(0) += count;
        }
    }
    for action in ["add-learner", "promote", "remove", "replace"] {
        assert!(
            total.get(action).copied().unwrap_or(0) > 0,
            "no {action} completed in 8 seeds: {total:?}"
        );
    }
}

#[test]
fn a_membership_schedule_replays_exactly() {
    let spec = template(&[NemesisKind::Membership, NemesisKind::Kill]).for_seed(3);
    let first = run(&spec, RunOptions::default());
    assert!(first
        .steps
        .iter()
        .any(|s| s.fault.kind() == NemesisKind::Membership));
    let json = serde_json::to_string(&first.steps).unwrap();
    let mut saved = spec.clone();
    saved.schedule = Some(serde_json::from_str(&json).unwrap());
    let again = run(&saved, RunOptions::default());
    assert_eq!(again.history, first.history);
    assert!(!completed(&again).is_empty(), "some action completed");
}

#[test]
fn membership_among_partitions_and_kills_keeps_the_correct_build_clean() {
    let kinds = [
        NemesisKind::Partition,
        NemesisKind::Kill,
        NemesisKind::Membership,
    ];
    let result = sweep(&template(&kinds), 0..12, RunOptions::default(), false, &|_| {});
    assert_eq!(result.runs, 12);
    let violations: Vec<String> = result
        .failures
        .iter()
        .filter(|f| f.verdict.exit_code() != 2)
        .map(|f| format!("seed {}: {}", f.spec.seed, f.verdict.summary()))
        .collect();
    assert!(violations.is_empty(), "{violations:?}");
}

#[test]
fn real_runs_refuse_membership_before_starting() {
    let err = refuse_sim_only(&[NemesisKind::Kill, NemesisKind::Membership]).unwrap_err();
    assert!(err.to_string().contains("simulator only"), "{err}");
    assert!(refuse_sim_only(&NemesisKind::ALL).is_ok());
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["test", "--nemesis", "partition,membership", "--time", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("simulator only"), "{stderr}");
}
