//! The linearizability search: split a history into partitions (P-compositionality), decide the
//! easy ones with cheap necessary conditions, search the rest in parallel (Wing-Gong-Lowe with a
//! memo), and merge the outcomes into one deterministic [`CheckReport`].
//!
//! Determinism: partitions are ordered by key; when several are not linearizable, the report
//! names the one with the lowest key, and partitions after it are reported as not checked,
//! whatever order the threads happened to finish in.

pub mod counterexample;
pub mod hash;
pub mod memo;
pub mod search;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use crate::check::CheckOptions;
use crate::history::{Operation, Value};
use crate::model::{Model, Partition};
use crate::report::{
    BlockedOperation, CheckReport, Counterexample, PartitionReport, SearchStats, Verdict,
};
pub use search::{Limits, MemoryBudget, Outcome, PreparedOp, SearchResult};

/// What one partition's check produced.
struct PartitionResult {
    report: PartitionReport,
    counterexample: Option<Counterexample>,
    decided_without_search: bool,
    memo_entries: usize,
}

/// Prepares every operation of a partition for `model`, dropping reads whose outcome is unknown.
fn prepare_partition<M: Model>(
    model: &M,
    ops: &[Operation],
    partition: &Partition,
) -> Result<Vec<PreparedOp<M::Op>>, crate::model::ModelError> {
    let mut prepared = Vec::with_capacity(partition.ops.len());
    for &index in &partition.ops {
        let Some(op) = ops.get(index) else { continue };
        let model_op = model.prepare(op)?;
        if op.ret.is_none() && model.is_read_only(&model_op) {
            continue;
        }
        prepared.push(PreparedOp {
            id: op.id,
            index,
            call: op.call,
            ret: op.ret,
            op: model_op,
        });
    }
    Ok(prepared)
}

/// Checks `ops` against any [`Model`].
pub fn check_model<M: Model>(model: &M, ops: &[Operation], opts: &CheckOptions) -> CheckReport {
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let partitions = model.partition(ops);
    let mut prepared = Vec::with_capacity(partitions.len());
    for partition in &partitions {
        match prepare_partition(model, ops, partition) {
            Ok(p) => prepared.push(p),
            Err(error) => {
                return CheckReport {
                    verdict: Verdict::Unknown {
                        reason: error.to_string(),
                    },
                    partitions: Vec::new(),
                    anomalies: Vec::new(),
                    counterexample: None,
                    stats: SearchStats {
                        operations: ops.len(),
                        partitions: partitions.len(),
                        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
                        ..SearchStats::default()
                    },
                };
            }
        }
    }

    let memory = MemoryBudget::new(opts.memory_budget_bytes);
    let lowest_violation = AtomicUsize::new(usize::MAX);
    let run_one = |index: usize| -> PartitionResult {
        let key = partitions[index].key.as_ref();
        let cancelled = || lowest_violation.load(Ordering::Relaxed) < index;
        let limits = Limits {
            deadline,
            memory: &memory,
            cancelled: &cancelled,
        };
        let result = check_partition(model, key, &prepared[index], &limits, opts.witness);
        if result.report.verdict == Verdict::NotLinearizable {
            lowest_violation.fetch_min(index, Ordering::Relaxed);
        }
        result
    };
    let results: Vec<PartitionResult> = run_partitions(prepared.len(), opts.threads, &run_one);
    merge(results, ops.len(), started, &memory)
}

/// Runs `run_one` for every partition index, on `threads` threads (0 = all cores).
fn run_partitions(
    count: usize,
    threads: usize,
    run_one: &(dyn Fn(usize) -> PartitionResult + Sync),
) -> Vec<PartitionResult> {
    let parallel = || -> Vec<PartitionResult> {
        (0..count)
            .into_par_iter()
            .with_max_len(1)
            .map(run_one)
            .collect()
    };
    if count <= 1 || threads == 1 {
        return (0..count).map(run_one).collect();
    }
    if threads == 0 {
        return parallel();
    }
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(parallel),
        Err(error) => {
            tracing::warn!(%error, "could not start a thread pool; checking partitions one by one");
            (0..count).map(run_one).collect()
        }
    }
}

/// Checks one partition: cheap conditions first, then the search.
fn check_partition<M: Model>(
    model: &M,
    key: Option<&Value>,
    ops: &[PreparedOp<M::Op>],
    limits: &Limits<'_>,
    want_witness: bool,
) -> PartitionResult {
    let mut report = PartitionReport {
        key: key.cloned(),
        operations: ops.len(),
        verdict: Verdict::Linearizable,
        witness: None,
        steps: 0,
    };
    if (limits.cancelled)() {
        report.verdict = not_checked();
        return PartitionResult {
            report,
            counterexample: None,
            decided_without_search: false,
            memo_entries: 0,
        };
    }
    if let Some((position, reason)) = model.impossible_op(ops) {
        report.verdict = Verdict::NotLinearizable;
        let culprit = &ops[position];
        let culprit_ret = culprit.ret.unwrap_or(usize::MAX);
        let concurrent = ops
            .iter()
            .filter(|op| op.id != culprit.id)
            .filter(|op| op.call < culprit_ret && op.ret.is_none_or(|r| r > culprit.call))
            .map(|op| op.id)
            .collect();
        let state = model.describe_state(&model.init());
        let counterexample = Counterexample {
            key: key.cloned(),
            prefix: Vec::new(),
            state_after_prefix: state,
            blocked: vec![BlockedOperation {
                op: culprit.id,
                reason: reason.clone(),
            }],
            concurrent,
            explanation: format!(
                "Operation {} can never be linearized, whatever the order of the others: {reason}.",
                culprit.id
            ),
        };
        return PartitionResult {
            report,
            counterexample: Some(counterexample),
            decided_without_search: true,
            memo_entries: 0,
        };
    }
    let result = search::search(model, ops, limits);
    report.steps = result.steps;
    let mut counterexample = None;
    match result.outcome {
        Outcome::Linearizable { order } => {
            if want_witness {
                report.witness = Some(order.iter().map(|&p| ops[p as usize].id).collect());
            }
        }
        Outcome::NotLinearizable { prefix, state } => {
            report.verdict = Verdict::NotLinearizable;
            counterexample = Some(counterexample::build(model, key, ops, &prefix, &state));
        }
        Outcome::Unknown { reason } => report.verdict = Verdict::Unknown { reason },
        Outcome::Cancelled => report.verdict = not_checked(),
    }
    PartitionResult {
        report,
        counterexample,
        decided_without_search: false,
        memo_entries: result.memo_entries,
    }
}

fn not_checked() -> Verdict {
    Verdict::Unknown {
        reason: "not checked: a partition with a lower key is not linearizable".to_string(),
    }
}

/// Merges partition results (in key order) into one report.
fn merge(
    results: Vec<PartitionResult>,
    operations: usize,
    started: Instant,
    memory: &MemoryBudget,
) -> CheckReport {
    let mut stats = SearchStats {
        operations,
        partitions: results.len(),
        peak_memory_bytes: memory.peak(),
        ..SearchStats::default()
    };
    let first_violation = results
        .iter()
        .position(|r| r.report.verdict == Verdict::NotLinearizable);
    let mut partitions = Vec::with_capacity(results.len());
    let mut counterexample = None;
    let mut unknown_reason = None;
    for (index, result) in results.into_iter().enumerate() {
        stats.steps += result.report.steps;
        stats.memo_entries += result.memo_entries as u64;
        stats.decided_without_search += usize::from(result.decided_without_search);
        let mut report = result.report;
        if first_violation.is_some_and(|first| index > first) {
            // Deterministic whatever the thread timing: everything after the first violation is skipped.
            report.verdict = not_checked();
            report.witness = None;
        } else if Some(index) == first_violation {
            counterexample = result.counterexample;
        } else if let Verdict::Unknown { reason } = &report.verdict {
            unknown_reason.get_or_insert_with(|| reason.clone());
        }
        partitions.push(report);
    }
    let verdict = if first_violation.is_some() {
        Verdict::NotLinearizable
    } else if let Some(reason) = unknown_reason {
        Verdict::Unknown { reason }
    } else {
        Verdict::Linearizable
    };
    stats.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    CheckReport {
        verdict,
        partitions,
        anomalies: Vec::new(),
        counterexample,
        stats,
    }
}
