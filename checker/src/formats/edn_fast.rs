//! The fast path of the EDN readers: one flat Jepsen operation map
//! (`{:type :invoke, :f :read, :key "k1", :value [1 2], :process 3, :time 17, :index 0}`) read
//! straight into a [`ScannedEvent`] (an [`crate::history::Event`] still borrowing its text),
//! without building an [`crate::edn::Edn`] tree.
//!
//! It accepts only the plain shape real histories use: keyword keys, each of `:type`,
//! `:process`, `:f`, `:time`, `:key` and `:value` at most once, and values that are `nil`,
//! booleans, `i64` integers, keywords, strings without escapes, and vectors or lists of those,
//! all on one line. Anything else (a symbol, a float, a nested map, a tag, an escape, a comment, a
//! value the general reader would refuse) makes it return `None`, and the general reader
//! ([`super::edn_op::event_from_edn`]) reads the map instead and words any error. So the two
//! paths agree on every input; the `parse_history` fuzz target and the tests compare them.

use super::edn_op::KeyField;
use super::scanned::{ScannedEvent, ScannedValue};
use crate::history::{EventKind, Process, Value};

/// Lists nested deeper than this are left to the general reader.
const MAX_FAST_DEPTH: usize = 32;

/// One operation map read by the fast path.
pub(crate) struct FastOp<'a> {
    /// The event, its index and line for the caller to give.
    pub event: ScannedEvent<'a>,
    /// Whether the map had a `:key` entry (even `:key nil`).
    pub has_key_field: bool,
    /// Bytes of the input the map took, from its `{` to its `}`.
    pub consumed: usize,
}

/// A value at the top level of the map, keeping what the fields need to tell apart.
enum Top<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Keyword(&'a str),
    Str(&'a str),
    List(Vec<Value>),
}

impl<'a> Top<'a> {
    fn into_value(self) -> Value {
        self.into_scanned().into_value()
    }

    /// The value, its strings still borrowed (a keyword is its name as a string).
    fn into_scanned(self) -> ScannedValue<'a> {
        match self {
            Top::Nil => ScannedValue::Nil,
            Top::Bool(b) => ScannedValue::Bool(b),
            Top::Int(i) => ScannedValue::Int(i),
            Top::Keyword(s) | Top::Str(s) => ScannedValue::Str(s),
            Top::List(items) => ScannedValue::List(items),
        }
    }

    /// A keyword or string as a name (`:read` is `read`).
    fn name(&self) -> Option<&'a str> {
        match self {
            Top::Keyword(s) | Top::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads one operation map at the start of `text` (which starts with `{`); `None` when the map is
/// not of the plain shape or its fields would be refused.
pub(crate) fn fast_op(text: &str, key_field: KeyField) -> Option<FastOp<'_>> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
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
    loop {
        scanner.skip_blank();
        match scanner.bytes.get(scanner.pos)? {
            b'}' => {
                scanner.pos += 1;
                break;
            }
            b':' => {}
            _ => return None,
        }
        let name = scanner.keyword()?;
        scanner.skip_blank();
        // Byte patterns compare without a call to `memcmp`.
        let slot = match name.as_bytes() {
            [b't', b'y', b'p', b'e'] => &mut kind,
            [b'p', b'r', b'o', b'c', b'e', b's', b's'] => &mut process,
            [b'f'] => &mut f,
            [b't', b'i', b'm', b'e'] => &mut time,
            [b'k', b'e', b'y'] => &mut key,
            [b'v', b'a', b'l', b'u', b'e'] => &mut value,
            _ => {
                scanner.top()?;
                continue;
            }
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(scanner.top()?);
    }
    let kind = match kind?.name()?.as_bytes() {
        [b'i', b'n', b'v', b'o', b'k', b'e'] => EventKind::Invoke,
        [b'o', b'k'] => EventKind::Ok,
        [b'f', b'a', b'i', b'l'] => EventKind::Fail,
        [b'i', b'n', b'f', b'o'] => EventKind::Info,
        _ => return None,
    };
    let process = match process? {
        Top::Int(p) if p >= 0 => Process::Client(p as u64),
        Top::Keyword("nemesis") => Process::Nemesis,
        _ => return None,
    };
    let f = match (f, process) {
        (Some(f), _) => f.name()?,
        (None, Process::Nemesis) => "",
        (None, Process::Client(_)) => return None,
    };
    let time_ns = match time {
        Some(Top::Int(t)) if t >= 0 => Some(t as u64),
        _ => None,
    };
    let has_key_field = key.is_some();
    let key = match (key, key_field, process) {
        (Some(Top::Nil) | None, KeyField::Required, Process::Client(_)) => return None,
        (Some(Top::Nil) | None, _, _) => None,
        (Some(key), _, _) => Some(key.into_scanned()),
    };
    Some(FastOp {
        event: ScannedEvent {
            kind,
            process,
            f,
            key,
            value: value.map_or(ScannedValue::Nil, Top::into_scanned),
            time_ns,
        },
        has_key_field,
        consumed: scanner.pos,
    })
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// Bytes that end a token, as the general reader's `is_delimiter` has them (ASCII only).
const fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | 0x0b
            | 0x0c
            | b','
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'"'
            | b';'
    )
}

/// For each byte: 1 when it continues a token the fast path reads (printable ASCII, not a
/// delimiter), 2 when it is a delimiter, 0 when the fast path gives up (non-ASCII, control bytes).
const BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = if is_delimiter(b as u8) {
            2
        } else if b >= 0x21 && b < 0x7f {
            1
        } else {
            0
        };
        b += 1;
    }
    table
};

impl<'a> Scanner<'a> {
    /// Skips spaces, tabs, carriage returns and commas (a line end is not skipped: maps that span
    /// lines are left to the general reader).
    fn skip_blank(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b',' | b'\t' | b'\r')) {
            self.pos += 1;
        }
    }

    /// A token of printable ASCII up to a delimiter; `None` for anything the general reader might
    /// read otherwise (non-ASCII, control bytes, a token starting with `#`, `^` or `\`).
    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let rest = self.bytes.get(start..)?;
        let len = rest
            .iter()
            .position(|&b| BYTE_CLASS[usize::from(b)] != 1)
            .unwrap_or(rest.len());
        if rest
            .get(len)
            .is_some_and(|&b| BYTE_CLASS[usize::from(b)] == 0)
        {
            return None;
        }
        self.pos = start + len;
        match rest.first()? {
            b'#' | b'^' | b'\\' => None,
            _ if len == 0 => None,
            _ => self.text.get(start..self.pos),
        }
    }

    /// A keyword's name (the scanner is at its `:`).
    fn keyword(&mut self) -> Option<&'a str> {
        let token = self.token()?;
        token.strip_prefix(':').filter(|name| !name.is_empty())
    }

    /// A scalar token: `nil`, `true`, `false`, an `i64`, or a keyword.
    fn scalar(&mut self) -> Option<Top<'a>> {
        let token = self.token()?;
        match token.as_bytes() {
            [b'n', b'i', b'l'] => return Some(Top::Nil),
            [b't', b'r', b'u', b'e'] => return Some(Top::Bool(true)),
            [b'f', b'a', b'l', b's', b'e'] => return Some(Top::Bool(false)),
            [b':', _, ..] => return token.get(1..).map(Top::Keyword),
            [b':'] => return None,
            _ => {}
        }
        let digits = token.strip_prefix(['-', '+']).unwrap_or(token);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        token.parse::<i64>().ok().map(Top::Int)
    }

    /// A string without escapes (the scanner is at its opening quote).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        let rest = self.bytes.get(start..)?;
        let end = start + memchr::memchr2(b'"', b'\\', rest)?;
        if self.bytes[end] != b'"' || memchr::memchr(b'\n', &self.bytes[start..end]).is_some() {
            return None;
        }
        self.pos = end + 1;
        self.text.get(start..end)
    }

    /// A value at the top level of the map.
    fn top(&mut self) -> Option<Top<'a>> {
        match self.bytes.get(self.pos)? {
            b'"' => self.string().map(Top::Str),
            b'[' | b'(' => self.list(0).map(Top::List),
            _ => self.scalar(),
        }
    }

    /// A vector or list, as the items' values (the scanner is at its opening bracket).
    fn list(&mut self, depth: usize) -> Option<Vec<Value>> {
        if depth >= MAX_FAST_DEPTH {
            return None;
        }
        let close = if self.bytes[self.pos] == b'[' {
            b']'
        } else {
            b')'
        };
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            let item = match *self.bytes.get(self.pos)? {
                b if b == close => {
                    self.pos += 1;
                    return Some(items);
                }
                b'"' => Value::Str(self.string()?.to_string()),
                b'[' | b'(' => Value::List(self.list(depth + 1)?),
                _ => self.scalar()?.into_value(),
            };
            items.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edn::read_one;
    use crate::formats::edn_op::{event_from_edn, Origin};
    use crate::history::Event;

    fn general(text: &str, key_field: KeyField) -> Option<Event> {
        let origin = Origin {
            file: "f",
            line: 0,
            column: 1,
        };
        event_from_edn(read_one(text).ok()?, &origin, key_field).ok()
    }

    #[test]
    fn plain_maps_read_as_the_general_reader_reads_them() {
        for text in [
            "{:type :invoke, :f :get, :key \"k6\", :value nil, :process 7, :time 17, :index 0}",
            "{:type :ok, :f :cas, :value [1 (2 [:x \"é\"])], :process 0, :time -5}",
            "{:process :nemesis, :type :info, :f :start, :value [:n1 :n2]}",
            "{:type \"fail\", :f \"read\", :process +3, :key nil, :value true}",
            "{:type :info, :process :nemesis}",
            "{:type :ok :f :read :value -9223372036854775808 :process 007 :error [:timeout]}",
            "{:type :invoke, :f :a#b, :process 1, :key :k1}",
        ] {
            let fast = fast_op(text, KeyField::Optional).expect(text);
            assert_eq!(fast.consumed, text.len(), "{text}");
            assert_eq!(
                Some(fast.event.into_event(0, 0)),
                general(text, KeyField::Optional),
                "{text}"
            );
        }
    }

    #[test]
    fn unusual_maps_are_left_to_the_general_reader() {
        for text in [
            "{:type :ok, :f :read, :value 1.5, :process 0}",
            "{:type :ok, :f :read, :value 99999999999999999999, :process 0}",
            "{:type :ok, :f :read, :value {:a 1}, :process 0}",
            "{:type :ok, :f :read, :value #{1}, :process 0}",
            "{:type :ok, :f :read, :value \"a\\nb\", :process 0}",
            "{:type :ok, :f :read, :value sym, :process 0}",
            "{:type :ok, :f :read, :process 0, :process 1}",
            "{:type :ok, :f :read, :process \"nemesis\"}",
            "{:type :ok, :f :read, :process -1}",
            "{:type :done, :f :read, :process 0}",
            "{:type :ok, :process 0}",
            "{:type :ok, :f 3, :process 0}",
            "{:type :ok, :f :read, :process 0, \"k\" 1}",
            "{:type :ok, :f :read, :process 0 ; comment\n}",
            "{:type :ok, :f :read, :value [1 2}, :process 0}",
            "{:type :ok, :f :read, :value \u{a0}1, :process 0}",
            "{:type :ok, :f :read, :process 0",
            "#jepsen.history.Op{:type :ok, :f :read, :process 0}",
        ] {
            assert!(fast_op(text, KeyField::Optional).is_none(), "{text}");
        }
        let no_key = "{:type :ok, :f :get, :process 0, :key nil}";
        assert!(fast_op(no_key, KeyField::Required).is_none());
        assert!(fast_op(no_key, KeyField::Optional).is_some_and(|op| op.has_key_field));
    }
}
