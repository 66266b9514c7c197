//! One event as the fast scanners ([`super::edn_fast`], [`super::jsonl_fast`]) read it, still
//! borrowing its function, key and string values from the text: turned into an owned [`Event`]
//! for the general readers' callers, or paired straight into operations by
//! [`super::paired`] without a `String` per event.

use crate::history::{Event, EventKind, Process, Value};

/// A value as scanned: strings borrowed, lists already owned (they are rare and small).
#[derive(Debug)]
pub(crate) enum ScannedValue<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    List(Vec<Value>),
}

impl ScannedValue<'_> {
    /// The owned history value.
    pub(crate) fn into_value(self) -> Value {
        match self {
            ScannedValue::Nil => Value::Nil,
            ScannedValue::Bool(b) => Value::Bool(b),
            ScannedValue::Int(i) => Value::Int(i),
            ScannedValue::Str(s) => Value::Str(s.to_string()),
            ScannedValue::List(items) => Value::List(items),
        }
    }

    /// Whether the owned form would equal `value` (without building it).
    pub(crate) fn equals(&self, value: &Value) -> bool {
        match (self, value) {
            (ScannedValue::Nil, Value::Nil) => true,
            (ScannedValue::Bool(a), Value::Bool(b)) => a == b,
            (ScannedValue::Int(a), Value::Int(b)) => a == b,
            (ScannedValue::Str(a), Value::Str(b)) => *a == b.as_str(),
            (ScannedValue::List(a), Value::List(b)) => a == b,
            _ => false,
        }
    }

    /// A list of exactly two items (a `jepsen.independent` `[key value]` tuple).
    pub(crate) fn is_pair(&self) -> bool {
        matches!(self, ScannedValue::List(items) if items.len() == 2)
    }
}

/// One event as scanned: everything an [`Event`] holds but its position.
#[derive(Debug)]
pub(crate) struct ScannedEvent<'a> {
    pub kind: EventKind,
    pub process: Process,
    /// The function; empty for a nemesis event that names none.
    pub f: &'a str,
    pub key: Option<ScannedValue<'a>>,
    pub value: ScannedValue<'a>,
    pub time_ns: Option<u64>,
}

impl ScannedEvent<'_> {
    /// The owned event at `index` in the history, from source line `line`.
    pub(crate) fn into_event(self, index: usize, line: usize) -> Event {
        Event {
            index,
            kind: self.kind,
            process: self.process,
            f: self.f.to_string(),
            key: self.key.map(ScannedValue::into_value),
            value: self.value.into_value(),
            time_ns: self.time_ns,
            line,
        }
    }
}
