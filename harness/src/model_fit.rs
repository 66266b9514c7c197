//! Whether a model can read every operation of a history, checked before the search so that a
//! history checked with the wrong model is reported as unusable input (exit code 3) naming the
//! first operation it cannot read, instead of an "unknown" verdict.

use checker::history::Operation;
use checker::model::{Model, ModelError};
use checker::models::{Kv, ListAppend, Register, Set};
use checker::ModelKind;

/// The first operation `model` cannot interpret, if any.
pub fn first_unreadable(ops: &[Operation], model: ModelKind) -> Option<ModelError> {
    match model {
        ModelKind::Register | ModelKind::CasRegister => first_error(&Register, ops),
        ModelKind::Kv => first_error(&Kv, ops),
        ModelKind::ListAppend => first_error(&ListAppend, ops),
        ModelKind::Set => first_error(&Set, ops),
    }
}

fn first_error<M: Model>(model: &M, ops: &[Operation]) -> Option<ModelError> {
    ops.iter().find_map(|op| model.prepare(op).err())
}
