//! The KV operations on string keys and values, their results, and how one operation changes the
//! data map. Pure functions: no sessions, no indexes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One operation on the key/value map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Read a key. Served without a log entry on the read-index path ([`crate::kv::KvStateMachine::read`]),
    /// but also valid inside a logged [`crate::kv::Command`].
    Get { key: String },
    /// Set a key to a value.
    Put { key: String, value: String },
    /// Append `value` to the key's current value (an absent key counts as the empty string).
    Append { key: String, value: String },
    /// Compare-and-set: if the key's current value equals `expected` (`None` = the key is absent),
    /// set it to `new`.
    Cas {
        key: String,
        expected: Option<String>,
        new: String,
    },
    /// Remove a key.
    Delete { key: String },
}

impl Op {
    /// The key this operation touches.
    pub fn key(&self) -> &str {
        match self {
            Op::Get { key }
            | Op::Put { key, .. }
            | Op::Append { key, .. }
            | Op::Cas { key, .. }
            | Op::Delete { key } => key,
        }
    }

    /// True for operations that change (or may change) the map.
    pub fn is_write(&self) -> bool {
        !matches!(self, Op::Get { .. })
    }
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// The value read by a `Get` (`None` = absent).
    Value(Option<String>),
    /// A `Put` or `Append` took effect.
    Written,
    /// A `Cas` matched and took effect.
    CasOk,
    /// A `Cas` did not match and changed nothing; `current` is the value it found.
    CasMismatch { current: Option<String> },
    /// A `Delete` ran; `existed` says whether the key was present.
    Deleted { existed: bool },
}

/// Runs `op` against `data` and returns its result.
pub fn execute(data: &mut BTreeMap<String, String>, op: &Op) -> OpResult {
    match op {
        Op::Get { key } => OpResult::Value(data.get(key).cloned()),
        Op::Put { key, value } => {
            data.insert(key.clone(), value.clone());
            OpResult::Written
        }
        Op::Append { key, value } => {
            // Look up before inserting, so appending to an existing key does not copy the key.
            match data.get_mut(key) {
                Some(current) => current.push_str(value),
                None => {
                    data.insert(key.clone(), value.clone());
                }
            }
            OpResult::Written
        }
        Op::Cas { key, expected, new } => {
            let current = data.get(key);
            if current == expected.as_ref() {
                data.insert(key.clone(), new.clone());
                OpResult::CasOk
            } else {
                OpResult::CasMismatch {
                    current: current.cloned(),
                }
            }
        }
        Op::Delete { key } => OpResult::Deleted {
            existed: data.remove(key).is_some(),
        },
    }
}
