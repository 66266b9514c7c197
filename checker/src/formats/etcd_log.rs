//! The Jepsen etcd log: lines such as `INFO  jepsen.util - 2 :invoke :cas [3 0]` (fields split by
//! tabs or spaces): process, type, function, value, for one register starting at nil.
//!
//! The format's own semantics are turned into the shared conventions of [`crate::history`] here:
//! - `:ok :cas [a b]` completes with `true`; `:fail :cas [a b]` took effect and its comparison
//!   failed, so it becomes an `ok` completion with `false`;
//! - a completion whose value is `:timed-out` (`:fail :read :timed-out`, `:info ... :timed-out`)
//!   and any `:info` have an unknown outcome and become `info`;
//! - any other `:fail` stays a `fail` (did not take effect).
//!
//! Lines that are not operations (test set-up chatter) are ignored. A line that starts like an
//! operation (`jepsen.util - <process> :<type>`) but does not finish like one is an error.

use crate::edn::{Edn, Reader};
use crate::error::ParseError;
use crate::history::{Event, EventKind, History, Process, Value};

use super::edn_op::value_from_edn;

/// The marker that precedes every operation's fields.
const MARKER: &str = "jepsen.util - ";

/// Whether a line looks like an etcd-log operation (used by format detection).
pub(crate) fn looks_like_op_line(line: &str) -> bool {
    let Some(at) = line.find(MARKER) else {
        return false;
    };
    let rest = line[at + MARKER.len()..].trim_start();
    let mut fields = rest.split_whitespace();
    let process = fields.next().is_some_and(|p| p.parse::<u64>().is_ok());
    let kind = fields
        .next()
        .is_some_and(|k| kind_of(k.trim_start_matches(':')).is_some());
    process && kind
}

fn kind_of(name: &str) -> Option<EventKind> {
    match name {
        "invoke" => Some(EventKind::Invoke),
        "ok" => Some(EventKind::Ok),
        "fail" => Some(EventKind::Fail),
        "info" => Some(EventKind::Info),
        _ => None,
    }
}

/// Parses a whole etcd log.
pub(crate) fn parse(text: &str, file: &str) -> Result<History, ParseError> {
    let mut events = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line_no = number + 1;
        if !looks_like_op_line(line) {
            continue;
        }
        let at = line.find(MARKER).unwrap_or(0) + MARKER.len();
        let mut event = parse_fields(&line[at..], file, line_no, at)?;
        event.index = events.len();
        events.push(event);
    }
    if events.is_empty() {
        return Err(ParseError::invalid(
            file,
            1,
            None,
            "expected operation lines such as `INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]`, found none",
        ));
    }
    Ok(History { events })
}

/// Reads `<process> :<type> :<f> <value>` from the text after the marker.
fn parse_fields(fields: &str, file: &str, line: usize, offset: usize) -> Result<Event, ParseError> {
    let invalid = |column: usize, message: String| {
        ParseError::invalid(file, line, Some(offset + column), message)
    };
    let mut reader = Reader::new(fields);
    let mut next = |what: &str| -> Result<Edn, ParseError> {
        match reader.read_next_at() {
            Ok(Some((edn, _))) => Ok(edn),
            Ok(None) => {
                let at = reader.position();
                Err(invalid(
                    at.column,
                    format!("expected {what}, found the end of the line"),
                ))
            }
            Err(err) => Err(invalid(
                err.column,
                format!("expected {what}: {}", err.message),
            )),
        }
    };
    let process = match next("a process number")? {
        Edn::Int(p) if p >= 0 => p as u64,
        other => {
            return Err(invalid(
                1,
                format!("expected a process number, found {other}"),
            ))
        }
    };
    let kind = match next("the type (:invoke, :ok, :fail or :info)")? {
        Edn::Keyword(name) => kind_of(&name),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            1,
            "expected the type :invoke, :ok, :fail or :info".to_string(),
        )
    })?;
    let f = match next("the function (:read, :write or :cas)")? {
        Edn::Keyword(name) if matches!(name.as_str(), "read" | "write" | "cas") => name,
        other => {
            return Err(invalid(
                1,
                format!("expected the function :read, :write or :cas, found {other}"),
            ))
        }
    };
    let raw_value = next("a value (nil, a number, [old new] or :timed-out)")?;
    if let Ok(Some((extra, at))) = reader.read_next_at() {
        return Err(invalid(
            at.column,
            format!("expected the end of the line after the value, found {extra}"),
        ));
    }
    let timed_out = matches!(&raw_value, Edn::Keyword(k) if k == "timed-out");
    let value = value_from_edn(&raw_value);
    let (kind, value) = match (kind, f.as_str()) {
        (EventKind::Invoke, _) => (EventKind::Invoke, value),
        (_, _) if timed_out => (EventKind::Info, Value::Nil),
        (EventKind::Info, _) => (EventKind::Info, Value::Nil),
        (EventKind::Ok, "cas") => (EventKind::Ok, Value::Bool(true)),
        (EventKind::Fail, "cas") => (EventKind::Ok, Value::Bool(false)),
        (kind, _) => (kind, value),
    };
    Ok(Event {
        index: 0,
        kind,
        process: Process::Client(process),
        f,
        key: None,
        value,
        time_ns: None,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "INFO  jepsen.core - Running test\n\
INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
INFO  jepsen.util - 2   :fail   :cas    [3 0]\n\
INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
INFO  jepsen.util - 0\t:fail\t:read\t:timed-out\n\
INFO  jepsen.util - 1\t:invoke\t:write\t4\n\
INFO  jepsen.util - 1\t:ok\t:write\t4\n\
INFO  jepsen.util - 3\t:invoke\t:cas\t[4 1]\n\
INFO  jepsen.util - 3\t:ok\t:cas\t[4 1]\n\
INFO  jepsen.util - 4\t:invoke\t:write\t2\n\
INFO  jepsen.util - 4\t:info\t:write\t:timed-out\n";

    #[test]
    fn reads_and_normalizes_the_corpus_shapes() {
        let h = parse(LOG, "etcd.log").unwrap();
        let summary: Vec<(EventKind, &str, Value, usize)> = h
            .events
            .iter()
            .map(|e| (e.kind, e.f.as_str(), e.value.clone(), e.line))
            .collect();
        assert_eq!(summary.len(), 10);
        assert_eq!(
            summary[0],
            (
                EventKind::Invoke,
                "cas",
                Value::List(vec![Value::Int(3), Value::Int(0)]),
                2
            )
        );
        assert_eq!(summary[1], (EventKind::Ok, "cas", Value::Bool(false), 3));
        assert_eq!(summary[2], (EventKind::Invoke, "read", Value::Nil, 4));
        assert_eq!(summary[3], (EventKind::Info, "read", Value::Nil, 5));
        assert_eq!(summary[5], (EventKind::Ok, "write", Value::Int(4), 7));
        assert_eq!(summary[7], (EventKind::Ok, "cas", Value::Bool(true), 9));
        assert_eq!(summary[9], (EventKind::Info, "write", Value::Nil, 11));
    }

    #[test]
    fn a_broken_operation_line_is_an_error() {
        let err = parse("INFO  jepsen.util - 2\t:invoke\t:cas\n", "etcd.log").unwrap_err();
        assert_eq!(err.line(), Some(1));
        assert!(err.to_string().contains("expected a value"), "{err}");
        let err = parse("INFO  jepsen.util - 2\t:invoke\t:frob\t1\n", "etcd.log").unwrap_err();
        assert!(err.to_string().contains(":read, :write or :cas"), "{err}");
        let err = parse("INFO  jepsen.util - 2\t:invoke\t:write\t[1\n", "etcd.log").unwrap_err();
        assert!(err.to_string().contains("expected a value"), "{err}");
    }

    #[test]
    fn a_log_without_operations_is_an_error() {
        let err = parse("INFO  jepsen.core - nothing here\n", "etcd.log").unwrap_err();
        assert!(err.to_string().contains("found none"), "{err}");
    }
}
