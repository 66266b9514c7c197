//! How an operation ended, in history terms: `ok` with the value to record, `fail` (it surely did
//! not take effect) or `info` (it may have), a failure with its [`ErrorKind`] and reason. This is
//! where the client's definite/indefinite distinction becomes the history's, so it is kept small
//! and tested on its own.

use raft::client::ErrorKind;
use serde_json::Value as Json;

use crate::db::{ClientFailure, KvReply};
use crate::workload::OpSpec;

/// Why an operation failed: the history's `error_kind` and `error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub reason: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Failure {
        Failure {
            kind,
            reason: reason.into(),
        }
    }
}

/// The completion of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    Ok(Json),
    Fail(Failure),
    Info(Failure),
}

impl Completion {
    /// Classifies a client result for `op`. A reply that does not fit the operation (say, a list
    /// that is not a list of integers) is recorded as `info` of kind `bad-reply` with the reason,
    /// and counted by the caller as a bad reply: it says nothing the checker could use, and hiding
    /// it would be worse.
    pub fn classify(op: &OpSpec, result: &Result<KvReply, ClientFailure>) -> Completion {
        match result {
            Ok(reply) => match op.ok_value(reply) {
                Ok(value) => Completion::Ok(value),
                Err(bad) => Completion::Info(Failure::new(
                    ErrorKind::BadReply,
                    format!("bad reply: {bad}"),
                )),
            },
            Err(failure) => {
                let why = Failure::new(failure.kind, failure.reason.clone());
                if failure.definite {
                    Completion::Fail(why)
                } else {
                    Completion::Info(why)
                }
            }
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

    /// Why a `fail` or `info` happened (`None` for `ok`).
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Completion::Ok(_) => None,
            Completion::Fail(failure) | Completion::Info(failure) => Some(failure),
        }
    }

    /// The reason of a `fail` or `info` (`None` for `ok`).
    pub fn error(&self) -> Option<&str> {
        self.failure().map(|failure| failure.reason.as_str())
    }

    /// The kind of a `fail` or `info` (`None` for `ok`).
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.failure().map(|failure| failure.kind)
    }

    /// True when the logical client must continue under a new process id.
    pub fn is_indefinite(&self) -> bool {
        matches!(self, Completion::Info(_))
    }

    /// True for a reply that did not fit its operation.
    pub fn is_bad_reply(&self) -> bool {
        matches!(self, Completion::Info(failure) if failure.kind == ErrorKind::BadReply)
    }
}
