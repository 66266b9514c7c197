//! Per-worker seeded operation generators.
//!
//! Worker `w` of a run with seed `s` draws from its own ChaCha8 stream seeded with `(s, w)`, so
//! its sequence of operations is fixed by the seed. Elements appended by the `append` workload are
//! `n * concurrency + w + 1` for the worker's `n`-th append: unique across the run by construction.
//! The real run and the simulator draw from these same generators.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::op::OpSpec;
use super::{WorkloadKind, WorkloadOptions};

/// Generates the operations of one worker.
#[derive(Clone, Debug)]
pub struct WorkerGenerator {
    options: WorkloadOptions,
    worker: usize,
    rng: ChaCha8Rng,
    issued: usize,
    appends: i64,
    /// Share of reads in the `append` workload, in percent.
    list_read_percent: u32,
}

impl WorkerGenerator {
    pub fn new(options: &WorkloadOptions, worker: usize) -> WorkerGenerator {
        let seed = options
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(worker as u64 + 1);
        WorkerGenerator {
            options: options.clone(),
            worker,
            rng: ChaCha8Rng::seed_from_u64(seed),
            issued: 0,
            appends: 0,
            list_read_percent: 50,
        }
    }

    /// Sets the share of reads in the `append` workload (default 50 %; the other workloads keep
    /// their mixes). The simulator uses 40 %: more appends per run give log conflicts more
    /// chances to show.
    pub fn with_list_read_percent(mut self, percent: u32) -> WorkerGenerator {
        self.list_read_percent = percent.min(100);
        self
    }

    /// The key a multi-key operation uses: one of `keys` keys in the worker's current window.
    fn key(&mut self) -> String {
        let keys = self.options.keys.max(1);
        let window = match self.options.key_churn_ops {
            0 => 0,
            churn => self.issued / churn,
        };
        let index = window * keys + self.rng.random_range(0..keys);
        format!("k{index}")
    }

    /// The next operation of a read-only phase (say, the quiet end of a run): a read of a key
    /// this worker would use now. Counts as issued, like [`WorkerGenerator::next_op`].
    pub fn next_read(&mut self) -> OpSpec {
        let op = match self.options.kind {
            WorkloadKind::Register => OpSpec::RegisterRead,
            kind => {
                let key = self.key();
                final_read(kind, &key)
            }
        };
        self.issued += 1;
        op
    }

    /// The next operation.
    pub fn next_op(&mut self) -> OpSpec {
        let roll = self.rng.random_range(0..100u32);
        let op = match self.options.kind {
            WorkloadKind::Register => match roll {
                0..40 => OpSpec::RegisterRead,
                40..70 => OpSpec::RegisterWrite(self.rng.random_range(0..5)),
                _ => OpSpec::RegisterCas {
                    expected: self.rng.random_range(0..5),
                    new: self.rng.random_range(0..5),
                },
            },
            WorkloadKind::Kv => {
                let key = self.key();
                match roll {
                    0..40 => OpSpec::KvGet { key },
                    40..60 => OpSpec::KvPut {
                        key,
                        value: format!("v{}", self.rng.random_range(0..5)),
                    },
                    60..80 => OpSpec::KvAppend {
                        key,
                        value: format!("{}", self.rng.random_range(0..10)),
                    },
                    _ => OpSpec::KvCas {
                        key,
                        expected: format!("v{}", self.rng.random_range(0..5)),
                        new: format!("v{}", self.rng.random_range(0..5)),
                    },
                }
            }
            WorkloadKind::Append => {
                let key = self.key();
                if roll < self.list_read_percent {
                    OpSpec::ListRead { key }
                } else {
                    let element = self.appends * self.options.concurrency.max(1) as i64
                        + self.worker as i64
                        + 1;
                    self.appends += 1;
                    OpSpec::ListAppend { key, element }
                }
            }
        };
        self.issued += 1;
        op
    }
}

/// The read that shows the final state of a key written by this workload.
pub fn final_read(kind: WorkloadKind, key: &str) -> OpSpec {
    match kind {
        WorkloadKind::Register => OpSpec::RegisterRead,
        WorkloadKind::Kv => OpSpec::KvGet {
            key: key.to_string(),
        },
        WorkloadKind::Append => OpSpec::ListRead {
            key: key.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append_options() -> WorkloadOptions {
        WorkloadOptions {
            kind: WorkloadKind::Append,
            seed: 11,
            concurrency: 3,
            keys: 2,
            key_churn_ops: 10,
        }
    }

    #[test]
    fn the_list_read_share_is_a_knob() {
        let reads = |percent: u32| {
            let mut g = WorkerGenerator::new(&append_options(), 0).with_list_read_percent(percent);
            (0..1000).filter(|_| g.next_op().is_read()).count()
        };
        assert_eq!(reads(0), 0);
        assert_eq!(reads(100), 1000);
        let default = {
            let mut g = WorkerGenerator::new(&append_options(), 0);
            (0..1000).filter(|_| g.next_op().is_read()).count()
        };
        assert!((400..600).contains(&default), "{default} reads of 1000");
        assert!(reads(40) < default, "{} vs {default}", reads(40));
    }

    #[test]
    fn read_only_phases_read_the_current_window() {
        let mut g = WorkerGenerator::new(&append_options(), 1);
        for _ in 0..25 {
            g.next_op();
        }
        // Operations 25..30 are in the third window of two keys: k4, k5.
        for _ in 0..5 {
            let op = g.next_read();
            assert!(
                op.is_read() && ["k4", "k5"].contains(&op.store_key()),
                "{op:?}"
            );
        }
        let mut register = WorkerGenerator::new(
            &WorkloadOptions {
                kind: WorkloadKind::Register,
                ..append_options()
            },
            0,
        );
        assert_eq!(register.next_read(), OpSpec::RegisterRead);
    }
}
