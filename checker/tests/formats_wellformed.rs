//! Properties of well-formedness checking and pairing over random event sequences: it never
//! panics; when it accepts, the operations are exactly the non-failed invocations, numbered in
//! invocation order, each completed by a later event of its own process; when it refuses, the
//! error names the line of an event that really breaks a rule.

use std::collections::HashMap;

use checker::history::{Event, EventKind, History, Process, Value};
use checker::wellformed::{pair, pair_owned, Rule};
use proptest::prelude::*;

fn event_strategy() -> impl Strategy<Value = (EventKind, u64, bool, bool)> {
    (
        prop::sample::select(vec![
            EventKind::Invoke,
            EventKind::Invoke,
            EventKind::Ok,
            EventKind::Fail,
            EventKind::Info,
        ]),
        0u64..4,
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.05),
    )
}

fn build(raw: &[(EventKind, u64, bool, bool)]) -> History {
    // Completions take their invocation's function unless `odd_f` asks for a mismatch.
    let mut last_f: HashMap<u64, String> = HashMap::new();
    let events = raw
        .iter()
        .enumerate()
        .map(|(index, &(kind, process, nemesis, odd_f))| {
            let f = if kind == EventKind::Invoke {
                let f = if index % 2 == 0 { "read" } else { "write" }.to_string();
                last_f.insert(process, f.clone());
                f
            } else if odd_f {
                "cas".to_string()
            } else {
                last_f
                    .get(&process)
                    .cloned()
                    .unwrap_or_else(|| "read".to_string())
            };
            Event {
                index,
                kind,
                process: if nemesis {
                    Process::Nemesis
                } else {
                    Process::Client(process)
                },
                f,
                key: None,
                value: Value::Int(index as i64),
                time_ns: None,
                line: index + 1,
            }
        })
        .collect();
    History { events }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn pairing_agrees_with_a_simple_replay(raw in prop::collection::vec(event_strategy(), 0..40)) {
        let history = build(&raw);
        // Replay: open invocation per process, the first rule broken, and the expected operations.
        let mut open: HashMap<u64, usize> = HashMap::new();
        let mut expected_ops: Vec<(usize, Option<usize>, bool)> = Vec::new(); // (call, ret, failed)
        let mut broken: Option<(usize, Rule)> = None;
        for e in &history.events {
            let Process::Client(p) = e.process else { continue };
            if e.kind == EventKind::Invoke {
                if open.contains_key(&p) {
                    broken = Some((e.line, Rule::InvocationWhileOpen));
                    break;
                }
                open.insert(p, expected_ops.len());
                expected_ops.push((e.index, None, false));
                continue;
            }
            let Some(slot) = open.remove(&p) else {
                broken = Some((e.line, Rule::CompletionWithoutInvocation));
                break;
            };
            let invoked_f = &history.events[expected_ops[slot].0].f;
            if *invoked_f != e.f {
                broken = Some((e.line, Rule::MismatchedFunction));
                break;
            }
            match e.kind {
                EventKind::Ok => expected_ops[slot].1 = Some(e.index),
                EventKind::Fail => expected_ops[slot].2 = true,
                _ => {}
            }
        }
        prop_assert_eq!(pair_owned(history.clone()), pair(&history));
        match (pair(&history), broken) {
            (Err(err), Some((line, rule))) => {
                prop_assert_eq!(err.line, line);
                prop_assert_eq!(err.rule, rule);
            }
            (Ok(ops), None) => {
                let kept: Vec<(usize, Option<usize>)> =
                    expected_ops.iter().filter(|o| !o.2).map(|o| (o.0, o.1)).collect();
                prop_assert_eq!(ops.len(), kept.len());
                for (id, (op, (call, ret))) in ops.iter().zip(&kept).enumerate() {
                    prop_assert_eq!(op.id, id);
                    prop_assert_eq!(op.call, *call);
                    prop_assert_eq!(op.ret, *ret);
                    prop_assert_eq!(op.output.is_some(), ret.is_some());
                    if let Some(ret) = ret {
                        prop_assert!(*ret > op.call);
                        prop_assert_eq!(history.events[*ret].process, Process::Client(op.process));
                    }
                }
            }
            (got, want) => prop_assert!(false, "pair gave {:?}, replay expected {:?}", got.map(|o| o.len()), want),
        }
    }
}
