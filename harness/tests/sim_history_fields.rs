//! Simulated histories carry what a reader needs without parsing text: every completion names the
//! node that answered it (`ok`) or was last tried (`fail`/`info`) and every failure its
//! `error_kind`; nemesis events aimed at "the leader" carry the leader they resolved to (`nodes`)
//! and the links they cut (`links`).

use harness::nemesis::schedule::{Fault, PartitionShape, Step, Targets};
use harness::sim::{run, RunOptions, SimSpec};
use raft::client::ErrorKind;
use serde_json::Value;

fn spec(seed: u64) -> SimSpec {
    let mut spec = SimSpec::new(seed);
    spec.time_ms = 19_000;
    spec.final_reads_ms = 1_000;
    spec.schedule = Some(vec![
        Step {
            start_ms: 1_000,
            end_ms: 2_500,
            fault: Fault::Kill {
                targets: Targets::Leader,
            },
        },
        Step {
            start_ms: 3_000,
            end_ms: 9_500,
            fault: Fault::Partition {
                shape: PartitionShape::IsolateLeader,
                cut: Vec::new(),
            },
        },
        // A majority down for longer than an operation's deadline: operations fail.
        Step {
            start_ms: 10_000,
            end_ms: 16_500,
            fault: Fault::Kill {
                targets: Targets::Nodes(vec![1, 2, 3]),
            },
        },
        Step {
            start_ms: 17_000,
            end_ms: 18_000,
            fault: Fault::Pause {
                targets: Targets::Nodes(vec![2]),
            },
        },
    ]);
    spec
}

fn history(seed: u64) -> Vec<Value> {
    let outcome = run(&spec(seed), RunOptions::default());
    assert_eq!(
        outcome.verdict.exit_code(),
        0,
        "seed {seed}: {}",
        outcome.verdict.summary()
    );
    String::from_utf8(outcome.history)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn ids(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

#[test]
fn every_completion_names_its_node_and_every_failure_its_kind() {
    let mut failures = 0;
    for seed in 0..4 {
        let lines = history(seed);
        let completions: Vec<&Value> = lines
            .iter()
            .filter(|l| l["process"] != "nemesis" && l["type"] != "invoke")
            .collect();
        assert!(completions.len() > 50, "seed {seed}: too few operations");
        for line in &completions {
            let node = line["node"].as_u64();
            assert!(
                node.is_some_and(|n| (1..=5).contains(&n)),
                "seed {seed}: {line}"
            );
            if line["type"] == "ok" {
                assert!(line.get("error_kind").is_none(), "seed {seed}: {line}");
                continue;
            }
            failures += 1;
            let kind = line["error_kind"].as_str().unwrap_or_default();
            assert!(
                ErrorKind::from_name(kind).is_some(),
                "seed {seed}: unknown error_kind in {line}"
            );
            assert!(line["error"].is_string(), "seed {seed}: {line}");
        }
    }
    assert!(failures > 0, "the faults failed no operation in 4 seeds");
}

#[test]
fn faults_aimed_at_the_leader_carry_the_leader_they_hit() {
    for seed in 0..4 {
        let lines = history(seed);
        let event = |f: &str| {
            lines
                .iter()
                .find(|l| l["f"] == f)
                .unwrap_or_else(|| panic!("seed {seed}: no {f}"))
        };
        // The last node to acknowledge an operation before the fault led then.
        let leader_before = |index: u64| {
            lines
                .iter()
                .rev()
                .filter(|l| l["type"] == "ok" && l["index"].as_u64().unwrap() < index)
                .find_map(|l| l["node"].as_u64())
        };
        let kill = event("kill-start");
        assert_eq!(kill["fault"]["targets"], "leader");
        let killed = ids(&kill["fault"]["nodes"]);
        assert_eq!(killed.len(), 1, "seed {seed}: {kill}");
        assert_eq!(
            Some(killed[0]),
            leader_before(kill["index"].as_u64().unwrap()),
            "seed {seed}: {kill}"
        );
        assert_eq!(event("kill-end")["fault"]["nodes"], kill["fault"]["nodes"]);

        let isolate = event("partition-start");
        assert_eq!(isolate["fault"]["shape"], "isolate-leader");
        let isolated = ids(&isolate["fault"]["nodes"]);
        assert_eq!(isolated.len(), 1, "seed {seed}: {isolate}");
        let links = isolate["fault"]["links"].as_array().unwrap();
        assert_eq!(links.len(), 8, "both directions to 4 others: {isolate}");
        for link in links {
            let ends = ids(link);
            assert!(ends.contains(&isolated[0]), "seed {seed}: {link}");
        }

        let pause = event("pause-start");
        assert_eq!(ids(&pause["fault"]["nodes"]), [2]);
        assert_eq!(pause["fault"]["links"], serde_json::json!([]));
    }
}
