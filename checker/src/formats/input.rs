//! Reading a history's bytes within bounds, so no input can make a check grow without limit:
//! at most [`ReadLimits::max_bytes`] in all from a regular file ([`ReadLimits::max_stream_bytes`]
//! from standard input or a pipe, whose size is not known up front), no line longer than
//! [`ReadLimits::max_line_bytes`], no NUL byte (a binary file, `/dev/zero`), and, when no format
//! is named, content one of the formats recognises in the first [`DETECT_BYTES`] (so
//! `yes | gauntlet check -` stops at once). From a stream, the first [`TRIAL_BYTES`] are also
//! parsed and paired on their own: a prefix of a well-formed history is well-formed, so a flood of
//! invocations by one process is refused at its second line instead of at the size limit.
//! Each refusal is a [`ParseError`] naming the source, the line and what was expected.

use std::io::Read;

use super::{detect, parse_text, Format, DETECT_BYTES};
use crate::error::ParseError;
use crate::wellformed;

/// The default bound on a history's size: 1 GiB (a million-operation history is about 160 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// The default bound on a history read from a stream whose size is not known up front (standard
/// input, a pipe): 128 MiB, so an endless stream is refused within a few seconds and about
/// 130 MiB of memory.
pub const DEFAULT_MAX_STREAM_BYTES: u64 = 128 << 20;
/// The default bound on one line: 8 MiB (a read of a million-element list fits; parsed, such a
/// line takes at most about 16 times its size).
pub const DEFAULT_MAX_LINE_BYTES: u64 = 8 << 20;

/// How much of a history is read before it is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most bytes read in all from a regular file (its size known up front).
    pub max_bytes: u64,
    /// Most bytes read in all from a stream whose size is not known up front (standard input, a
    /// pipe).
    pub max_stream_bytes: u64,
    /// Most bytes in one line (not counting its line end).
    pub max_line_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// How much is asked of the reader at a time.
const CHUNK: usize = 1 << 20;

/// How much of a stream is parsed and paired on its own before the rest is read.
pub const TRIAL_BYTES: usize = 1 << 20;

/// A size for messages: whole MiB as `8 MiB`, anything else in bytes.
fn mib(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// What the reader knows of the lines read so far.
struct LineTracker {
    /// Lines ended so far (the current line is `ended + 1`).
    ended: usize,
    /// Byte offset where the current line starts.
    line_start: usize,
}

/// Reads all of `reader` (named `source` in errors) within `limits`. `size_hint` is the expected
/// length (a regular file's size), used to refuse at once and to allocate once. `format` is the
/// format the caller will parse with, if named; without it the content must be recognisable.
pub fn read_bounded(
    mut reader: impl Read,
    source: &str,
    limits: &ReadLimits,
    format: Option<Format>,
    size_hint: Option<u64>,
) -> Result<Vec<u8>, ParseError> {
    if let Some(size) = size_hint.filter(|&size| size > limits.max_bytes) {
        return Err(ParseError::invalid(
            source,
            1,
            None,
            format!(
                "expected a history of at most {} (raise it with --max-input-mb), found a file of {}",
                mib(limits.max_bytes),
                mib(size)
            ),
        ));
    }
    let (max_bytes, from) = match size_hint {
        Some(_) => (limits.max_bytes, ""),
        None => (
            limits.max_stream_bytes,
            " from a stream such as standard input or a pipe",
        ),
    };
    let initial = size_hint
        .map_or(CHUNK as u64, |s| s.saturating_add(1))
        .min(max_bytes);
    let mut bytes: Vec<u8> = Vec::with_capacity(usize::try_from(initial).unwrap_or(CHUNK));
    let mut lines = LineTracker {
        ended: 0,
        line_start: 0,
    };
    let mut detected = format.is_some();
    let mut tried = size_hint.is_some();
    loop {
        let start = bytes.len();
        let room = max_bytes.saturating_sub(start as u64).saturating_add(1);
        let want = room.min(CHUNK as u64);
        let read = match (&mut reader).take(want).read_to_end(&mut bytes) {
            Ok(read) => read,
            Err(source_err) => {
                return Err(ParseError::Io {
                    file: source.to_string(),
                    source: source_err,
                })
            }
        };
        let at_end = (read as u64) < want;
        if read > 0 {
            check_chunk(&bytes, start, &mut lines, source, limits)?;
        }
        if bytes.len() as u64 > max_bytes {
            return Err(ParseError::invalid(
                source,
                lines.ended + 1,
                None,
                format!(
                    "expected a history of at most {}{from} (raise it with --max-input-mb), \
                     found more",
                    mib(max_bytes)
                ),
            ));
        }
        if !detected && (at_end || bytes.len() >= DETECT_BYTES) {
            detected = true;
            let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let blank = content.iter().all(u8::is_ascii_whitespace);
            if !blank && detect(&bytes).is_none() {
                return Err(ParseError::UnknownFormat {
                    file: source.to_string(),
                });
            }
        }
        if !tried && !at_end && bytes.len() >= TRIAL_BYTES {
            tried = true;
            refuse_ill_formed_prefix(&bytes, format, source)?;
        }
        if at_end {
            return Ok(bytes);
        }
    }
}

/// Parses and pairs the complete lines of `bytes` alone, and refuses them when they already break
/// a pairing rule: a prefix of a well-formed history is well-formed, so the whole input would be
/// refused too. Anything the prefix alone cannot tell (a syntax error, a form cut at the prefix's
/// end, no recognisable format) is left to the full read.
fn refuse_ill_formed_prefix(
    bytes: &[u8],
    format: Option<Format>,
    source: &str,
) -> Result<(), ParseError> {
    let Some(end) = memchr::memrchr(b'\n', bytes) else {
        return Ok(());
    };
    let prefix = &bytes[..=end];
    let content = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let (Ok(text), Some(format)) = (
        std::str::from_utf8(content),
        format.or_else(|| detect(prefix)),
    ) else {
        return Ok(());
    };
    let Ok((_, history)) = parse_text(text, format, source, true) else {
        return Ok(());
    };
    match wellformed::pair_owned(history) {
        Ok(_) => Ok(()),
        Err(err) => Err(ParseError::invalid(
            source,
            err.line,
            None,
            format!("{}: {}", err.rule, err.detail),
        )),
    }
}

/// Checks the bytes from `start` on for NUL bytes and over-long lines, and moves the tracker on.
fn check_chunk(
    bytes: &[u8],
    start: usize,
    lines: &mut LineTracker,
    source: &str,
    limits: &ReadLimits,
) -> Result<(), ParseError> {
    let chunk = &bytes[start..];
    let nul = memchr::memchr(0, chunk).map(|at| start + at);
    let too_long =
        |lines: &LineTracker, end: usize| (end - lines.line_start) as u64 > limits.max_line_bytes;
    let long_line_error = |lines: &LineTracker| {
        ParseError::invalid(
            source,
            lines.ended + 1,
            None,
            format!(
                "expected a line end within {} (one event a line; raise it with --max-line-mb), \
                 found a longer line",
                mib(limits.max_line_bytes)
            ),
        )
    };
    for newline in memchr::memchr_iter(b'\n', chunk).map(|at| start + at) {
        if let Some(nul) = nul.filter(|&nul| nul < newline) {
            return Err(nul_error(source, lines, nul));
        }
        if too_long(lines, newline) {
            return Err(long_line_error(lines));
        }
        lines.ended += 1;
        lines.line_start = newline + 1;
    }
    if let Some(nul) = nul {
        return Err(nul_error(source, lines, nul));
    }
    if too_long(lines, bytes.len()) {
        return Err(long_line_error(lines));
    }
    Ok(())
}

fn nul_error(source: &str, lines: &LineTracker, at: usize) -> ParseError {
    ParseError::invalid(
        source,
        lines.ended + 1,
        Some(at - lines.line_start + 1),
        "expected a text history, found a NUL byte (a binary file?)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: ReadLimits = ReadLimits {
        max_bytes: 1000,
        max_stream_bytes: 1000,
        max_line_bytes: 100,
    };

    fn read(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<u8>, ParseError> {
        read_bounded(bytes, "h", limits, None, None)
    }

    #[test]
    fn a_history_within_the_limits_is_read_whole() {
        let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n".repeat(20);
        assert_eq!(read(text.as_bytes(), &SMALL).unwrap(), text.as_bytes());
        let exact = "{\"a\":1}\n".repeat(125);
        assert_eq!(exact.len(), 1000);
        assert!(read(exact.as_bytes(), &SMALL).is_ok());
        assert!(read(b"", &SMALL).unwrap().is_empty());
    }

    #[test]
    fn too_much_input_is_refused_with_its_line() {
        let text = "{\"a\":1}\n".repeat(126);
        let err = read(text.as_bytes(), &SMALL).unwrap_err();
        assert!(err.to_string().contains("at most 1000 bytes"), "{err}");
        assert!(err.to_string().contains("--max-input-mb"), "{err}");
        let err = read_bounded(&b"{}"[..], "f", &SMALL, None, Some(5000)).unwrap_err();
        assert!(err.to_string().contains("found a file of"), "{err}");
    }

    #[test]
    fn a_long_line_is_refused_wherever_it_is() {
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(200));
        for (text, line) in [
            (format!("{{}}\n{long}\n{{}}\n"), 2),
            (format!("{{}}\n{{}}\n{long}"), 3),
        ] {
            let err = read(text.as_bytes(), &SMALL).unwrap_err();
            assert_eq!(err.line(), Some(line), "{err}");
            assert!(err.to_string().contains("--max-line-mb"), "{err}");
        }
        let exactly = format!("{{\"a\":\"{}\"}}\n", "x".repeat(92));
        assert_eq!(exactly.len(), 101);
        assert!(read(exactly.as_bytes(), &SMALL).is_ok());
    }

    #[test]
    fn nul_bytes_and_unrecognisable_content_are_refused_early() {
        let err = read(b"{}\n{\0}\n", &SMALL).unwrap_err();
        assert_eq!(
            err.to_string(),
            "h:2:2: expected a text history, found a NUL byte (a binary file?)"
        );
        let endless_zeros = std::io::repeat(0);
        let err =
            read_bounded(endless_zeros, "zero", &ReadLimits::default(), None, None).unwrap_err();
        assert_eq!(err.line(), Some(1));
        let endless_y = std::io::repeat(b'y');
        let jsonl = Some(Format::Jsonl);
        let err = read_bounded(endless_y, "y", &ReadLimits::default(), jsonl, None).unwrap_err();
        assert!(err.to_string().contains("--max-line-mb"), "{err}");
        let endless_lines = b"y\n".repeat(DETECT_BYTES);
        let err = read(&endless_lines, &ReadLimits::default()).unwrap_err();
        assert!(matches!(err, ParseError::UnknownFormat { .. }), "{err}");
        // A named format skips detection; the parser words the error.
        assert!(read_bounded(&b"y\n"[..], "y", &SMALL, Some(Format::Jsonl), None).is_ok());
    }

    /// An endless stream of event lines, the `n`-th made by `line(n)`; counts the bytes it gave.
    struct Endless<F: Fn(u64) -> String> {
        line: F,
        next: u64,
        pending: Vec<u8>,
        given: u64,
    }

    impl<F: Fn(u64) -> String> Read for Endless<F> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.pending.len() < buf.len() {
                let line = (self.line)(self.next);
                self.next += 1;
                self.pending.extend_from_slice(line.as_bytes());
            }
            let n = buf.len();
            buf.copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            self.given += n as u64;
            Ok(n)
        }
    }

    fn endless<F: Fn(u64) -> String>(line: F) -> Endless<F> {
        Endless {
            line,
            next: 0,
            pending: Vec::new(),
            given: 0,
        }
    }

    #[test]
    fn a_stream_of_invocations_by_one_process_is_refused_at_its_second_line() {
        for (format, line) in [
            (None, r#"{"type":"invoke","process":0,"f":"read"}"#),
            (
                Some(Format::Jsonl),
                r#"{"type":"invoke","process":0,"f":"read"}"#,
            ),
            (None, "{:type :invoke, :f :read, :process 0}"),
        ] {
            let mut stream = endless(|_| format!("{line}\n"));
            let err =
                read_bounded(&mut stream, "s", &ReadLimits::default(), format, None).unwrap_err();
            assert_eq!(err.line(), Some(2), "{err}");
            assert!(err.to_string().contains("still open"), "{err}");
            assert!(stream.given <= 2 * TRIAL_BYTES as u64, "{}", stream.given);
        }
    }

    #[test]
    fn a_stream_of_invocations_by_ever_new_processes_stops_at_the_stream_bound() {
        let limits = ReadLimits {
            max_stream_bytes: 4 << 20,
            ..ReadLimits::default()
        };
        let mut stream =
            endless(|n| format!("{{\"type\":\"invoke\",\"process\":{n},\"f\":\"read\"}}\n"));
        let err = read_bounded(&mut stream, "s", &limits, None, None).unwrap_err();
        assert!(err.to_string().contains("at most 4 MiB"), "{err}");
        assert!(err.to_string().contains("stream"), "{err}");
        assert!(stream.given <= (5 << 20), "{}", stream.given);
        // A regular file of a known size is held to the larger bound.
        let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n".repeat(2000);
        let small_stream = ReadLimits {
            max_stream_bytes: 1000,
            ..ReadLimits::default()
        };
        let size = Some(text.len() as u64);
        assert!(read_bounded(text.as_bytes(), "f", &small_stream, None, size).is_ok());
        assert!(read_bounded(text.as_bytes(), "f", &small_stream, None, None).is_err());
    }
}
