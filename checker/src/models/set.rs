//! `set`: each key holds a set; `add` inserts an element, `read` returns all elements (in any
//! order). One partition per key. Lost and duplicated elements are also reported without search
//! by [`crate::anomalies`].

use std::collections::BTreeSet;
use std::sync::Arc;

use super::list_append::as_elements;
use crate::history::{Operation, Value};
use crate::model::{describe_value, Model, ModelError};

/// A set operation in model form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOp {
    Add(Value),
    /// The elements read (`None`: outcome unknown).
    Read(Option<BTreeSet<Value>>),
}

/// The set model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Set;

impl Model for Set {
    type State = Arc<BTreeSet<Value>>;
    type Op = SetOp;

    fn name(&self) -> &'static str {
        "set"
    }

    fn init(&self) -> Self::State {
        Arc::new(BTreeSet::new())
    }

    fn prepare(&self, op: &Operation) -> Result<SetOp, ModelError> {
        match op.f.as_str() {
            "add" => Ok(SetOp::Add(op.input.clone())),
            "read" | "r" => match &op.output {
                None => Ok(SetOp::Read(None)),
                Some(value) => Ok(SetOp::Read(Some(
                    as_elements(self.name(), op, value)?.into_iter().collect(),
                ))),
            },
            _ => Err(ModelError::unsupported(self.name(), op)),
        }
    }

    fn step(&self, state: &Self::State, op: &SetOp) -> Option<Self::State> {
        match op {
            SetOp::Add(element) => {
                if state.contains(element) {
                    return Some(state.clone());
                }
                let mut set = (**state).clone();
                set.insert(element.clone());
                Some(Arc::new(set))
            }
            SetOp::Read(Some(read)) => (read == &**state).then(|| state.clone()),
            SetOp::Read(None) => Some(state.clone()),
        }
    }

    fn is_read_only(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn describe_state(&self, state: &Self::State) -> String {
        describe_value(&Value::List(state.iter().cloned().collect()))
    }
}
