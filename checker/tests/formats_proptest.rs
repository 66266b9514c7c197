//! Properties of the history parsers: no input makes any of them panic (random bytes, random
//! EDN-like text, and valid histories with random damage), the fuzz target's properties hold on the
//! last two (the parsers' fast paths read exactly what the general readers read), and random
//! histories written as JSON Lines or as Jepsen EDN read back as the same events.

use std::path::Path;
use std::time::Duration;

use checker::edn;
use checker::formats::{self, Format};
use checker::history::{EventKind, Process, Value};
use checker::wellformed;
use checker::{check_operations, CheckOptions, ModelKind};
use proptest::prelude::*;

/// Every parser (each format, and detection) on the same bytes; pairs whatever parses.
fn parse_everything(bytes: &[u8]) {
    for format in [
        None,
        Some(Format::Jsonl),
        Some(Format::Jepsen),
        Some(Format::PorcupineKv),
        Some(Format::JepsenEtcdLog),
    ] {
        if let Ok(parsed) = formats::load_bytes(bytes, format, "fuzz") {
            let _ = wellformed::pair(&parsed.history);
        }
    }
    let _ = formats::detect(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = edn::read_all(text);
    }
}

fn valid_histories() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../histories");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter(|line| !line.ends_with("unusable"))
        .filter_map(|line| line.split('\t').next())
        .map(|file| std::fs::read(dir.join(file)).unwrap())
        .collect()
}

#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn damage(mut bytes: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for d in damages {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match *d {
            Damage::Flip(at, b) => bytes[at % len] ^= b,
            Damage::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Damage::Delete(at) => {
                bytes.remove(at % len);
            }
            Damage::Truncate(at) => bytes.truncate(at % len),
            Damage::Duplicate(at, n) => {
                let start = at % len;
                let end = (start + n % 64).min(len);
                let copy = bytes[start..end].to_vec();
                bytes.splice(start..start, copy);
            }
        }
    }
    bytes
}

fn damage_strategy() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Damage::Flip(a, b)),
        (
            any::<usize>(),
            prop::sample::select(b"{}[]()#:\"\\;, \n\t0-_".to_vec())
        )
            .prop_map(|(a, b)| Damage::Insert(a, b)),
        any::<usize>().prop_map(Damage::Delete),
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Damage::Duplicate(a, n)),
    ]
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        "[ -~\\n\\té\u{1F600}]{0,8}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Value::List)
    })
}

fn edn_of(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => {
            let escaped: String = s
                .chars()
                .map(|c| match c {
                    '"' => "\\\"".to_string(),
                    '\\' => "\\\\".to_string(),
                    '\n' => "\\n".to_string(),
                    '\t' => "\\t".to_string(),
                    c => c.to_string(),
                })
                .collect();
            format!("\"{escaped}\"")
        }
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(edn_of).collect::<Vec<_>>().join(" ")
        ),
    }
}

#[derive(Debug, Clone)]
struct RandomEvent {
    kind: EventKind,
    process: Option<u64>,
    f: String,
    key: Value,
    value: Value,
}

fn event_strategy() -> impl Strategy<Value = RandomEvent> {
    (
        prop::sample::select(vec![
            EventKind::Invoke,
            EventKind::Ok,
            EventKind::Fail,
            EventKind::Info,
        ]),
        prop::option::weighted(0.9, 0u64..1000),
        "[a-z][a-z-]{0,6}",
        value_strategy(),
        value_strategy(),
    )
        .prop_map(|(kind, process, f, key, value)| RandomEvent {
            kind,
            process,
            f,
            key,
            value,
        })
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_everything(&bytes);
    }

    #[test]
    fn random_edn_like_text_never_panics(text in "[{}\\[\\]()#_:;\"\\\\a-z0-9 ,\\n.+-NM^]{0,200}") {
        parse_everything(text.as_bytes());
        let _ = edn::read_all(&text);
        // The fuzz target's properties, among them: the fast paths read what the general ones do.
        checker::fuzzing::parse_history(text.as_bytes());
    }

    #[test]
    fn damaged_valid_histories_never_panic(
        which in any::<prop::sample::Index>(),
        damages in prop::collection::vec(damage_strategy(), 1..6),
    ) {
        let histories = valid_histories();
        let original = histories[which.index(histories.len())].clone();
        let damaged = damage(original, &damages);
        parse_everything(&damaged);
        checker::fuzzing::parse_history(&damaged);
        // Whatever still parses and pairs is checked too: a damaged file must never crash a run.
        if let Ok(parsed) = formats::load_bytes(&damaged, None, "damaged") {
            if let (Ok(ops), Some(model)) = (wellformed::pair(&parsed.history), parsed.default_model) {
                let options = CheckOptions { timeout: Some(Duration::from_secs(2)), ..CheckOptions::default() };
                let _ = check_operations(&ops, model.parse::<ModelKind>().unwrap(), &options);
            }
        }
    }

    #[test]
    fn jsonl_and_jepsen_edn_read_back_what_was_written(events in prop::collection::vec(event_strategy(), 1..20)) {
        let mut jsonl = String::from("{\"format\":\"gauntlet-history\",\"version\":1}\n");
        let mut edn_text = String::new();
        for e in &events {
            let process_json = e.process.map_or("\"nemesis\"".to_string(), |p| p.to_string());
            let process_edn = e.process.map_or(":nemesis".to_string(), |p| p.to_string());
            jsonl.push_str(&format!(
                "{{\"type\":\"{}\",\"process\":{process_json},\"f\":{},\"key\":{},\"value\":{}}}\n",
                kind_name(e.kind),
                serde_json::to_string(&e.f).unwrap(),
                serde_json::to_string(&e.key).unwrap(),
                serde_json::to_string(&e.value).unwrap(),
            ));
            edn_text.push_str(&format!(
                "{{:type :{}, :process {process_edn}, :f :{}, :key {}, :value {}, :time 7}}\n",
                kind_name(e.kind), e.f, edn_of(&e.key), edn_of(&e.value),
            ));
        }
        for (text, format) in [(jsonl, Format::Jsonl), (edn_text, Format::Jepsen)] {
            prop_assert_eq!(formats::detect(text.as_bytes()), Some(format));
            let history = formats::parse_bytes(text.as_bytes(), Some(format), "roundtrip")
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(history.events.len(), events.len());
            for (i, (got, want)) in history.events.iter().zip(&events).enumerate() {
                prop_assert_eq!(got.index, i);
                prop_assert_eq!(got.kind, want.kind);
                prop_assert_eq!(got.process, want.process.map_or(Process::Nemesis, Process::Client));
                prop_assert_eq!(&got.f, &want.f);
                // A null key means "no key" in both formats.
                let want_key = if want.key == Value::Nil { None } else { Some(want.key.clone()) };
                prop_assert_eq!(&got.key, &want_key);
                prop_assert_eq!(&got.value, &want.value);
            }
        }
    }
}
