//! Shrinking a failing run: greedily drop fault steps, switch leader churn off or spare its
//! strikes, shorten time, use fewer clients and fewer operations, keeping each change only if the run still fails with the same kind of violation.
//! The result is a [`SimSpec`] with an explicit schedule that `gauntlet sim --replay` runs again.

use super::run::{run, RunOptions, SimOutcome};
use super::spec::SimSpec;

/// The smallest failing run found, and how many runs it took.
#[derive(Debug)]
pub struct Shrunk {
    pub outcome: SimOutcome,
    pub attempts: u32,
}

/// Shrinks `failing` (which must fail) within `budget` runs.
pub fn shrink(failing: &SimOutcome, opts: RunOptions, budget: u32) -> Shrunk {
    let Some(kind) = failing.verdict.kind().map(str::to_string) else {
        return Shrunk {
            outcome: failing.clone(),
            attempts: 0,
        };
    };
    let mut best = failing.clone();
    best.spec.schedule = Some(failing.steps.clone());
    best.spec.max_ops = Some(failing.ops.0);
    let mut attempts = 0;
    let try_spec = |candidate: SimSpec, best: &mut SimOutcome, attempts: &mut u32| -> bool {
        if *attempts >= budget {
            return false;
        }
        *attempts += 1;
        let outcome = run(&candidate, opts);
        if outcome.verdict.kind() == Some(kind.as_str()) {
            *best = outcome;
            true
        } else {
            false
        }
    };
    let mut progress = true;
    while progress && attempts < budget {
        progress = false;
        // Fewer faults: drop one step at a time, last first.
        let steps = best.spec.schedule.clone().unwrap_or_default();
        for i in (0..steps.len()).rev() {
            let mut candidate = best.spec.clone();
            let mut fewer = candidate.schedule.clone().unwrap_or_default();
            if i >= fewer.len() {
                continue;
            }
            fewer.remove(i);
            candidate.schedule = Some(fewer);
            progress |= try_spec(candidate, &mut best, &mut attempts);
        }
        // Less leader churn: none at all, else spare its strikes one at a time, last first.
        if best.spec.churn.is_some() {
            let mut candidate = best.spec.clone();
            candidate.churn = None;
            if try_spec(candidate, &mut best, &mut attempts) {
                progress = true;
            } else {
                for opportunity in best.strikes.clone().into_iter().rev() {
                    let mut candidate = best.spec.clone();
                    let Some(churn) = candidate.churn.as_mut() else {
                        break;
                    };
                    if !best.strikes.contains(&opportunity) {
                        continue;
                    }
                    churn.spared.push(opportunity);
                    churn.spared.sort_unstable();
                    progress |= try_spec(candidate, &mut best, &mut attempts);
                }
            }
        }
        // Shorter time: cut the time after the last fault, or halve it.
        let last_end = best
            .spec
            .schedule
            .as_ref()
            .and_then(|s| s.last().map(|step| step.end_ms))
            .unwrap_or(0);
        let shorter = (best.spec.time_ms / 2).max(last_end + 200);
        if shorter < best.spec.time_ms {
            let mut candidate = best.spec.clone();
            candidate.time_ms = shorter;
            progress |= try_spec(candidate, &mut best, &mut attempts);
        }
        if best.spec.final_reads_ms > 200 {
            let mut candidate = best.spec.clone();
            candidate.final_reads_ms /= 2;
            progress |= try_spec(candidate, &mut best, &mut attempts);
        }
        // Fewer clients, fewer operations.
        if best.spec.clients > 1 {
            let mut candidate = best.spec.clone();
            candidate.clients = (best.spec.clients / 2).max(1);
            if !try_spec(candidate, &mut best, &mut attempts) {
                let mut candidate = best.spec.clone();
                candidate.clients -= 1;
                progress |= try_spec(candidate, &mut best, &mut attempts);
            } else {
                progress = true;
            }
        }
        let ops = best.spec.max_ops.unwrap_or(best.ops.0);
        if ops > 1 {
            let mut candidate = best.spec.clone();
            candidate.max_ops = Some(ops / 2);
            if !try_spec(candidate, &mut best, &mut attempts) {
                let mut candidate = best.spec.clone();
                candidate.max_ops = Some(ops * 3 / 4);
                progress |= try_spec(candidate, &mut best, &mut attempts);
            } else {
                progress = true;
            }
        }
    }
    Shrunk {
        outcome: best,
        attempts,
    }
}
