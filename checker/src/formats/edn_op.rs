//! Turning one EDN operation map (Jepsen's `{:type :invoke, :process 0, :f :read, :value nil}`)
//! into an [`Event`], and EDN data into [`Value`]s. Shared by the Jepsen and Porcupine KV readers.

use crate::edn::Edn;
use crate::error::ParseError;
use crate::history::{Event, EventKind, Process, Value};

/// Where an op map came from, for error messages.
pub(crate) struct Origin<'a> {
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
}

impl Origin<'_> {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::invalid(self.file, self.line, Some(self.column), message)
    }
}

/// Converts EDN data to a [`Value`]: keywords, symbols, characters and big integers become strings
/// (`:timed-out` is `"timed-out"`), floats their decimal text, lists and vectors lists, sets sorted
/// lists, maps sorted lists of `[key value]` pairs, and tagged values the value under the tag.
pub(crate) fn value_from_edn(edn: &Edn) -> Value {
    match edn {
        Edn::Nil => Value::Nil,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::Int(*i),
        Edn::BigInt(digits) => Value::Str(digits.clone()),
        Edn::Float(x) => Value::Str(x.to_string()),
        Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::Str(s.clone()),
        Edn::Char(c) => Value::Str(c.to_string()),
        Edn::List(items) | Edn::Vector(items) => {
            Value::List(items.iter().map(value_from_edn).collect())
        }
        Edn::Set(items) => {
            let mut values: Vec<Value> = items.iter().map(value_from_edn).collect();
            values.sort();
            Value::List(values)
        }
        Edn::Map(pairs) => {
            let mut values: Vec<Value> = pairs
                .iter()
                .map(|(k, v)| Value::List(vec![value_from_edn(k), value_from_edn(v)]))
                .collect();
            values.sort();
            Value::List(values)
        }
        Edn::Tagged(_, inner) => value_from_edn(inner),
    }
}

/// A keyword, symbol or string as a name (`:read` is `"read"`).
fn name_of(edn: &Edn) -> Option<&str> {
    match edn.untagged() {
        Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s) => Some(s),
        _ => None,
    }
}

/// Whether keys are required (`:key`, Porcupine KV) or optional (Jepsen).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyField {
    Optional,
    Required,
}

/// Reads one op map. The event's `index` is left 0 for the caller to set.
pub(crate) fn event_from_edn(
    op: &Edn,
    origin: &Origin<'_>,
    key_field: KeyField,
) -> Result<Event, ParseError> {
    let op = op.untagged();
    if !matches!(op, Edn::Map(_)) {
        return Err(origin.error(format!(
            "expected an operation map like {{:type :invoke, :process 0, :f :read, :value nil}}, found {}",
            op.kind_name()
        )));
    }
    let kind = match op.get_keyword("type").map(|t| (t, name_of(t))) {
        Some((_, Some("invoke"))) => EventKind::Invoke,
        Some((_, Some("ok"))) => EventKind::Ok,
        Some((_, Some("fail"))) => EventKind::Fail,
        Some((_, Some("info"))) => EventKind::Info,
        Some((other, _)) => {
            return Err(origin.error(format!(
                "expected :type to be one of :invoke, :ok, :fail, :info, found {other}"
            )))
        }
        None => return Err(origin.error("expected a :type key (:invoke, :ok, :fail or :info)")),
    };
    let process = match op.get_keyword("process").map(Edn::untagged) {
        Some(Edn::Int(p)) if *p >= 0 => Process::Client(*p as u64),
        Some(Edn::Keyword(name)) if name == "nemesis" => Process::Nemesis,
        Some(other) => {
            return Err(origin.error(format!(
                "expected :process to be a non-negative integer or :nemesis, found {other}"
            )))
        }
        None => return Err(origin.error("expected a :process key (an integer or :nemesis)")),
    };
    let f = match (op.get_keyword("f"), process) {
        (Some(f), _) => match name_of(f) {
            Some(name) => name.to_string(),
            None => {
                return Err(origin.error(format!(
                    "expected :f to be a keyword such as :read, found {}",
                    f.kind_name()
                )))
            }
        },
        (None, Process::Nemesis) => String::new(),
        (None, Process::Client(_)) => {
            return Err(origin.error("expected an :f key naming the function, such as :read"))
        }
    };
    let key = match (op.get_keyword("key"), key_field, process) {
        (Some(key), _, _) => Some(value_from_edn(key)),
        (None, KeyField::Required, Process::Client(_)) => {
            return Err(origin.error("expected a :key in every operation of a Porcupine KV log"))
        }
        (None, _, _) => None,
    };
    let value = op.get_keyword("value").map_or(Value::Nil, value_from_edn);
    let time_ns = match op.get_keyword("time") {
        Some(Edn::Int(t)) if *t >= 0 => Some(*t as u64),
        _ => None,
    };
    Ok(Event {
        index: 0,
        kind,
        process,
        f,
        key,
        value,
        time_ns,
        line: origin.line,
    })
}

/// Jepsen's `jepsen.independent` histories carry `[key value]` tuples as every client value.
/// When no event names a key and every client event's value is such a pair, splits them.
pub(crate) fn split_independent_tuples(events: &mut [Event]) -> bool {
    let mut clients = events
        .iter()
        .filter(|e| e.process != Process::Nemesis)
        .peekable();
    if clients.peek().is_none() {
        return false;
    }
    let all_tuples = clients
        .all(|e| e.key.is_none() && matches!(&e.value, Value::List(items) if items.len() == 2));
    if !all_tuples {
        return false;
    }
    for event in events.iter_mut().filter(|e| e.process != Process::Nemesis) {
        if let Value::List(items) = std::mem::replace(&mut event.value, Value::Nil) {
            let mut items = items.into_iter();
            event.key = items.next();
            event.value = items.next().unwrap_or(Value::Nil);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edn::read_one;

    fn origin() -> Origin<'static> {
        Origin {
            file: "h.edn",
            line: 3,
            column: 1,
        }
    }

    #[test]
    fn reads_a_client_op() {
        let op =
            read_one("{:type :ok, :f :read, :value 3, :process 2, :time 55, :index 9, :extra [1]}")
                .unwrap();
        let event = event_from_edn(&op, &origin(), KeyField::Optional).unwrap();
        assert_eq!(event.kind, EventKind::Ok);
        assert_eq!(event.process, Process::Client(2));
        assert_eq!(event.f, "read");
        assert_eq!(event.value, Value::Int(3));
        assert_eq!(event.time_ns, Some(55));
        assert_eq!(event.line, 3);
    }

    #[test]
    fn reads_a_nemesis_op() {
        let op = read_one("{:type :info, :f :start, :process :nemesis, :value {:n1 :isolated}}")
            .unwrap();
        let event = event_from_edn(&op, &origin(), KeyField::Required).unwrap();
        assert_eq!(event.process, Process::Nemesis);
        assert_eq!(event.key, None);
    }

    #[test]
    fn errors_say_what_was_expected() {
        for (text, expected) in [
            ("[1 2]", "expected an operation map"),
            ("{:process 0, :f :read}", "expected a :type"),
            ("{:type :done, :process 0, :f :read}", "one of :invoke"),
            ("{:type :ok, :process -1, :f :read}", "non-negative integer"),
            ("{:type :ok, :f :read}", "expected a :process"),
            ("{:type :ok, :process 0}", "expected an :f"),
            ("{:type :ok, :process 0, :f 7}", "keyword such as :read"),
        ] {
            let err = event_from_edn(&read_one(text).unwrap(), &origin(), KeyField::Optional)
                .unwrap_err();
            let message = err.to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.starts_with("h.edn:3:1:"), "{message}");
        }
        let no_key = read_one("{:type :ok, :process 0, :f :get}").unwrap();
        assert!(event_from_edn(&no_key, &origin(), KeyField::Required).is_err());
    }

    #[test]
    fn values_convert() {
        let v = value_from_edn(&read_one("[nil :timed-out #{3 1} 2.5 {:b 1}]").unwrap());
        assert_eq!(
            v,
            Value::List(vec![
                Value::Nil,
                Value::Str("timed-out".into()),
                Value::List(vec![Value::Int(1), Value::Int(3)]),
                Value::Str("2.5".into()),
                Value::List(vec![Value::List(vec![
                    Value::Str("b".into()),
                    Value::Int(1)
                ])]),
            ])
        );
    }
}
