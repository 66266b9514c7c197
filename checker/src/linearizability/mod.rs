//! The linearizability search: split a history into partitions (P-compositionality), decide the
//! easy ones with cheap necessary conditions, search the rest in parallel (Wing-Gong-Lowe with a
//! memo), and merge the outcomes into one deterministic [`CheckReport`].
//!
//! Determinism: partitions are ordered by key and searched in rounds of bounded steps; the report
//! names the violation proved in the fewest steps (the lowest key among equals), whatever the
//! number of threads and the order they happened to finish in.

pub mod counterexample;
pub mod hash;
pub mod linearized;
pub mod memo;
pub mod options;
pub mod search;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::history::{Operation, Value};
use crate::model::{Model, Partition, PreparedOp};
use crate::report::{
    BlockedOperation, CheckMethod, CheckReport, Counterexample, Method, PartitionReport,
    SearchStats, Verdict,
};
pub use options::CheckOptions;
pub use search::{Limits, MemoryBudget, Outcome, Search, SearchResult};

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
        if op.ret.is_some_and(|ret| ret <= op.call) {
            return Err(crate::model::ModelError {
                model: model.name().to_string(),
                op_id: op.id,
                line: op.call_line,
                reason: format!(
                    "its completion (event {:?}) does not come after its invocation (event {})",
                    op.ret, op.call
                ),
            });
        }
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

/// Histories with fewer operations than this are searched on the calling thread alone.
const SEQUENTIAL_BELOW_OPS: usize = 1024;

/// Steps a partition may take in the first round at least; each round doubles its budget. Small,
/// so that a violation proved in few steps is found before other partitions have run far.
const FIRST_ROUND_STEPS: u64 = 1 << 11;

/// The steps a partition of `operations` may take in round `round` (from 0): at least
/// [`FIRST_ROUND_STEPS`], and twice its operations, so that a linearizable partition searched
/// without backtracking (under two steps an operation) ends in its first round instead of
/// keeping its search's memory across rounds. Depends on the partition alone, not on timing.
fn round_steps(operations: usize, round: u32) -> u64 {
    let first = FIRST_ROUND_STEPS.max(2 * operations as u64);
    first.saturating_mul(1u64.checked_shl(round).unwrap_or(u64::MAX))
}

/// A partition waiting for its next round: the steps it has taken, its index, its next round.
type Waiting = (u64, usize, u32);

/// Locks `mutex`, going on with its value if a thread panicked while holding it (the panic itself
/// reaches the caller through the thread scope).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A partition still being searched, or its result.
enum Slot<'a, M: Model> {
    Searching(Box<Search<'a, M>>),
    Done(Box<PartitionResult>),
}

/// Checks `ops` against any [`Model`].
///
/// Partitions are searched in rounds: in each round a partition takes up to a number of steps
/// ([`round_steps`]: doubling from round to round); the threads take the waiting partition that
/// has taken the fewest steps next (the lowest key among equals), with no barrier between rounds. The report names the violation
/// proved in the fewest search steps, the lowest key among equals. So once a partition is proved
/// not linearizable after `n` steps, every other partition stops as soon as it has taken `n` steps
/// (early exit): none of them can be proved in fewer any more. A partition that stopped there, or
/// that ended in more than `n` steps under some timing, is reported not checked with `n` steps;
/// what finished within `n` steps finishes in any timing. So the verdict, the counterexample and
/// every partition's result are the same whatever the number of threads and their timing.
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
                    order_anomalies: Vec::new(),
                    counterexample: None,
                    method: CheckMethod::Search,
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
    // The fewest steps after which some partition was proved not linearizable (0 for one decided
    // without search): no partition needs to search further than that.
    let fewest = AtomicU64::new(u64::MAX);
    let slots: Vec<Mutex<Slot<'_, M>>> = partitions
        .iter()
        .zip(&prepared)
        .map(
            |(partition, ops)| match quick_violation(model, partition.key.as_ref(), ops) {
                Some(result) => {
                    fewest.fetch_min(result.report.steps, Ordering::Relaxed);
                    Mutex::new(Slot::Done(Box::new(result)))
                }
                None => Mutex::new(Slot::Searching(Box::new(Search::new(model, ops)))),
            },
        )
        .collect();
    let keys: Vec<Option<&Value>> = partitions.iter().map(|p| p.key.as_ref()).collect();
    // The partitions waiting for their next round, the one with the fewest steps taken first:
    // rounds without a barrier, so a thread never waits for another to end its round.
    let waiting: Mutex<BinaryHeap<Reverse<Waiting>>> = Mutex::new(
        slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| matches!(*lock(slot), Slot::Searching(_)))
            .map(|(index, _)| Reverse((0, index, 0)))
            .collect(),
    );
    let searching = lock(&waiting).len();
    let cancelled = |steps: u64| steps >= fewest.load(Ordering::Relaxed);
    let worker = || loop {
        let Some(Reverse((taken, index, round))) = lock(&waiting).pop() else {
            return;
        };
        let bound = fewest.load(Ordering::Relaxed);
        if taken >= bound {
            continue;
        }
        let mut slot = lock(&slots[index]);
        let Slot::Searching(search) = &mut *slot else {
            continue;
        };
        let limits = Limits {
            deadline,
            memory: &memory,
            cancelled: &cancelled,
        };
        let budget = round_steps(prepared[index].len(), round);
        match search.run(budget.min(bound - taken), &limits) {
            Some(outcome) => {
                let result = finish(
                    model,
                    keys[index],
                    &prepared[index],
                    search,
                    outcome,
                    opts.witness,
                );
                if result.report.verdict == Verdict::NotLinearizable {
                    fewest.fetch_min(result.report.steps, Ordering::Relaxed);
                }
                *slot = Slot::Done(Box::new(result));
            }
            None => {
                let entry = Reverse((search.steps(), index, round.saturating_add(1)));
                drop(slot);
                lock(&waiting).push(entry);
            }
        }
    };
    // A few hundred operations are searched faster than threads start.
    let small = prepared.iter().map(Vec::len).sum::<usize>() < SEQUENTIAL_BELOW_OPS;
    if searching <= 1 || opts.threads == 1 || small {
        worker();
    } else {
        with_threads(opts.threads, || {
            rayon::scope(|scope| {
                for _ in 0..rayon::current_num_threads().min(searching) {
                    scope.spawn(|_| worker());
                }
            })
        });
    }
    let slots = slots
        .into_iter()
        .map(|slot| slot.into_inner().unwrap_or_else(PoisonError::into_inner));

    let fewest = fewest.into_inner();
    let stopped = |key: Option<&Value>, ops: &[PreparedOp<M::Op>], memo_entries| PartitionResult {
        report: PartitionReport {
            key: key.cloned(),
            operations: ops.len(),
            verdict: not_checked(),
            witness: None,
            steps: fewest,
            method: Method::Search,
        },
        counterexample: None,
        decided_without_search: false,
        memo_entries,
    };
    let results = slots
        .zip(&keys)
        .zip(&prepared)
        .map(|((slot, key), ops)| match slot {
            // Ended after more steps than the violation reported: under another timing it would
            // have stopped there.
            Slot::Done(result) if result.report.steps > fewest => {
                stopped(*key, ops, result.memo_entries)
            }
            Slot::Done(result) => *result,
            Slot::Searching(search) => stopped(*key, ops, search.memo_entries()),
        })
        .collect();
    merge(results, ops.len(), started, &memory)
}

/// Runs `work` on `threads` threads (0 = rayon's global pool, all cores).
fn with_threads(threads: usize, work: impl FnOnce() + Send) {
    if threads <= 1 {
        return work();
    }
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(work),
        Err(error) => {
            tracing::warn!(%error, "could not start a thread pool; using the global one");
            work()
        }
    }
}

/// Decides a partition by a cheap necessary condition, when one applies.
fn quick_violation<M: Model>(
    model: &M,
    key: Option<&Value>,
    ops: &[PreparedOp<M::Op>],
) -> Option<PartitionResult> {
    let (position, reason) = model.impossible_op(ops)?;
    let culprit = ops.get(position)?;
    let culprit_ret = culprit.ret.unwrap_or(usize::MAX);
    let concurrent = ops
        .iter()
        .filter(|op| op.id != culprit.id)
        .filter(|op| op.call < culprit_ret && op.ret.is_none_or(|r| r > culprit.call))
        .map(|op| op.id)
        .collect();
    let counterexample = Counterexample {
        key: key.cloned(),
        prefix: Vec::new(),
        state_after_prefix: model.describe_state(&model.init()),
        blocked: vec![BlockedOperation {
            op: culprit.id,
            reason: reason.clone(),
        }],
        concurrent,
        explanation: format!(
            "Operation {} can never be linearized, whatever the order of the others: {reason}.",
            culprit.id
        ),
        anomaly: None,
    };
    Some(PartitionResult {
        report: PartitionReport {
            key: key.cloned(),
            operations: ops.len(),
            verdict: Verdict::NotLinearizable,
            witness: None,
            steps: 0,
            method: Method::Search,
        },
        counterexample: Some(counterexample),
        decided_without_search: true,
        memo_entries: 0,
    })
}

/// Turns a finished search into the partition's result.
fn finish<M: Model>(
    model: &M,
    key: Option<&Value>,
    ops: &[PreparedOp<M::Op>],
    search: &Search<'_, M>,
    outcome: Outcome<M::State>,
    want_witness: bool,
) -> PartitionResult {
    let mut report = PartitionReport {
        key: key.cloned(),
        operations: ops.len(),
        verdict: Verdict::Linearizable,
        witness: None,
        steps: search.steps(),
        method: Method::Search,
    };
    let mut counterexample = None;
    match outcome {
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
        memo_entries: search.memo_entries(),
    }
}

fn not_checked() -> Verdict {
    Verdict::Unknown {
        reason: "not checked: the search stopped at the first violation found".to_string(),
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
        let report = result.report;
        if Some(index) == first_violation {
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
        order_anomalies: Vec::new(),
        counterexample,
        method: CheckMethod::Search,
        stats,
    }
}
