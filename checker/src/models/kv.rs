//! A key-value store: `get`, `put`, `append`, `cas`, `delete`, one partition per key.
//!
//! Every key starts absent. As in Porcupine's KV tests, reading an absent key returns `""`; a read
//! of `nil` also means absent, and storing `""` is the same as deleting. `append` concatenates
//! strings (an absent key appends to `""`); appending a non-string makes or extends a list.
//! `cas` takes `[expected new]` (`nil` expects the key absent) with the cas-register outcome
//! convention (`false` = took effect, comparison failed).

use std::sync::Arc;

use super::producers::{first_unproducible, ValueUse};
use super::text::{Piece, Text};
use crate::history::{Operation, Value};
use crate::model::{describe_value, Model, ModelError, PreparedOp};

/// A key's value. Strings are kept as [`Text`] so appends and comparisons are cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvValue {
    /// Absent, `nil` or `""`.
    Absent,
    Text(Text),
    /// Any other value (numbers, lists, ...).
    Other(Arc<Value>),
}

/// Normalizes a value read or written: `nil` and `""` mean absent.
fn normalize(value: &Value) -> KvValue {
    match value {
        Value::Nil => KvValue::Absent,
        Value::Str(s) => Text::from_piece(&Piece::new(s)).map_or(KvValue::Absent, KvValue::Text),
        other => KvValue::Other(Arc::new(other.clone())),
    }
}

/// An append's argument, with its text form precomputed when it is a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suffix {
    value: Value,
    piece: Option<Piece>,
}

/// A kv operation in model form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// A get and the value it returned (`None`: outcome unknown), with the rolling hashes of
    /// every prefix of a string read (for [`Model::hopeless`]).
    Get(Option<KvValue>, Option<Arc<[u64]>>),
    Put(KvValue),
    Append(Suffix),
    Cas {
        expected: KvValue,
        new: KvValue,
        succeeded: Option<bool>,
    },
    Delete,
}

fn append(state: &KvValue, suffix: &Suffix) -> KvValue {
    match (state, &suffix.piece) {
        (KvValue::Absent, Some(piece)) => {
            Text::from_piece(piece).map_or(KvValue::Absent, KvValue::Text)
        }
        (KvValue::Text(text), Some(piece)) => KvValue::Text(text.append(piece)),
        (KvValue::Absent, None) => {
            KvValue::Other(Arc::new(Value::List(vec![suffix.value.clone()])))
        }
        (KvValue::Text(text), None) => KvValue::Other(Arc::new(Value::List(vec![
            Value::Str(text.to_text()),
            suffix.value.clone(),
        ]))),
        (KvValue::Other(existing), _) => {
            let joined = match &**existing {
                Value::List(items) => {
                    let mut items = items.clone();
                    items.push(suffix.value.clone());
                    Value::List(items)
                }
                other => Value::List(vec![other.clone(), suffix.value.clone()]),
            };
            KvValue::Other(Arc::new(joined))
        }
    }
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
        KvValue::Absent
    }

    fn prepare(&self, op: &Operation) -> Result<KvOp, ModelError> {
        // Byte patterns: matching `&str` literals calls `memcmp` for every operation.
        match op.f.as_bytes() {
            [b'g', b'e', b't'] | [b'r', b'e', b'a', b'd'] => Ok(match &op.output {
                // One piece gives both the value read and its prefixes' hashes.
                Some(Value::Str(s)) => {
                    let piece = Piece::new(s);
                    let prefixes = Arc::from(piece.prefix_hashes());
                    let read = Text::from_piece(&piece).map_or(KvValue::Absent, KvValue::Text);
                    KvOp::Get(Some(read), Some(prefixes))
                }
                output => KvOp::Get(output.as_ref().map(normalize), None),
            }),
            [b'p', b'u', b't'] | [b'w', b'r', b'i', b't', b'e'] => {
                Ok(KvOp::Put(normalize(&op.input)))
            }
            [b'a', b'p', b'p', b'e', b'n', b'd'] => Ok(KvOp::Append(Suffix {
                value: op.input.clone(),
                piece: match &op.input {
                    Value::Str(s) => Some(Piece::new(s)),
                    _ => None,
                },
            })),
            [b'd', b'e', b'l', b'e', b't', b'e'] => Ok(KvOp::Delete),
            [b'c', b'a', b's'] => match &op.input {
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
            KvOp::Get(Some(read), _) => (read == state).then(|| state.clone()),
            KvOp::Get(None, _) => Some(state.clone()),
            KvOp::Put(value) => Some(value.clone()),
            KvOp::Append(suffix) => Some(append(state, suffix)),
            KvOp::Delete => Some(KvValue::Absent),
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

    fn state_heap_bytes(&self, state: &KvValue) -> usize {
        match state {
            KvValue::Absent => 0,
            // Each new text adds one shared chunk.
            KvValue::Text(_) => 64,
            KvValue::Other(value) => 32 + value_heap_bytes(value),
        }
    }

    fn is_read_only(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(..))
    }

    /// When the first operation to return is a get of a string and nothing that may go before it
    /// can reset the key (put, cas, delete, or a non-string append), the state can only grow by
    /// appending: it must already be a prefix of what the get read.
    fn hopeless(
        &self,
        state: &KvValue,
        deadline: &KvOp,
        before: &mut dyn Iterator<Item = &KvOp>,
    ) -> bool {
        let KvOp::Get(Some(_), Some(prefixes)) = deadline else {
            return false;
        };
        let KvValue::Text(text) = state else {
            return false;
        };
        if text.may_prefix(prefixes) {
            return false;
        }
        for op in before {
            let only_grows = match op {
                KvOp::Get(..) => true,
                KvOp::Append(suffix) => suffix.piece.is_some(),
                KvOp::Put(_) | KvOp::Cas { .. } | KvOp::Delete => false,
            };
            if !only_grows {
                return false;
            }
        }
        true
    }

    fn prunes(&self) -> bool {
        true
    }

    fn impossible_op(&self, ops: &[PreparedOp<KvOp>]) -> Option<(usize, String)> {
        if ops.iter().any(|op| matches!(op.op, KvOp::Append(_))) {
            return None;
        }
        first_unproducible(ops, &KvValue::Absent, kv_value_use, |v| {
            self.describe_state(v)
        })
    }

    fn describe_state(&self, state: &KvValue) -> String {
        match state {
            KvValue::Absent => "absent (\"\")".to_string(),
            KvValue::Text(text) => describe_value(&Value::Str(text.to_text())),
            KvValue::Other(value) => describe_value(value),
        }
    }
}

fn kv_value_use(op: &KvOp) -> ValueUse<'_, KvValue> {
    match op {
        KvOp::Get(read, _) => ValueUse {
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

/// Heap bytes of a value, roughly.
fn value_heap_bytes(value: &Value) -> usize {
    match value {
        Value::Str(s) => s.len(),
        Value::List(items) => items
            .iter()
            .map(|v| std::mem::size_of::<Value>() + value_heap_bytes(v))
            .sum(),
        Value::Nil | Value::Bool(_) | Value::Int(_) => 0,
    }
}
