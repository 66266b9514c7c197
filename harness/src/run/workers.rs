//! The workload phase's logical clients: each draws operations from its own seeded generator,
//! records the invocation, sends the request, records the completion, and after an `info`
//! continues under a fresh process id. Paced to the run's rate; stops taking new operations when
//! told to (the one in flight completes within the client's timeout).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::db::DbClient;
use crate::recorder::{Completion, Recorder};
use crate::workload::WorkerGenerator;

/// What a worker needs.
pub struct Worker {
    pub index: usize,
    pub generator: WorkerGenerator,
    pub client: Box<dyn DbClient>,
    pub recorder: Arc<Recorder>,
    /// Time between this worker's operations (`None`: back to back).
    pub pace: Option<Duration>,
}

/// Counted by a worker.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkerStats {
    pub operations: u64,
    pub bad_replies: u64,
}

impl Worker {
    /// Runs until `stop`. An error writing the history ends the worker with that error.
    pub async fn run(mut self, stop: CancellationToken) -> std::io::Result<WorkerStats> {
        let mut stats = WorkerStats::default();
        let mut process = self.index as u64;
        let mut next_at = Instant::now();
        if let Some(pace) = self.pace {
            // Spread workers over one pace interval so they do not move in lockstep.
            next_at += pace.mul_f64(self.index as f64 / (self.index as f64 + 1.0));
        }
        while !stop.is_cancelled() {
            if let Some(pace) = self.pace {
                tokio::select! {
                    _ = tokio::time::sleep_until(next_at) => {}
                    _ = stop.cancelled() => break,
                }
                next_at = (next_at + pace).max(Instant::now());
            }
            let op = self.generator.next_op();
            self.recorder.invoke(process, &op)?;
            let result = self.client.call(op.request()).await;
            let completion = Completion::classify(&op, &result);
            let node = self.client.last_node();
            self.recorder.complete(process, &op, &completion, node)?;
            stats.operations += 1;
            if completion.is_bad_reply() {
                stats.bad_replies += 1;
            }
            if completion.is_indefinite() {
                process = self.recorder.fresh_process();
            }
        }
        Ok(stats)
    }
}
