//! The fastest path of the native reader: one plain event line
//! (`{"type":"invoke","process":3,"f":"append","key":"k7","value":12,"time_ns":1834}`) scanned
//! straight into a [`ScannedEvent`] (an [`Event`] still borrowing its text), without serde.
//!
//! It accepts only the plain shape gauntlet's recorder writes: keys without escapes, each of
//! `type`, `process`, `f`, `key`, `value` and `time_ns` at most once, and values that are `null`,
//! booleans, integers (in `i64`; `process` and `time_ns` in `u64`), strings without escapes or
//! control characters, and arrays of those. Anything else (an escape, a float, `-0`, an object, a
//! field the reader would refuse) makes it return `None`, and the serde readers of
//! [`super::jsonl`] read the line instead and word any error. So every path gives the same
//! events; the `parse_history` fuzz target and the tests compare them.

use super::scanned::{ScannedEvent, ScannedValue};
use crate::history::{Event, EventKind, Process, Value};

/// Arrays nested deeper than this are left to the serde readers.
const MAX_FAST_DEPTH: usize = 32;

/// A value at the top level of the object, keeping what the fields need to tell apart.
enum Top<'a> {
    Null,
    Bool(bool),
    /// An integer, with its `u64` form when it has one.
    Int(Option<i64>, Option<u64>),
    Str(&'a str),
    List(Vec<Value>),
}

impl<'a> Top<'a> {
    /// The history value; `None` for an integer beyond `i64`.
    fn into_value(self) -> Option<Value> {
        self.into_scanned().map(ScannedValue::into_value)
    }

    /// The value, its strings still borrowed; `None` for an integer beyond `i64`.
    fn into_scanned(self) -> Option<ScannedValue<'a>> {
        Some(match self {
            Top::Null => ScannedValue::Nil,
            Top::Bool(b) => ScannedValue::Bool(b),
            Top::Int(i, _) => ScannedValue::Int(i?),
            Top::Str(s) => ScannedValue::Str(s),
            Top::List(items) => ScannedValue::List(items),
        })
    }
}

/// Reads one whole event line (already trimmed); `None` when it is not of the plain shape.
pub(crate) fn fast_event(line: &str, line_no: usize) -> Option<Event> {
    scan_event(line).map(|event| event.into_event(0, line_no))
}

/// [`fast_event`], the event still borrowing its text.
pub(crate) fn scan_event(line: &str) -> Option<ScannedEvent<'_>> {
    let mut scanner = Scanner {
        text: line,
        bytes: line.as_bytes(),
        pos: 0,
    };
    if scanner.bytes.first() != Some(&b'{') {
        return None;
    }
    scanner.pos = 1;
    let mut kind = None;
    let mut process = None;
    let mut f = None;
    let mut time = None;
    let mut key = None;
    let mut value = None;
    scanner.skip_blank();
    if scanner.bytes.get(scanner.pos) == Some(&b'}') {
        return None;
    }
    loop {
        scanner.skip_blank();
        let name = scanner.string()?;
        scanner.skip_blank();
        if scanner.bytes.get(scanner.pos) != Some(&b':') {
            return None;
        }
        scanner.pos += 1;
        scanner.skip_blank();
        // Byte patterns compare without a call to `memcmp`.
        let slot = match name.as_bytes() {
            [b't', b'y', b'p', b'e'] => &mut kind,
            [b'p', b'r', b'o', b'c', b'e', b's', b's'] => &mut process,
            [b'f'] => &mut f,
            [b't', b'i', b'm', b'e', b'_', b'n', b's'] => &mut time,
            [b'k', b'e', b'y'] => &mut key,
            [b'v', b'a', b'l', b'u', b'e'] => &mut value,
            _ => {
                scanner.top()?;
                if scanner.next_member()? {
                    continue;
                }
                break;
            }
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(scanner.top()?);
        if !scanner.next_member()? {
            break;
        }
    }
    if scanner.pos != scanner.bytes.len() {
        return None;
    }
    let kind = match kind? {
        Top::Str(kind) => match kind.as_bytes() {
            [b'i', b'n', b'v', b'o', b'k', b'e'] => EventKind::Invoke,
            [b'o', b'k'] => EventKind::Ok,
            [b'f', b'a', b'i', b'l'] => EventKind::Fail,
            [b'i', b'n', b'f', b'o'] => EventKind::Info,
            _ => return None,
        },
        _ => return None,
    };
    let process = match process? {
        Top::Int(_, Some(p)) => Process::Client(p),
        Top::Str("nemesis") => Process::Nemesis,
        _ => return None,
    };
    let f = match (f, process) {
        (Some(Top::Str(f)), _) => f,
        (None, Process::Nemesis) => "",
        _ => return None,
    };
    let time_ns = match time {
        None | Some(Top::Null) => None,
        Some(Top::Int(_, Some(t))) => Some(t),
        Some(_) => return None,
    };
    let key = match key {
        None | Some(Top::Null) => None,
        Some(key) => Some(key.into_scanned()?),
    };
    let value = match value {
        None => ScannedValue::Nil,
        Some(value) => value.into_scanned()?,
    };
    Some(ScannedEvent {
        kind,
        process,
        f,
        key,
        value,
        time_ns,
    })
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn skip_blank(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    /// After a member: `true` at a `,` (another member follows), `false` at the closing `}`.
    fn next_member(&mut self) -> Option<bool> {
        self.skip_blank();
        let more = match self.bytes.get(self.pos)? {
            b',' => true,
            b'}' => false,
            _ => return None,
        };
        self.pos += 1;
        Some(more)
    }

    /// A string without escapes or control characters (the scanner is at its opening quote).
    fn string(&mut self) -> Option<&'a str> {
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let rest = self.bytes.get(start..)?;
        let end = start + memchr::memchr2(b'"', b'\\', rest)?;
        if self.bytes[end] != b'"' || self.bytes[start..end].iter().any(|&b| b < 0x20) {
            return None;
        }
        self.pos = end + 1;
        self.text.get(start..end)
    }

    /// `null`, `true`, `false` or an integer.
    fn scalar(&mut self) -> Option<Top<'a>> {
        let rest = self.bytes.get(self.pos..)?;
        for (word, top) in [
            (&b"null"[..], Top::Null),
            (&b"true"[..], Top::Bool(true)),
            (&b"false"[..], Top::Bool(false)),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Some(top);
            }
        }
        let negative = rest.first() == Some(&b'-');
        let digits = &rest[usize::from(negative)..];
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        // JSON has no leading zeros; `-0` is a float to serde_json; fractions and exponents are
        // floats: all left to the serde readers.
        if len == 0
            || (digits[0] == b'0' && (len > 1 || negative))
            || matches!(digits.get(len), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        let end = self.pos + usize::from(negative) + len;
        let token = self.text.get(self.pos..end)?;
        self.pos = end;
        let signed = token.parse::<i64>().ok();
        let unsigned = token.parse::<u64>().ok();
        if signed.is_none() && unsigned.is_none() {
            return None;
        }
        Some(Top::Int(signed, unsigned))
    }

    fn top(&mut self) -> Option<Top<'a>> {
        match self.bytes.get(self.pos)? {
            b'"' => self.string().map(Top::Str),
            b'[' => self.array(0).map(Top::List),
            _ => self.scalar(),
        }
    }

    /// An array's items as values (the scanner is at its `[`).
    fn array(&mut self, depth: usize) -> Option<Vec<Value>> {
        if depth >= MAX_FAST_DEPTH {
            return None;
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_blank();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Some(items);
        }
        loop {
            self.skip_blank();
            let item = match self.bytes.get(self.pos)? {
                b'"' => Value::Str(self.string()?.to_string()),
                b'[' => Value::List(self.array(depth + 1)?),
                _ => self.scalar()?.into_value()?,
            };
            items.push(item);
            self.skip_blank();
            match self.bytes.get(self.pos)? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::parse_text;
    use crate::formats::Format;

    fn general(line: &str) -> Option<Event> {
        let (_, history) = parse_text(line, Format::Jsonl, "f", false).ok()?;
        history.events.into_iter().next()
    }

    #[test]
    fn plain_lines_read_as_the_serde_readers_read_them() {
        for line in [
            r#"{"index":0,"type":"invoke","process":3,"f":"append","key":"k7","value":12,"time_ns":1834}"#,
            r#"{ "type" : "ok", "process":0, "f":"cas", "value":[null,[true,"é"]], "key":null }"#,
            r#"{"type":"info","process":"nemesis","f":"kill","value":["n1"],"time_ns":null}"#,
            r#"{"type":"fail","process":18446744073709551615,"f":"read","value":-9223372036854775808}"#,
            r#"{"type":"info","process":"nemesis"}"#,
            r#"{"type":"ok","process":1,"f":"read","value":[],"extra":[1,"x",false]}"#,
        ] {
            let fast = fast_event(line, 1).expect(line);
            assert_eq!(Some(fast), general(line), "{line}");
        }
    }

    #[test]
    fn unusual_lines_are_left_to_the_serde_readers() {
        for line in [
            r#"{"type":"ok","process":0,"f":"read","value":1.5}"#,
            r#"{"type":"ok","process":0,"f":"read","value":1e3}"#,
            r#"{"type":"ok","process":0,"f":"read","value":-0}"#,
            r#"{"type":"ok","process":0,"f":"read","value":01}"#,
            r#"{"type":"ok","process":0,"f":"read","value":9223372036854775808}"#,
            r#"{"type":"ok","process":-1,"f":"read"}"#,
            r#"{"type":"ok","process":0,"f":"read","value":{"a":1}}"#,
            r#"{"type":"ok","process":0,"f":"re\"ad"}"#,
            r#"{"type":"ok","process":0,"f":"read","f":"write"}"#,
            r#"{"type":"done","process":0,"f":"read"}"#,
            r#"{"type":"ok","process":0}"#,
            r#"{"type":"ok","process":"0","f":"read"}"#,
            r#"{"type":"ok","process":0,"f":"read","time_ns":-5}"#,
            r#"{"type":"ok","process":0,"f":"read",}"#,
            r#"{"type":"ok","process":0,"f":"read"} x"#,
            r#"{"type":"ok","process":0,"f":"read","value":[1,]}"#,
            r#"{"model":"kv"}"#,
            "{}",
        ] {
            assert!(fast_event(line, 1).is_none(), "{line}");
        }
    }
}
