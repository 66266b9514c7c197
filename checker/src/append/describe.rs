//! How the list-append decider names operations and keys in its explanations.

use crate::history::{Operation, Value};
use crate::model::describe_value;

/// `read op 7 (process 2, line 15)`.
pub(crate) fn op_text(op: &Operation) -> String {
    format!(
        "{} op {} (process {}, line {})",
        op.f, op.id, op.process, op.call_line
    )
}

/// ` on key "k3"`, or nothing for a history without keys.
pub(crate) fn key_text(key: Option<&Value>) -> String {
    key.map(|k| format!(" on key {}", describe_value(k)))
        .unwrap_or_default()
}
