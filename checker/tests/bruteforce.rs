//! Proof by brute force: property tests that demand the real search agree, on tiny generated
//! histories, with the library's reference checker (every order of the operations, every subset
//! of those with unknown outcome), for every model; that it gives witnesses that replay, counterexample prefixes
//! that replay, and the same report whatever the number of threads.

use checker::append::{decide_key, KeyDecision};
use checker::fuzzing::brute_force_linearizable;
use checker::history::{Operation, Value};
use checker::model::Model;
use checker::models::{Kv, ListAppend, Register, Set};
use checker::{check_operations, CheckOptions, ModelKind, Verdict};
use proptest::prelude::*;

/// The library's reference checker (`checker::fuzzing::brute_force_linearizable`): every order
/// of each key's operations that respects real time, stepped through the model, no pruning.
fn brute_force_kind(kind: ModelKind, ops: &[Operation]) -> bool {
    brute_force_linearizable(kind, ops).expect("generated operations fit their model")
}

/// Replays `order` (operation ids) through the model: each step accepted, real time respected.
fn replays<M: Model>(model: &M, ops: &[Operation], order: &[usize]) -> bool {
    let mut state = model.init();
    for (k, id) in order.iter().enumerate() {
        let op = ops.iter().find(|op| op.id == *id).unwrap();
        let later = &order[k + 1..];
        let violates_real_time = later.iter().any(|l| {
            let other = ops.iter().find(|o| o.id == *l).unwrap();
            other.ret.is_some_and(|r| r < op.call)
        });
        if violates_real_time {
            return false;
        }
        match model.step(&state, &model.prepare(op).unwrap()) {
            Some(next) => state = next,
            None => return false,
        }
    }
    true
}

fn replays_kind(kind: ModelKind, ops: &[Operation], order: &[usize]) -> bool {
    match kind {
        ModelKind::Register | ModelKind::CasRegister => replays(&Register, ops, order),
        ModelKind::Kv => replays(&Kv, ops, order),
        ModelKind::ListAppend => replays(&ListAppend, ops, order),
        ModelKind::Set => replays(&Set, ops, order),
    }
}

/// One generated operation before it is placed in time.
#[derive(Debug, Clone)]
struct Planned {
    f: &'static str,
    key: u8,
    input: Value,
    /// The output if it completes ok.
    output: Value,
    /// 0 ok, 1 info (unknown), 2 fail (dropped), 3 left open.
    ending: u8,
}

fn small_value() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Nil), (0i64..2).prop_map(Value::Int)]
}

fn register_op(cas: bool) -> impl Strategy<Value = Planned> {
    let read = small_value().prop_map(|v| ("read", Value::Nil, v));
    let write = (0i64..2).prop_map(|v| ("write", Value::Int(v), Value::Int(v)));
    let cas_op = (small_value(), 0i64..2, any::<bool>())
        .prop_map(|(a, b, ok)| ("cas", Value::List(vec![a, Value::Int(b)]), Value::Bool(ok)));
    let f = if cas {
        prop_oneof![3 => read, 3 => write, 2 => cas_op].boxed()
    } else {
        prop_oneof![read, write].boxed()
    };
    planned(f)
}

fn kv_op() -> impl Strategy<Value = Planned> {
    let text = prop_oneof![
        Just(String::new()),
        Just("a".to_string()),
        Just("b".to_string()),
        Just("ab".to_string()),
        Just("ba".to_string()),
        Just("aa".to_string())
    ];
    let get = text
        .clone()
        .prop_map(|v| ("get", Value::Nil, Value::Str(v)));
    let put =
        prop_oneof![Just("a"), Just("b")].prop_map(|v| ("put", Value::Str(v.into()), Value::Nil));
    let append = prop_oneof![Just("a"), Just("b")]
        .prop_map(|v| ("append", Value::Str(v.into()), Value::Nil));
    let cas = (text, prop_oneof![Just("a"), Just("b")], any::<bool>()).prop_map(|(a, b, ok)| {
        (
            "cas",
            Value::List(vec![Value::Str(a), Value::Str(b.into())]),
            Value::Bool(ok),
        )
    });
    let delete = Just(("delete", Value::Nil, Value::Nil));
    planned(prop_oneof![3 => get, 2 => put, 2 => append, 1 => cas, 1 => delete])
}

fn collection_op(add: &'static str) -> impl Strategy<Value = Planned> {
    // Elements are made unique when the history is built; reads list some of 0..4 in some order.
    let element = Just((add, Value::Nil, Value::Nil));
    let read = proptest::collection::vec(0i64..4, 0..4).prop_map(|items| {
        (
            "read",
            Value::Nil,
            Value::List(items.into_iter().map(Value::Int).collect()),
        )
    });
    planned(prop_oneof![element, read])
}

/// List-append operations whose reads are mostly prefixes of one order (`[0 1 2 3]`, now and
/// then with two neighbours swapped): closer to real histories, so more of them are linearizable
/// and the decider's real-time sweep, not only its prefix check, is exercised.
fn prefix_append_op() -> impl Strategy<Value = Planned> {
    let element = Just(("append", Value::Nil, Value::Nil));
    let read = (
        0usize..=4,
        prop_oneof![4 => Just(None), 1 => (0usize..3).prop_map(Some)],
    )
        .prop_map(|(len, swap)| {
            let mut items: Vec<i64> = (0..4).collect();
            if let Some(at) = swap {
                items.swap(at, at + 1);
            }
            items.truncate(len);
            (
                "read",
                Value::Nil,
                Value::List(items.into_iter().map(Value::Int).collect()),
            )
        });
    planned(prop_oneof![element, read])
}

/// The same histories with appended elements folded onto `0..3`, so some keys append one element
/// twice (where the decider must leave the key to the search).
fn with_repeated_elements(ops: Vec<Operation>) -> Vec<Operation> {
    ops.into_iter()
        .map(|mut op| {
            if let (true, Value::Int(e)) = (op.f == "append", &op.input) {
                op.input = Value::Int(e % 3);
                if op.output.is_some() {
                    op.output = Some(op.input.clone());
                }
            }
            op
        })
        .collect()
}

/// The list-append decider alone, key by key: whenever it decides, brute force agrees, and its
/// witness replays and holds every completed operation of the key.
fn assert_decider_agrees(ops: &[Operation]) -> Result<(), TestCaseError> {
    let mut keys: Vec<Option<Value>> = ops.iter().map(|op| op.key.clone()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let key_ops: Vec<Operation> = ops.iter().filter(|op| op.key == key).cloned().collect();
        let refs: Vec<&Operation> = key_ops.iter().collect();
        let expected = brute_force_kind(ModelKind::ListAppend, &key_ops);
        match decide_key(key.as_ref(), &refs) {
            KeyDecision::Linearizable { witness } => {
                prop_assert!(expected, "decider says linearizable: {:#?}", key_ops);
                prop_assert!(
                    replays_kind(ModelKind::ListAppend, &key_ops, &witness),
                    "witness {:?} does not replay: {:#?}",
                    witness,
                    key_ops
                );
                for op in key_ops.iter().filter(|op| op.ret.is_some()) {
                    prop_assert!(witness.contains(&op.id), "witness misses op {}", op.id);
                }
            }
            KeyDecision::Violation(anomaly) => {
                prop_assert!(!expected, "decider says {:?}: {:#?}", anomaly, key_ops);
            }
            KeyDecision::Undecidable(reason) => {
                let mut elements: Vec<&Value> = key_ops
                    .iter()
                    .filter(|op| op.f == "append")
                    .map(|op| &op.input)
                    .collect();
                let appended = elements.len();
                elements.sort();
                elements.dedup();
                prop_assert!(
                    elements.len() < appended,
                    "undecidable without repeats: {}",
                    reason
                );
            }
        }
    }
    Ok(())
}

fn planned(
    f: impl Strategy<Value = (&'static str, Value, Value)>,
) -> impl Strategy<Value = Planned> {
    (
        f,
        0u8..2,
        prop_oneof![6 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
    )
        .prop_map(|((f, input, output), key, ending)| Planned {
            f,
            key,
            input,
            output,
            ending,
        })
}

/// What a process is doing while the history is laid out.
#[derive(Clone)]
enum ProcessState {
    Idle,
    Open(usize, Planned),
    /// Left an operation open forever; invokes nothing more.
    Stuck,
}

/// Lays planned operations out in time: `schedule` picks, at each event, which of the processes
/// with something to do acts (invoking the next planned operation, or completing its open one).
fn build_history(plans: &[Planned], processes: usize, schedule: &[u8]) -> Vec<Operation> {
    let mut states = vec![ProcessState::Idle; processes];
    let mut next_plan = 0;
    let mut next_element = 0i64;
    let mut recorded: Vec<Option<Operation>> = Vec::new();
    let mut turn = schedule.iter().cycle();
    for event in 0.. {
        let active: Vec<usize> = (0..processes)
            .filter(|&p| match states[p] {
                ProcessState::Idle => next_plan < plans.len(),
                ProcessState::Open(..) => true,
                ProcessState::Stuck => false,
            })
            .collect();
        let Some(&pick) = turn.next() else { break };
        if active.is_empty() {
            break;
        }
        let p = active[pick as usize % active.len()];
        match std::mem::replace(&mut states[p], ProcessState::Idle) {
            ProcessState::Idle => {
                let mut plan = plans[next_plan].clone();
                next_plan += 1;
                if plan.f == "append" || plan.f == "add" {
                    plan.input = Value::Int(next_element);
                    next_element += 1;
                }
                recorded.push(Some(Operation {
                    id: 0,
                    process: p as u64,
                    f: plan.f.to_string(),
                    key: Some(Value::Int(i64::from(plan.key))),
                    input: plan.input.clone(),
                    output: None,
                    call: event,
                    ret: None,
                    call_line: event + 1,
                    ret_line: None,
                }));
                states[p] = if plan.ending == 3 {
                    ProcessState::Stuck
                } else {
                    ProcessState::Open(recorded.len() - 1, plan)
                };
            }
            ProcessState::Open(index, plan) => match plan.ending {
                0 => {
                    let Some(op) = recorded[index].as_mut() else {
                        continue;
                    };
                    op.output = Some(if plan.f == "append" || plan.f == "add" {
                        plan.input.clone()
                    } else {
                        plan.output.clone()
                    });
                    op.ret = Some(event);
                    op.ret_line = Some(event + 1);
                }
                1 => {}
                _ => recorded[index] = None,
            },
            ProcessState::Stuck => states[p] = ProcessState::Stuck,
        }
    }
    recorded
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(id, op)| Operation { id, ..op })
        .collect()
}

fn history(
    op: impl Strategy<Value = Planned>,
    max_ops: usize,
) -> impl Strategy<Value = Vec<Operation>> {
    (
        proptest::collection::vec(op, 1..=max_ops),
        1usize..4,
        proptest::collection::vec(any::<u8>(), 1..16),
    )
        .prop_map(|(plans, processes, schedule)| build_history(&plans, processes, &schedule))
}

fn assert_agrees(kind: ModelKind, ops: &[Operation]) -> Result<(), TestCaseError> {
    let expected = brute_force_kind(kind, ops);
    let opts = CheckOptions {
        witness: true,
        threads: 1,
        ..CheckOptions::default()
    };
    let report = check_operations(ops, kind, &opts);
    let got = match report.verdict {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable => false,
        Verdict::Unknown { ref reason } => {
            return Err(TestCaseError::fail(format!("unknown: {reason}")))
        }
    };
    prop_assert_eq!(got, expected, "history: {:#?}", ops);
    if got {
        for partition in &report.partitions {
            let witness = partition.witness.as_ref().expect("witness asked for");
            prop_assert!(
                replays_kind(kind, ops, witness),
                "witness {:?} does not replay",
                witness
            );
            for op in ops
                .iter()
                .filter(|op| op.ret.is_some() && op.key == partition.key)
            {
                prop_assert!(witness.contains(&op.id), "witness misses op {}", op.id);
            }
        }
    } else if let Some(cx) = &report.counterexample {
        prop_assert!(
            replays_kind(kind, ops, &cx.prefix),
            "prefix {:?} does not replay",
            cx.prefix
        );
        prop_assert!(!cx.blocked.is_empty());
    }
    // The same report on two threads.
    let parallel = check_operations(
        ops,
        kind,
        &CheckOptions {
            witness: true,
            threads: 2,
            ..CheckOptions::default()
        },
    );
    prop_assert_eq!(&parallel.verdict, &report.verdict);
    prop_assert_eq!(&parallel.counterexample, &report.counterexample);
    prop_assert_eq!(&parallel.partitions, &report.partitions);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn register_agrees_with_brute_force(ops in history(register_op(false), 8)) {
        assert_agrees(ModelKind::Register, &ops)?;
    }

    #[test]
    fn cas_register_agrees_with_brute_force(ops in history(register_op(true), 8)) {
        assert_agrees(ModelKind::CasRegister, &ops)?;
    }

    #[test]
    fn kv_agrees_with_brute_force(ops in history(kv_op(), 8)) {
        assert_agrees(ModelKind::Kv, &ops)?;
    }

    #[test]
    fn list_append_agrees_with_brute_force(ops in history(collection_op("append"), 7)) {
        assert_agrees(ModelKind::ListAppend, &ops)?;
    }

    #[test]
    fn list_append_decider_agrees_with_brute_force(ops in history(collection_op("append"), 7)) {
        assert_decider_agrees(&ops)?;
    }

    #[test]
    fn list_append_decider_agrees_on_prefix_reads(ops in history(prefix_append_op(), 7)) {
        assert_decider_agrees(&ops)?;
        assert_agrees(ModelKind::ListAppend, &ops)?;
    }

    #[test]
    fn list_append_with_repeated_elements_agrees_with_brute_force(
        ops in history(prefix_append_op(), 7).prop_map(with_repeated_elements)
    ) {
        assert_decider_agrees(&ops)?;
        assert_agrees(ModelKind::ListAppend, &ops)?;
    }

    #[test]
    fn set_agrees_with_brute_force(ops in history(collection_op("add"), 7)) {
        assert_agrees(ModelKind::Set, &ops)?;
    }
}

/// The brute force itself must be able to say no, and yes.
#[test]
fn brute_force_judges_a_stale_read() {
    let op = |id, f: &str, input, output, call, ret| Operation {
        id,
        process: id as u64,
        f: f.to_string(),
        key: None,
        input,
        output,
        call,
        ret,
        call_line: call + 1,
        ret_line: ret.map(|r| r + 1),
    };
    let stale = vec![
        op(0, "write", Value::Int(1), Some(Value::Int(1)), 0, Some(1)),
        op(1, "read", Value::Nil, Some(Value::Nil), 2, Some(3)),
    ];
    assert!(!brute_force_kind(ModelKind::Register, &stale));
    let fresh = vec![
        op(0, "write", Value::Int(1), Some(Value::Int(1)), 0, Some(1)),
        op(1, "read", Value::Nil, Some(Value::Int(1)), 2, Some(3)),
    ];
    assert!(brute_force_kind(ModelKind::Register, &fresh));
}

/// The generators must produce both verdicts and unknown outcomes, or the agreement above means little.
#[test]
fn generated_histories_cover_both_verdicts_and_unknown_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let cases: [(ModelKind, BoxedStrategy<Vec<Operation>>); 6] = [
        (ModelKind::Register, history(register_op(false), 8).boxed()),
        (
            ModelKind::CasRegister,
            history(register_op(true), 8).boxed(),
        ),
        (ModelKind::Kv, history(kv_op(), 8).boxed()),
        (
            ModelKind::ListAppend,
            history(collection_op("append"), 7).boxed(),
        ),
        (ModelKind::Set, history(collection_op("add"), 7).boxed()),
        (
            ModelKind::ListAppend,
            history(prefix_append_op(), 7).boxed(),
        ),
    ];
    for (kind, strategy) in cases {
        let (mut valid, mut invalid, mut unknown_outcomes) = (0, 0, 0);
        for _ in 0..300 {
            let ops = strategy.new_tree(&mut runner).unwrap().current();
            unknown_outcomes += ops.iter().filter(|op| op.ret.is_none()).count();
            if brute_force_kind(kind, &ops) {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(valid >= 20, "{kind:?}: only {valid} valid histories");
        assert!(invalid >= 20, "{kind:?}: only {invalid} invalid histories");
        assert!(
            unknown_outcomes >= 50,
            "{kind:?}: only {unknown_outcomes} unknown outcomes"
        );
    }
}
