//! The list-append decider (`checker::append`), scenario by scenario: each anomaly it names, the
//! operations it names, unknown outcomes, the fallback to the search, and what the report says
//! decided.

use checker::append::{decide_key, KeyDecision, OrderAnomalyKind};
use checker::history::{Operation, Value};
use checker::report::{CheckMethod, Method};
use checker::{check_operations, CheckOptions, ModelKind, Verdict};

/// Builds a history operation by operation; times are event indices.
#[derive(Default)]
struct H {
    ops: Vec<Operation>,
}

impl H {
    fn op(
        mut self,
        key: &str,
        f: &str,
        input: Value,
        output: Option<Value>,
        call: usize,
        ret: Option<usize>,
    ) -> Self {
        let id = self.ops.len();
        self.ops.push(Operation {
            id,
            process: id as u64,
            f: f.to_string(),
            key: Some(Value::Str(key.to_string())),
            input,
            output,
            call,
            ret,
            call_line: call + 1,
            ret_line: ret.map(|r| r + 1),
        });
        self
    }

    fn append(self, key: &str, element: i64, call: usize, ret: usize) -> Self {
        let e = Value::Int(element);
        self.op(key, "append", e.clone(), Some(e), call, Some(ret))
    }

    fn info_append(self, key: &str, element: i64, call: usize) -> Self {
        self.op(key, "append", Value::Int(element), None, call, None)
    }

    fn read(self, key: &str, list: &[i64], call: usize, ret: usize) -> Self {
        let list = Value::List(list.iter().map(|&e| Value::Int(e)).collect());
        self.op(key, "read", Value::Nil, Some(list), call, Some(ret))
    }
}

fn decide(h: &H) -> KeyDecision {
    let ops: Vec<&Operation> = h.ops.iter().collect();
    decide_key(ops[0].key.as_ref(), &ops)
}

/// The anomaly's kind and operations, or a failure naming what was decided instead.
fn anomaly(h: &H) -> (OrderAnomalyKind, Vec<usize>) {
    match decide(h) {
        KeyDecision::Violation(anomaly) => (anomaly.kind, anomaly.ops),
        other => panic!("expected a violation, got {other:?}"),
    }
}

fn check(h: &H) -> checker::CheckReport {
    check_operations(&h.ops, ModelKind::ListAppend, &CheckOptions::default())
}

#[test]
fn concurrent_appends_in_the_order_reads_show_are_linearizable_with_a_witness() {
    // 2 is invoked first but reads show 1 before it: fine, they overlap.
    let h = H::default()
        .append("k", 2, 0, 5)
        .append("k", 1, 1, 4)
        .read("k", &[1], 2, 3)
        .read("k", &[1, 2], 6, 7);
    match decide(&h) {
        KeyDecision::Linearizable { witness } => assert_eq!(witness, vec![1, 2, 0, 3]),
        other => panic!("{other:?}"),
    }
    let report = check(&h);
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert_eq!(report.method, CheckMethod::AppendOrder);
    assert_eq!(report.partitions[0].method, Method::AppendOrder);
    assert_eq!(report.stats.decided_by_append_order, 1);
    assert!(report
        .render_text(&h.ops)
        .contains("decided by: append-order"));
}

#[test]
fn a_read_that_skips_an_acknowledged_append_others_show_is_stale() {
    let h = H::default()
        .append("k", 1, 0, 1)
        .read("k", &[], 2, 3)
        .read("k", &[1], 4, 5);
    assert_eq!(anomaly(&h), (OrderAnomalyKind::StaleRead, vec![0, 1]));
    let report = check(&h);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    let cx = report.counterexample.as_ref().expect("a counterexample");
    assert_eq!(
        cx.anomaly.as_ref().map(|a| a.kind),
        Some(OrderAnomalyKind::StaleRead)
    );
    let text = report.render_text(&h.ops);
    assert!(text.contains("anomaly (stale-read)"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["method"], "append-order");
    assert_eq!(json["order_anomalies"][0]["kind"], "stale-read");
    assert_eq!(
        json["counterexample"]["anomaly"]["ops"],
        serde_json::json!([0, 1])
    );
}

#[test]
fn a_shorter_list_after_a_longer_one_is_a_stale_read() {
    let h = H::default()
        .append("k", 1, 0, 9)
        .read("k", &[1], 1, 2)
        .read("k", &[], 3, 4);
    assert_eq!(anomaly(&h), (OrderAnomalyKind::StaleRead, vec![1, 2]));
}

#[test]
fn an_acknowledged_append_no_read_ever_shows_is_lost() {
    let h = H::default()
        .append("k", 1, 0, 1)
        .append("k", 2, 2, 3)
        .read("k", &[2], 4, 5);
    assert_eq!(anomaly(&h), (OrderAnomalyKind::LostWrite, vec![0, 1]));
    let h = H::default().append("k", 1, 0, 1).read("k", &[], 2, 3);
    assert_eq!(anomaly(&h), (OrderAnomalyKind::LostWrite, vec![0, 1]));
}

#[test]
fn a_read_of_an_element_whose_append_came_later_is_a_future_read() {
    let h = H::default().read("k", &[1], 0, 1).append("k", 1, 2, 3);
    assert_eq!(anomaly(&h), (OrderAnomalyKind::FutureRead, vec![0, 1]));
}

#[test]
fn appends_read_in_the_opposite_of_real_time_order_are_reordered() {
    let h = H::default()
        .append("k", 1, 0, 1)
        .append("k", 2, 2, 3)
        .read("k", &[2, 1], 4, 5);
    assert_eq!(anomaly(&h), (OrderAnomalyKind::ReorderedAppend, vec![0, 1]));
}

#[test]
fn reads_that_are_not_prefixes_of_one_another_are_an_incompatible_order() {
    let h = H::default()
        .append("k", 1, 0, 9)
        .append("k", 2, 0, 9)
        .read("k", &[1, 2], 1, 2)
        .read("k", &[2], 3, 4);
    assert_eq!(
        anomaly(&h),
        (OrderAnomalyKind::IncompatibleOrder, vec![2, 3])
    );
}

#[test]
fn an_element_read_twice_or_never_appended_is_named() {
    let h = H::default().append("k", 1, 0, 1).read("k", &[1, 1], 2, 3);
    assert_eq!(
        anomaly(&h),
        (OrderAnomalyKind::DuplicateElement, vec![1, 0])
    );
    // A failed append is dropped before checking: its element, read, was written by nobody.
    let h = H::default().append("k", 1, 0, 1).read("k", &[1, 7], 2, 3);
    assert_eq!(anomaly(&h), (OrderAnomalyKind::UnwrittenElement, vec![1]));
}

#[test]
fn unknown_appends_may_appear_or_not_but_only_after_their_invocation() {
    let seen = H::default()
        .info_append("k", 1, 0)
        .read("k", &[1], 1, 2)
        .read("k", &[1], 3, 4);
    assert!(matches!(decide(&seen), KeyDecision::Linearizable { .. }));
    let unseen = H::default().info_append("k", 1, 0).read("k", &[], 1, 2);
    assert!(matches!(decide(&unseen), KeyDecision::Linearizable { .. }));
    let too_early = H::default().read("k", &[1], 0, 1).info_append("k", 1, 2);
    assert_eq!(
        anomaly(&too_early),
        (OrderAnomalyKind::FutureRead, vec![0, 1])
    );
    // Once seen it took effect: a later read without it is stale.
    let undone = H::default()
        .info_append("k", 1, 0)
        .read("k", &[1], 1, 2)
        .read("k", &[], 3, 4);
    assert_eq!(anomaly(&undone), (OrderAnomalyKind::StaleRead, vec![1, 2]));
}

#[test]
fn a_key_with_an_element_appended_twice_goes_to_the_search() {
    let h = H::default()
        .append("a", 1, 0, 1)
        .append("a", 1, 2, 3)
        .read("a", &[1, 1], 4, 5)
        .append("b", 5, 6, 7)
        .read("b", &[5], 8, 9);
    let a: Vec<&Operation> = h
        .ops
        .iter()
        .filter(|op| op.key == Some(Value::Str("a".into())))
        .collect();
    assert!(matches!(
        decide_key(a[0].key.as_ref(), &a),
        KeyDecision::Undecidable(_)
    ));
    let report = check(&h);
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert_eq!(report.method, CheckMethod::AppendOrderAndSearch);
    let methods: Vec<Method> = report.partitions.iter().map(|p| p.method).collect();
    assert_eq!(methods, vec![Method::Search, Method::AppendOrder]);
    assert!(report.partitions[0].steps > 0);
}

#[test]
fn a_violation_in_one_key_is_reported_with_its_key_and_the_others_still_decided() {
    let h = H::default()
        .append("a", 1, 0, 1)
        .read("a", &[1], 2, 3)
        .append("b", 2, 4, 5)
        .read("b", &[], 6, 7);
    let report = check(&h);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(report.partitions[0].verdict, Verdict::Linearizable);
    assert_eq!(report.partitions[1].verdict, Verdict::NotLinearizable);
    let cx = report.counterexample.as_ref().unwrap();
    assert_eq!(cx.key, Some(Value::Str("b".into())));
    // The older search-free finder still lists the lost element too.
    assert_eq!(report.anomalies.len(), 1);
}

#[test]
fn an_operation_the_model_cannot_read_leaves_the_whole_history_to_the_search() {
    let h = H::default().append("k", 1, 0, 1).op(
        "k",
        "read",
        Value::Nil,
        Some(Value::Int(3)),
        2,
        Some(3),
    );
    let report = check(&h);
    assert!(
        matches!(report.verdict, Verdict::Unknown { .. }),
        "{:?}",
        report.verdict
    );
    assert_eq!(report.method, CheckMethod::Search);
}
