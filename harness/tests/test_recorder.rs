//! The recorder writes what the checker reads: definite failures as `fail`, indefinite ones as
//! `info` (each completion with its node, each failure with its `error_kind`), every line flushed
//! as written, nemesis events with what they hit, and a history of a correct run (and of a lossy
//! one) judged accordingly; a history written before `node`/`error_kind` existed still checks.

use std::sync::Arc;

use checker::formats::jsonl::Header;
use harness::db::{ClientFailure, KvReply};
use harness::nemesis::schedule::{Fault, Targets};
use harness::nemesis::Resolved;
use harness::recorder::{Completion, Failure, Recorder};
use harness::run::recovery::FinalReads;
use harness::run::results::{Activity, Liveness, RunResults, RunVerdict};
use harness::run::verdict::{judge, Judgement};
use harness::verdict::ExitVerdict;
use harness::workload::OpSpec;
use raft::client::ErrorKind;
use serde_json::json;

fn header() -> Header {
    Header {
        format: Some("gauntlet-history".into()),
        version: Some(1),
        workload: Some("append".into()),
        seed: Some(1),
        model: Some("list-append".into()),
    }
}

#[test]
fn classification_separates_ok_fail_and_info() {
    let append = OpSpec::ListAppend {
        key: "k".into(),
        element: 3,
    };
    assert_eq!(
        Completion::classify(&append, &Ok(KvReply::Written)),
        Completion::Ok(json!(3))
    );
    let definite = Err(ClientFailure {
        definite: true,
        kind: ErrorKind::NoLeader,
        reason: "no leader".into(),
    });
    assert_eq!(
        Completion::classify(&append, &definite),
        Completion::Fail(Failure::new(ErrorKind::NoLeader, "no leader"))
    );
    let indefinite = Err(ClientFailure {
        definite: false,
        kind: ErrorKind::Timeout,
        reason: "timeout after send".into(),
    });
    let info = Completion::classify(&append, &indefinite);
    assert_eq!(
        info,
        Completion::Info(Failure::new(ErrorKind::Timeout, "timeout after send"))
    );
    assert!(info.is_indefinite() && !info.is_bad_reply());
    let bad = Completion::classify(
        &OpSpec::ListRead { key: "k".into() },
        &Ok(KvReply::Value(Some("1,zz".into()))),
    );
    assert!(bad.is_bad_reply() && bad.is_indefinite());
    assert_eq!(bad.error_kind(), Some(ErrorKind::BadReply));
}

#[test]
fn raft_client_errors_map_to_definite_and_indefinite() {
    use harness::db::raft_kv_client::classify;
    use raft::client::ClientError;
    use raft::kv::OpResult;
    assert_eq!(
        classify(Ok(OpResult::CasMismatch { current: None })),
        Ok(KvReply::Cas(false))
    );
    let definite = classify(Err(ClientError::Definite {
        kind: ErrorKind::ConnectionRefused,
        reason: "x".into(),
    }))
    .unwrap_err();
    assert!(definite.definite);
    assert_eq!(definite.kind, ErrorKind::ConnectionRefused);
    let indefinite = classify(Err(ClientError::Indefinite {
        kind: ErrorKind::ConnectionReset,
        reason: "y".into(),
    }))
    .unwrap_err();
    assert!(!indefinite.definite);
    assert_eq!(indefinite.kind, ErrorKind::ConnectionReset);
}

/// Writes a small history: two appends (one acknowledged, one unknown), a fault, and a read.
fn write_history(path: &std::path::Path, read_back: serde_json::Value) -> Arc<Recorder> {
    let recorder = Arc::new(Recorder::create(path, &header(), 2).unwrap());
    let a1 = OpSpec::ListAppend {
        key: "k".into(),
        element: 1,
    };
    let a2 = OpSpec::ListAppend {
        key: "k".into(),
        element: 2,
    };
    recorder.invoke(0, &a1).unwrap();
    // The invocation is on disk before the request leaves.
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.lines().last().unwrap().contains("\"invoke\""));
    recorder
        .complete(0, &a1, &Completion::Ok(json!(1)), Some(1))
        .unwrap();
    recorder.invoke(1, &a2).unwrap();
    let timeout = Completion::Info(Failure::new(ErrorKind::Timeout, "timeout"));
    recorder.complete(1, &a2, &timeout, Some(2)).unwrap();
    let fresh = recorder.fresh_process();
    assert_eq!(fresh, 2);
    let fault = Fault::Kill {
        targets: Targets::Leader,
    };
    let hit = Resolved::nodes(vec![1]);
    recorder
        .nemesis("start", &fault, &hit, "kill leader 1")
        .unwrap();
    recorder
        .nemesis("end", &fault, &hit, "restarted nodes 1")
        .unwrap();
    let read = OpSpec::ListRead { key: "k".into() };
    recorder.invoke(fresh, &read).unwrap();
    recorder
        .complete(fresh, &read, &Completion::Ok(read_back), Some(3))
        .unwrap();
    recorder
}

/// The run's verdict for this judgement, with or without recovery, and `bad_replies` replies.
fn run_verdict(judgement: &Judgement, recovered: bool, bad_replies: u64) -> RunVerdict {
    let activity = Activity {
        bad_replies,
        faults_applied: 2,
    };
    let liveness = Liveness {
        leader_at_start: true,
        recovered,
        ..Liveness::default()
    };
    let results = RunResults::analyzed(
        1,
        judgement.clone(),
        activity,
        liveness,
        FinalReads::default(),
    );
    assert_eq!(results.exit_code, results.verdict.outcome().exit_code());
    results.verdict
}

#[test]
fn recorded_histories_load_in_the_checker_and_get_judged() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    let recorder = write_history(&good, json!([1, 2]));
    let counts = recorder.counts();
    assert_eq!((counts.ok, counts.fail, counts.info), (2, 0, 1));
    let judgement = judge(
        &good,
        checker::ModelKind::ListAppend,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(judgement.outcome, ExitVerdict::Valid);
    assert_eq!(judgement.counts.nemesis_events, 2);
    assert_eq!(run_verdict(&judgement, true, 0), RunVerdict::Valid);
    assert_eq!(
        run_verdict(&judgement, false, 0),
        RunVerdict::NoLiveness,
        "no liveness is not a pass"
    );
    assert_eq!(run_verdict(&judgement, true, 1), RunVerdict::BadReplies);
    assert_eq!(RunVerdict::NoLiveness.outcome().exit_code(), 2);

    let lossy = dir.path().join("lossy.jsonl");
    write_history(&lossy, json!([2]));
    let judgement = judge(
        &lossy,
        checker::ModelKind::ListAppend,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(judgement.outcome, ExitVerdict::Violation);
    assert_eq!(judgement.anomaly.as_deref(), Some("lost-write"));
    assert!(!judgement.anomalies.is_empty());
    // A violation wins over lost liveness.
    assert_eq!(run_verdict(&judgement, false, 0), RunVerdict::Invalid);
    assert_eq!(RunVerdict::Invalid.outcome().exit_code(), 1);
}

#[test]
fn every_line_is_flushed_and_indexed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let _recorder = write_history(&path, json!([1]));
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["format"], "gauntlet-history");
    let mut last_time = 0;
    for (i, line) in lines[1..].iter().enumerate() {
        assert_eq!(line["index"], json!(i));
        let t = line["time_ns"].as_u64().unwrap();
        assert!(t >= last_time);
        last_time = t;
    }
    assert_eq!(lines[5]["process"], "nemesis");
    assert_eq!(lines[5]["f"], "kill-start");
    assert_eq!(lines[5]["type"], "info");
}

#[test]
fn completions_name_their_node_and_failures_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let _recorder = write_history(&path, json!([1]));
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let completions: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["process"] != "nemesis" && l["type"] != "invoke")
        .collect();
    let nodes: Vec<&serde_json::Value> = completions.iter().map(|l| &l["node"]).collect();
    assert_eq!(nodes, [&json!(1), &json!(2), &json!(3)]);
    let info = completions[1];
    assert_eq!(info["type"], "info");
    assert_eq!(info["error_kind"], "timeout");
    assert_eq!(info["error"], "timeout");
    assert!(completions[0].get("error_kind").is_none());
    for invoke in lines.iter().filter(|l| l["type"] == "invoke") {
        assert!(
            invoke.get("node").is_none(),
            "an invocation has no node yet"
        );
    }
    let kill = lines.iter().find(|l| l["f"] == "kill-start").unwrap();
    assert_eq!(kill["fault"]["targets"], "leader");
    assert_eq!(kill["fault"]["nodes"], json!([1]), "the leader, resolved");
}

/// A history as gauntlet wrote it before completions named their node and nemesis events their
/// resolved targets.
const OLD_STYLE_HISTORY: &str = r#"{"format":"gauntlet-history","version":1,"workload":"append","seed":4,"model":"list-append"}
{"f":"append","index":0,"key":"k","process":0,"time_ns":1000,"type":"invoke","value":1}
{"f":"append","index":1,"key":"k","process":0,"time_ns":2000,"type":"ok","value":1}
{"f":"kill-start","fault":{"fault":"kill","targets":"leader"},"index":2,"process":"nemesis","time_ns":2500,"type":"info","value":"kill leader 1"}
{"f":"append","index":3,"key":"k","process":1,"time_ns":3000,"type":"invoke","value":2}
{"error":"outcome unknown (the operation may have taken effect): no response","f":"append","index":4,"key":"k","process":1,"time_ns":4000,"type":"info","value":2}
{"f":"kill-end","fault":{"fault":"kill","targets":"leader"},"index":5,"process":"nemesis","time_ns":4500,"type":"info","value":"restarted [1]"}
{"f":"read","index":6,"key":"k","process":2,"time_ns":5000,"type":"invoke","value":null}
{"f":"read","index":7,"key":"k","process":2,"time_ns":6000,"type":"ok","value":[1]}
"#;

#[test]
fn an_old_style_history_still_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.jsonl");
    std::fs::write(&path, OLD_STYLE_HISTORY).unwrap();
    let judgement = judge(
        &path,
        checker::ModelKind::ListAppend,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(judgement.outcome, ExitVerdict::Valid);
    assert_eq!(judgement.counts.nemesis_events, 2);
    // The same history with a lost acknowledged write is still caught.
    let lossy = OLD_STYLE_HISTORY.replace(r#""value":[1]}"#, r#""value":[]}"#);
    std::fs::write(&path, lossy).unwrap();
    let judgement = judge(
        &path,
        checker::ModelKind::ListAppend,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(judgement.outcome, ExitVerdict::Violation);
}
