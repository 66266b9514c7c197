//! Errors for input a check cannot use: a file that does not parse ([`ParseError`]) or a history
//! that is not well-formed ([`crate::wellformed::WellFormedError`]). Both name the file and the line,
//! and say what was expected, so a user knows what to fix.

use crate::wellformed::WellFormedError;

/// A history file that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The file could not be read at all.
    #[error("{file}: cannot read the file: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// No format was given and the content matches none of the known ones.
    #[error(
        "{file}:1: cannot tell the history format from its first lines; \
         expected JSON Lines, Jepsen EDN, a Porcupine KV log or a Jepsen etcd log \
         (name one with --format jsonl|jepsen|porcupine-kv|jepsen-etcd-log)"
    )]
    UnknownFormat { file: String },
    /// The content breaks the format at a given place.
    #[error("{file}:{line}{}: {message}", column.map(|c| format!(":{c}")).unwrap_or_default())]
    Invalid {
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What was expected and what was found.
        message: String,
    },
}

impl ParseError {
    /// An error at a line (and optionally a column) of `file`.
    pub fn invalid(
        file: &str,
        line: usize,
        column: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        ParseError::Invalid {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// The 1-based line the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Any reason a history file cannot be checked (the `gauntlet check` exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{file}:{source}")]
    WellFormed {
        file: String,
        #[source]
        source: WellFormedError,
    },
}
