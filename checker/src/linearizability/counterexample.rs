//! Turns a failed search into a [`Counterexample`] a person can follow: the longest linearizable
//! prefix, the state after it, the operations that cannot go next (and why), and the operations
//! concurrent with them.

use crate::history::Value;
use crate::model::{describe_value, Model, PreparedOp};
use crate::report::{BlockedOperation, Counterexample};

/// Builds the counterexample for a partition whose search failed after `prefix` (positions into
/// `ops`, in linearization order) with `state` after it.
pub fn build<M: Model>(
    model: &M,
    key: Option<&Value>,
    ops: &[PreparedOp<M::Op>],
    prefix: &[u32],
    state: &M::State,
) -> Counterexample {
    let mut placed = vec![false; ops.len()];
    for &position in prefix {
        placed[position as usize] = true;
    }
    // The remaining completed operation that returned first must go before anything invoked later.
    let deadline_op = (0..ops.len())
        .filter(|&i| !placed[i])
        .filter_map(|i| ops[i].ret.map(|ret| (ret, i)))
        .min()
        .map(|(_, i)| i);
    let state_text = model.describe_state(state);
    let Some(must) = deadline_op else {
        return Counterexample {
            key: key.cloned(),
            prefix: prefix.iter().map(|&p| ops[p as usize].id).collect(),
            state_after_prefix: state_text,
            blocked: Vec::new(),
            concurrent: Vec::new(),
            explanation: "every completed operation fits, yet the search failed".to_string(),
            anomaly: None,
        };
    };
    let must_ret = ops[must].ret.unwrap_or(usize::MAX);
    let mut blocked = Vec::new();
    let mut dead_ends = Vec::new();
    let candidates = (0..ops.len()).filter(|&i| !placed[i] && ops[i].call < must_ret);
    for i in candidates {
        match model.step(state, &ops[i].op) {
            None => blocked.push(BlockedOperation {
                op: ops[i].id,
                reason: format!("impossible when the state is {state_text}"),
            }),
            Some(next) => dead_ends.push((i, model.describe_state(&next))),
        }
    }
    // The operation that must go next comes first.
    blocked.sort_by_key(|b| b.op != ops[must].id);
    for (i, next) in &dead_ends {
        blocked.push(BlockedOperation {
            op: ops[*i].id,
            reason: format!(
                "possible (state becomes {next}), but then no order of the remaining operations fits"
            ),
        });
    }
    let named: Vec<usize> = blocked.iter().map(|b| b.op).collect();
    let must_call = ops[must].call;
    let concurrent = ops
        .iter()
        .filter(|op| !named.contains(&op.id))
        .filter(|op| op.call < must_ret && op.ret.is_none_or(|r| r > must_call))
        .map(|op| op.id)
        .collect();
    let key_text = key.map_or("the history".to_string(), |k| {
        format!("key {}", describe_value(k))
    });
    let explanation = format!(
        "In {key_text}, after the {} operations of the longest linearizable prefix the state is \
         {state_text}. Operation {} is the first remaining operation to return, so it, or an \
         operation invoked before it returned, must take effect next, and none of them can.",
        prefix.len(),
        ops[must].id
    );
    Counterexample {
        key: key.cloned(),
        prefix: prefix.iter().map(|&p| ops[p as usize].id).collect(),
        state_after_prefix: state_text,
        blocked,
        concurrent,
        explanation,
        anomaly: None,
    }
}
