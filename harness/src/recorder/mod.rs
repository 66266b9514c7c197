//! The recorder: writes the history as it happens, in the native JSONL format
//! (`docs/history-format.md`), one flushed line per event, so a crash of gauntlet loses at most
//! the last line.
//!
//! Order is the contract: a worker calls [`Recorder::invoke`] (written and flushed) before its
//! request leaves, and [`Recorder::complete`] after the reply. Times come from one monotonic clock
//! started with the recorder. [`completion::Completion`] decides `ok` / `fail` / `info`.

pub mod completion;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use checker::formats::jsonl::Header;
use serde_json::{json, Map, Value as Json};

pub use completion::Completion;

use crate::nemesis::schedule::Fault;
use crate::workload::OpSpec;

/// Counters of completions so far (for progress and results).
#[derive(Debug, Default)]
pub struct Counts {
    pub invoked: AtomicU64,
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
}

/// A snapshot of [`Counts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CountsSnapshot {
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

struct Sink {
    out: Box<dyn Write + Send>,
    next_index: u64,
}

/// Appends events to a history file.
pub struct Recorder {
    sink: Mutex<Sink>,
    started: Instant,
    counts: Counts,
    keys: Mutex<BTreeSet<String>>,
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
        let recorder = Recorder {
            sink: Mutex::new(Sink { out, next_index: 0 }),
            started: Instant::now(),
            counts: Counts::default(),
            keys: Mutex::new(BTreeSet::new()),
            next_process: AtomicU64::new(first_free_process),
        };
        let header = serde_json::to_value(header).map_err(std::io::Error::other)?;
        recorder.write_line(&header, false)?;
        Ok(recorder)
    }

    fn sink(&self) -> MutexGuard<'_, Sink> {
        self.sink
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Nanoseconds since the recorder started (monotonic).
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A process id never used before (for a logical client that continues after an `info`).
    pub fn fresh_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    fn write_line(&self, object: &Json, indexed: bool) -> std::io::Result<()> {
        let mut sink = self.sink();
        let mut object = object.clone();
        if indexed {
            if let Json::Object(map) = &mut object {
                let mut ordered = Map::new();
                ordered.insert("index".into(), json!(sink.next_index));
                ordered.extend(std::mem::take(map));
                ordered.insert("time_ns".into(), json!(self.now_ns()));
                *map = ordered;
            }
            sink.next_index += 1;
        }
        let line = serde_json::to_string(&object).map_err(std::io::Error::other)?;
        sink.out.write_all(line.as_bytes())?;
        sink.out.write_all(b"\n")?;
        sink.out.flush()
    }

    /// Records that `process` is about to send `op`. Call before the request leaves.
    pub fn invoke(&self, process: u64, op: &OpSpec) -> std::io::Result<()> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(op.store_key().to_string());
        self.counts.invoked.fetch_add(1, Ordering::Relaxed);
        let mut event = json!({"type": "invoke", "process": process, "f": op.f()});
        if let Some(key) = op.history_key() {
            event["key"] = json!(key);
        }
        event["value"] = op.invoke_value();
        self.write_line(&event, true)
    }

    /// Records how `op` of `process` ended. Call after the reply (or the give-up).
    pub fn complete(
        &self,
        process: u64,
        op: &OpSpec,
        completion: &Completion,
    ) -> std::io::Result<()> {
        let counter = match completion {
            Completion::Ok(_) => &self.counts.ok,
            Completion::Fail(_) => &self.counts.fail,
            Completion::Info(_) => &self.counts.info,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut event = json!({"type": completion.kind(), "process": process, "f": op.f()});
        if let Some(key) = op.history_key() {
            event["key"] = json!(key);
        }
        event["value"] = match completion {
            Completion::Ok(value) => value.clone(),
            _ => op.invoke_value(),
        };
        if let Completion::Fail(reason) | Completion::Info(reason) = completion {
            event["error"] = json!(reason);
        }
        self.write_line(&event, true)
    }

    /// Records the start or end (`phase`) of a fault as a nemesis event.
    pub fn nemesis(&self, phase: &str, fault: &Fault, detail: &str) -> std::io::Result<()> {
        let event = json!({
            "type": "info",
            "process": "nemesis",
            "f": format!("{}-{phase}", fault.name()),
            "value": detail,
            "fault": fault,
        });
        self.write_line(&event, true)
    }

    /// Counters so far.
    pub fn counts(&self) -> CountsSnapshot {
        CountsSnapshot {
            invoked: self.counts.invoked.load(Ordering::Relaxed),
            ok: self.counts.ok.load(Ordering::Relaxed),
            fail: self.counts.fail.load(Ordering::Relaxed),
            info: self.counts.info.load(Ordering::Relaxed),
        }
    }

    /// Every store key an operation was invoked on.
    pub fn keys(&self) -> Vec<String> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
