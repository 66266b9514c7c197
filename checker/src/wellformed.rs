//! Well-formedness of a history, and pairing its events into [`Operation`]s.
//!
//! Rules (checked before anything else, so a broken file never reaches the search):
//! - a completion (`ok`, `fail`, `info`) must follow an open invocation of the same process;
//! - a process may not invoke while it already has an open invocation;
//! - a completion must name the same function (`f`) as its invocation, and the same key when both
//!   name one.
//!
//! Pairing then drops `fail` operations (they surely did not take effect); `info` operations and
//! invocations still open at the end get `ret: None` (unknown outcome). A `cas` that completed
//! `ok` with its `[expected new]` pair as value is normalized to output `true`, as
//! [`crate::history`] documents. Nemesis events are kept in the history but never paired.
//!
//! A process whose operation ended in `info` may invoke again (Jepsen logs do this): the unknown
//! operation stays pending forever and the new one is simply concurrent with it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::history::{Event, EventKind, History, Operation, Process, Value};

/// Which rule a history breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `ok`/`fail`/`info` by a process that has no open invocation.
    CompletionWithoutInvocation,
    /// An invocation by a process whose previous invocation is still open.
    InvocationWhileOpen,
    /// A completion whose function differs from its invocation's.
    MismatchedFunction,
    /// A completion whose key differs from its invocation's.
    MismatchedKey,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::CompletionWithoutInvocation => "completion with no open invocation",
            Rule::InvocationWhileOpen => "two open invocations for one process",
            Rule::MismatchedFunction => "completion names a different function than its invocation",
            Rule::MismatchedKey => "completion names a different key than its invocation",
        })
    }
}

/// A history that breaks a well-formedness rule, at a source line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {rule}: {detail}")]
pub struct WellFormedError {
    /// 1-based source line of the offending event.
    pub line: usize,
    pub rule: Rule,
    /// The specifics (process, functions, the other line involved).
    pub detail: String,
}

/// Checks that `history` is well-formed and pairs its client events into operations, ordered by
/// invocation and numbered from 0. Failed operations are dropped.
pub fn pair(history: &History) -> Result<Vec<Operation>, WellFormedError> {
    pair_events(history.events.iter().map(Cow::Borrowed))
}

/// [`pair`], taking the history: its events' functions and values move into the operations
/// instead of being copied.
pub fn pair_owned(history: History) -> Result<Vec<Operation>, WellFormedError> {
    pair_events(history.events.into_iter().map(Cow::Owned))
}

/// The id that marks a failed operation during pairing (ids are given after).
const FAILED: usize = usize::MAX;

fn pair_events<'a>(
    events: impl Iterator<Item = Cow<'a, Event>>,
) -> Result<Vec<Operation>, WellFormedError> {
    // Per process: the index into `pending` of its open invocation.
    let mut open = OpenInvocations::default();
    // Operations in invocation order; a failed one is marked with the id `FAILED` and dropped at
    // the end, in place. About half the events are invocations: sized once, the vector is never
    // copied as it grows.
    let mut pending: Vec<Operation> = Vec::with_capacity(events.size_hint().0 / 2 + 1);

    for event in events {
        let Process::Client(process) = event.process else {
            continue;
        };
        if event.kind == EventKind::Invoke {
            if let Some(slot) = open.get(process) {
                let earlier = pending[slot].call_line;
                return Err(WellFormedError {
                    line: event.line,
                    rule: Rule::InvocationWhileOpen,
                    detail: format!(
                        "process {process} invokes {} while its {} from line {earlier} is still open",
                        event.f,
                        pending[slot].f,
                    ),
                });
            }
            open.insert(process, pending.len());
            let (call, call_line) = (event.index, event.line);
            let Event { f, key, value, .. } = event.into_owned();
            pending.push(Operation {
                id: 0,
                process,
                f,
                key,
                input: value,
                output: None,
                call,
                ret: None,
                call_line,
                ret_line: None,
            });
            continue;
        }
        let Some(slot) = open.remove(process) else {
            return Err(WellFormedError {
                line: event.line,
                rule: Rule::CompletionWithoutInvocation,
                detail: format!(
                    "process {process} completes {} ({}) but has no open invocation",
                    event.f,
                    kind_name(event.kind)
                ),
            });
        };
        let op = &mut pending[slot];
        check_completion_matches(op, &event)?;
        match event.kind {
            EventKind::Ok => {
                op.ret = Some(event.index);
                op.ret_line = Some(event.line);
                let value = match event {
                    Cow::Borrowed(event) => event.value.clone(),
                    Cow::Owned(event) => event.value,
                };
                op.output = Some(normalize_output(&op.f, value));
            }
            EventKind::Fail => op.id = FAILED,
            EventKind::Info | EventKind::Invoke => {}
        }
    }

    pending.retain(|op| op.id != FAILED);
    let mut ops = pending;
    for (id, op) in ops.iter_mut().enumerate() {
        op.id = id;
    }
    Ok(ops)
}

/// Per process, the index of its open invocation: a table for the small process numbers histories
/// use, a map for the rest.
#[derive(Default)]
pub(crate) struct OpenInvocations {
    dense: Vec<usize>,
    sparse: HashMap<u64, usize>,
}

impl OpenInvocations {
    /// Processes below this are kept in the table.
    const DENSE_LIMIT: u64 = 1 << 16;
    const NONE: usize = usize::MAX;

    pub(crate) fn get(&self, process: u64) -> Option<usize> {
        if process < Self::DENSE_LIMIT {
            let slot = *self.dense.get(process as usize)?;
            (slot != Self::NONE).then_some(slot)
        } else {
            self.sparse.get(&process).copied()
        }
    }

    pub(crate) fn insert(&mut self, process: u64, slot: usize) {
        if process < Self::DENSE_LIMIT {
            let index = process as usize;
            if self.dense.len() <= index {
                self.dense.resize(index + 1, Self::NONE);
            }
            self.dense[index] = slot;
        } else {
            self.sparse.insert(process, slot);
        }
    }

    pub(crate) fn remove(&mut self, process: u64) -> Option<usize> {
        if process < Self::DENSE_LIMIT {
            let slot = std::mem::replace(self.dense.get_mut(process as usize)?, Self::NONE);
            (slot != Self::NONE).then_some(slot)
        } else {
            self.sparse.remove(&process)
        }
    }
}

fn check_completion_matches(op: &Operation, event: &Event) -> Result<(), WellFormedError> {
    if op.f != event.f {
        return Err(WellFormedError {
            line: event.line,
            rule: Rule::MismatchedFunction,
            detail: format!(
                "process {} invoked {} on line {} but completes {}",
                op.process, op.f, op.call_line, event.f
            ),
        });
    }
    if let (Some(invoked), Some(completed)) = (&op.key, &event.key) {
        if invoked != completed {
            return Err(WellFormedError {
                line: event.line,
                rule: Rule::MismatchedKey,
                detail: format!(
                    "process {} invoked {} on key {invoked:?} on line {} but completes it on key {completed:?}",
                    op.process, op.f, op.call_line
                ),
            });
        }
    }
    Ok(())
}

/// A `cas` that completed `ok` succeeded; Jepsen records its value as the `[expected new]` pair.
pub(crate) fn normalize_output(f: &str, value: Value) -> Value {
    match (f, value) {
        ("cas", Value::List(_)) => Value::Bool(true),
        (_, value) => value,
    }
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(index: usize, kind: EventKind, process: u64, f: &str, value: Value) -> Event {
        Event {
            index,
            kind,
            process: Process::Client(process),
            f: f.to_string(),
            key: None,
            value,
            time_ns: None,
            line: index + 1,
        }
    }

    fn history(events: Vec<Event>) -> History {
        History { events }
    }

    #[test]
    fn pairs_ok_drops_fail_and_leaves_info_and_open_pending() {
        let h = history(vec![
            event(0, EventKind::Invoke, 0, "write", Value::Int(1)),
            event(1, EventKind::Invoke, 1, "write", Value::Int(2)),
            event(2, EventKind::Ok, 0, "write", Value::Int(1)),
            event(3, EventKind::Fail, 1, "write", Value::Int(2)),
            event(
                4,
                EventKind::Invoke,
                2,
                "cas",
                Value::List(vec![Value::Int(1), Value::Int(3)]),
            ),
            event(5, EventKind::Info, 2, "cas", Value::Nil),
            event(6, EventKind::Invoke, 3, "read", Value::Nil),
            event(7, EventKind::Invoke, 2, "read", Value::Nil),
            event(8, EventKind::Ok, 2, "read", Value::Int(1)),
        ]);
        let ops = pair(&h).unwrap();
        assert_eq!(pair_owned(h.clone()), Ok(ops.clone()));
        assert_eq!(ops.len(), 4);
        assert_eq!(
            ops.iter().map(|o| o.id).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        assert_eq!(
            (ops[0].f.as_str(), ops[0].ret, ops[0].output.clone()),
            ("write", Some(2), Some(Value::Int(1)))
        );
        assert_eq!(
            (ops[1].f.as_str(), ops[1].ret, ops[1].output.clone()),
            ("cas", None, None)
        );
        assert_eq!((ops[2].process, ops[2].ret), (3, None));
        assert_eq!(
            (ops[3].process, ops[3].call, ops[3].ret, ops[3].ret_line),
            (2, 7, Some(8), Some(9))
        );
    }

    #[test]
    fn ok_cas_with_its_pair_becomes_true() {
        let pair_value = Value::List(vec![Value::Int(1), Value::Int(3)]);
        let h = history(vec![
            event(0, EventKind::Invoke, 0, "cas", pair_value.clone()),
            event(1, EventKind::Ok, 0, "cas", pair_value),
            event(
                2,
                EventKind::Invoke,
                0,
                "cas",
                Value::List(vec![Value::Int(5), Value::Int(6)]),
            ),
            event(3, EventKind::Ok, 0, "cas", Value::Bool(false)),
        ]);
        let ops = pair(&h).unwrap();
        assert_eq!(ops[0].output, Some(Value::Bool(true)));
        assert_eq!(ops[1].output, Some(Value::Bool(false)));
    }

    #[test]
    fn completion_without_invocation_is_refused_with_its_line() {
        let h = history(vec![
            event(0, EventKind::Invoke, 0, "read", Value::Nil),
            event(1, EventKind::Ok, 1, "read", Value::Int(1)),
        ]);
        let err = pair(&h).unwrap_err();
        assert_eq!((err.line, err.rule), (2, Rule::CompletionWithoutInvocation));
    }

    #[test]
    fn second_invocation_while_open_is_refused() {
        let h = history(vec![
            event(0, EventKind::Invoke, 0, "read", Value::Nil),
            event(1, EventKind::Invoke, 0, "write", Value::Int(1)),
        ]);
        let err = pair(&h).unwrap_err();
        assert_eq!((err.line, err.rule), (2, Rule::InvocationWhileOpen));
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn mismatched_function_and_key_are_refused() {
        let h = history(vec![
            event(0, EventKind::Invoke, 0, "read", Value::Nil),
            event(1, EventKind::Ok, 0, "write", Value::Int(1)),
        ]);
        assert_eq!(pair(&h).unwrap_err().rule, Rule::MismatchedFunction);
        let mut invoke = event(0, EventKind::Invoke, 0, "read", Value::Nil);
        invoke.key = Some(Value::Str("a".into()));
        let mut ok = event(1, EventKind::Ok, 0, "read", Value::Int(1));
        ok.key = Some(Value::Str("b".into()));
        assert_eq!(
            pair(&history(vec![invoke, ok])).unwrap_err().rule,
            Rule::MismatchedKey
        );
    }

    #[test]
    fn completion_after_a_fail_needs_a_new_invocation() {
        let h = history(vec![
            event(0, EventKind::Invoke, 0, "write", Value::Int(1)),
            event(1, EventKind::Fail, 0, "write", Value::Int(1)),
            event(2, EventKind::Ok, 0, "write", Value::Int(1)),
        ]);
        assert_eq!(
            pair(&h).unwrap_err().rule,
            Rule::CompletionWithoutInvocation
        );
    }

    #[test]
    fn nemesis_events_are_not_paired() {
        let mut start = event(0, EventKind::Info, 0, "start", Value::Nil);
        start.process = Process::Nemesis;
        let h = history(vec![start]);
        assert!(pair(&h).unwrap().is_empty());
    }
}
