//! Writes a node's event stream as JSON lines, buffered, flushed at most every
//! [`FLUSH_EVERY`] ([`EventWriter::flush_if_due`], which the node calls after every round of
//! work, at least once a tick; [`EventWriter::flush`] on shutdown), so a node killed with SIGKILL
//! loses at most the lines of its last moments.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::core::NodeId;

use super::{monotonic_ns, EventRecord, NodeEvent};

/// Longest time a written line stays in the buffer while more lines come.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// The event stream of one node, appended to a file (a restarted node continues it).
pub struct EventWriter {
    node: NodeId,
    out: BufWriter<File>,
    dirty: bool,
    last_flush: Instant,
}

impl EventWriter {
    /// Opens (creates, or appends to) the stream file of node `node`.
    pub fn open(path: &Path, node: NodeId) -> io::Result<EventWriter> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(EventWriter {
            node,
            out: BufWriter::new(file),
            dirty: false,
            last_flush: Instant::now(),
        })
    }

    /// Appends `events`, stamped with the monotonic clock now.
    pub fn write(&mut self, events: &[NodeEvent]) -> io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let time_ns = monotonic_ns();
        for event in events {
            let record = EventRecord {
                time_ns,
                node: self.node,
                event: event.clone(),
            };
            serde_json::to_writer(&mut self.out, &record)?;
            self.out.write_all(b"\n")?;
        }
        self.dirty = true;
        self.flush_if_due()
    }

    /// Flushes when lines have waited in the buffer since the last flush for [`FLUSH_EVERY`] or
    /// more (the node calls it after every round of work, at least once a tick).
    pub fn flush_if_due(&mut self) -> io::Result<()> {
        if self.dirty && self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands everything written so far to the kernel (no fsync: the stream is a record for the
    /// harness, not state the node recovers from).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.dirty {
            self.out.flush()?;
            self.dirty = false;
        }
        self.last_flush = Instant::now();
        Ok(())
    }
}
