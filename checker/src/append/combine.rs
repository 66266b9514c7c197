//! Checks a whole `list-append` history: each key by the decider ([`decide_key`]) when it
//! applies, the keys it does not apply to by the general search, merged into one [`CheckReport`]
//! that says which method decided each key.

use std::time::Instant;

use crate::history::{Operation, Value};
use crate::linearizability::{check_model, CheckOptions};
use crate::model::{partition_by_key, Partition};
use crate::models::ListAppend;
use crate::report::{
    BlockedOperation, CheckMethod, CheckReport, Counterexample, Method, PartitionReport,
    SearchStats, Verdict,
};

use super::anomaly::{OrderAnomaly, OrderAnomalyKind};
use super::decide::{decide_key, KeyDecision};

/// Checks a `list-append` history: the decider per key, the search for the rest.
///
/// When some operation is not one the list-append model can read (or its completion does not
/// follow its invocation), the whole history goes to the search, which reports it as before.
/// When the decider proves a key not linearizable, keys it could not decide are not searched.
pub fn check_list_append(ops: &[Operation], opts: &CheckOptions) -> CheckReport {
    let started = Instant::now();
    let unreadable = ops
        .iter()
        .any(|op| !list_append_can_read(op) || op.ret.is_some_and(|ret| ret <= op.call));
    if unreadable {
        return check_model(&ListAppend, ops, opts);
    }
    let partitions = partition_by_key(ops);
    let decisions: Vec<KeyDecision> = partitions
        .iter()
        .map(|p| {
            let key_ops: Vec<&Operation> = p.ops.iter().map(|&i| &ops[i]).collect();
            decide_key(p.key.as_ref(), &key_ops)
        })
        .collect();
    let violation = decisions
        .iter()
        .any(|d| matches!(d, KeyDecision::Violation(_)));
    let undecided: Vec<&Partition> = partitions
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| matches!(d, KeyDecision::Undecidable(_)))
        .map(|(p, _)| p)
        .collect();
    for (partition, decision) in partitions.iter().zip(&decisions) {
        if let KeyDecision::Undecidable(reason) = decision {
            tracing::debug!(key = ?partition.key, %reason, "list-append decider falls back to search");
        }
    }
    let searched = (!violation && !undecided.is_empty()).then(|| {
        let mut indices: Vec<usize> = undecided
            .iter()
            .flat_map(|p| p.ops.iter().copied())
            .collect();
        indices.sort_unstable();
        let subset: Vec<Operation> = indices.iter().map(|&i| ops[i].clone()).collect();
        check_model(&ListAppend, &subset, opts)
    });

    let mut report = CheckReport {
        verdict: Verdict::Linearizable,
        partitions: Vec::with_capacity(partitions.len()),
        anomalies: Vec::new(),
        order_anomalies: Vec::new(),
        counterexample: None,
        method: CheckMethod::AppendOrder,
        stats: SearchStats {
            operations: ops.len(),
            partitions: partitions.len(),
            ..SearchStats::default()
        },
    };
    let mut unknown_reason: Option<String> = None;
    for (partition, decision) in partitions.iter().zip(decisions) {
        let counted = partition
            .ops
            .iter()
            .filter(|&&i| ops[i].ret.is_some() || ops[i].f == "append")
            .count();
        let decided = |verdict, witness| PartitionReport {
            key: partition.key.clone(),
            operations: counted,
            verdict,
            witness,
            steps: 0,
            method: Method::AppendOrder,
        };
        let partition_report = match decision {
            KeyDecision::Linearizable { witness } => {
                decided(Verdict::Linearizable, opts.witness.then_some(witness))
            }
            KeyDecision::Violation(anomaly) => {
                if report.counterexample.is_none() {
                    report.counterexample = Some(counterexample(&anomaly));
                }
                report.order_anomalies.push(anomaly);
                decided(Verdict::NotLinearizable, None)
            }
            KeyDecision::Undecidable(_) => {
                let found = searched.as_ref().and_then(|s| {
                    s.partitions
                        .iter()
                        .find(|p| p.key == partition.key)
                        .cloned()
                });
                match (found, &searched) {
                    (Some(found), _) => found,
                    (None, Some(searched)) => PartitionReport {
                        key: partition.key.clone(),
                        operations: counted,
                        verdict: searched.verdict.clone(),
                        witness: None,
                        steps: 0,
                        method: Method::Search,
                    },
                    (None, None) => PartitionReport {
                        key: partition.key.clone(),
                        operations: counted,
                        verdict: Verdict::Unknown {
                            reason: "not checked: the decider found a violation in another key"
                                .to_string(),
                        },
                        witness: None,
                        steps: 0,
                        method: Method::Search,
                    },
                }
            }
        };
        if partition_report.method == Method::AppendOrder {
            report.stats.decided_by_append_order += 1;
        }
        if let Verdict::Unknown { reason } = &partition_report.verdict {
            unknown_reason.get_or_insert_with(|| reason.clone());
        }
        report.partitions.push(partition_report);
    }
    if let Some(searched) = searched {
        report.stats.steps = searched.stats.steps;
        report.stats.memo_entries = searched.stats.memo_entries;
        report.stats.peak_memory_bytes = searched.stats.peak_memory_bytes;
        report.stats.decided_without_search = searched.stats.decided_without_search;
        report.method = if report.stats.decided_by_append_order == 0 {
            CheckMethod::Search
        } else {
            CheckMethod::AppendOrderAndSearch
        };
        if searched.verdict == Verdict::NotLinearizable {
            report.counterexample = searched.counterexample;
        }
    }
    report.verdict = if report
        .partitions
        .iter()
        .any(|p| p.verdict == Verdict::NotLinearizable)
    {
        Verdict::NotLinearizable
    } else if let Some(reason) = unknown_reason {
        Verdict::Unknown { reason }
    } else {
        Verdict::Linearizable
    };
    report.stats.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    report
}

/// What the `at`-th operation of an anomaly of `kind` did (see [`OrderAnomaly::ops`]).
fn role_in(kind: OrderAnomalyKind, at: usize) -> &'static str {
    use OrderAnomalyKind::*;
    match (kind, at) {
        (DuplicateElement, 0) => "returned the element more than once",
        (DuplicateElement, _) => "the one append of the element",
        (UnwrittenElement, _) => "returned an element no append wrote",
        (IncompatibleOrder, _) => "neither this read nor the other returned a prefix of the other",
        (_, 0) => "completed first, yet the order the reads show puts it later",
        (_, _) => "invoked after the other completed, yet the order the reads show puts it first",
    }
}

/// True when [`ListAppend`]'s `prepare` accepts `op` (the same rule, without copying the list
/// read).
fn list_append_can_read(op: &Operation) -> bool {
    match op.f.as_str() {
        "append" => true,
        "read" | "r" => matches!(op.output, None | Some(Value::List(_)) | Some(Value::Nil)),
        _ => false,
    }
}

/// The counterexample of a key the decider proved not linearizable: no prefix (the decider does
/// not search), the operations of the anomaly as the blocked ones, and the anomaly itself.
fn counterexample(anomaly: &OrderAnomaly) -> Counterexample {
    let kind = anomaly.kind.name();
    let blocked = anomaly
        .ops
        .iter()
        .enumerate()
        .map(|(at, &op)| BlockedOperation {
            op,
            reason: format!("{kind}: {}", role_in(anomaly.kind, at)),
        })
        .collect();
    Counterexample {
        key: anomaly.key.clone(),
        prefix: Vec::new(),
        state_after_prefix: "[]".to_string(),
        blocked,
        concurrent: Vec::new(),
        explanation: anomaly.description.clone(),
        anomaly: Some(anomaly.clone()),
    }
}
