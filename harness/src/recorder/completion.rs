//! How an operation ended, in history terms: `ok` with the value to record, `fail` (it surely did
//! not take effect) or `info` (it may have). This is where the client's definite/indefinite
//! distinction becomes the history's, so it is kept small and tested on its own.

use serde_json::Value as Json;

use crate::db::{ClientFailure, KvReply};
use crate::workload::OpSpec;

/// The completion of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    Ok(Json),
    Fail(String),
    Info(String),
}

impl Completion {
    /// Classifies a client result for `op`. A reply that does not fit the operation (say, a list
    /// that is not a list of integers) is recorded as `info` with the reason, and counted by the
    /// caller as a bad reply: it says nothing the checker could use, and hiding it would be worse.
    pub fn classify(op: &OpSpec, result: &Result<KvReply, ClientFailure>) -> Completion {
        match result {
            Ok(reply) => match op.ok_value(reply) {
                Ok(value) => Completion::Ok(value),
                Err(bad) => Completion::Info(format!("bad reply: {bad}")),
            },
            Err(failure) if failure.definite => Completion::Fail(failure.reason.clone()),
            Err(failure) => Completion::Info(failure.reason.clone()),
        }
    }

    /// The history's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Completion::Ok(_) => "ok",
            Completion::Fail(_) => "fail",
            Completion::Info(_) => "info",
        }
    }

    /// The reason of a `fail` or `info` (`None` for `ok`).
    pub fn error(&self) -> Option<&str> {
        match self {
            Completion::Ok(_) => None,
            Completion::Fail(reason) | Completion::Info(reason) => Some(reason),
        }
    }

    /// True when the logical client must continue under a new process id.
    pub fn is_indefinite(&self) -> bool {
        matches!(self, Completion::Info(_))
    }

    /// True for a reply that did not fit its operation.
    pub fn is_bad_reply(&self) -> bool {
        matches!(self, Completion::Info(reason) if reason.starts_with("bad reply: "))
    }
}
