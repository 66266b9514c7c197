//! A key-value store: `get`, `put`, `append`, `cas`, `delete`, one partition per key.
//!
//! Every key starts absent. As in Porcupine's KV tests, reading an absent key returns `""`; a read
//! of `nil` also means absent, and storing `""` is the same as deleting. `append` concatenates
//! strings (an absent key appends to `""`); appending a non-string makes or extends a list.
//! `cas` takes `[expected new]` (`nil` expects the key absent) with the cas-register outcome
//! convention (`false` = took effect, comparison failed).

use std::sync::Arc;

use super::producers::{first_unproducible, ValueUse};
use crate::history::{Operation, Value};
use crate::linearizability::PreparedOp;
use crate::model::{describe_value, Model, ModelError};

/// A key's value: `None` when absent (or `""`). Shared, so copying a state is cheap.
pub type KvValue = Option<Arc<Value>>;

/// Normalizes a value read or written: `nil` and `""` mean absent.
fn normalize(value: &Value) -> KvValue {
    match value {
        Value::Nil => None,
        Value::Str(s) if s.is_empty() => None,
        other => Some(Arc::new(other.clone())),
    }
}

/// A kv operation in model form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// A get and the value it returned (`None`: outcome unknown; `Some(None)`: absent).
    Get(Option<KvValue>),
    Put(KvValue),
    Append(Value),
    Cas {
        expected: KvValue,
        new: KvValue,
        succeeded: Option<bool>,
    },
    Delete,
}

fn append(state: &KvValue, suffix: &Value) -> KvValue {
    let joined = match (state.as_deref(), suffix) {
        (None, Value::Str(s)) => Value::Str(s.clone()),
        (None, other) => Value::List(vec![other.clone()]),
        (Some(Value::Str(prefix)), Value::Str(s)) => Value::Str(format!("{prefix}{s}")),
        (Some(Value::List(items)), other) => {
            let mut items = items.clone();
            items.push(other.clone());
            Value::List(items)
        }
        (Some(existing), other) => Value::List(vec![existing.clone(), other.clone()]),
    };
    normalize(&joined)
}

/// The kv model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

impl Model for Kv {
    type State = KvValue;
    type Op = KvOp;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> KvValue {
        None
    }

    fn prepare(&self, op: &Operation) -> Result<KvOp, ModelError> {
        match op.f.as_str() {
            "get" | "read" => Ok(KvOp::Get(op.output.as_ref().map(normalize))),
            "put" | "write" => Ok(KvOp::Put(normalize(&op.input))),
            "append" => Ok(KvOp::Append(op.input.clone())),
            "delete" => Ok(KvOp::Delete),
            "cas" => match &op.input {
                Value::List(pair) if pair.len() == 2 => Ok(KvOp::Cas {
                    expected: normalize(&pair[0]),
                    new: normalize(&pair[1]),
                    succeeded: op.output.as_ref().map(|out| *out != Value::Bool(false)),
                }),
                _ => Err(ModelError {
                    model: self.name().to_string(),
                    op_id: op.id,
                    line: op.call_line,
                    reason: format!(
                        "cas needs the input [expected new], got {}",
                        describe_value(&op.input)
                    ),
                }),
            },
            _ => Err(ModelError::unsupported(self.name(), op)),
        }
    }

    fn step(&self, state: &KvValue, op: &KvOp) -> Option<KvValue> {
        match op {
            KvOp::Get(Some(read)) => (read == state).then(|| state.clone()),
            KvOp::Get(None) => Some(state.clone()),
            KvOp::Put(value) => Some(value.clone()),
            KvOp::Append(suffix) => Some(append(state, suffix)),
            KvOp::Delete => Some(None),
            KvOp::Cas {
                expected,
                new,
                succeeded,
            } => match (succeeded, expected == state) {
                (Some(true), true) | (None, true) => Some(new.clone()),
                (Some(true), false) | (Some(false), true) => None,
                (Some(false), false) | (None, false) => Some(state.clone()),
            },
        }
    }

    fn is_read_only(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(_))
    }

    fn impossible_op(&self, ops: &[PreparedOp<KvOp>]) -> Option<(usize, String)> {
        if ops.iter().any(|op| matches!(op.op, KvOp::Append(_))) {
            return None;
        }
        first_unproducible(ops, &None, kv_value_use, |v| self.describe_state(v))
    }

    fn describe_state(&self, state: &KvValue) -> String {
        match state {
            None => "absent (\"\")".to_string(),
            Some(value) => describe_value(value),
        }
    }
}

fn kv_value_use(op: &KvOp) -> ValueUse<'_, KvValue> {
    match op {
        KvOp::Get(read) => ValueUse {
            needs: read.as_ref(),
            writes: None,
        },
        KvOp::Put(value) => ValueUse {
            needs: None,
            writes: Some(value),
        },
        KvOp::Cas {
            expected,
            new,
            succeeded,
        } => ValueUse {
            needs: (*succeeded == Some(true)).then_some(expected),
            writes: (*succeeded != Some(false) && expected != new).then_some(new),
        },
        KvOp::Append(_) | KvOp::Delete => ValueUse {
            needs: None,
            writes: None,
        },
    }
}
