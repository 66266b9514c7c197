//! `list-append`: each key holds a list; `append` adds one (unique) element at the end, `read`
//! returns the whole list. One partition per key. Lost and duplicated elements are also reported
//! without search by [`crate::anomalies`].

use std::sync::Arc;

use crate::history::{Operation, Value};
use crate::model::{describe_value, Model, ModelError};

/// A list-append operation in model form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOp {
    Append(Value),
    /// The list read (`None`: outcome unknown).
    Read(Option<Vec<Value>>),
}

/// Reads a list from a read's output: a list, or `nil` for the empty list.
pub(crate) fn as_elements(
    model: &str,
    op: &Operation,
    value: &Value,
) -> Result<Vec<Value>, ModelError> {
    match value {
        Value::List(items) => Ok(items.clone()),
        Value::Nil => Ok(Vec::new()),
        other => Err(ModelError {
            model: model.to_string(),
            op_id: op.id,
            line: op.call_line,
            reason: format!("a read must return a list, got {}", describe_value(other)),
        }),
    }
}

/// The list-append model.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListAppend;

impl Model for ListAppend {
    type State = Arc<Vec<Value>>;
    type Op = ListOp;

    fn name(&self) -> &'static str {
        "list-append"
    }

    fn init(&self) -> Self::State {
        Arc::new(Vec::new())
    }

    fn prepare(&self, op: &Operation) -> Result<ListOp, ModelError> {
        match op.f.as_str() {
            "append" => Ok(ListOp::Append(op.input.clone())),
            "read" | "r" => match &op.output {
                None => Ok(ListOp::Read(None)),
                Some(value) => Ok(ListOp::Read(Some(as_elements(self.name(), op, value)?))),
            },
            _ => Err(ModelError::unsupported(self.name(), op)),
        }
    }

    fn step(&self, state: &Self::State, op: &ListOp) -> Option<Self::State> {
        match op {
            ListOp::Append(element) => {
                let mut list = Vec::with_capacity(state.len() + 1);
                list.extend_from_slice(state);
                list.push(element.clone());
                Some(Arc::new(list))
            }
            ListOp::Read(Some(read)) => {
                (read.as_slice() == state.as_slice()).then(|| state.clone())
            }
            ListOp::Read(None) => Some(state.clone()),
        }
    }

    fn is_read_only(&self, op: &ListOp) -> bool {
        matches!(op, ListOp::Read(_))
    }

    fn describe_state(&self, state: &Self::State) -> String {
        describe_value(&Value::List(state.to_vec()))
    }
}
