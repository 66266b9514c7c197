//! One workload operation ([`OpSpec`]): its history form, the request it sends to the system under
//! test, and the history value of a reply.
//!
//! `OpSpec` is not a second KV operation type: the operation sent is always the one KV operation
//! type, [`raft::kv::Op`], made in one place ([`OpSpec::request`]). What `OpSpec` adds is what the
//! operation means in the history, which the wire operation cannot tell: a register op has no key
//! and integer values (stored as text under [`REGISTER_KEY`]), a list-append op adds one integer
//! element (stored as `"17,"`) and its read returns a list.
//!
//! History conventions (see `docs/history-format.md` and the checker's models): register ops have
//! no key and integer values; kv ops use string keys and values, `cas` takes `[expected, new]` and
//! completes `ok` with `true` (swapped) or `false` (compared, did not match); list-append keys
//! hold comma-separated integers in the store (`"3,17,"`) and reads are recorded as lists.

use raft::kv::Op;
use serde_json::{json, Value as Json};

use crate::db::KvReply;

/// The one key of the register workload.
pub const REGISTER_KEY: &str = "register";

/// One operation a worker issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpSpec {
    RegisterRead,
    RegisterWrite(i64),
    RegisterCas {
        expected: i64,
        new: i64,
    },
    KvGet {
        key: String,
    },
    KvPut {
        key: String,
        value: String,
    },
    KvAppend {
        key: String,
        value: String,
    },
    KvCas {
        key: String,
        expected: String,
        new: String,
    },
    ListAppend {
        key: String,
        element: i64,
    },
    ListRead {
        key: String,
    },
}

/// A reply that does not fit the operation (a bug in the system or the client).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unexpected reply {reply} to {f}: {reason}")]
pub struct BadReply {
    pub f: &'static str,
    pub reply: String,
    pub reason: String,
}

impl OpSpec {
    /// The history's `f`.
    pub fn f(&self) -> &'static str {
        match self {
            OpSpec::RegisterRead | OpSpec::ListRead { .. } => "read",
            OpSpec::RegisterWrite(_) => "write",
            OpSpec::RegisterCas { .. } | OpSpec::KvCas { .. } => "cas",
            OpSpec::KvGet { .. } => "get",
            OpSpec::KvPut { .. } => "put",
            OpSpec::KvAppend { .. } | OpSpec::ListAppend { .. } => "append",
        }
    }

    /// The key in the store this operation touches.
    pub fn store_key(&self) -> &str {
        match self {
            OpSpec::RegisterRead | OpSpec::RegisterWrite(_) | OpSpec::RegisterCas { .. } => {
                REGISTER_KEY
            }
            OpSpec::KvGet { key }
            | OpSpec::KvPut { key, .. }
            | OpSpec::KvAppend { key, .. }
            | OpSpec::KvCas { key, .. }
            | OpSpec::ListAppend { key, .. }
            | OpSpec::ListRead { key } => key,
        }
    }

    /// The history's `key` (none for the single register).
    pub fn history_key(&self) -> Option<&str> {
        match self {
            OpSpec::RegisterRead | OpSpec::RegisterWrite(_) | OpSpec::RegisterCas { .. } => None,
            _ => Some(self.store_key()),
        }
    }

    /// True for operations that only read.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            OpSpec::RegisterRead | OpSpec::KvGet { .. } | OpSpec::ListRead { .. }
        )
    }

    /// The invocation's `value` in the history.
    pub fn invoke_value(&self) -> Json {
        match self {
            OpSpec::RegisterRead | OpSpec::KvGet { .. } | OpSpec::ListRead { .. } => Json::Null,
            OpSpec::RegisterWrite(v) => json!(v),
            OpSpec::RegisterCas { expected, new } => json!([expected, new]),
            OpSpec::KvPut { value, .. } | OpSpec::KvAppend { value, .. } => json!(value),
            OpSpec::KvCas { expected, new, .. } => json!([expected, new]),
            OpSpec::ListAppend { element, .. } => json!(element),
        }
    }

    /// The KV operation to send.
    pub fn request(&self) -> Op {
        let key = self.store_key().to_string();
        match self {
            OpSpec::RegisterRead | OpSpec::KvGet { .. } | OpSpec::ListRead { .. } => {
                Op::Get { key }
            }
            OpSpec::RegisterWrite(v) => Op::Put {
                key,
                value: v.to_string(),
            },
            OpSpec::RegisterCas { expected, new } => Op::Cas {
                key,
                expected: Some(expected.to_string()),
                new: new.to_string(),
            },
            OpSpec::KvPut { value, .. } => Op::Put {
                key,
                value: value.clone(),
            },
            OpSpec::KvAppend { value, .. } => Op::Append {
                key,
                value: value.clone(),
            },
            OpSpec::KvCas { expected, new, .. } => Op::Cas {
                key,
                expected: Some(expected.clone()),
                new: new.clone(),
            },
            OpSpec::ListAppend { element, .. } => Op::Append {
                key,
                value: format!("{element},"),
            },
        }
    }

    /// The `ok` completion's value for a reply.
    pub fn ok_value(&self, reply: &KvReply) -> Result<Json, BadReply> {
        let bad = |reason: &str| BadReply {
            f: self.f(),
            reply: format!("{reply:?}"),
            reason: reason.to_string(),
        };
        match (self, reply) {
            (OpSpec::RegisterRead, KvReply::Value(None)) => Ok(Json::Null),
            (OpSpec::RegisterRead, KvReply::Value(Some(text))) => text
                .parse::<i64>()
                .map(|v| json!(v))
                .map_err(|_| bad("the register holds a non-integer")),
            (OpSpec::KvGet { .. }, KvReply::Value(value)) => Ok(json!(value)),
            (OpSpec::ListRead { .. }, KvReply::Value(value)) => {
                parse_list(value.as_deref().unwrap_or(""))
                    .map(|list| json!(list))
                    .ok_or_else(|| {
                        bad("the list holds something other than comma-separated integers")
                    })
            }
            (
                OpSpec::RegisterWrite(_)
                | OpSpec::KvPut { .. }
                | OpSpec::KvAppend { .. }
                | OpSpec::ListAppend { .. },
                KvReply::Written,
            ) => Ok(self.invoke_value()),
            (OpSpec::RegisterCas { .. } | OpSpec::KvCas { .. }, KvReply::Cas(swapped)) => {
                Ok(json!(swapped))
            }
            _ => Err(bad("the reply does not match the operation")),
        }
    }
}

/// Parses a stored list `"3,17,"` into its elements; `None` if any element is not an integer.
pub fn parse_list(text: &str) -> Option<Vec<i64>> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<i64>().ok())
        .collect()
}
