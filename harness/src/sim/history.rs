//! The simulated run's history: the recorder's own encoder ([`HistoryLog`], the same lines as
//! `gauntlet test` writes) on a buffer in memory, given simulated time instead of a wall clock,
//! so the same seed gives the same bytes.

use checker::formats::jsonl::Header;

use crate::nemesis::resolved::Resolved;
use crate::nemesis::schedule::{Fault, NodeId};
use crate::recorder::{Completion, CountsSnapshot, HistoryLog};
use crate::workload::OpSpec;

/// An append-only history in memory, timed in simulated microseconds.
#[derive(Debug)]
pub struct SimHistory {
    log: HistoryLog<Vec<u8>>,
}

fn ns(time_us: u64) -> u64 {
    time_us.saturating_mul(1_000)
}

fn failed(err: std::io::Error) -> String {
    format!("the history could not be written: {err}")
}

impl SimHistory {
    /// A history starting with its header line.
    pub fn new(header: &Header) -> Result<SimHistory, String> {
        let log = HistoryLog::new(Vec::new(), header).map_err(failed)?;
        Ok(SimHistory { log })
    }

    pub fn invoke(&mut self, process: u64, op: &OpSpec, time_us: u64) -> Result<(), String> {
        self.log.invoke(process, op, ns(time_us)).map_err(failed)
    }

    /// How an operation ended, and the node that answered it or was last tried.
    pub fn complete(
        &mut self,
        process: u64,
        op: &OpSpec,
        completion: &Completion,
        node: Option<NodeId>,
        time_us: u64,
    ) -> Result<(), String> {
        self.log
            .complete(process, op, completion, node, ns(time_us))
            .map_err(failed)
    }

    /// The start or end (`phase`) of a fault, with what it hit and what was done (`detail`).
    pub fn nemesis(
        &mut self,
        phase: &str,
        fault: &Fault,
        resolved: &Resolved,
        detail: &str,
        time_us: u64,
    ) -> Result<(), String> {
        self.log
            .nemesis(phase, fault, resolved, detail, ns(time_us))
            .map_err(failed)
    }

    pub fn counts(&self) -> CountsSnapshot {
        self.log.counts()
    }

    /// The JSONL bytes so far.
    pub fn bytes(&self) -> &[u8] {
        self.log.get_ref()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.log.into_inner()
    }

    /// Takes the JSONL bytes written so far, leaving the buffer empty (the end of a run).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(self.log.get_mut())
    }
}
