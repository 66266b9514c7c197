//! Workloads are seeded data: a worker's operations depend only on the seed and its index;
//! appended elements are unique across workers; replies become the history values the checker's
//! models expect.

use harness::db::KvReply;
use harness::workload::{OpSpec, WorkerGenerator, WorkloadKind, WorkloadOptions};
use raft::kv::Op;
use serde_json::json;
use std::collections::HashSet;

fn options(kind: WorkloadKind, seed: u64) -> WorkloadOptions {
    WorkloadOptions {
        kind,
        seed,
        concurrency: 4,
        keys: 3,
        key_churn_ops: 10,
    }
}

fn ops(options: &WorkloadOptions, worker: usize, n: usize) -> Vec<OpSpec> {
    let mut generator = WorkerGenerator::new(options, worker);
    (0..n).map(|_| generator.next_op()).collect()
}

#[test]
fn same_seed_same_operations_for_every_workload() {
    for kind in [
        WorkloadKind::Register,
        WorkloadKind::Kv,
        WorkloadKind::Append,
    ] {
        let a = ops(&options(kind, 42), 1, 200);
        assert_eq!(a, ops(&options(kind, 42), 1, 200), "{kind}");
        assert_ne!(a, ops(&options(kind, 43), 1, 200), "{kind}: another seed");
        assert_ne!(a, ops(&options(kind, 42), 2, 200), "{kind}: another worker");
    }
}

#[test]
fn appended_elements_are_unique_across_workers() {
    let options = options(WorkloadKind::Append, 9);
    let mut seen = HashSet::new();
    let mut appends = 0;
    for worker in 0..options.concurrency {
        for op in ops(&options, worker, 500) {
            if let OpSpec::ListAppend { element, .. } = op {
                appends += 1;
                assert!(seen.insert(element), "element {element} appended twice");
            }
        }
    }
    assert!(appends > 500);
}

#[test]
fn key_churn_moves_workers_to_fresh_keys() {
    let options = options(WorkloadKind::Kv, 5);
    let all = ops(&options, 0, 100);
    let early: HashSet<&str> = all[..10].iter().map(OpSpec::store_key).collect();
    let late: HashSet<&str> = all[90..].iter().map(OpSpec::store_key).collect();
    assert!(early.len() <= 3 && late.len() <= 3);
    assert!(early.is_disjoint(&late), "{early:?} vs {late:?}");
}

#[test]
fn list_append_values_are_stored_as_text_and_read_back_as_lists() {
    let append = OpSpec::ListAppend {
        key: "k1".into(),
        element: 17,
    };
    assert_eq!(
        append.request(),
        Op::Append {
            key: "k1".into(),
            value: "17,".into()
        }
    );
    assert_eq!(append.ok_value(&KvReply::Written).unwrap(), json!(17));
    let read = OpSpec::ListRead { key: "k1".into() };
    assert_eq!(
        read.ok_value(&KvReply::Value(Some("3,17,".into())))
            .unwrap(),
        json!([3, 17])
    );
    assert_eq!(read.ok_value(&KvReply::Value(None)).unwrap(), json!([]));
    assert!(read.ok_value(&KvReply::Value(Some("3,x,".into()))).is_err());
    assert!(read.ok_value(&KvReply::Written).is_err());
}

#[test]
fn register_and_kv_replies_become_model_values() {
    let cas = OpSpec::RegisterCas {
        expected: 1,
        new: 2,
    };
    assert_eq!(cas.invoke_value(), json!([1, 2]));
    assert_eq!(cas.ok_value(&KvReply::Cas(false)).unwrap(), json!(false));
    assert_eq!(
        OpSpec::RegisterRead
            .ok_value(&KvReply::Value(Some("4".into())))
            .unwrap(),
        json!(4)
    );
    assert_eq!(OpSpec::RegisterRead.history_key(), None);
    let get = OpSpec::KvGet { key: "k2".into() };
    assert_eq!(get.ok_value(&KvReply::Value(None)).unwrap(), json!(null));
    assert_eq!(get.history_key(), Some("k2"));
}

#[test]
fn models_follow_workloads() {
    assert_eq!(WorkloadKind::Register.model().name(), "cas-register");
    assert_eq!(WorkloadKind::Kv.model().name(), "kv");
    assert_eq!(WorkloadKind::Append.model().name(), "list-append");
    assert!("queue".parse::<WorkloadKind>().is_err());
}
