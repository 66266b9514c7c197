//! The cheap necessary condition shared by the value models (register, cas-register, kv without
//! appends): an operation that needs the value `v` in place (a read of `v`, a successful cas
//! expecting `v`) can only be linearized if `v` is the initial value or some operation that writes
//! `v` was invoked before it returned.

use std::collections::HashMap;
use std::hash::Hash;

use crate::model::PreparedOp;

/// What an operation needs and what it may write, as seen by [`first_unproducible`].
pub struct ValueUse<'a, V> {
    /// The value that must be in place for the operation to be linearized.
    pub needs: Option<&'a V>,
    /// The value the operation may write (when it changes the state).
    pub writes: Option<&'a V>,
}

/// The position of the first operation (in `ops` order) needing a value no one could have written
/// in time, with the reason; `describe` names a value for the reason.
pub fn first_unproducible<'a, O, V: Eq + Hash + 'a>(
    ops: &'a [PreparedOp<O>],
    initial: &V,
    uses: impl Fn(&'a O) -> ValueUse<'a, V>,
    describe: impl Fn(&V) -> String,
) -> Option<(usize, String)> {
    let mut earliest_write: HashMap<&V, usize> = HashMap::new();
    for op in ops {
        if let Some(written) = uses(&op.op).writes {
            let call = earliest_write.entry(written).or_insert(op.call);
            *call = (*call).min(op.call);
        }
    }
    for (position, op) in ops.iter().enumerate() {
        let Some(needed) = uses(&op.op).needs else {
            continue;
        };
        if needed == initial {
            continue;
        }
        let ret = op.ret.unwrap_or(usize::MAX);
        let written_in_time = earliest_write.get(needed).is_some_and(|&call| call < ret);
        if !written_in_time {
            return Some((
                position,
                format!(
                    "it needs the value {}, which is not the initial value and which no operation \
                     invoked before it returned could have written",
                    describe(needed)
                ),
            ));
        }
    }
    None
}
