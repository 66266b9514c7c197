//! The result of a check: verdict, per-partition outcomes, counterexample, anomalies and search
//! statistics, as serde-serializable data (for `--json` and viewers) and as text a person can follow.

use serde::Serialize;

use crate::anomalies::Anomaly;
use crate::append::OrderAnomaly;
use crate::history::{Operation, Value};
use crate::model::{describe_operation, describe_value};

/// Whether the history could have come from one correct copy of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    Linearizable,
    NotLinearizable,
    /// The search could not decide (time or memory bound reached, or the model could not read an operation).
    Unknown {
        reason: String,
    },
}

impl Verdict {
    /// The process exit code: 0 linearizable, 1 not linearizable, 2 unknown.
    pub fn exit_code(&self) -> i32 {
        match self {
            Verdict::Linearizable => 0,
            Verdict::NotLinearizable => 1,
            Verdict::Unknown { .. } => 2,
        }
    }
}

/// How one partition (key) was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The general linearizability search (with its cheap necessary conditions).
    Search,
    /// The list-append decider (`crate::append`): the order the reads show, fitted to real time.
    AppendOrder,
}

/// How a whole check was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckMethod {
    /// Every partition by the search.
    Search,
    /// Every partition by the list-append decider.
    AppendOrder,
    /// Some partitions by the decider, the others (where it does not apply) by the search.
    AppendOrderAndSearch,
}

impl CheckMethod {
    /// The kebab-case name reports use.
    pub fn name(self) -> &'static str {
        match self {
            CheckMethod::Search => "search",
            CheckMethod::AppendOrder => "append-order",
            CheckMethod::AppendOrderAndSearch => "append-order-and-search",
        }
    }
}

/// The outcome for one partition (one key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    pub key: Option<Value>,
    /// Operations in this partition (after dropping reads whose outcome is unknown).
    pub operations: usize,
    pub verdict: Verdict,
    /// For a linearizable partition when asked: operation ids in a valid linearization order
    /// (operations with unknown outcome that were never needed are left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Vec<usize>>,
    /// Search steps spent on this partition.
    pub steps: u64,
    /// What decided it.
    pub method: Method,
}

/// An operation that cannot be placed after the longest linearizable prefix, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockedOperation {
    pub op: usize,
    pub reason: String,
}

/// Why a history is not linearizable, in terms a person (or a viewer) can follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counterexample {
    /// The partition (key) that has no linearization.
    pub key: Option<Value>,
    /// Operation ids of the longest linearizable prefix found, in linearization order.
    pub prefix: Vec<usize>,
    /// The model state after that prefix.
    pub state_after_prefix: String,
    /// The operation that must take effect next (it returned before anything still open could),
    /// and every other candidate, with the reason each cannot go next.
    pub blocked: Vec<BlockedOperation>,
    /// Operations concurrent with the blocked ones (their intervals overlap).
    pub concurrent: Vec<usize>,
    /// One-paragraph explanation.
    pub explanation: String,
    /// When the list-append decider proved the violation: the named anomaly (the prefix is then
    /// empty: the decider does not search).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<OrderAnomaly>,
}

/// Counters of the search, for tuning and for the benchmark notes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SearchStats {
    pub operations: usize,
    pub partitions: usize,
    /// Model steps tried, over all partitions.
    pub steps: u64,
    /// Entries the memo held at most (summed over partitions).
    pub memo_entries: u64,
    /// Bytes the search's memo and states held at most at one time (estimate).
    pub peak_memory_bytes: usize,
    /// Partitions decided by a cheap necessary condition without search.
    pub decided_without_search: usize,
    /// Partitions decided by the list-append decider (no search at all).
    pub decided_by_append_order: usize,
    pub elapsed_ms: f64,
}

/// Everything a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub verdict: Verdict,
    pub partitions: Vec<PartitionReport>,
    pub anomalies: Vec<Anomaly>,
    /// Anomalies the list-append decider proved, one per key it found not linearizable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_anomalies: Vec<OrderAnomaly>,
    pub counterexample: Option<Counterexample>,
    /// What decided the verdict.
    pub method: CheckMethod,
    pub stats: SearchStats,
}

impl CheckReport {
    /// A report a person can follow, naming operations by id, process, function and source line.
    pub fn render_text(&self, ops: &[Operation]) -> String {
        let by_id = |id: usize| -> String {
            match ops.iter().find(|op| op.id == id) {
                Some(op) => format!("{} [line {}]", describe_operation(op), op.call_line),
                None => format!("op {id}"),
            }
        };
        let mut out = String::new();
        let verdict = match &self.verdict {
            Verdict::Linearizable => "linearizable".to_string(),
            Verdict::NotLinearizable => "NOT linearizable".to_string(),
            Verdict::Unknown { reason } => format!("unknown: {reason}"),
        };
        out.push_str(&format!(
            "verdict: {verdict}\n{} operations in {} partitions, {} search steps, {:.1} ms\n",
            self.stats.operations, self.stats.partitions, self.stats.steps, self.stats.elapsed_ms
        ));
        out.push_str(&format!("decided by: {}", self.method.name()));
        if self.method == CheckMethod::AppendOrderAndSearch {
            out.push_str(&format!(
                " ({} of {} partitions by the list-append order, the rest by search)",
                self.stats.decided_by_append_order, self.stats.partitions
            ));
        }
        out.push('\n');
        for anomaly in &self.anomalies {
            out.push_str(&format!("anomaly: {}\n", anomaly.description));
        }
        for anomaly in &self.order_anomalies {
            out.push_str(&format!(
                "anomaly ({}): {}\n",
                anomaly.kind.name(),
                anomaly.description
            ));
        }
        if let Some(cx) = &self.counterexample {
            let key = cx
                .key
                .as_ref()
                .map_or("(no key)".to_string(), describe_value);
            out.push_str(&format!("\ncounterexample in partition {key}:\n"));
            out.push_str(&format!("  {}\n", cx.explanation));
        }
        match &self.counterexample {
            None => {}
            Some(cx) if cx.anomaly.is_some() => {
                out.push_str("  shown by:\n");
                for blocked in &cx.blocked {
                    out.push_str(&format!("    {}: {}\n", by_id(blocked.op), blocked.reason));
                }
            }
            Some(cx) => {
                out.push_str(&format!(
                    "  longest linearizable prefix ({} operations):\n",
                    cx.prefix.len()
                ));
                const SHOWN: usize = 20;
                let skip = cx.prefix.len().saturating_sub(SHOWN);
                if skip > 0 {
                    out.push_str(&format!("    ... {skip} earlier operations\n"));
                }
                for id in &cx.prefix[skip..] {
                    out.push_str(&format!("    {}\n", by_id(*id)));
                }
                out.push_str(&format!("  state after it: {}\n", cx.state_after_prefix));
                out.push_str("  cannot go next:\n");
                for blocked in &cx.blocked {
                    out.push_str(&format!("    {}: {}\n", by_id(blocked.op), blocked.reason));
                }
                if !cx.concurrent.is_empty() {
                    out.push_str("  concurrent with them:\n");
                    for id in &cx.concurrent {
                        out.push_str(&format!("    {}\n", by_id(*id)));
                    }
                }
            }
        }
        out
    }
}
