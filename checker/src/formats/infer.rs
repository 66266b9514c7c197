//! The model a history file implies when the user names none: the native header's `model`, the
//! format's own model (etcd log: cas-register; Porcupine KV: kv), or else the functions used.

use super::{Format, Header};
use crate::history::{History, Process};

/// The model name (as `--model` spells it) a file implies, or `None` when it cannot be told.
pub fn infer_model(
    format: Format,
    header: Option<&Header>,
    history: &History,
) -> Option<&'static str> {
    match format {
        Format::JepsenEtcdLog => return Some("cas-register"),
        Format::PorcupineKv => return Some("kv"),
        Format::Jsonl | Format::Jepsen => {}
    }
    // The distinct functions, in order of first use (histories use a handful).
    let mut functions: Vec<&str> = Vec::new();
    let mut last = None;
    for event in history
        .events
        .iter()
        .filter(|e| e.process != Process::Nemesis)
    {
        let f = event.f.as_str();
        if last != Some(f) && !functions.contains(&f) {
            functions.push(f);
        }
        last = Some(f);
    }
    infer_from_functions(format, header, &functions)
}

/// [`infer_model`] from the distinct functions the history's client events use.
pub(crate) fn infer_from_functions(
    format: Format,
    header: Option<&Header>,
    functions: &[&str],
) -> Option<&'static str> {
    match format {
        Format::JepsenEtcdLog => return Some("cas-register"),
        Format::PorcupineKv => return Some("kv"),
        Format::Jsonl | Format::Jepsen => {}
    }
    if let Some(model) = header.and_then(|h| h.model.as_deref()) {
        return MODELS.iter().copied().find(|known| *known == model);
    }
    let only = |allowed: &[&str]| functions.iter().all(|f| allowed.contains(f));
    if functions.is_empty() {
        None
    } else if only(&["read", "write"]) {
        Some("register")
    } else if only(&["read", "write", "cas"]) {
        Some("cas-register")
    } else if only(&["append", "read"]) {
        Some("list-append")
    } else if only(&["add", "read"]) {
        Some("set")
    } else if only(&["get", "put", "append", "cas", "delete"]) {
        Some("kv")
    } else {
        None
    }
}

/// The model names `--model` accepts.
const MODELS: [&str; 5] = ["register", "cas-register", "kv", "list-append", "set"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventKind, Value};

    fn history(fs: &[&str]) -> History {
        History {
            events: fs
                .iter()
                .enumerate()
                .map(|(index, f)| Event {
                    index,
                    kind: EventKind::Invoke,
                    process: Process::Client(index as u64),
                    f: f.to_string(),
                    key: None,
                    value: Value::Nil,
                    time_ns: None,
                    line: index + 1,
                })
                .collect(),
        }
    }

    #[test]
    fn infers_from_functions() {
        let cases: [(&[&str], Option<&str>); 7] = [
            (&["read", "write"], Some("register")),
            (&["read", "cas"], Some("cas-register")),
            (&["append", "read"], Some("list-append")),
            (&["add", "read"], Some("set")),
            (&["get", "put", "append"], Some("kv")),
            (&["frobnicate"], None),
            (&[], None),
        ];
        for (fs, expected) in cases {
            assert_eq!(
                infer_model(Format::Jepsen, None, &history(fs)),
                expected,
                "{fs:?}"
            );
        }
    }

    #[test]
    fn header_and_format_win() {
        let header = Header {
            model: Some("kv".into()),
            ..Header::default()
        };
        assert_eq!(
            infer_model(Format::Jsonl, Some(&header), &history(&["read"])),
            Some("kv")
        );
        let odd = Header {
            model: Some("nonsense".into()),
            ..Header::default()
        };
        assert_eq!(
            infer_model(Format::Jsonl, Some(&odd), &history(&["read"])),
            None
        );
        assert_eq!(
            infer_model(Format::JepsenEtcdLog, None, &history(&[])),
            Some("cas-register")
        );
        assert_eq!(
            infer_model(Format::PorcupineKv, None, &history(&[])),
            Some("kv")
        );
    }
}
