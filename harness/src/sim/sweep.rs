//! Many seeds at once on all cores (rayon), in chunks so that `--until-first` can stop at the
//! lowest failing seed without the thread schedule changing which seed that is.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use raft::coverage::{Mark, MarkCounts};
use rayon::prelude::*;

use super::run::{run, RunOptions, SimOutcome};
use super::spec::SimSpec;

/// What a sweep found.
#[derive(Debug, Default)]
pub struct SweepResult {
    /// Seeds run.
    pub runs: u64,
    /// Failing runs in seed order (history and schedule included).
    pub failures: Vec<SimOutcome>,
    /// Simulated microseconds over all runs.
    pub sim_time_us: u64,
    /// How many seeds hit each coverage mark.
    pub coverage: MarkTally,
}

impl SweepResult {
    /// `seed N: <verdict>` for every failing run that is not merely `unknown` (a violation or a
    /// harness failure), in seed order.
    pub fn definite_failures(&self) -> Vec<String> {
        self.failures
            .iter()
            .filter(|f| f.verdict.exit_code() != 2)
            .map(|f| format!("seed {}: {}", f.spec.seed, f.verdict.summary()))
            .collect()
    }
}

/// Per coverage mark, the number of runs that passed it at least once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarkTally {
    seeds: [u64; Mark::COUNT],
}

impl MarkTally {
    /// Counts one run's marks.
    pub fn add(&mut self, counts: &MarkCounts) {
        for (slot, (_, n)) in self.seeds.iter_mut().zip(counts.iter()) {
            *slot += u64::from(n > 0);
        }
    }

    /// How many runs hit `mark`.
    pub fn seeds_hitting(&self, mark: Mark) -> u64 {
        let slot = Mark::ALL.iter().position(|m| *m == mark).unwrap_or(0);
        self.seeds[slot]
    }

    /// Every mark with the number of runs that hit it, in [`Mark::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Mark, u64)> + '_ {
        Mark::ALL.iter().copied().zip(self.seeds.iter().copied())
    }
}

/// Runs `template` with every seed in `seeds` (with `template.swarm`, each seed draws its own
/// knobs: [`SimSpec::for_seed`]); `on_done` is called after each run (progress).
/// With `until_first`, stops after the chunk holding the first violation (an `unknown` from the
/// checker is kept as a failure but does not stop the sweep).
pub fn sweep(
    template: &SimSpec,
    seeds: Range<u64>,
    opts: RunOptions,
    until_first: bool,
    on_done: &(dyn Fn(&SimOutcome) + Sync),
) -> SweepResult {
    let seeds: Vec<u64> = seeds.collect();
    sweep_seeds(template, &seeds, opts, until_first, on_done)
}

/// [`sweep`] over any list of seeds (one `--shard` of a range), in the order given.
pub fn sweep_seeds(
    template: &SimSpec,
    seeds: &[u64],
    opts: RunOptions,
    until_first: bool,
    on_done: &(dyn Fn(&SimOutcome) + Sync),
) -> SweepResult {
    let chunk = (rayon::current_num_threads() * 4).max(1);
    let mut result = SweepResult::default();
    let sim_time = AtomicU64::new(0);
    for chunk in seeds.chunks(chunk) {
        let outcomes: Vec<SimOutcome> = chunk
            .par_iter()
            .map(|&seed| {
                let spec = template.for_seed(seed);
                let outcome = run(&spec, opts);
                sim_time.fetch_add(outcome.stats.sim_time_us, Ordering::Relaxed);
                on_done(&outcome);
                outcome
            })
            .collect();
        result.runs += chunk.len() as u64;
        let mut failed = false;
        for outcome in outcomes {
            result.coverage.add(&outcome.coverage);
            if outcome.verdict.kind().is_some() {
                failed |= outcome.verdict.outcome() == crate::verdict::ExitVerdict::Violation;
                result.failures.push(outcome);
            }
        }
        if failed && until_first {
            break;
        }
    }
    result.sim_time_us = sim_time.load(Ordering::Relaxed);
    result
}
