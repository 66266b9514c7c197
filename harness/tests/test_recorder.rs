//! The recorder writes what the checker reads: definite failures as `fail`, indefinite ones as
//! `info`, every line flushed as written, nemesis events included, and a history of a correct run
//! (and of a lossy one) judged accordingly.

use std::sync::Arc;

use checker::formats::jsonl::Header;
use harness::db::{ClientFailure, KvReply};
use harness::nemesis::schedule::{Fault, Targets};
use harness::recorder::{Completion, Recorder};
use harness::run::recovery::FinalReads;
use harness::run::results::{Activity, Liveness, RunResults, RunVerdict};
use harness::run::verdict::{judge, Judgement};
use harness::verdict::ExitVerdict;
use harness::workload::OpSpec;
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
        reason: "no leader".into(),
    });
    assert_eq!(
        Completion::classify(&append, &definite),
        Completion::Fail("no leader".into())
    );
    let indefinite = Err(ClientFailure {
        definite: false,
        reason: "timeout after send".into(),
    });
    let info = Completion::classify(&append, &indefinite);
    assert_eq!(info, Completion::Info("timeout after send".into()));
    assert!(info.is_indefinite());
    let bad = Completion::classify(
        &OpSpec::ListRead { key: "k".into() },
        &Ok(KvReply::Value(Some("1,zz".into()))),
    );
    assert!(bad.is_bad_reply() && bad.is_indefinite());
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
    let definite = classify(Err(ClientError::Definite { reason: "x".into() })).unwrap_err();
    assert!(definite.definite);
    let indefinite = classify(Err(ClientError::Indefinite { reason: "y".into() })).unwrap_err();
    assert!(!indefinite.definite);
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
        .complete(0, &a1, &Completion::Ok(json!(1)))
        .unwrap();
    recorder.invoke(1, &a2).unwrap();
    recorder
        .complete(1, &a2, &Completion::Info("timeout".into()))
        .unwrap();
    let fresh = recorder.fresh_process();
    assert_eq!(fresh, 2);
    let fault = Fault::Kill {
        targets: Targets::Leader,
    };
    recorder.nemesis("start", &fault, "kill leader 1").unwrap();
    recorder.nemesis("end", &fault, "restarted [1]").unwrap();
    let read = OpSpec::ListRead { key: "k".into() };
    recorder.invoke(fresh, &read).unwrap();
    recorder
        .complete(fresh, &read, &Completion::Ok(read_back))
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
