//! Histories: the events a test recorded, and the operations the checker pairs them into.
//!
//! An [`Event`] is one line of a history: an invocation or a completion (`ok`, `fail`, `info`) by
//! one process. Pairing turns events into [`Operation`]s, the unit the models and the search work
//! on. Semantics follow Jepsen: `fail` means the operation surely did not take effect and is dropped
//! before checking; `info`, or an invocation left open at the end, means the outcome is unknown: the
//! operation may take effect at any point after its invocation, or never, and its result
//! constrains nothing.
//!
//! Conventions every format and model share:
//! - `cas` takes `Value::List([expected, new])`. A completed cas that succeeded has output
//!   `Value::Bool(true)`; one that took effect but whose comparison failed (the Jepsen etcd log's
//!   `:fail :cas`) has output `Value::Bool(false)`.
//! - A read's output is the value read; `Value::Nil` is "never written".

use serde::{Deserialize, Serialize};

/// A value written, read or compared by an operation: the JSON/EDN data model, small.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// Absent: JSON `null`, EDN `nil`.
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
}

/// Who issued an event: a client process, or the nemesis (faults; kept for reports, not checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Process {
    Client(u64),
    Nemesis,
}

/// The type of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One recorded event, as read from a history file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the history, from 0.
    pub index: usize,
    pub kind: EventKind,
    pub process: Process,
    /// The function: `read`, `write`, `cas`, `get`, `put`, `append`, `add`, ...
    pub f: String,
    /// The key this event is about, for multi-key histories; `None` for a single register.
    pub key: Option<Value>,
    pub value: Value,
    /// Monotonic time in nanoseconds, when the format records it.
    pub time_ns: Option<u64>,
    /// The 1-based line of the source file this event came from (for error messages and reports).
    pub line: usize,
}

/// A history read from a file, in recorded order (the order defines real time).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub events: Vec<Event>,
}

/// An invocation paired with its completion: what the checker linearizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Position among the history's operations, in invocation order.
    pub id: usize,
    pub process: u64,
    pub f: String,
    pub key: Option<Value>,
    /// The invocation's value (what was asked).
    pub input: Value,
    /// The completion's value for `ok`; `None` when the outcome is unknown (`info` or never completed).
    pub output: Option<Value>,
    /// Event index of the invocation.
    pub call: usize,
    /// Event index of the `ok` completion; `None` when the outcome is unknown (it never returns).
    pub ret: Option<usize>,
    /// Source lines of the invocation and of the completion, for reports.
    pub call_line: usize,
    pub ret_line: Option<usize>,
}
