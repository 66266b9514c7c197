//! Membership in the simulator: a `membership` run really adds learners, promotes them, removes
//! voters and replaces nodes (counted from the history's nemesis events), a saved schedule
//! replays it byte for byte, the correct build stays clean with membership changes among
//! partitions and kills, and real runs take `membership` when named (`all` leaves it out).

use std::collections::BTreeMap;
use std::process::Command;

use harness::nemesis::schedule::parse_nemesis_list;
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
        let outcome = run(
            &template(&[NemesisKind::Membership]).for_seed(seed),
            RunOptions::default(),
        );
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
    let result = sweep(
        &template(&kinds),
        0..12,
        RunOptions::default(),
        false,
        &|_| {},
    );
    assert_eq!(result.runs, 12);
    let violations = result.definite_failures();
    assert!(violations.is_empty(), "{violations:?}");
}

#[test]
fn real_runs_take_membership_only_when_named() {
    assert!(!parse_nemesis_list("all")
        .unwrap()
        .contains(&NemesisKind::Membership));
    assert!(parse_nemesis_list("partition,membership")
        .unwrap()
        .contains(&NemesisKind::Membership));
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["test", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("membership"), "{help}");
}

#[test]
fn the_membership_lane_is_its_own_and_leaves_the_other_faults_alone() {
    use harness::nemesis::schedule::{Fault, Lane, Schedule, ScheduleOptions};
    let options = |kinds: &[NemesisKind]| ScheduleOptions {
        seed: 11,
        nodes: vec![1, 2, 3, 4, 5],
        kinds: kinds.to_vec(),
        duration_ms: 30_000,
        interval_ms: 1_000,
    };
    let without = Schedule::generate(&options(&NemesisKind::ALL));
    let mut all = NemesisKind::ALL.to_vec();
    all.push(NemesisKind::Membership);
    let with = Schedule::generate(&options(&all));
    let members = with.lane(Lane::Membership);
    assert!(members.len() >= 5, "{members:?}");
    for lane in [Lane::Network, Lane::Process] {
        assert_eq!(with.lane(lane), without.lane(lane));
    }
    for pair in members.windows(2) {
        assert!(pair[0].end_ms < pair[1].start_ms, "{pair:?}");
    }
    // The plan keeps at least three voters and at most two extra members.
    let (mut voters, mut learners) = (5i64, 0i64);
    for step in &members {
        match step.fault {
            Fault::AddLearner => learners += 1,
            Fault::Promote => {
                learners -= 1;
                voters += 1;
            }
            Fault::Remove { .. } => voters -= 1,
            Fault::Replace { .. } | Fault::TransferLeader => {}
            ref other => panic!("{other:?} in the membership lane"),
        }
        assert!(voters >= 3 && learners >= 0 && voters + learners <= 7);
    }
    let names: Vec<&str> = members.iter().map(|s| s.fault.name()).collect();
    for name in [
        "add-learner",
        "promote",
        "remove",
        "replace",
        "transfer-leader",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    // Kebab-case data, replayed from JSON as it was.
    let json = serde_json::to_string(&with).unwrap();
    assert!(json.contains("\"fault\":\"add-learner\""), "{json}");
    assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), with);
}
