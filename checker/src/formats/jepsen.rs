//! Jepsen `history.edn`: one operation map a line, or one vector of maps. Also the reader behind
//! Porcupine's KV logs, which are the same shape with a `:key` in every operation.
//!
//! `:time` (nanoseconds) is kept; `:index` and any other key is ignored. `:process :nemesis`
//! operations are kept for reports. With `jepsen.independent`, every client value is a
//! `[key value]` tuple; such histories are split into keyed events (see
//! [`super::edn_op::split_independent_tuples`]).

use super::edn_fast::fast_op;
use super::edn_op::{event_from_edn, split_independent_tuples, KeyField, Origin};
use crate::edn::{Edn, EdnError, Position, Reader};
use crate::error::ParseError;
use crate::history::{Event, History};

fn edn_error(file: &str, err: EdnError) -> ParseError {
    ParseError::invalid(file, err.line, Some(err.column), err.message)
}

/// Where the reading of ops stands: a byte offset, its line, and where that line starts.
#[derive(Clone, Copy)]
struct Cursor {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl Cursor {
    fn of_reader(text: &str, reader: &Reader<'_>) -> Cursor {
        let offset = reader.offset();
        let line_start = memchr::memrchr(b'\n', &text.as_bytes()[..offset]).map_or(0, |at| at + 1);
        Cursor {
            offset,
            line: reader.position().line,
            line_start,
        }
    }

    fn reader<'a>(&self, text: &'a str) -> Reader<'a> {
        let column = text
            .get(self.line_start..self.offset)
            .map_or(0, |before| before.chars().count())
            + 1;
        Reader::resume(text, self.offset, self.line, column)
    }

    /// Skips spaces, tabs, carriage returns, commas and line ends.
    fn skip_blank(&mut self, bytes: &[u8]) {
        while let Some(&b) = bytes.get(self.offset) {
            match b {
                b' ' | b',' | b'\t' | b'\r' => {}
                b'\n' => {
                    self.line += 1;
                    self.line_start = self.offset + 1;
                }
                _ => return,
            }
            self.offset += 1;
        }
    }
}

/// Reads every operation map of an EDN history, in order; also says whether any client operation
/// had a `:key` entry (even `:key nil`). With `fast`, plain one-line maps take the fast path
/// ([`super::edn_fast`]); everything else, and every error, the general reader. Without it, the
/// general reader reads everything (for comparing the two).
pub(crate) fn read_ops_with(
    text: &str,
    file: &str,
    key_field: KeyField,
    fast: bool,
) -> Result<(Vec<Event>, bool), ParseError> {
    let bytes = text.as_bytes();
    // One op map a line is the usual shape: one event per line end, at most.
    let mut events = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
    let mut saw_key_field = false;
    let mut push_edn =
        |events: &mut Vec<Event>, edn: Edn, at: Position| -> Result<(), ParseError> {
            let origin = Origin {
                file,
                line: at.line,
                column: at.column,
            };
            saw_key_field |= edn.untagged().get_keyword("key").is_some();
            let mut event = event_from_edn(edn, &origin, key_field)?;
            event.index = events.len();
            events.push(event);
            Ok(())
        };
    let mut reader = Reader::new(text);
    let in_vector = reader.open('[').map_err(|e| edn_error(file, e))?;
    let mut cursor = Cursor::of_reader(text, &reader);
    let mut fast_key_field = false;
    loop {
        cursor.skip_blank(bytes);
        if fast && bytes.get(cursor.offset) == Some(&b'{') {
            let line_end = memchr::memchr(b'\n', &bytes[cursor.offset..])
                .map_or(bytes.len(), |at| cursor.offset + at);
            if let Some(op) = fast_op(&text[cursor.offset..line_end], key_field) {
                fast_key_field |= op.has_key_field;
                events.push(op.event.into_event(events.len(), cursor.line));
                cursor.offset += op.consumed;
                continue;
            }
        }
        // One step of the general reader from the cursor.
        let mut reader = cursor.reader(text);
        if in_vector && reader.close(']').map_err(|e| edn_error(file, e))? {
            if let Some((extra, at)) = reader.read_next_at().map_err(|e| edn_error(file, e))? {
                return Err(ParseError::invalid(
                    file,
                    at.line,
                    Some(at.column),
                    format!(
                        "expected the end of the file after the vector of operations, found {}",
                        extra.kind_name()
                    ),
                ));
            }
            break;
        }
        match reader.read_next_at().map_err(|e| edn_error(file, e))? {
            Some((edn, at)) => push_edn(&mut events, edn, at)?,
            None if in_vector => {
                let at = reader.position();
                return Err(ParseError::invalid(
                    file,
                    at.line,
                    Some(at.column),
                    "expected ']' closing the vector of operations, found the end of the file",
                ));
            }
            None => break,
        }
        cursor = Cursor::of_reader(text, &reader);
    }
    Ok((events, saw_key_field || fast_key_field))
}

/// Parses a Jepsen `history.edn`.
#[cfg(test)]
pub(crate) fn parse(text: &str, file: &str) -> Result<History, ParseError> {
    parse_with(text, file, true)
}

/// [`parse`], with the fast path on or off.
pub(crate) fn parse_with(text: &str, file: &str, fast: bool) -> Result<History, ParseError> {
    let (mut events, saw_key_field) = read_ops_with(text, file, KeyField::Optional, fast)?;
    // Histories that name keys themselves are not `jepsen.independent` ones.
    if !saw_key_field {
        split_independent_tuples(&mut events);
    }
    Ok(History { events })
}

/// Parses a Porcupine KV log (`{:process 0, :type :invoke, :f :get, :key "3", :value nil}` a line).
#[cfg(test)]
pub(crate) fn parse_porcupine_kv(text: &str, file: &str) -> Result<History, ParseError> {
    parse_porcupine_kv_with(text, file, true)
}

/// [`parse_porcupine_kv`], with the fast path on or off.
pub(crate) fn parse_porcupine_kv_with(
    text: &str,
    file: &str,
    fast: bool,
) -> Result<History, ParseError> {
    let (events, _) = read_ops_with(text, file, KeyField::Required, fast)?;
    Ok(History { events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventKind, Process, Value};

    #[test]
    fn reads_one_map_a_line() {
        let text = "{:type :invoke, :f :write, :value 3, :process 0, :time 10, :index 0}\n\
                    {:type :info, :f :start, :value nil, :process :nemesis, :index 1}\n\
                    {:type :ok, :f :write, :value 3, :process 0, :time 20, :index 2}\n";
        let h = parse(text, "h.edn").unwrap();
        assert_eq!(h.events.len(), 3);
        assert_eq!(h.events[1].process, Process::Nemesis);
        assert_eq!(h.events[2].index, 2);
        assert_eq!(h.events[2].line, 3);
        assert_eq!(h.events[2].kind, EventKind::Ok);
    }

    #[test]
    fn reads_one_vector_of_maps() {
        let text = "[{:type :invoke, :f :read, :value nil, :process 0}\n {:type :ok, :f :read, :value 1, :process 0}]\n";
        let h = parse(text, "h.edn").unwrap();
        assert_eq!(h.events.len(), 2);
        assert_eq!(h.events[1].line, 2);
        assert_eq!(h.events[1].value, Value::Int(1));
        let err = parse("[{:type :invoke, :f :read, :process 0}", "h.edn").unwrap_err();
        assert!(err.to_string().contains("expected ']'"), "{err}");
    }

    #[test]
    fn splits_independent_tuples() {
        let text = "{:type :invoke, :f :cas, :value [:k1 [1 2]], :process 0}\n\
                    {:type :ok, :f :cas, :value [:k1 [1 2]], :process 0}\n\
                    {:type :invoke, :f :read, :value [:k2 nil], :process 1}\n\
                    {:type :info, :f :read, :value nil, :process 1}\n";
        let h = parse(text, "h.edn").unwrap();
        assert_eq!(h.events[0].key, Some(Value::Str("k1".into())));
        assert_eq!(
            h.events[0].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(h.events[2].key, Some(Value::Str("k2".into())));
        assert_eq!(h.events[2].value, Value::Nil);
        assert_eq!(h.events[3].key, None);
    }

    #[test]
    fn histories_with_a_key_field_are_not_split() {
        let text = "{:type :invoke, :f :write, :value [1 2], :key nil, :process 0}\n";
        let h = parse(text, "h.edn").unwrap();
        assert_eq!(h.events[0].key, None);
        assert_eq!(
            h.events[0].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
    }

    #[test]
    fn plain_register_values_are_not_split() {
        let text = "{:type :invoke, :f :cas, :value [1 2], :process 0}\n\
                    {:type :invoke, :f :read, :value nil, :process 1}\n";
        let h = parse(text, "h.edn").unwrap();
        assert_eq!(h.events[0].key, None);
    }

    #[test]
    fn porcupine_kv_requires_keys() {
        let ok = parse_porcupine_kv(
            "{:process 0, :type :invoke, :f :get, :key \"3\", :value nil}\n",
            "c.txt",
        )
        .unwrap();
        assert_eq!(ok.events[0].key, Some(Value::Str("3".into())));
        let err = parse_porcupine_kv(
            "{:process 0, :type :invoke, :f :get, :value nil}\n",
            "c.txt",
        )
        .unwrap_err();
        assert!(err.to_string().contains(":key"), "{err}");
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let err = parse(
            "{:type :invoke, :f :read, :process 0}\n{:type :ok :f}\n",
            "h.edn",
        )
        .unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().starts_with("h.edn:2:"), "{err}");
    }
}
