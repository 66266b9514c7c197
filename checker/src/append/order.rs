//! Recovers one key's version order from its reads: every appended element is unique and every
//! read returns the whole list, so the reads must all be prefixes of the longest one, and that
//! longest list is the order in which the observed elements were appended. Also finds the
//! anomalies visible without looking at time: an element read twice, an element nobody appended,
//! two reads that disagree on the order.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::history::{Operation, Value};
use crate::linearizability::hash::FxHasher;
use crate::model::describe_value;

use super::anomaly::{OrderAnomaly, OrderAnomalyKind};
use super::describe::{key_text, op_text};

/// Where an operation must take effect in the recovered order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A read that returned the first `len` elements of the order: it takes effect after the
    /// append of element `len - 1` and before the append of element `len`.
    Read { len: usize },
    /// An append whose element is at `position` in the order: it takes effect there.
    Observed { position: usize },
    /// An acknowledged append that no read shows: it takes effect after every read.
    Unobserved,
}

/// An operation with the place the order gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed<'a> {
    pub op: &'a Operation,
    pub role: Role,
}

/// A key's recovered order: the longest read, its elements, and every operation that constrains
/// the order with its role (appends of unknown outcome that no read shows are left out: they may
/// never have taken effect).
#[derive(Debug)]
pub(crate) struct VersionOrder<'a> {
    pub elements: Vec<&'a Value>,
    /// The read that returned the whole order (`None` when no read completed).
    pub longest: Option<&'a Operation>,
    pub placed: Vec<Placed<'a>>,
}

/// What recovering the order found.
#[derive(Debug)]
pub(crate) enum Recovered<'a> {
    Order(VersionOrder<'a>),
    Anomaly(OrderAnomaly),
    /// The decider's reasoning does not apply (two appends of one element); the reason.
    Undecidable(String),
}

fn is_read(op: &Operation) -> bool {
    matches!(op.f.as_str(), "read" | "r")
}

/// The elements a completed read returned (`nil` is the empty list); `None` for any other value.
fn read_list(op: &Operation) -> Option<&[Value]> {
    match op.output.as_ref()? {
        Value::List(items) => Some(items),
        Value::Nil => Some(&[]),
        _ => None,
    }
}

/// Recovers the order of one key's operations (`ops`, in invocation order). Operations must be
/// `append`s, or `read`s returning a list or `nil` (or of unknown outcome); anything else is
/// undecidable here.
pub(crate) fn recover_order<'a>(key: Option<&Value>, ops: &[&'a Operation]) -> Recovered<'a> {
    let mut appends: Vec<&'a Operation> = Vec::new();
    let mut appended: HashMap<&'a Value, usize, BuildHasherDefault<FxHasher>> = HashMap::default();
    let mut reads: Vec<(&'a Operation, &'a [Value])> = Vec::new();
    for &op in ops {
        if op.f == "append" {
            if let Some(&other) = appended.get(&op.input) {
                return Recovered::Undecidable(format!(
                    "ops {} and {} both append {}",
                    appends[other].id,
                    op.id,
                    describe_value(&op.input)
                ));
            }
            appended.insert(&op.input, appends.len());
            appends.push(op);
        } else if is_read(op) {
            if op.ret.is_none() {
                continue;
            }
            match read_list(op) {
                Some(list) => reads.push((op, list)),
                None => return Recovered::Undecidable(format!("op {} reads no list", op.id)),
            }
        } else {
            return Recovered::Undecidable(format!("op {} is a {:?}", op.id, op.f));
        }
    }

    // Each read as append indices; an element read twice or never appended is an anomaly.
    let mut seen_by: Vec<usize> = vec![usize::MAX; appends.len()];
    let mut as_indices: Vec<Vec<usize>> = Vec::with_capacity(reads.len());
    for (number, &(read, list)) in reads.iter().enumerate() {
        let mut indices = Vec::with_capacity(list.len());
        for element in list {
            let Some(&index) = appended.get(element) else {
                return Recovered::Anomaly(OrderAnomaly {
                    kind: OrderAnomalyKind::UnwrittenElement,
                    key: key.cloned(),
                    element: Some(element.clone()),
                    ops: vec![read.id],
                    description: format!(
                        "unwritten element: {}{} returned {}, which no append to this key that \
                         did not fail wrote",
                        op_text(read),
                        key_text(key),
                        describe_value(element)
                    ),
                });
            };
            if seen_by[index] == number {
                return Recovered::Anomaly(OrderAnomaly {
                    kind: OrderAnomalyKind::DuplicateElement,
                    key: key.cloned(),
                    element: Some(element.clone()),
                    ops: vec![read.id, appends[index].id],
                    description: format!(
                        "duplicate element: {}{} returned {} (appended once, by {}) more than once",
                        op_text(read),
                        key_text(key),
                        describe_value(element),
                        op_text(appends[index])
                    ),
                });
            }
            seen_by[index] = number;
            indices.push(index);
        }
        as_indices.push(indices);
    }

    // The longest read (the earliest invoked among equals) must extend every other.
    let longest = (0..reads.len()).max_by(|&a, &b| {
        as_indices[a]
            .len()
            .cmp(&as_indices[b].len())
            .then(b.cmp(&a))
    });
    let order: &[usize] = longest.map_or(&[], |l| &as_indices[l]);
    for (number, indices) in as_indices.iter().enumerate() {
        if let Some(at) = indices.iter().zip(order).position(|(a, b)| a != b) {
            let long = reads[longest.unwrap_or(number)].0;
            let read = reads[number].0;
            return Recovered::Anomaly(OrderAnomaly {
                kind: OrderAnomalyKind::IncompatibleOrder,
                key: key.cloned(),
                element: Some(appends[indices[at]].input.clone()),
                ops: vec![long.id, read.id],
                description: format!(
                    "incompatible order: {}{} and {} disagree at position {at}: one read {}, \
                     the other {}, so neither list is a prefix of the other",
                    op_text(long),
                    key_text(key),
                    op_text(read),
                    describe_value(&appends[order[at]].input),
                    describe_value(&appends[indices[at]].input)
                ),
            });
        }
    }

    let mut position: Vec<Option<usize>> = vec![None; appends.len()];
    for (at, &index) in order.iter().enumerate() {
        position[index] = Some(at);
    }
    let mut placed = Vec::with_capacity(ops.len());
    for (read, indices) in reads.iter().zip(&as_indices) {
        placed.push(Placed {
            op: read.0,
            role: Role::Read { len: indices.len() },
        });
    }
    for (index, append) in appends.iter().enumerate() {
        let role = match position[index] {
            Some(position) => Role::Observed { position },
            None if append.ret.is_some() => Role::Unobserved,
            None => continue,
        };
        placed.push(Placed { op: append, role });
    }
    Recovered::Order(VersionOrder {
        elements: order.iter().map(|&i| &appends[i].input).collect(),
        longest: longest.map(|l| reads[l].0),
        placed,
    })
}
