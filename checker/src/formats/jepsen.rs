//! Jepsen `history.edn`: one operation map a line, or one vector of maps. Also the reader behind
//! Porcupine's KV logs, which are the same shape with a `:key` in every operation.
//!
//! `:time` (nanoseconds) is kept; `:index` and any other key is ignored. `:process :nemesis`
//! operations are kept for reports. With `jepsen.independent`, every client value is a
//! `[key value]` tuple; such histories are split into keyed events (see
//! [`super::edn_op::split_independent_tuples`]).

use super::edn_op::{event_from_edn, split_independent_tuples, KeyField, Origin};
use crate::edn::{Edn, EdnError, Reader};
use crate::error::ParseError;
use crate::history::{Event, History};

fn edn_error(file: &str, err: EdnError) -> ParseError {
    ParseError::invalid(file, err.line, Some(err.column), err.message)
}

/// Reads every operation map of an EDN history, in order.
fn read_ops(text: &str, file: &str, key_field: KeyField) -> Result<Vec<Event>, ParseError> {
    let mut reader = Reader::new(text);
    let mut events = Vec::new();
    let mut push = |edn: Edn, line: usize, column: usize| -> Result<(), ParseError> {
        let origin = Origin { file, line, column };
        let mut event = event_from_edn(&edn, &origin, key_field)?;
        event.index = events.len();
        events.push(event);
        Ok(())
    };
    if reader.open('[').map_err(|e| edn_error(file, e))? {
        loop {
            if reader.close(']').map_err(|e| edn_error(file, e))? {
                break;
            }
            match reader.read_next_at().map_err(|e| edn_error(file, e))? {
                Some((edn, at)) => push(edn, at.line, at.column)?,
                None => {
                    let at = reader.position();
                    return Err(ParseError::invalid(
                        file,
                        at.line,
                        Some(at.column),
                        "expected ']' closing the vector of operations, found the end of the file",
                    ));
                }
            }
        }
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
    } else {
        while let Some((edn, at)) = reader.read_next_at().map_err(|e| edn_error(file, e))? {
            push(edn, at.line, at.column)?;
        }
    }
    Ok(events)
}

/// Parses a Jepsen `history.edn`.
pub(crate) fn parse(text: &str, file: &str) -> Result<History, ParseError> {
    let mut events = read_ops(text, file, KeyField::Optional)?;
    split_independent_tuples(&mut events);
    Ok(History { events })
}

/// Parses a Porcupine KV log (`{:process 0, :type :invoke, :f :get, :key "3", :value nil}` a line).
pub(crate) fn parse_porcupine_kv(text: &str, file: &str) -> Result<History, ParseError> {
    let events = read_ops(text, file, KeyField::Required)?;
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
                    {:type :invoke, :f :read, :value [:k2 nil], :process 1}\n";
        let h = parse(text, "h.edn").unwrap();
        assert_eq!(h.events[0].key, Some(Value::Str("k1".into())));
        assert_eq!(
            h.events[0].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(h.events[2].key, Some(Value::Str("k2".into())));
        assert_eq!(h.events[2].value, Value::Nil);
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
