//! The decider for one key: recover the order from the reads, fit it to real time, and either
//! give a linearization or name the anomaly that rules every linearization out.

use crate::history::{Operation, Value};
use crate::model::describe_value;

use super::anomaly::{OrderAnomaly, OrderAnomalyKind};
use super::describe::{key_text, op_text};
use super::order::{recover_order, Recovered, Role, VersionOrder};
use super::realtime::{fit_real_time, Conflict};

/// The decider's answer for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision {
    /// Linearizable: operation ids in a valid order (appends of unknown outcome that no read
    /// shows, and reads of unknown outcome, are left out).
    Linearizable { witness: Vec<usize> },
    /// Not linearizable, and why.
    Violation(OrderAnomaly),
    /// The decider does not apply to this key (the reason); it needs the general search.
    Undecidable(String),
}

/// Decides one key's operations (`ops`, in invocation order, all with that key).
///
/// Requires of the key: every operation an `append` or a `read` (`r`) returning a list or
/// `nil`, and no element appended twice; otherwise [`KeyDecision::Undecidable`]. Under those
/// conditions the answer is exact (necessary and sufficient; see `docs/checker.md`).
pub fn decide_key(key: Option<&Value>, ops: &[&Operation]) -> KeyDecision {
    let order = match recover_order(key, ops) {
        Recovered::Order(order) => order,
        Recovered::Anomaly(anomaly) => return KeyDecision::Violation(anomaly),
        Recovered::Undecidable(reason) => return KeyDecision::Undecidable(reason),
    };
    match fit_real_time(&order) {
        Ok(sorted) => KeyDecision::Linearizable {
            witness: sorted.iter().map(|&i| order.placed[i].op.id).collect(),
        },
        Err(conflict) => KeyDecision::Violation(explain(key, &order, conflict)),
    }
}

/// Names a real-time conflict.
fn explain(key: Option<&Value>, order: &VersionOrder<'_>, conflict: Conflict<'_>) -> OrderAnomaly {
    let (x, y) = (conflict.earlier, conflict.later);
    let element_at = |position: usize| order.elements.get(position).map(|e| (*e).clone());
    let show =
        |position: usize| element_at(position).map_or("?".to_string(), |e| describe_value(&e));
    let longest = order.longest.map_or("no read".to_string(), op_text);
    let k = key_text(key);
    let (kind, element, description) = match (x.role, y.role) {
        (Role::Observed { position }, Role::Read { .. }) => (
            OrderAnomalyKind::FutureRead,
            element_at(position),
            format!(
                "future read: {}{k} returned {} before {} appending it was invoked",
                op_text(y.op),
                show(position),
                op_text(x.op)
            ),
        ),
        (Role::Observed { position }, Role::Observed { position: other }) => (
            OrderAnomalyKind::ReorderedAppend,
            element_at(other),
            format!(
                "reordered append: {}{k} of {} completed before {} of {} was invoked, yet the \
                 reads (the longest: {longest}) put {} first",
                op_text(y.op),
                show(other),
                op_text(x.op),
                show(position),
                show(position)
            ),
        ),
        (Role::Observed { position }, Role::Unobserved) => (
            OrderAnomalyKind::LostWrite,
            Some(y.op.input.clone()),
            format!(
                "lost write: {}{k} of {} was acknowledged before {} of {} was invoked; {} is \
                 read (by {longest}) but {} never is",
                op_text(y.op),
                describe_value(&y.op.input),
                op_text(x.op),
                show(position),
                show(position),
                describe_value(&y.op.input)
            ),
        ),
        (Role::Read { len }, Role::Read { len: newer }) => (
            OrderAnomalyKind::StaleRead,
            element_at(len),
            format!(
                "stale read: {}{k} returned {newer} elements before {} was invoked, which \
                 returned only {len} (missing {})",
                op_text(y.op),
                op_text(x.op),
                show(len)
            ),
        ),
        (Role::Read { len }, Role::Observed { position }) => (
            OrderAnomalyKind::StaleRead,
            element_at(position),
            format!(
                "stale read: {}{k} of {} was acknowledged before {} was invoked, which returned \
                 {len} elements without it (later reads, such as {longest}, show it)",
                op_text(y.op),
                show(position),
                op_text(x.op)
            ),
        ),
        (Role::Read { len }, Role::Unobserved) => (
            OrderAnomalyKind::LostWrite,
            Some(y.op.input.clone()),
            format!(
                "lost write: {}{k} of {} was acknowledged before {} was invoked, which \
                 returned {len} elements without it; no read ever shows it",
                op_text(y.op),
                describe_value(&y.op.input),
                op_text(x.op)
            ),
        ),
        // Nothing ranks above an unobserved append, so it is never the earlier of a conflict.
        (Role::Unobserved, _) => (
            OrderAnomalyKind::LostWrite,
            Some(x.op.input.clone()),
            format!(
                "lost write: {} and {}{k} cannot both fit real time",
                op_text(y.op),
                op_text(x.op)
            ),
        ),
    };
    OrderAnomaly {
        kind,
        key: key.cloned(),
        element,
        ops: vec![y.op.id, x.op.id],
        description,
    }
}
