//! The entry point: pick a model by name, check a paired history, get a [`CheckReport`].

use std::str::FromStr;

use crate::anomalies::find_collection_anomalies;
use crate::append::check_list_append;
use crate::history::Operation;
use crate::linearizability::check_model;
use crate::models::{Kv, Register, Set};
use crate::report::{CheckReport, Verdict};

pub use crate::linearizability::CheckOptions;

/// The built-in models, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// The register ([`Register`]): read, write and cas.
    Register,
    /// The same model under the name histories, manifests and scripts already use
    /// (`cas-register`); kept so that name, and the name reports give back, stay as they were.
    CasRegister,
    Kv,
    ListAppend,
    Set,
}

/// A model name that is not one of the built-in models.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown model {0:?}: expected one of register, cas-register, kv, list-append, set")]
pub struct UnknownModel(pub String);

impl FromStr for ModelKind {
    type Err = UnknownModel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "register" => Ok(ModelKind::Register),
            "cas-register" => Ok(ModelKind::CasRegister),
            "kv" => Ok(ModelKind::Kv),
            "list-append" => Ok(ModelKind::ListAppend),
            "set" => Ok(ModelKind::Set),
            other => Err(UnknownModel(other.to_string())),
        }
    }
}

impl ModelKind {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::ListAppend => "list-append",
            ModelKind::Set => "set",
        }
    }
}

/// Checks paired operations (failed ones already dropped) against a built-in model.
///
/// `list-append` histories are decided per key by the search-free decider of [`crate::append`]
/// wherever it applies (unique appended elements), and by the search elsewhere; the report's
/// `method` says which.
pub fn check_operations(ops: &[Operation], model: ModelKind, opts: &CheckOptions) -> CheckReport {
    let mut report = match model {
        ModelKind::Register | ModelKind::CasRegister => check_model(&Register, ops, opts),
        ModelKind::Kv => check_model(&Kv, ops, opts),
        ModelKind::ListAppend => check_list_append(ops, opts),
        ModelKind::Set => check_model(&Set, ops, opts),
    };
    if matches!(model, ModelKind::ListAppend | ModelKind::Set) {
        report.anomalies = find_collection_anomalies(ops);
        if !report.anomalies.is_empty() && report.verdict != Verdict::NotLinearizable {
            tracing::warn!(
                verdict = ?report.verdict,
                "lost or duplicated elements found; the history is not linearizable"
            );
            report.verdict = Verdict::NotLinearizable;
        }
    }
    report
}
