//! Reading history files: the native JSON Lines format, Jepsen `history.edn`, Porcupine's KV log
//! and the Jepsen etcd log. [`detect`] guesses the format from the content; [`load_file`] reads a
//! file into a [`ParsedHistory`] (events, header, the model the file implies). Every failure is a
//! [`ParseError`] naming the file, the line and what was expected; no input makes a parser panic.

mod edn_fast;
mod edn_op;
mod etcd_log;
mod infer;
mod input;
mod jepsen;
pub mod jsonl;
mod jsonl_fast;
mod paired;
mod scanned;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use infer::infer_model;
pub use input::{
    read_bounded, ReadLimits, DEFAULT_MAX_BYTES, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_STREAM_BYTES,
};
pub use jsonl::Header;
pub use paired::{read_paired, PairedHistory};

use crate::edn;
use crate::error::ParseError;
use crate::history::History;

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// gauntlet's native JSON Lines (`docs/history-format.md`).
    Jsonl,
    /// Jepsen `history.edn`.
    Jepsen,
    /// Porcupine's KV test logs (`{:process 0, :type :invoke, :f :get, :key "1", :value nil}`).
    PorcupineKv,
    /// The Jepsen etcd log (`INFO  jepsen.util - 2 :invoke :cas [3 0]`).
    JepsenEtcdLog,
}

impl Format {
    /// Every format, in the order [`detect`] considers them.
    pub const ALL: [Format; 4] = [
        Format::Jsonl,
        Format::Jepsen,
        Format::PorcupineKv,
        Format::JepsenEtcdLog,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Jepsen => "jepsen",
            Format::PorcupineKv => "porcupine-kv",
            Format::JepsenEtcdLog => "jepsen-etcd-log",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of the known ones.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown history format {0:?}: expected jsonl, jepsen, porcupine-kv or jepsen-etcd-log")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// A parsed history with what its file says about how to check it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedHistory {
    pub format: Format,
    /// The native format's header line, when present.
    pub header: Option<Header>,
    pub history: History,
    /// The model the file implies (header, format, or the functions used), if it implies one.
    pub default_model: Option<&'static str>,
}

/// How many lines [`detect`] looks at for an etcd-log operation line.
const DETECT_LINES: usize = 200;
/// How many bytes from the start [`detect`] looks at.
const DETECT_BYTES: usize = 256 * 1024;

/// Guesses a file's format from its first meaningful line; `None` when it matches none.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = &bytes[..bytes.len().min(DETECT_BYTES)];
    let text = String::from_utf8_lossy(head);
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(';'));
    let first = lines.next()?;
    if let Some(rest) = first.strip_prefix('{') {
        let rest = rest.trim_start();
        if rest.starts_with('"') || rest.starts_with('}') {
            return Some(Format::Jsonl);
        }
        if rest.starts_with(':') {
            // Porcupine's KV logs have a :key and none of Jepsen's :time or :index.
            let porcupine = edn::read_one(first).is_ok_and(|op| {
                op.get_keyword("key").is_some()
                    && op.get_keyword("time").is_none()
                    && op.get_keyword("index").is_none()
            });
            return Some(if porcupine {
                Format::PorcupineKv
            } else {
                Format::Jepsen
            });
        }
    }
    if first.starts_with('[') || first.starts_with("#jepsen") {
        return Some(Format::Jepsen);
    }
    if text
        .lines()
        .take(DETECT_LINES)
        .any(etcd_log::looks_like_op_line)
    {
        return Some(Format::JepsenEtcdLog);
    }
    None
}

/// Parses `bytes` (named `source` in errors) into a history.
pub fn parse_bytes(
    bytes: &[u8],
    format: Option<Format>,
    source: &str,
) -> Result<History, ParseError> {
    load_bytes(bytes, format, source).map(|parsed| parsed.history)
}

/// Reads and parses the file at `path`.
pub fn parse_file(path: &Path, format: Option<Format>) -> Result<History, ParseError> {
    load_file(path, format).map(|parsed| parsed.history)
}

/// Reads and parses the file at `path` within the default [`ReadLimits`], keeping its header and
/// implied model.
pub fn load_file(path: &Path, format: Option<Format>) -> Result<ParsedHistory, ParseError> {
    load_file_within(path, format, &ReadLimits::default())
}

/// Reads and parses the file at `path` within `limits`, keeping its header and implied model.
pub fn load_file_within(
    path: &Path,
    format: Option<Format>,
    limits: &ReadLimits,
) -> Result<ParsedHistory, ParseError> {
    let bytes = read_file_within(path, format, limits)?;
    load_bytes(&bytes, format, &path.display().to_string())
}

/// Reads the file at `path` within `limits` (a regular file is judged by its size before it is
/// read; a directory is refused), without parsing it.
pub fn read_file_within(
    path: &Path,
    format: Option<Format>,
    limits: &ReadLimits,
) -> Result<Vec<u8>, ParseError> {
    let file = path.display().to_string();
    let io_error = |source| ParseError::Io {
        file: file.clone(),
        source,
    };
    let opened = std::fs::File::open(path).map_err(io_error)?;
    let metadata = opened.metadata().map_err(io_error)?;
    if metadata.is_dir() {
        return Err(ParseError::Io {
            file,
            source: std::io::Error::other("it is a directory"),
        });
    }
    let size_hint = metadata.is_file().then_some(metadata.len());
    read_bounded(opened, &file, limits, format, size_hint)
}

/// Reads all of `reader` within `limits` and parses it (named `source` in errors).
pub fn load_reader(
    reader: impl std::io::Read,
    format: Option<Format>,
    source: &str,
    limits: &ReadLimits,
) -> Result<ParsedHistory, ParseError> {
    let bytes = read_bounded(reader, source, limits, format, None)?;
    load_bytes(&bytes, format, source)
}

/// Parses `bytes` (named `source` in errors), keeping the header and implied model.
pub fn load_bytes(
    bytes: &[u8],
    format: Option<Format>,
    source: &str,
) -> Result<ParsedHistory, ParseError> {
    // A byte-order mark some editors add is not part of the history.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let good = &bytes[..err.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        ParseError::invalid(
            source,
            line,
            None,
            "expected UTF-8 text, found invalid bytes",
        )
    })?;
    if text.trim().is_empty() {
        return Err(ParseError::invalid(
            source,
            1,
            None,
            "expected a history, found an empty file",
        ));
    }
    let format = match format {
        Some(format) => format,
        None => detect(bytes).ok_or_else(|| ParseError::UnknownFormat {
            file: source.to_string(),
        })?,
    };
    let (header, history) = parse_text(text, format, source, true)?;
    let default_model = infer_model(format, header.as_ref(), &history);
    Ok(ParsedHistory {
        format,
        header,
        history,
        default_model,
    })
}

/// Parses `text` in `format`; `fast` turns the parsers' fast paths on (always, but for the fuzz
/// target comparing them with the general readers, which must give the same result).
pub(crate) fn parse_text(
    text: &str,
    format: Format,
    source: &str,
    fast: bool,
) -> Result<(Option<Header>, History), ParseError> {
    Ok(match format {
        Format::Jsonl => jsonl::parse_with(text, source, fast)?,
        Format::Jepsen => (None, jepsen::parse_with(text, source, fast)?),
        Format::PorcupineKv => (None, jepsen::parse_porcupine_kv_with(text, source, fast)?),
        Format::JepsenEtcdLog => (None, etcd_log::parse(text, source)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>(), Ok(format));
        }
        assert!("edn".parse::<Format>().is_err());
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(
            detect(b"{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n"),
            Some(Format::Jsonl)
        );
        assert_eq!(detect(b"\n{\"version\":1}\n"), Some(Format::Jsonl));
        assert_eq!(
            detect(b"{:type :invoke, :process 0, :f :read}\n"),
            Some(Format::Jepsen)
        );
        assert_eq!(
            detect(b"{:type :invoke, :process 0, :f :read, :key 1, :time 5}\n"),
            Some(Format::Jepsen)
        );
        assert_eq!(
            detect(b"[{:type :invoke, :process 0, :f :read}]"),
            Some(Format::Jepsen)
        );
        assert_eq!(
            detect(b"#jepsen.history.Op{:type :invoke}"),
            Some(Format::Jepsen)
        );
        assert_eq!(
            detect(b"{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n"),
            Some(Format::PorcupineKv)
        );
        assert_eq!(
            detect(b"INFO  jepsen.core - set up\nINFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n"),
            Some(Format::JepsenEtcdLog)
        );
        assert_eq!(detect(b"hello world\n"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn crlf_line_ends_and_a_byte_order_mark_are_accepted() {
        let jsonl = b"\xEF\xBB\xBF{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\r\n{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":1}\r\n";
        let edn = b"\xEF\xBB\xBF{:type :invoke, :process 0, :f :read}\r\n{:type :ok, :process 0, :f :read, :value 1}\r\n";
        let etcd = b"INFO  jepsen.util - 0\t:invoke\t:read\tnil\r\nINFO  jepsen.util - 0\t:ok\t:read\t1\r\n";
        for (bytes, format) in [
            (&jsonl[..], Format::Jsonl),
            (&edn[..], Format::Jepsen),
            (&etcd[..], Format::JepsenEtcdLog),
        ] {
            let parsed = load_bytes(bytes, None, "crlf").unwrap();
            assert_eq!(parsed.format, format);
            assert_eq!(parsed.history.events.len(), 2);
            assert_eq!(
                parsed.history.events[1].value,
                crate::history::Value::Int(1)
            );
            assert_eq!(parsed.history.events[1].line, 2);
        }
    }

    #[test]
    fn unusable_bytes_give_typed_errors() {
        let err = load_bytes(b"", None, "empty.txt").unwrap_err();
        assert!(err.to_string().contains("empty file"), "{err}");
        let err = load_bytes(b"what is this\n", None, "odd.txt").unwrap_err();
        assert!(matches!(err, ParseError::UnknownFormat { .. }), "{err}");
        let err = load_bytes(b"{\"type\":\"ok\"}\n\xff\xfe\n", None, "bin.jsonl").unwrap_err();
        assert_eq!(err.line(), Some(2));
        let err = load_file(Path::new("/nonexistent/history.jsonl"), None).unwrap_err();
        assert!(matches!(err, ParseError::Io { .. }), "{err}");
    }

    #[test]
    fn default_models_follow_header_and_format() {
        let parsed = load_bytes(
            b"{\"model\":\"set\"}\n{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n",
            None,
            "h.jsonl",
        )
        .unwrap();
        assert_eq!(parsed.default_model, Some("set"));
        let parsed = load_bytes(
            b"INFO  jepsen.util - 2\t:invoke\t:read\tnil\n",
            None,
            "e.log",
        )
        .unwrap();
        assert_eq!(parsed.default_model, Some("cas-register"));
    }
}
