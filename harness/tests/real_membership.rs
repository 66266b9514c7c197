//! The `membership` nemesis in a real run: a seed whose schedule adds a learner, promotes it and
//! removes (or replaces) a voter, mixed with partitions, passes on the correct build; its history
//! shows each change committed, and the Raft check read the spare node's event stream too.

mod support;

use std::path::Path;

use harness::nemesis::schedule::{parse_nemesis_list, Fault, Schedule, ScheduleOptions};

const TIME_S: u64 = 15;
const INTERVAL_S: u64 = 1;
const NEMESIS: &str = "membership,partition";

/// The first seed whose schedule (as `gauntlet test` plans it) adds a learner, then promotes,
/// then removes or replaces a voter.
fn churning_seed() -> u64 {
    (1..1_000)
        .find(|&seed| {
            let schedule = Schedule::generate(&ScheduleOptions {
                seed,
                nodes: vec![1, 2, 3],
                kinds: parse_nemesis_list(NEMESIS).unwrap(),
                duration_ms: TIME_S * 1_000,
                interval_ms: INTERVAL_S * 1_000,
            });
            let mut wanted = ["add-learner", "promote", "remove"].into_iter().peekable();
            for step in &schedule.steps {
                let name = match step.fault {
                    Fault::Replace { .. } => "remove",
                    ref other => other.name(),
                };
                if wanted.peek() == Some(&name) {
                    wanted.next();
                }
            }
            wanted.peek().is_none()
        })
        .expect("some seed churns")
}

fn nemesis_events(history: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(history)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["process"] == "nemesis")
        .collect()
}

#[test]
fn a_run_with_membership_churn_passes_and_its_history_shows_the_changes() {
    let seed = churning_seed();
    let store = tempfile::tempdir().unwrap();
    let output = support::gauntlet_test(store.path(), &["--nodes", "3"])
        .args(["--time", &TIME_S.to_string()])
        .args(["--nemesis", NEMESIS])
        .args(["--nemesis-interval", &INTERVAL_S.to_string()])
        .args(["--seed", &seed.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "seed {seed}\nstdout: {stdout}\nstderr: {stderr}"
    );
    let run = store.path().join("latest");
    let events = nemesis_events(&run.join("history.jsonl"));
    let ends = |name: &str| -> Vec<&serde_json::Value> {
        events
            .iter()
            .filter(|e| e["f"] == format!("{name}-end"))
            .collect()
    };
    // A learner was added: the end event names the spare (id 4 or more) and says it was added.
    let added: Vec<u64> = ends("add-learner")
        .into_iter()
        .chain(ends("replace"))
        .filter_map(|e| {
            let node = e["fault"]["nodes"].as_array()?.last()?.as_u64()?;
            let text = e["value"].as_str()?;
            text.contains(&format!("add-learner {node}"))
                .then_some(node)
        })
        .collect();
    assert!(
        added.iter().any(|&n| n > 3),
        "seed {seed}: no learner added: {events:#?}"
    );
    let promoted = events.iter().any(|e| {
        let text = e["value"].as_str().unwrap_or("");
        e["f"].as_str().is_some_and(|f| f.ends_with("-end"))
            && added.iter().any(|n| text.contains(&format!("promote {n}")))
    });
    assert!(promoted, "seed {seed}: no learner promoted: {events:#?}");
    let removed = events.iter().any(|e| {
        let text = e["value"].as_str().unwrap_or("");
        (e["f"] == "remove-end" || e["f"] == "replace-end")
            && e["fault"]["nodes"]
                .as_array()
                .and_then(|nodes| nodes.first())
                .and_then(|n| n.as_u64())
                .is_some_and(|n| text.contains(&format!("remove {n}")))
    });
    assert!(removed, "seed {seed}: no voter removed: {events:#?}");
    // The Raft check read the spares' event streams too.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["verdict"], "valid", "{results}");
    assert_eq!(results["liveness"]["recovered"], true, "{results}");
    let checked = results["raft_check"]["nodes"].as_array().unwrap().len();
    assert!(checked > 3, "seed {seed}: {results}");
}
