//! Workloads: what the clients ask of the system, as seeded data.
//!
//! A workload is a [`WorkloadKind`] plus [`WorkloadOptions`]; each logical client (worker) gets its
//! own [`generator::WorkerGenerator`], seeded from the run seed and the worker's index, so the
//! sequence of operations a worker issues depends only on the seed, never on timing or replies.
//! [`op::OpSpec`] is one operation; it knows its history form (`f`, key, value), the request it
//! sends, and how to turn a reply into the value recorded in the history.

pub mod generator;
pub mod op;

use std::fmt;
use std::str::FromStr;

use checker::ModelKind;
use serde::{Deserialize, Serialize};

pub use generator::WorkerGenerator;
pub use op::OpSpec;

/// The workloads `gauntlet test --workload` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// One key: read, write, cas of small integers. Checked as a cas-register.
    Register,
    /// Many keys: get, put, append, cas of strings. Checked as a kv store.
    Kv,
    /// Many keys, each a list of unique integers: append one, read the whole list. Lost and
    /// duplicated elements show by construction. Checked as list-append.
    Append,
}

impl WorkloadKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Register => "register",
            WorkloadKind::Kv => "kv",
            WorkloadKind::Append => "append",
        }
    }

    /// The checker model for histories of this workload.
    pub fn model(self) -> ModelKind {
        match self {
            WorkloadKind::Register => ModelKind::CasRegister,
            WorkloadKind::Kv => ModelKind::Kv,
            WorkloadKind::Append => ModelKind::ListAppend,
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A workload name that is not one of register, kv, append.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown workload {0:?}: expected register, kv or append")]
pub struct UnknownWorkload(pub String);

impl FromStr for WorkloadKind {
    type Err = UnknownWorkload;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "register" => Ok(WorkloadKind::Register),
            "kv" => Ok(WorkloadKind::Kv),
            "append" => Ok(WorkloadKind::Append),
            other => Err(UnknownWorkload(other.to_string())),
        }
    }
}

/// Knobs of a workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadOptions {
    pub kind: WorkloadKind,
    pub seed: u64,
    /// Number of logical clients (workers).
    pub concurrency: usize,
    /// Keys in use at once (ignored by `register`, which has one).
    pub keys: usize,
    /// After this many of its own operations a worker moves on to fresh keys (0 = never), so no
    /// key's history grows without bound.
    pub key_churn_ops: usize,
}
