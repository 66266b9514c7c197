//! The simulated clients' operations are the harness's own workloads (`crate::workload`): the
//! same [`OpSpec`]s, seeded [`WorkerGenerator`]s and history conventions as `gauntlet test`.
//! This file only chooses the options a simulated run uses and switches to reads in the run's
//! read-only phase.

use crate::workload::{OpSpec, WorkerGenerator, WorkloadOptions};

use super::spec::SimSpec;

/// Keys in use at once by a multi-key workload, and operations a client issues before it moves
/// on to fresh keys (so no key's history grows past what the checker handles quickly).
pub const KEYS: usize = 4;
pub const KEY_CHURN_OPS: usize = 60;
/// Share of reads in the `append` workload, in percent.
pub const LIST_READ_PERCENT: u32 = 40;

/// The workload options of a simulated run: one worker per client, seeded with the run's seed.
pub fn options(spec: &SimSpec) -> WorkloadOptions {
    WorkloadOptions {
        kind: spec.workload,
        seed: spec.seed,
        concurrency: spec.clients,
        keys: KEYS,
        key_churn_ops: KEY_CHURN_OPS,
    }
}

/// The operation stream of one simulated client.
#[derive(Clone, Debug)]
pub struct OpGenerator {
    worker: WorkerGenerator,
}

impl OpGenerator {
    /// The generator of client `client` of `spec`'s run.
    pub fn new(spec: &SimSpec, client: u64) -> OpGenerator {
        OpGenerator {
            worker: WorkerGenerator::new(&options(spec), client as usize)
                .with_list_read_percent(LIST_READ_PERCENT),
        }
    }

    /// The next operation; only reads when `reads_only` (the run's final phase).
    pub fn next_op(&mut self, reads_only: bool) -> OpSpec {
        if reads_only {
            self.worker.next_read()
        } else {
            self.worker.next_op()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_draw_the_harness_operations_and_only_reads_at_the_end() {
        let spec = SimSpec::new(7);
        let mut sim = OpGenerator::new(&spec, 3);
        let mut harness =
            WorkerGenerator::new(&options(&spec), 3).with_list_read_percent(LIST_READ_PERCENT);
        for _ in 0..100 {
            assert_eq!(sim.next_op(false), harness.next_op());
        }
        // Operations 100..120 are in the client's second key window: k4..k7.
        let reads: Vec<OpSpec> = (0..20).map(|_| sim.next_op(true)).collect();
        assert!(reads.iter().all(OpSpec::is_read), "{reads:?}");
        let window = ["k4", "k5", "k6", "k7"];
        assert!(
            reads.iter().all(|op| window.contains(&op.store_key())),
            "{reads:?}"
        );
    }
}
