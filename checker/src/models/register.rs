//! The single-value register: read, write and compare-and-set. It is the model behind both
//! `--model register` and `--model cas-register` (one model, two names): a history without cas
//! is checked exactly as a plain read/write register.
//!
//! The initial value is `nil`. A cas takes `[expected new]`; an ok cas with output `false` took
//! effect but its comparison failed (the register did not hold `expected`). A multi-key history
//! (operations with a `key`) is checked as one register per key.

use super::producers::{first_unproducible, ValueUse};
use crate::history::{Operation, Value};
use crate::model::{describe_value, Model, ModelError, PreparedOp};

/// A register operation in model form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read and the value it returned (`None`: outcome unknown).
    Read(Option<Value>),
    Write(Value),
    /// Compare-and-set; `succeeded` is `None` when the outcome is unknown.
    Cas {
        expected: Value,
        new: Value,
        succeeded: Option<bool>,
    },
}

/// Parses a register operation.
fn prepare_register_op(model: &'static str, op: &Operation) -> Result<RegisterOp, ModelError> {
    match op.f.as_str() {
        "read" | "get" | "r" => Ok(RegisterOp::Read(op.output.clone())),
        "write" | "put" | "w" => Ok(RegisterOp::Write(op.input.clone())),
        "cas" => match &op.input {
            Value::List(pair) if pair.len() == 2 => Ok(RegisterOp::Cas {
                expected: pair[0].clone(),
                new: pair[1].clone(),
                succeeded: op.output.as_ref().map(|out| *out != Value::Bool(false)),
            }),
            _ => Err(ModelError {
                model: model.to_string(),
                op_id: op.id,
                line: op.call_line,
                reason: format!(
                    "cas needs the input [expected new], got {}",
                    describe_value(&op.input)
                ),
            }),
        },
        _ => Err(ModelError::unsupported(model, op)),
    }
}

fn step_register(state: &Value, op: &RegisterOp) -> Option<Value> {
    match op {
        RegisterOp::Read(Some(value)) => (value == state).then(|| state.clone()),
        RegisterOp::Read(None) => Some(state.clone()),
        RegisterOp::Write(value) => Some(value.clone()),
        RegisterOp::Cas {
            expected,
            new,
            succeeded,
        } => match (succeeded, expected == state) {
            (Some(true), true) | (None, true) => Some(new.clone()),
            (Some(true), false) => None,
            (Some(false), true) => None,
            (Some(false), false) | (None, false) => Some(state.clone()),
        },
    }
}

fn register_value_use(op: &RegisterOp) -> ValueUse<'_, Value> {
    match op {
        RegisterOp::Read(read) => ValueUse {
            needs: read.as_ref(),
            writes: None,
        },
        RegisterOp::Write(value) => ValueUse {
            needs: None,
            writes: Some(value),
        },
        RegisterOp::Cas {
            expected,
            new,
            succeeded,
        } => ValueUse {
            needs: (*succeeded == Some(true)).then_some(expected),
            writes: (*succeeded != Some(false) && expected != new).then_some(new),
        },
    }
}

fn impossible_register_op(ops: &[PreparedOp<RegisterOp>]) -> Option<(usize, String)> {
    first_unproducible(ops, &Value::Nil, register_value_use, describe_value)
}

/// Heap bytes a register state holds, for the search's memory budget.
fn value_heap_bytes(state: &Value) -> usize {
    match state {
        Value::Str(s) => s.len(),
        Value::List(items) => items.len() * std::mem::size_of::<Value>(),
        _ => 0,
    }
}

/// A read/write/compare-and-set register, initially `nil`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Register;

impl Model for Register {
    type State = Value;
    type Op = RegisterOp;
    fn name(&self) -> &'static str {
        "register"
    }
    fn init(&self) -> Value {
        Value::Nil
    }
    fn prepare(&self, op: &Operation) -> Result<RegisterOp, ModelError> {
        prepare_register_op(self.name(), op)
    }
    fn step(&self, state: &Value, op: &RegisterOp) -> Option<Value> {
        step_register(state, op)
    }
    fn state_heap_bytes(&self, state: &Value) -> usize {
        value_heap_bytes(state)
    }
    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }
    fn impossible_op(&self, ops: &[PreparedOp<RegisterOp>]) -> Option<(usize, String)> {
        impossible_register_op(ops)
    }
    fn describe_state(&self, state: &Value) -> String {
        describe_value(state)
    }
}
