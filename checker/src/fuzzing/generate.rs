//! Turns fuzzer bytes into a small, well-formed history for one built-in model: a handful of
//! operations over two keys and tiny value domains (so linearizable and non-linearizable
//! histories are both common), each ending ok, fail, info or left open, interleaved in an order
//! the bytes choose.

use arbitrary::{Result, Unstructured};

use crate::history::{Event, EventKind, History, Process, Value};
use crate::ModelKind;

/// Most operations a generated history holds (the brute force is exponential in this).
pub const MAX_GENERATED_OPS: usize = 7;

/// A generated history and the model it is meant for.
#[derive(Clone, Debug)]
pub struct GeneratedHistory {
    pub model: ModelKind,
    pub history: History,
}

/// One operation before it is placed in time.
struct Planned {
    f: &'static str,
    key: Option<Value>,
    input: Value,
    /// The completion's value when the operation ends `ok`.
    output: Value,
    ending: EventKind,
    /// Left open: no completion at all.
    open: bool,
}

const MODELS: [ModelKind; 5] = [
    ModelKind::Register,
    ModelKind::CasRegister,
    ModelKind::Kv,
    ModelKind::ListAppend,
    ModelKind::Set,
];

/// Builds a history from `input`. Each process runs one operation, so the history is
/// well-formed by construction.
pub fn generate_history(input: &mut Unstructured<'_>) -> Result<GeneratedHistory> {
    let model = *input.choose(&MODELS)?;
    let count = input.int_in_range(1..=MAX_GENERATED_OPS)?;
    let mut planned = Vec::with_capacity(count);
    for id in 0..count {
        planned.push(plan(input, model, id)?);
    }
    // Interleave: at each step either invoke the next operation or complete an invoked one.
    let mut events = Vec::with_capacity(2 * count);
    let mut invoked = 0;
    let mut running: Vec<usize> = Vec::new();
    while invoked < count || !running.is_empty() {
        let invoke = invoked < count && (running.is_empty() || input.arbitrary::<bool>()?);
        if invoke {
            let op = &planned[invoked];
            events.push(event(EventKind::Invoke, invoked, op, op.input.clone()));
            running.push(invoked);
            invoked += 1;
        } else {
            let slot = input.choose_index(running.len())?;
            let id = running.swap_remove(slot);
            let op = &planned[id];
            if op.open {
                continue;
            }
            let value = match op.ending {
                EventKind::Ok => op.output.clone(),
                _ => op.input.clone(),
            };
            events.push(event(op.ending, id, op, value));
        }
    }
    for (index, event) in events.iter_mut().enumerate() {
        event.index = index;
        event.line = index + 1;
    }
    Ok(GeneratedHistory {
        model,
        history: History { events },
    })
}

fn event(kind: EventKind, process: usize, op: &Planned, value: Value) -> Event {
    Event {
        index: 0,
        kind,
        process: Process::Client(process as u64),
        f: op.f.to_string(),
        key: op.key.clone(),
        value,
        time_ns: None,
        line: 0,
    }
}

fn small_int(input: &mut Unstructured<'_>) -> Result<Value> {
    Ok(Value::Int(input.int_in_range(0..=1)?))
}

fn maybe_nil_int(input: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match input.int_in_range(0..=2)? {
        0 => Value::Nil,
        n => Value::Int(n - 1),
    })
}

/// A read result for list-append and set: distinct elements out of the values `0..=max`, in an
/// order the bytes choose.
fn element_list(input: &mut Unstructured<'_>, max: usize) -> Result<Value> {
    let mut pool: Vec<i64> = (0..=max as i64).collect();
    let mut out = Vec::new();
    while !pool.is_empty() && input.arbitrary::<bool>()? {
        let at = input.choose_index(pool.len())?;
        out.push(Value::Int(pool.remove(at)));
    }
    Ok(Value::List(out))
}

fn plan(input: &mut Unstructured<'_>, model: ModelKind, id: usize) -> Result<Planned> {
    let key = Some(Value::Str(
        if input.arbitrary::<bool>()? { "a" } else { "b" }.to_string(),
    ));
    let (f, op_input, output) = match model {
        ModelKind::Register | ModelKind::CasRegister => {
            let choices = if model == ModelKind::Register { 2 } else { 3 };
            match input.int_in_range(0..=choices - 1)? {
                0 => ("read", Value::Nil, maybe_nil_int(input)?),
                1 => {
                    let v = small_int(input)?;
                    ("write", v.clone(), v)
                }
                _ => (
                    "cas",
                    Value::List(vec![maybe_nil_int(input)?, small_int(input)?]),
                    Value::Bool(input.arbitrary()?),
                ),
            }
        }
        ModelKind::Kv => {
            let text = |input: &mut Unstructured<'_>| -> Result<Value> {
                Ok(Value::Str(
                    (*input.choose(&["", "a", "b", "ab", "ba", "aa"])?).to_string(),
                ))
            };
            match input.int_in_range(0..=4)? {
                0 => ("get", Value::Nil, text(input)?),
                1 => (
                    "put",
                    Value::Str((*input.choose(&["a", "b"])?).into()),
                    Value::Nil,
                ),
                2 => (
                    "append",
                    Value::Str((*input.choose(&["a", "b"])?).into()),
                    Value::Nil,
                ),
                3 => ("delete", Value::Nil, Value::Nil),
                _ => (
                    "cas",
                    Value::List(vec![text(input)?, text(input)?]),
                    Value::Bool(input.arbitrary()?),
                ),
            }
        }
        // Appended and added elements are unique (the operation's id), as these workloads assume.
        ModelKind::ListAppend | ModelKind::Set => {
            let write = if model == ModelKind::ListAppend {
                "append"
            } else {
                "add"
            };
            if input.arbitrary::<bool>()? {
                (write, Value::Int(id as i64), Value::Int(id as i64))
            } else {
                ("read", Value::Nil, element_list(input, MAX_GENERATED_OPS)?)
            }
        }
    };
    let (ending, open) = match input.int_in_range(0..=5)? {
        0 => (EventKind::Info, false),
        1 => (EventKind::Fail, false),
        2 => (EventKind::Invoke, true),
        _ => (EventKind::Ok, false),
    };
    Ok(Planned {
        f,
        key,
        input: op_input,
        output,
        ending,
        open,
    })
}
