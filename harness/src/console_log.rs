//! The run directory's copy of the console: `gauntlet.log`. Everything gauntlet shows a person
//! during `gauntlet test` (its tracing output and its own printed lines: the seed, phases,
//! progress, the summary) also goes to one process-wide sink, without colour codes. Until a run
//! directory exists the sink keeps the lines in memory (at most [`EARLY_LIMIT`] bytes); once
//! [`attach`] names the file, they are written there first and every later line follows, flushed
//! as it is written.
//!
//! [`layer`] is the tracing layer that feeds the sink; [`shown`] records a line gauntlet printed
//! itself (the caller still prints it).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;

/// Bytes kept in memory before a file is attached; later ones are dropped until then.
pub const EARLY_LIMIT: usize = 1 << 20;

/// Where the lines go.
enum Sink {
    /// No file yet: lines kept for it.
    Early(Vec<u8>),
    /// The run's `gauntlet.log`, and how many bytes reached it.
    File {
        file: File,
        path: PathBuf,
        written: u64,
    },
    /// The file could not be written (a full store): it was removed rather than left empty, and
    /// later lines go to the console only.
    Lost,
}

static SINK: Mutex<Sink> = Mutex::new(Sink::Early(Vec::new()));

fn sink() -> MutexGuard<'static, Sink> {
    SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_bytes(bytes: &[u8]) {
    let mut sink = sink();
    let lost = match &mut *sink {
        Sink::Early(early) => {
            if early.len() + bytes.len() <= EARLY_LIMIT {
                early.extend_from_slice(bytes);
            }
            false
        }
        // A log that cannot be written must not stop the run; the console still has it. A file
        // that never received a byte is removed, so a full store keeps no empty log.
        Sink::File {
            file,
            path,
            written,
        } => match file.write_all(bytes) {
            Ok(()) => {
                *written += bytes.len() as u64;
                false
            }
            Err(_) if *written == 0 => {
                let _ = std::fs::remove_file(&*path);
                true
            }
            Err(_) => false,
        },
        Sink::Lost => false,
    };
    if lost {
        *sink = Sink::Lost;
    }
}

/// From now on the lines go to `path` (created or truncated), starting with those kept so far.
/// A later call moves the log to another file (a test process that runs several runs).
pub fn attach(path: &Path) -> io::Result<()> {
    let mut file = File::create(path)?;
    let mut sink = sink();
    let mut written = 0;
    if let Sink::Early(early) = &*sink {
        if let Err(err) = file.write_all(early) {
            // A full store: no empty or cut-off log is left behind.
            let _ = std::fs::remove_file(path);
            return Err(err);
        }
        written = early.len() as u64;
    }
    *sink = Sink::File {
        file,
        path: path.to_path_buf(),
        written,
    };
    Ok(())
}

/// Records a line gauntlet printed (without its newline; colour codes are the caller's to leave
/// out).
pub fn shown(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    write_bytes(&bytes);
}

/// The tracing writer of the sink: each event is formatted whole, then written in one piece.
pub struct SinkWriter {
    line: Vec<u8>,
}

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SinkWriter {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            write_bytes(&self.line);
        }
    }
}

/// Makes a [`SinkWriter`] per tracing event.
#[derive(Clone, Copy, Debug, Default)]
pub struct MakeSinkWriter;

impl<'a> MakeWriter<'a> for MakeSinkWriter {
    type Writer = SinkWriter;

    fn make_writer(&'a self) -> SinkWriter {
        SinkWriter { line: Vec::new() }
    }
}

/// The tracing layer that copies what the console shows into the sink, without colour codes.
pub fn layer<S>() -> tracing_subscriber::fmt::Layer<
    S,
    tracing_subscriber::fmt::format::DefaultFields,
    tracing_subscriber::fmt::format::Format,
    MakeSinkWriter,
>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(MakeSinkWriter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// One test only: the sink is process-wide.
    #[test]
    fn early_lines_and_tracing_events_reach_the_file_in_order_without_colour() {
        shown("gauntlet: seed 9 (repeat with --seed 9)");
        let subscriber = tracing_subscriber::registry().with(layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(node = 2, "a node is slow");
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gauntlet.log");
        attach(&path).unwrap();
        shown("gauntlet: valid (exit 0)");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "gauntlet: seed 9 (repeat with --seed 9)");
        assert!(
            lines[1].contains("WARN") && lines[1].contains("a node is slow node=2"),
            "{text}"
        );
        assert_eq!(lines[2], "gauntlet: valid (exit 0)");
        assert!(!text.contains('\u{1b}'), "no colour codes: {text:?}");
        let moved = dir.path().join("second.log");
        attach(&moved).unwrap();
        shown("next run");
        assert_eq!(std::fs::read_to_string(&moved).unwrap(), "next run\n");
        assert!(!std::fs::read_to_string(&path).unwrap().contains("next run"));
    }
}
