//! The entry point: pick a model by name, check a paired history, get a [`CheckReport`].

use std::str::FromStr;
use std::time::Duration;

use crate::anomalies::find_collection_anomalies;
use crate::history::Operation;
use crate::linearizability::check_model;
use crate::models::{CasRegister, Kv, ListAppend, Register, Set};
use crate::report::{CheckReport, Verdict};

/// The built-in models, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    Register,
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

/// Bounds and extras for a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// Give up with `Unknown` after this long.
    pub timeout: Option<Duration>,
    /// Give up with `Unknown` when the search's memo would hold more than this many bytes.
    pub memory_budget_bytes: usize,
    /// Worker threads for partitions; 0 = all cores.
    pub threads: usize,
    /// Produce a witness linearization for linearizable partitions.
    pub witness: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: None,
            memory_budget_bytes: 2 << 30,
            threads: 0,
            witness: false,
        }
    }
}

/// Checks paired operations (failed ones already dropped) against a built-in model.
pub fn check_operations(ops: &[Operation], model: ModelKind, opts: &CheckOptions) -> CheckReport {
    let mut report = match model {
        ModelKind::Register => check_model(&Register, ops, opts),
        ModelKind::CasRegister => check_model(&CasRegister, ops, opts),
        ModelKind::Kv => check_model(&Kv, ops, opts),
        ModelKind::ListAppend => check_model(&ListAppend, ops, opts),
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
