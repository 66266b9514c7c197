//! The recorder: writes the history as it happens, in the native JSONL format
//! (`docs/history-format.md`), one flushed line per event, so a crash of gauntlet loses at most
//! the last line.
//!
//! Order is the contract: a worker calls [`Recorder::invoke`] (written and flushed) before its
//! request leaves, and [`Recorder::complete`] after the reply. [`completion::Completion`] decides
//! `ok` / `fail` / `info`; [`log::HistoryLog`] encodes the lines. The recorder adds only where
//! time comes from (one monotonic wall clock started with the recorder, read under the same lock
//! that orders the lines) and sharing between workers; the simulator feeds the same
//! [`log::HistoryLog`] with simulated time.

pub mod completion;
pub mod log;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use checker::formats::jsonl::Header;

pub use completion::{Completion, Failure};
pub use log::HistoryLog;

use crate::nemesis::resolved::Resolved;
use crate::nemesis::schedule::{Fault, NodeId};
use crate::workload::OpSpec;

/// Counts of events so far (for progress and results).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CountsSnapshot {
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

/// Appends events to a history file.
pub struct Recorder {
    log: Mutex<HistoryLog<Box<dyn Write + Send>>>,
    started: Instant,
    /// `CLOCK_MONOTONIC` at `started`: the history's time zero on the clock the nodes' event
    /// streams are stamped with.
    zero_monotonic_ns: u64,
    next_process: AtomicU64,
}

impl Recorder {
    /// Creates the history file and writes the header line. Process ids below
    /// `first_free_process` belong to the workers; [`Recorder::fresh_process`] hands out the rest.
    pub fn create(
        path: &Path,
        header: &Header,
        first_free_process: u64,
    ) -> std::io::Result<Recorder> {
        let file = File::create(path)?;
        Recorder::with_writer(Box::new(BufWriter::new(file)), header, first_free_process)
    }

    /// A recorder writing to any sink (tests use a buffer).
    pub fn with_writer(
        out: Box<dyn Write + Send>,
        header: &Header,
        first_free_process: u64,
    ) -> std::io::Result<Recorder> {
        Ok(Recorder {
            log: Mutex::new(HistoryLog::new(out, header)?),
            started: Instant::now(),
            zero_monotonic_ns: raft::events::monotonic_ns(),
            next_process: AtomicU64::new(first_free_process),
        })
    }

    fn log(&self) -> MutexGuard<'_, HistoryLog<Box<dyn Write + Send>>> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Nanoseconds since the recorder started (monotonic).
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// `CLOCK_MONOTONIC` nanoseconds at the history's time zero (`time_ns` 0): a node event
    /// stamped `t` happened at history time `t - zero_monotonic_ns()`.
    pub fn zero_monotonic_ns(&self) -> u64 {
        self.zero_monotonic_ns
    }

    /// A process id never used before (for a logical client that continues after an `info`).
    pub fn fresh_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    /// Records that `process` is about to send `op`. Call before the request leaves.
    pub fn invoke(&self, process: u64, op: &OpSpec) -> std::io::Result<()> {
        let mut log = self.log();
        log.invoke(process, op, self.now_ns())
    }

    /// Records how `op` of `process` ended, and the node that answered it or was last tried.
    /// Call after the reply (or the give-up).
    pub fn complete(
        &self,
        process: u64,
        op: &OpSpec,
        completion: &Completion,
        node: Option<NodeId>,
    ) -> std::io::Result<()> {
        let mut log = self.log();
        log.complete(process, op, completion, node, self.now_ns())
    }

    /// Records the start or end (`phase`) of a fault, with what it hit, as a nemesis event.
    pub fn nemesis(
        &self,
        phase: &str,
        fault: &Fault,
        resolved: &Resolved,
        detail: &str,
    ) -> std::io::Result<()> {
        let mut log = self.log();
        log.nemesis(phase, fault, resolved, detail, self.now_ns())
    }

    /// Counters so far.
    pub fn counts(&self) -> CountsSnapshot {
        self.log().counts()
    }

    /// Every store key an operation was invoked on.
    pub fn keys(&self) -> Vec<String> {
        self.log().keys().iter().cloned().collect()
    }
}
