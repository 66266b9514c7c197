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
        }
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
                if roll < 50 {
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
