//! Hand-written histories with known verdicts for the search, the models, the bounds, the
//! anomalies and the report: each test names the scenario it proves.

use std::time::Duration;

use checker::anomalies::AnomalyKind;
use checker::history::{Operation, Value};
use checker::{check_operations, CheckOptions, ModelKind, Verdict};

/// Builds histories: each op gets call/ret event indices given explicitly.
struct H {
    ops: Vec<Operation>,
}

impl H {
    fn new() -> Self {
        H { ops: Vec::new() }
    }

    fn op(
        mut self,
        key: Option<&str>,
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
            key: key.map(|k| Value::Str(k.to_string())),
            input,
            output,
            call,
            ret,
            call_line: call + 1,
            ret_line: ret.map(|r| r + 1),
        });
        self
    }

    fn write(self, v: i64, call: usize, ret: usize) -> Self {
        self.op(
            None,
            "write",
            Value::Int(v),
            Some(Value::Int(v)),
            call,
            Some(ret),
        )
    }

    fn info_write(self, v: i64, call: usize) -> Self {
        self.op(None, "write", Value::Int(v), None, call, None)
    }

    fn read(self, v: Value, call: usize, ret: usize) -> Self {
        self.op(None, "read", Value::Nil, Some(v), call, Some(ret))
    }

    fn cas(self, from: i64, to: i64, ok: bool, call: usize, ret: usize) -> Self {
        let input = Value::List(vec![Value::Int(from), Value::Int(to)]);
        self.op(None, "cas", input, Some(Value::Bool(ok)), call, Some(ret))
    }
}

fn check(ops: &[Operation], model: ModelKind) -> checker::CheckReport {
    check_operations(ops, model, &CheckOptions::default())
}

#[test]
fn stale_read_after_a_completed_write_is_a_violation_naming_the_read() {
    let h = H::new()
        .write(1, 0, 1)
        .write(2, 2, 3)
        .read(Value::Int(1), 4, 5);
    let report = check(&h.ops, ModelKind::Register);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(report.verdict.exit_code(), 1);
    let cx = report.counterexample.as_ref().expect("a counterexample");
    assert_eq!(cx.prefix, vec![0, 1]);
    assert_eq!(cx.state_after_prefix, "2");
    assert_eq!(cx.blocked[0].op, 2);
    let text = report.render_text(&h.ops);
    assert!(text.contains("NOT linearizable"), "{text}");
    assert!(
        text.contains("op 2 (process 2): read nil -> 1 [line 5]"),
        "{text}"
    );
}

#[test]
fn concurrent_write_and_read_may_see_either_value() {
    let h = H::new()
        .write(1, 0, 1)
        .write(2, 2, 5)
        .read(Value::Int(1), 3, 4)
        .read(Value::Int(2), 6, 7);
    let report = check(&h.ops, ModelKind::Register);
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert_eq!(report.verdict.exit_code(), 0);
}

#[test]
fn info_write_that_must_have_taken_effect_is_linearizable() {
    // write 1; unknown write 1 pending; write 2; then a read of 1: only the unknown write explains it.
    let h = H::new()
        .write(1, 0, 1)
        .info_write(1, 2)
        .write(2, 3, 4)
        .read(Value::Int(1), 5, 6);
    let report = check(&h.ops, ModelKind::Register);
    assert_eq!(report.verdict, Verdict::Linearizable);
}

#[test]
fn info_write_that_must_not_have_taken_effect_is_ignored_but_cannot_be_undone() {
    let never = H::new()
        .write(1, 0, 1)
        .info_write(2, 2)
        .read(Value::Int(1), 3, 4);
    assert_eq!(
        check(&never.ops, ModelKind::Register).verdict,
        Verdict::Linearizable
    );
    // Once a read saw 2, the unknown write happened; a later read of 1 is then impossible.
    let flip = H::new()
        .write(1, 0, 1)
        .info_write(2, 2)
        .read(Value::Int(2), 3, 4)
        .read(Value::Int(1), 5, 6);
    assert_eq!(
        check(&flip.ops, ModelKind::Register).verdict,
        Verdict::NotLinearizable
    );
}

#[test]
fn failed_cas_means_the_comparison_failed() {
    let impossible = H::new().write(1, 0, 1).cas(1, 2, false, 2, 3);
    assert_eq!(
        check(&impossible.ops, ModelKind::CasRegister).verdict,
        Verdict::NotLinearizable
    );
    let fine = H::new()
        .write(1, 0, 1)
        .cas(0, 2, false, 2, 3)
        .cas(1, 3, true, 4, 5)
        .read(Value::Int(3), 6, 7);
    assert_eq!(
        check(&fine.ops, ModelKind::CasRegister).verdict,
        Verdict::Linearizable
    );
}

#[test]
fn register_and_cas_register_are_one_model_that_accepts_cas() {
    let swapped = H::new()
        .write(1, 0, 1)
        .cas(1, 2, true, 2, 3)
        .read(Value::Int(2), 4, 5);
    let stale = H::new()
        .write(1, 0, 1)
        .cas(1, 2, true, 2, 3)
        .read(Value::Int(1), 4, 5);
    for kind in [ModelKind::Register, ModelKind::CasRegister] {
        assert_eq!(
            check(&swapped.ops, kind).verdict,
            Verdict::Linearizable,
            "{kind:?}"
        );
        let report = check(&stale.ops, kind);
        assert_eq!(report.verdict, Verdict::NotLinearizable, "{kind:?}");
        assert_eq!(
            report.counterexample.expect("counterexample").blocked[0].op,
            2
        );
    }
}

#[test]
fn a_cas_without_expected_and_new_gets_an_unknown_verdict_naming_the_operation() {
    let h = H::new().write(1, 0, 1).op(
        None,
        "cas",
        Value::Int(3),
        Some(Value::Bool(true)),
        2,
        Some(3),
    );
    for kind in [ModelKind::Register, ModelKind::CasRegister] {
        match check(&h.ops, kind).verdict {
            Verdict::Unknown { reason } => {
                assert!(reason.contains("operation 1"), "{reason}");
                assert!(reason.contains("[expected new]"), "{reason}");
            }
            other => panic!("{kind:?}: expected unknown, got {other:?}"),
        }
    }
}

#[test]
fn read_of_a_value_never_written_is_decided_without_search() {
    let h = H::new().write(1, 0, 1).read(Value::Int(7), 2, 3);
    let report = check(&h.ops, ModelKind::Register);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(report.stats.decided_without_search, 1);
    let cx = report.counterexample.expect("counterexample");
    assert_eq!(cx.blocked[0].op, 1);
    assert!(
        cx.blocked[0].reason.contains("7"),
        "{}",
        cx.blocked[0].reason
    );
}

#[test]
fn multi_key_register_checks_each_key_alone_and_names_the_bad_key() {
    let h = H::new()
        .op(
            Some("a"),
            "write",
            Value::Int(1),
            Some(Value::Int(1)),
            0,
            Some(1),
        )
        .op(
            Some("b"),
            "write",
            Value::Int(1),
            Some(Value::Int(1)),
            2,
            Some(3),
        )
        .op(
            Some("b"),
            "write",
            Value::Int(2),
            Some(Value::Int(2)),
            4,
            Some(5),
        )
        .op(
            Some("a"),
            "read",
            Value::Nil,
            Some(Value::Int(1)),
            6,
            Some(7),
        )
        .op(
            Some("b"),
            "read",
            Value::Nil,
            Some(Value::Int(1)),
            8,
            Some(9),
        );
    let report = check(&h.ops, ModelKind::Register);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(report.partitions.len(), 2);
    assert_eq!(report.partitions[0].verdict, Verdict::Linearizable);
    let cx = report.counterexample.expect("counterexample");
    assert_eq!(cx.key, Some(Value::Str("b".into())));
}

#[test]
fn among_violations_proved_in_as_many_steps_the_lowest_key_is_reported_whatever_the_threads() {
    let mut h = H::new();
    let mut t = 0;
    for key in ["k3", "k1", "k2", "k0"] {
        h = h
            .op(
                Some(key),
                "write",
                Value::Int(1),
                Some(Value::Int(1)),
                t,
                Some(t + 1),
            )
            .op(
                Some(key),
                "write",
                Value::Int(2),
                Some(Value::Int(2)),
                t + 2,
                Some(t + 3),
            );
        t += 4;
    }
    for key in ["k3", "k1", "k2"] {
        h = h.op(
            Some(key),
            "read",
            Value::Nil,
            Some(Value::Int(1)),
            t,
            Some(t + 1),
        );
        t += 2;
    }
    let reports: Vec<_> = [1, 2, 4]
        .iter()
        .map(|&threads| {
            check_operations(
                &h.ops,
                ModelKind::Register,
                &CheckOptions {
                    threads,
                    ..CheckOptions::default()
                },
            )
        })
        .collect();
    let cx = reports[0].counterexample.as_ref().expect("counterexample");
    assert_eq!(cx.key, Some(Value::Str("k1".into())));
    for report in &reports[1..] {
        assert_eq!(report.counterexample, reports[0].counterexample);
        assert_eq!(report.partitions, reports[0].partitions);
    }
}

#[test]
fn the_violation_proved_in_the_fewest_steps_is_reported_whatever_the_threads() {
    // Key "a": `writes` overlapping writes, then reads of 1, 2, 1: impossible, proved by search
    // after many steps for many writes, few for few.
    let bad_key = |mut h: H, key: &str, writes: i64, start: usize| {
        for v in 0..writes {
            let (call, ret) = (start + v as usize, start + 100 + v as usize);
            h = h.op(
                Some(key),
                "write",
                Value::Int(v),
                Some(Value::Int(v)),
                call,
                Some(ret),
            );
        }
        for (i, v) in [1, 2, 1].into_iter().enumerate() {
            let call = start + 200 + 2 * i;
            h = h.op(
                Some(key),
                "read",
                Value::Nil,
                Some(Value::Int(v)),
                call,
                Some(call + 1),
            );
        }
        h
    };
    let h = bad_key(H::new(), "a", 9, 0);
    let h = bad_key(h, "b", 3, 1000);
    let reports: Vec<_> = [1, 2, 4]
        .iter()
        .map(|&threads| {
            check_operations(
                &h.ops,
                ModelKind::Register,
                &CheckOptions {
                    threads,
                    ..CheckOptions::default()
                },
            )
        })
        .collect();
    let first = &reports[0];
    assert_eq!(first.verdict, Verdict::NotLinearizable);
    let cx = first.counterexample.as_ref().expect("counterexample");
    assert_eq!(cx.key, Some(Value::Str("b".into())));
    let (a, b) = (&first.partitions[0], &first.partitions[1]);
    assert_eq!(b.verdict, Verdict::NotLinearizable);
    assert!(
        matches!(&a.verdict, Verdict::Unknown { reason } if reason.contains("not checked")),
        "{a:?}"
    );
    assert_eq!(a.steps, b.steps);
    for report in &reports[1..] {
        assert_eq!(report.partitions, first.partitions);
        assert_eq!(report.counterexample, first.counterexample);
    }
}

/// A long chain of sequential writes: cheap to check, but more steps than the first limit check.
fn long_history(n: usize) -> Vec<Operation> {
    let mut h = H::new();
    for i in 0..n {
        h = h.write(i as i64, 2 * i, 2 * i + 1);
    }
    h.ops
}

#[test]
fn timeout_gives_an_honest_unknown() {
    let ops = long_history(20_000);
    let opts = CheckOptions {
        timeout: Some(Duration::ZERO),
        ..CheckOptions::default()
    };
    let report = check_operations(&ops, ModelKind::Register, &opts);
    match &report.verdict {
        Verdict::Unknown { reason } => assert!(reason.contains("timeout"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    assert_eq!(report.verdict.exit_code(), 2);
}

#[test]
fn memory_budget_gives_an_honest_unknown() {
    let ops = long_history(20_000);
    let opts = CheckOptions {
        memory_budget_bytes: 64 << 10,
        ..CheckOptions::default()
    };
    let report = check_operations(&ops, ModelKind::Register, &opts);
    match &report.verdict {
        Verdict::Unknown { reason } => assert!(reason.contains("memory budget"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    // With room enough the same history is fine.
    let report = check_operations(&ops, ModelKind::Register, &CheckOptions::default());
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert!(report.stats.peak_memory_bytes > 64 << 10);
}

#[test]
fn a_long_single_key_history_fits_a_small_memory_budget() {
    // 200,000 operations: a whole bitset is 25 KB, so a memo storing one an entry would need
    // 5 GB for this search's 200,000 entries. Entries store only their middle words.
    let ops = long_history(200_000);
    let budget = 64 << 20;
    let opts = CheckOptions {
        memory_budget_bytes: budget,
        ..CheckOptions::default()
    };
    let report = check_operations(&ops, ModelKind::Register, &opts);
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert_eq!(report.stats.memo_entries, 200_000);
    assert!(report.stats.peak_memory_bytes < budget);
}

#[test]
fn witness_lists_every_completed_operation_in_a_valid_order() {
    let h = H::new()
        .write(1, 0, 3)
        .write(2, 1, 2)
        .read(Value::Int(1), 4, 5);
    let opts = CheckOptions {
        witness: true,
        ..CheckOptions::default()
    };
    let report = check_operations(&h.ops, ModelKind::Register, &opts);
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert_eq!(report.partitions[0].witness, Some(vec![1, 0, 2]));
}

#[test]
fn kv_reads_absent_keys_as_empty_and_appends_concatenate() {
    let s = |v: &str| Value::Str(v.to_string());
    let h = H::new()
        .op(Some("x"), "get", Value::Nil, Some(s("")), 0, Some(1))
        .op(Some("x"), "get", Value::Nil, Some(Value::Nil), 2, Some(3))
        .op(Some("x"), "append", s("ab"), Some(s("ab")), 4, Some(5))
        .op(Some("x"), "append", s("c"), Some(s("c")), 6, Some(7))
        .op(Some("x"), "get", Value::Nil, Some(s("abc")), 8, Some(9))
        .op(Some("y"), "put", s("p"), Some(s("p")), 10, Some(11))
        .op(
            Some("y"),
            "delete",
            Value::Nil,
            Some(Value::Nil),
            12,
            Some(13),
        )
        .op(Some("y"), "get", Value::Nil, Some(s("")), 14, Some(15));
    assert_eq!(check(&h.ops, ModelKind::Kv).verdict, Verdict::Linearizable);
    let bad = H::new()
        .op(Some("x"), "append", s("a"), Some(s("a")), 0, Some(1))
        .op(Some("x"), "append", s("b"), Some(s("b")), 2, Some(3))
        .op(Some("x"), "get", Value::Nil, Some(s("ba")), 4, Some(5));
    let report = check(&bad.ops, ModelKind::Kv);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    let cx = report.counterexample.expect("counterexample");
    assert_eq!(cx.state_after_prefix, "\"ab\"");
}

#[test]
fn list_append_reports_lost_and_duplicated_elements_by_operation() {
    let list = |items: &[i64]| Value::List(items.iter().map(|&i| Value::Int(i)).collect());
    let h = H::new()
        .op(
            Some("k"),
            "append",
            Value::Int(1),
            Some(Value::Int(1)),
            0,
            Some(1),
        )
        .op(
            Some("k"),
            "append",
            Value::Int(2),
            Some(Value::Int(2)),
            2,
            Some(3),
        )
        .op(Some("k"), "read", Value::Nil, Some(list(&[1])), 4, Some(5))
        .op(
            Some("k"),
            "read",
            Value::Nil,
            Some(list(&[1, 2, 2])),
            6,
            Some(7),
        );
    let report = check(&h.ops, ModelKind::ListAppend);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    let lost: Vec<_> = report
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::LostWrite)
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!((lost[0].write, lost[0].read), (Some(1), 2));
    let duplicated: Vec<_> = report
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::Duplicate)
        .collect();
    assert_eq!(duplicated.len(), 1);
    assert_eq!(
        (duplicated[0].read, &duplicated[0].element),
        (3, &Value::Int(2))
    );
    assert!(report.render_text(&h.ops).contains("lost write"));
}

#[test]
fn set_reads_in_any_order_and_a_clean_history_has_no_anomalies() {
    let list = |items: &[i64]| Value::List(items.iter().map(|&i| Value::Int(i)).collect());
    let h = H::new()
        .op(None, "add", Value::Int(1), Some(Value::Int(1)), 0, Some(1))
        .op(None, "add", Value::Int(2), Some(Value::Int(2)), 2, Some(3))
        .op(None, "read", Value::Nil, Some(list(&[2, 1])), 4, Some(5));
    let report = check(&h.ops, ModelKind::Set);
    assert_eq!(report.verdict, Verdict::Linearizable);
    assert!(report.anomalies.is_empty());
}

#[test]
fn report_serializes_to_json_a_viewer_can_read() {
    let h = H::new().write(1, 0, 1).read(Value::Int(2), 2, 3);
    let report = check(&h.ops, ModelKind::Register);
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["verdict"]["kind"], "not-linearizable");
    assert_eq!(json["counterexample"]["blocked"][0]["op"], 1);
}

#[test]
fn model_names_parse_and_unknown_names_are_refused() {
    for name in ["register", "cas-register", "kv", "list-append", "set"] {
        let kind: ModelKind = name.parse().expect("known model");
        assert_eq!(kind.name(), name);
    }
    assert!("queue".parse::<ModelKind>().is_err());
}

#[test]
fn an_exploding_search_stops_at_its_memory_budget() {
    // 16 overlapping writes, then reads of 1, 2, 1 after all of them: impossible, and proving it
    // means visiting every subset of the writes.
    let mut h = H::new();
    for v in 0..16 {
        h = h.op(
            None,
            "write",
            Value::Int(v),
            Some(Value::Int(v)),
            v as usize,
            Some(100 + v as usize),
        );
    }
    h = h
        .read(Value::Int(1), 200, 201)
        .read(Value::Int(2), 202, 203)
        .read(Value::Int(1), 204, 205);
    let opts = CheckOptions {
        memory_budget_bytes: 1 << 20,
        ..CheckOptions::default()
    };
    let report = check_operations(&h.ops, ModelKind::Register, &opts);
    match &report.verdict {
        Verdict::Unknown { reason } => assert!(reason.contains("memory budget"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    assert!(
        report.stats.peak_memory_bytes < 2 << 20,
        "{}",
        report.stats.peak_memory_bytes
    );
}

#[test]
fn an_operation_returning_before_its_call_is_refused_not_a_panic() {
    let h = H::new().write(1, 5, 2);
    match check(&h.ops, ModelKind::Register).verdict {
        Verdict::Unknown { reason } => assert!(reason.contains("does not come after"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn partitions_stop_at_the_steps_of_a_proven_violation_whatever_the_threads() {
    let key_op = |h: H, key: &str, f: &str, v: i64, call: usize, ret: usize| {
        h.op(
            Some(key),
            f,
            Value::Int(v),
            Some(Value::Int(v)),
            call,
            Some(ret),
        )
    };
    // Key "0": short and linearizable. Key "a": eight overlapping writes, then reads of 1, 2, 1:
    // impossible, proved by search. Key "b": a long chain of writes, far more steps than a round.
    let mut h = key_op(H::new(), "0", "write", 5, 0, 1);
    for v in 0..8 {
        h = key_op(h, "a", "write", v, 10 + v as usize, 100 + v as usize);
    }
    h = key_op(h, "a", "read", 1, 200, 201);
    h = key_op(h, "a", "read", 2, 202, 203);
    h = key_op(h, "a", "read", 1, 204, 205);
    for i in 0..20_000 {
        h = key_op(
            h,
            "b",
            "write",
            i,
            300 + 2 * i as usize,
            301 + 2 * i as usize,
        );
    }
    let reports: Vec<_> = [1, 2, 4]
        .iter()
        .map(|&threads| {
            check_operations(
                &h.ops,
                ModelKind::Register,
                &CheckOptions {
                    threads,
                    ..CheckOptions::default()
                },
            )
        })
        .collect();
    let first = &reports[0];
    assert_eq!(first.verdict, Verdict::NotLinearizable);
    let verdicts: Vec<&Verdict> = first.partitions.iter().map(|p| &p.verdict).collect();
    assert_eq!(verdicts[0], &Verdict::Linearizable);
    assert_eq!(verdicts[1], &Verdict::NotLinearizable);
    assert!(
        matches!(verdicts[2], Verdict::Unknown { reason } if reason.contains("not checked")),
        "{verdicts:?}"
    );
    // Stopped once it had taken as many steps as the violation needed: no violation it could
    // still find would be proved in fewer.
    assert!(first.partitions[1].steps > 0);
    assert_eq!(first.partitions[2].steps, first.partitions[1].steps);
    for report in &reports[1..] {
        assert_eq!(report.partitions, first.partitions);
        assert_eq!(report.counterexample, first.counterexample);
    }
}
