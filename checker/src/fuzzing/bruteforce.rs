//! A reference linearizability checker for tiny histories: tries every order of the operations
//! of each key (completed ones all placed, unknown ones placed or left out) that respects real
//! time, stepping the model. No memo, no pruning, no cleverness: slow and obviously right.

use std::collections::BTreeMap;

use crate::history::{Operation, Value};
use crate::model::Model;
use crate::models::{Kv, ListAppend, Register, Set};
use crate::ModelKind;

/// Whether `ops` is linearizable under `model`, by exhaustive search; `None` when the model
/// cannot read one of the operations. Exponential: meant for a handful of operations.
pub fn brute_force_linearizable(model: ModelKind, ops: &[Operation]) -> Option<bool> {
    match model {
        ModelKind::Register | ModelKind::CasRegister => per_key(&Register, ops),
        ModelKind::Kv => per_key(&Kv, ops),
        ModelKind::ListAppend => per_key(&ListAppend, ops),
        ModelKind::Set => per_key(&Set, ops),
    }
}

/// Keys are independent in every built-in model: a history is linearizable when each key's is.
fn per_key<M: Model>(model: &M, ops: &[Operation]) -> Option<bool> {
    let mut by_key: BTreeMap<Option<&Value>, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.key.as_ref()).or_default().push(op);
    }
    let mut all = true;
    for group in by_key.values() {
        let prepared: Vec<M::Op> = group
            .iter()
            .map(|op| model.prepare(op).ok())
            .collect::<Option<_>>()?;
        let mut placed = vec![false; group.len()];
        all &= search(model, group, &prepared, &mut placed, &model.init());
    }
    Some(all)
}

fn search<M: Model>(
    model: &M,
    ops: &[&Operation],
    prepared: &[M::Op],
    placed: &mut [bool],
    state: &M::State,
) -> bool {
    let done = ops
        .iter()
        .zip(placed.iter())
        .all(|(op, &is_placed)| is_placed || op.ret.is_none());
    if done {
        return true;
    }
    for next in 0..ops.len() {
        if placed[next] {
            continue;
        }
        // Real time: `next` cannot come before an operation that returned before it was called.
        let must_wait = (0..ops.len()).any(|other| {
            !placed[other] && other != next && ops[other].ret.is_some_and(|r| r < ops[next].call)
        });
        if must_wait {
            continue;
        }
        if let Some(after) = model.step(state, &prepared[next]) {
            placed[next] = true;
            let found = search(model, ops, prepared, placed, &after);
            placed[next] = false;
            if found {
                return true;
            }
        }
    }
    false
}
