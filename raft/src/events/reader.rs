//! Reads an event stream back. A node killed with SIGKILL may leave its last line cut short:
//! a last line that does not parse is counted as truncated, not an error; a bad line anywhere
//! else is.

use std::path::Path;

use thiserror::Error;

use super::EventRecord;

/// Why a stream could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not an event record: {source}")]
    BadLine {
        path: String,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// The records of one stream file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stream {
    pub records: Vec<EventRecord>,
    /// The last line was cut short (the node was killed while writing it) and was skipped.
    pub truncated_last_line: bool,
}

/// Parses the JSON lines of a stream (`path` names it in errors).
pub fn parse_stream(path: &str, text: &str) -> Result<Stream, ReadError> {
    let mut stream = Stream::default();
    let lines: Vec<&str> = text.lines().collect();
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<EventRecord>(line) {
            Ok(record) => stream.records.push(record),
            // Only the very last line, and only when the file does not end with a newline.
            Err(_) if number + 1 == lines.len() && !text.ends_with('\n') => {
                stream.truncated_last_line = true;
            }
            Err(source) => {
                return Err(ReadError::BadLine {
                    path: path.to_string(),
                    line: number + 1,
                    source,
                })
            }
        }
    }
    Ok(stream)
}

/// Reads the stream file at `path`.
pub fn read_stream(path: &Path) -> Result<Stream, ReadError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: name.clone(),
        source,
    })?;
    // A write cut mid-character leaves invalid UTF-8 at the end only; keep what is valid.
    let text = String::from_utf8_lossy(&bytes);
    parse_stream(&name, &text)
}
