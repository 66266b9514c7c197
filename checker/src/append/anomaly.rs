//! What the list-append decider ([`crate::append`]) reports when a key has no linearization: a
//! named anomaly, the element it is about, and the operations that show it.

use serde::Serialize;

use crate::history::Value;

/// The kind of an anomaly the list-append decider names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderAnomalyKind {
    /// A read returned the same element more than once.
    DuplicateElement,
    /// A read returned an element that no append to this key (that did not fail) wrote: a failed
    /// append's element, another key's, or garbage.
    UnwrittenElement,
    /// Two reads returned lists neither of which is a prefix of the other.
    IncompatibleOrder,
    /// An acknowledged append that no read ever shows is missing where real time demands it.
    LostWrite,
    /// A read returned an older list than an operation that completed before it was invoked had
    /// already made visible (a shorter list than an earlier read, or one missing an acknowledged
    /// append that later reads show).
    StaleRead,
    /// A read returned an element whose append had not been invoked yet when the read completed.
    FutureRead,
    /// Reads order one append before another, but the other completed before the one was invoked.
    ReorderedAppend,
}

impl OrderAnomalyKind {
    /// The kebab-case name reports use.
    pub fn name(self) -> &'static str {
        match self {
            OrderAnomalyKind::DuplicateElement => "duplicate-element",
            OrderAnomalyKind::UnwrittenElement => "unwritten-element",
            OrderAnomalyKind::IncompatibleOrder => "incompatible-order",
            OrderAnomalyKind::LostWrite => "lost-write",
            OrderAnomalyKind::StaleRead => "stale-read",
            OrderAnomalyKind::FutureRead => "future-read",
            OrderAnomalyKind::ReorderedAppend => "reordered-append",
        }
    }
}

/// One anomaly found by the list-append decider: proof that its key has no linearization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderAnomaly {
    pub kind: OrderAnomalyKind,
    pub key: Option<Value>,
    /// The element the anomaly is about, when there is one.
    pub element: Option<Value>,
    /// Operation ids that show it (for a real-time anomaly: first the operation that completed
    /// first, then the one that was invoked after it yet must take effect before it).
    pub ops: Vec<usize>,
    pub description: String,
}
