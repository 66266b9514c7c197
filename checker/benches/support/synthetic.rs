//! Synthetic histories for the benchmarks and the `synthetic_history` example: a linearizable
//! multi-key kv history as operations, and the same history written as Jepsen EDN or as the
//! native JSON Lines, so reading and checking can be timed on one known input.

#![allow(dead_code)] // Each bench or example uses only part of this file.

use std::fmt::Write as _;

use checker::history::{Operation, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A linearizable kv history: `clients` clients run `ops` get/put/append operations on `keys`
/// keys against one store; each takes effect at a random moment between its call and return.
pub fn generated_kv(ops: usize, keys: usize, clients: usize, seed: u64) -> Vec<Operation> {
    #[derive(Clone)]
    enum Phase {
        Idle,
        Invoked(usize),
        Applied(usize),
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut store: Vec<String> = vec![String::new(); keys];
    let mut phases = vec![Phase::Idle; clients];
    let mut history: Vec<Operation> = Vec::with_capacity(ops);
    let mut event = 0;
    let mut completed = 0;
    while completed < ops {
        let client = rng.random_range(0..clients);
        match phases[client].clone() {
            Phase::Idle if history.len() < ops => {
                let key = rng.random_range(0..keys);
                let (f, input) = match rng.random_range(0..10) {
                    0..4 => ("get", Value::Nil),
                    4..8 => ("put", Value::Str(format!("v{}", history.len()))),
                    _ => ("append", Value::Str(format!("a{}", history.len() % 100))),
                };
                history.push(Operation {
                    id: history.len(),
                    process: client as u64,
                    f: f.to_string(),
                    key: Some(Value::Str(format!("k{key}"))),
                    input,
                    output: None,
                    call: event,
                    ret: None,
                    call_line: event + 1,
                    ret_line: None,
                });
                phases[client] = Phase::Invoked(history.len() - 1);
            }
            Phase::Idle => continue,
            Phase::Invoked(index) => {
                let op = &mut history[index];
                let Some(Value::Str(key)) = &op.key else {
                    unreachable!("every generated operation has a string key")
                };
                let slot = &mut store[key[1..].parse::<usize>().unwrap_or(0)];
                op.output = Some(match (op.f.as_str(), &op.input) {
                    ("put", Value::Str(v)) => {
                        *slot = v.clone();
                        Value::Str(v.clone())
                    }
                    ("append", Value::Str(v)) => {
                        slot.push_str(v);
                        Value::Str(v.clone())
                    }
                    _ => Value::Str(slot.clone()),
                });
                phases[client] = Phase::Applied(index);
                continue;
            }
            Phase::Applied(index) => {
                history[index].ret = Some(event);
                history[index].ret_line = Some(event + 1);
                phases[client] = Phase::Idle;
                completed += 1;
            }
        }
        event += 1;
    }
    history
}

/// A linearizable single-register history: `clients` clients run `ops` reads and writes of small
/// integers on one register (no key); each takes effect at a random moment between its call and
/// return.
pub fn generated_register(ops: usize, clients: usize, seed: u64) -> Vec<Operation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut register = Value::Nil;
    // For each client: the operation it has open, and whether it took effect yet.
    let mut open: Vec<Option<(usize, bool)>> = vec![None; clients];
    let mut history: Vec<Operation> = Vec::with_capacity(ops);
    let mut event = 0;
    let mut completed = 0;
    while completed < ops {
        let client = rng.random_range(0..clients);
        match open[client] {
            None if history.len() < ops => {
                let (f, input) = if rng.random_range(0..2) == 0 {
                    ("read", Value::Nil)
                } else {
                    ("write", Value::Int(rng.random_range(0..5)))
                };
                history.push(Operation {
                    id: history.len(),
                    process: client as u64,
                    f: f.to_string(),
                    key: None,
                    input,
                    output: None,
                    call: event,
                    ret: None,
                    call_line: event + 1,
                    ret_line: None,
                });
                open[client] = Some((history.len() - 1, false));
            }
            None => continue,
            Some((index, false)) => {
                let op = &mut history[index];
                if op.f == "write" {
                    register = op.input.clone();
                }
                op.output = Some(register.clone());
                open[client] = Some((index, true));
                continue;
            }
            Some((index, true)) => {
                history[index].ret = Some(event);
                history[index].ret_line = Some(event + 1);
                open[client] = None;
                completed += 1;
            }
        }
        event += 1;
    }
    history
}

/// One event of a generated history: (event index, is the completion, the operation).
fn events(ops: &[Operation]) -> Vec<(usize, bool, &Operation)> {
    let mut events: Vec<(usize, bool, &Operation)> = Vec::with_capacity(ops.len() * 2);
    for op in ops {
        events.push((op.call, false, op));
        if let Some(ret) = op.ret {
            events.push((ret, true, op));
        }
    }
    events.sort_by_key(|(index, _, _)| *index);
    events
}

fn edn_value(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(edn_value).collect();
            format!("[{}]", items.join(" "))
        }
    }
}

/// The history as Jepsen `history.edn`, one op map a line with `:key`, `:time` and `:index`.
pub fn jepsen_edn(ops: &[Operation]) -> String {
    let mut text = String::new();
    for (index, done, op) in events(ops) {
        let (kind, value) = if done {
            ("ok", op.output.as_ref().unwrap_or(&Value::Nil))
        } else {
            ("invoke", &op.input)
        };
        let key = op
            .key
            .as_ref()
            .map_or(String::new(), |key| format!(" :key {},", edn_value(key)));
        let _ = writeln!(
            text,
            "{{:type :{kind}, :f :{},{key} :value {}, :process {}, :time {}, :index {index}}}",
            op.f,
            edn_value(value),
            op.process,
            1_000 * index as u64 + 17,
        );
    }
    text
}

/// The history as a Porcupine KV log (`{:process 7, :type :invoke, :f :get, :key "k6", :value
/// nil}` a line), which Porcupine's own test reader also reads.
pub fn porcupine_kv(ops: &[Operation]) -> String {
    let mut text = String::new();
    for (_, done, op) in events(ops) {
        let (kind, value) = if done {
            ("ok", op.output.as_ref().unwrap_or(&Value::Nil))
        } else {
            ("invoke", &op.input)
        };
        let key = op.key.as_ref().unwrap_or(&Value::Nil);
        let _ = writeln!(
            text,
            "{{:process {}, :type :{kind}, :f :{}, :key {}, :value {}}}",
            op.process,
            op.f,
            edn_value(key),
            edn_value(value),
        );
    }
    text
}

/// The history as native JSON Lines, after a header naming the kv model.
pub fn native_jsonl(ops: &[Operation]) -> String {
    let mut text =
        String::from("{\"format\":\"gauntlet-history\",\"version\":1,\"model\":\"kv\"}\n");
    for (index, done, op) in events(ops) {
        let (kind, value) = if done {
            ("ok", op.output.as_ref().unwrap_or(&Value::Nil))
        } else {
            ("invoke", &op.input)
        };
        let event = serde_json::json!({
            "index": index,
            "type": kind,
            "process": op.process,
            "f": op.f,
            "key": op.key,
            "value": value,
            "time_ns": 1_000 * index as u64 + 17,
        });
        let _ = writeln!(text, "{event}");
    }
    text
}
