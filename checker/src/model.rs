//! The model trait: what a system under test is supposed to do, as a small sequential state machine.
//!
//! A model turns each [`Operation`] of a history into its own compact form once ([`Model::prepare`]),
//! then the search asks it, again and again, whether that operation could have happened in a given
//! state ([`Model::step`]). Models also split a history into independent parts
//! ([`Model::partition`], usually one per key) that are checked on their own.
//!
//! This module and the built-in models (`crate::models`) sit at the bottom of the crate, above
//! only the history types: they never use the search (`crate::linearizability`), the entry point
//! (`crate::check`) or the report (`crate::report`), which all build on them
//! (`tests/layering.rs` keeps it so).
//!
//! Writing a model takes minutes:
//! ```
//! use checker::history::{Operation, Value};
//! use checker::model::{Model, ModelError};
//!
//! /// A counter that only goes up: `add n`, and `read` returning the total.
//! struct Counter;
//! impl Model for Counter {
//!     type State = i64;
//!     type Op = (bool, i64, Option<i64>); // (is_add, amount, value read)
//!     fn name(&self) -> &'static str { "counter" }
//!     fn init(&self) -> i64 { 0 }
//!     fn prepare(&self, op: &Operation) -> Result<Self::Op, ModelError> {
//!         match (op.f.as_str(), &op.input, &op.output) {
//!             ("add", Value::Int(n), _) => Ok((true, *n, None)),
//!             ("read", _, Some(Value::Int(v))) => Ok((false, 0, Some(*v))),
//!             ("read", _, None) => Ok((false, 0, None)),
//!             _ => Err(ModelError::unsupported(self.name(), op)),
//!         }
//!     }
//!     fn step(&self, state: &i64, op: &Self::Op) -> Option<i64> {
//!         match op {
//!             (true, n, _) => Some(state + n),
//!             (false, _, Some(v)) => (v == state).then_some(*state),
//!             (false, _, None) => Some(*state),
//!         }
//!     }
//! }
//! ```

use std::fmt::Debug;
use std::hash::Hash;

use crate::history::{Operation, Value};

/// An operation the model cannot interpret (unknown function, or an input of the wrong shape).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model {model} cannot check operation {op_id} (line {line}): {reason}")]
pub struct ModelError {
    pub model: String,
    pub op_id: usize,
    pub line: usize,
    pub reason: String,
}

impl ModelError {
    /// The operation's function or value shape is not one this model knows.
    pub fn unsupported(model: &str, op: &Operation) -> Self {
        ModelError {
            model: model.to_string(),
            op_id: op.id,
            line: op.call_line,
            reason: format!(
                "unsupported function {:?} with input {} and output {}",
                op.f,
                describe_value(&op.input),
                op.output
                    .as_ref()
                    .map_or("unknown".to_string(), describe_value)
            ),
        }
    }
}

/// An operation in the model's own form ([`Model::prepare`]) with its interval in event indices:
/// what the search and [`Model::impossible_op`] see.
#[derive(Debug)]
pub struct PreparedOp<O> {
    /// [`Operation::id`].
    pub id: usize,
    /// Position in the slice of operations given to the check.
    pub index: usize,
    pub call: usize,
    /// `None`: outcome unknown (never returns).
    pub ret: Option<usize>,
    pub op: O,
}

/// One independent part of a history: the operations (indices into the slice given to
/// [`Model::partition`]) that touch one key, checked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The key; `None` for a history without keys. Partitions are ordered by key.
    pub key: Option<Value>,
    /// Indices of operations, in invocation order.
    pub ops: Vec<usize>,
}

/// A sequential specification.
///
/// Contract: `step` is a pure function. An operation whose outcome is unknown (`output == None`)
/// may take effect or not; `step` must accept it in every state (it only says what it would do).
pub trait Model: Sync {
    /// The model's state; hashed and compared by the search's memo, so keep it small.
    type State: Clone + Eq + Hash + Debug + Send + Sync;
    /// An operation as the model wants it (parsed once before the search). Equal ops must have
    /// equal effects: the search treats pending equal operations of unknown outcome as interchangeable.
    type Op: Debug + PartialEq + Send + Sync;

    /// A short name for reports.
    fn name(&self) -> &'static str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Turns a history operation into the model's own form, or says why it cannot.
    fn prepare(&self, op: &Operation) -> Result<Self::Op, ModelError>;

    /// The state after `op` in `state`, or `None` when `op` (with its recorded output) is impossible there.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// Optional lookahead pruning. `deadline` is the remaining completed operation that returns
    /// first; only `before` (the operations invoked before it returned and not yet linearized,
    /// `deadline` among them) can be linearized ahead of it. Return true only when, from `state`,
    /// no order of some of `before` can let `deadline` be linearized: the search then backtracks
    /// at once. A wrong `true` makes the checker wrong; the default never prunes.
    fn hopeless(
        &self,
        _state: &Self::State,
        _deadline: &Self::Op,
        _before: &mut dyn Iterator<Item = &Self::Op>,
    ) -> bool {
        false
    }

    /// True when [`Model::hopeless`] may ever return true (the search skips the lookahead otherwise).
    fn prunes(&self) -> bool {
        false
    }

    /// Heap bytes a new state holds beyond its inline size (for the memory budget; an estimate).
    fn state_heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }

    /// True when `op` never changes the state (a read). Reads with unknown outcome are then dropped.
    fn is_read_only(&self, _op: &Self::Op) -> bool {
        false
    }

    /// A cheap necessary condition, checked before any search: the position (in `ops`) of an
    /// operation that can never be linearized whatever the order of the others, and why. The
    /// default finds nothing; a wrong answer here would make the checker wrong, so keep it simple.
    fn impossible_op(&self, _ops: &[PreparedOp<Self::Op>]) -> Option<(usize, String)> {
        None
    }

    /// Splits a history into independent parts. The default keeps operations with the same
    /// [`Operation::key`] together, which is right for every model whose keys do not interact.
    fn partition(&self, ops: &[Operation]) -> Vec<Partition> {
        partition_by_key(ops)
    }

    /// Describes a state for a person.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// Describes an operation for a person.
    fn describe_op(&self, op: &Operation) -> String {
        describe_operation(op)
    }
}

/// Groups operations by [`Operation::key`], ordered by key, each group in invocation order.
pub fn partition_by_key(ops: &[Operation]) -> Vec<Partition> {
    let mut groups: std::collections::BTreeMap<Option<&Value>, Vec<usize>> = Default::default();
    for (index, op) in ops.iter().enumerate() {
        groups.entry(op.key.as_ref()).or_default().push(index);
    }
    groups
        .into_iter()
        .map(|(key, ops)| Partition {
            key: key.cloned(),
            ops,
        })
        .collect()
}

/// A value as a person reads it: EDN-like (`nil`, `3`, `"x"`, `[1 2]`).
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::Nil => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(items) => {
            let inner: Vec<String> = items.iter().map(describe_value).collect();
            format!("[{}]", inner.join(" "))
        }
    }
}

/// An operation as a person reads it: `p3 write 4 -> ok`, `p1 read -> 2`, `p0 cas [1 2] -> ?`.
pub fn describe_operation(op: &Operation) -> String {
    let key = op
        .key
        .as_ref()
        .map(|k| format!(" key {}", describe_value(k)))
        .unwrap_or_default();
    let output = match &op.output {
        None => "? (outcome unknown)".to_string(),
        Some(v) => describe_value(v),
    };
    format!(
        "op {} (process {}{}): {} {} -> {}",
        op.id,
        op.process,
        key,
        op.f,
        describe_value(&op.input),
        output
    )
}
