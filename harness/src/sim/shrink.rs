//! Shrinking a failing run: drop fault steps in chunks (halves, quarters, ... single steps, as
//! delta debugging does), switch leader churn off or spare its strikes in chunks the same way,
//! shorten time, use fewer clients and fewer operations, keeping each change only if the run
//! still fails with the same kind of violation. A simulated run is chaotic (dropping one fault
//! changes everything after it), so large chunks often fail where a smaller one succeeds.
//! The result is a [`SimSpec`] with an explicit schedule that `gauntlet sim --replay` runs again.

use super::run::{run, RunOptions, SimOutcome};
use super::spec::SimSpec;

/// The smallest failing run found, and how many runs it took.
#[derive(Debug)]
pub struct Shrunk {
    pub outcome: SimOutcome,
    pub attempts: u32,
}

/// Tries candidate specs against the failure kind to keep, within a run budget.
struct Shrinker {
    kind: String,
    opts: RunOptions,
    budget: u32,
    attempts: u32,
    best: SimOutcome,
}

impl Shrinker {
    fn exhausted(&self) -> bool {
        self.attempts >= self.budget
    }

    /// Runs `candidate`; keeps it as the best if it fails the same way.
    fn try_spec(&mut self, candidate: SimSpec) -> bool {
        if self.exhausted() {
            return false;
        }
        self.attempts += 1;
        let outcome = run(&candidate, self.opts);
        if outcome.verdict.kind() == Some(self.kind.as_str()) {
            self.best = outcome;
            true
        } else {
            false
        }
    }

    /// Removes chunks of a list (halves first, single items last, last chunk first); `get`
    /// reads the list from the best run, `set` writes a shorter one (the whole list, the items
    /// kept) into a candidate.
    fn drop_chunks<T: Clone + PartialEq>(
        &mut self,
        get: impl Fn(&Shrinker) -> Vec<T>,
        set: impl Fn(&mut SimSpec, &[T], Vec<T>),
    ) -> bool {
        let mut progress = false;
        let mut chunk = get(self).len().div_ceil(2);
        while chunk >= 1 && !self.exhausted() {
            let mut start = get(self).len().saturating_sub(1) / chunk * chunk;
            loop {
                let items = get(self);
                if start < items.len() {
                    let mut fewer = items[..start].to_vec();
                    fewer.extend_from_slice(&items[(start + chunk).min(items.len())..]);
                    let mut candidate = self.best.spec.clone();
                    set(&mut candidate, &items, fewer);
                    progress |= self.try_spec(candidate);
                }
                if start == 0 || self.exhausted() {
                    break;
                }
                start -= chunk;
            }
            chunk /= 2;
        }
        progress
    }

    /// A run stopped by an invariant ends when it broke: the workload phase can end there and
    /// faults that start later can go, without changing anything before that moment.
    fn stop_at_the_violation(&mut self) {
        let stopped_ms = self.best.stats.sim_time_us.div_ceil(1_000) + 1;
        if stopped_ms >= self.best.spec.time_ms {
            return;
        }
        let mut candidate = self.best.spec.clone();
        candidate.time_ms = stopped_ms;
        if let Some(steps) = candidate.schedule.as_mut() {
            steps.retain(|step| step.start_ms < stopped_ms);
        }
        self.try_spec(candidate);
    }

    /// Leader churn off, else spare its strikes (chunks of them).
    fn less_churn(&mut self) -> bool {
        if self.best.spec.churn.is_none() {
            return false;
        }
        let mut candidate = self.best.spec.clone();
        candidate.churn = None;
        if self.try_spec(candidate) {
            return true;
        }
        // Spare the strikes that are dropped.
        self.drop_chunks(
            |s| s.best.strikes.clone(),
            |spec, all, kept| {
                if let Some(churn) = spec.churn.as_mut() {
                    churn
                        .spared
                        .extend(all.iter().filter(|o| !kept.contains(o)).copied());
                    churn.spared.sort_unstable();
                    churn.spared.dedup();
                }
            },
        )
    }
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
    let mut s = Shrinker {
        kind,
        opts,
        budget,
        attempts: 0,
        best,
    };
    s.stop_at_the_violation();
    let mut progress = true;
    while progress && !s.exhausted() {
        progress = false;
        // Fewer faults.
        progress |= s.drop_chunks(
            |s| s.best.spec.schedule.clone().unwrap_or_default(),
            |spec, _, fewer| spec.schedule = Some(fewer),
        );
        progress |= s.less_churn();
        // Shorter time: cut the time after the last fault, or halve it.
        let last_end = s
            .best
            .spec
            .schedule
            .as_ref()
            .and_then(|steps| steps.iter().map(|step| step.end_ms).max())
            .unwrap_or(0);
        let shorter = (s.best.spec.time_ms / 2).max(last_end + 200);
        if shorter < s.best.spec.time_ms {
            let mut candidate = s.best.spec.clone();
            candidate.time_ms = shorter;
            progress |= s.try_spec(candidate);
        }
        if s.best.spec.final_reads_ms > 200 {
            let mut candidate = s.best.spec.clone();
            candidate.final_reads_ms /= 2;
            progress |= s.try_spec(candidate);
        }
        // Fewer clients, fewer operations.
        if s.best.spec.clients > 1 {
            let mut candidate = s.best.spec.clone();
            candidate.clients = (s.best.spec.clients / 2).max(1);
            if s.try_spec(candidate) {
                progress = true;
            } else {
                let mut candidate = s.best.spec.clone();
                candidate.clients -= 1;
                progress |= s.try_spec(candidate);
            }
        }
        let ops = s.best.spec.max_ops.unwrap_or(s.best.ops.0);
        if ops > 1 {
            let mut candidate = s.best.spec.clone();
            candidate.max_ops = Some(ops / 2);
            if s.try_spec(candidate) {
                progress = true;
            } else {
                let mut candidate = s.best.spec.clone();
                candidate.max_ops = Some(ops * 3 / 4);
                progress |= s.try_spec(candidate);
            }
        }
    }
    Shrunk {
        outcome: s.best,
        attempts: s.attempts,
    }
}
