//! `gauntlet check`'s fast path ([`formats::read_paired`]: bytes straight into operations) against
//! the general path (events, then pairing) on every file of the shared corpus
//! (`<repo>/../shared/corpus`, or `GAUNTLET_SHARED_DIR`; skipped with a message when absent), every
//! history the project ships (`histories/`) and random well-formed histories: whenever the fast
//! path reads a file, the general path reads the same operations, and the check of both gives the
//! same verdict, the same counterexample and the same anomalies.

use std::path::{Path, PathBuf};

use checker::formats::{self, Format, PairedHistory};
use checker::fuzzing::paired_paths_agree;
use checker::history::Value;
use checker::{check_operations, CheckOptions, CheckReport, ModelKind};
use proptest::prelude::*;

fn files_under(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            files_under(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// What of a report a verdict consists of: the verdict, the counterexample and the anomalies
/// (not the timings).
fn verdict_of(report: &CheckReport) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        report.verdict, report.counterexample, report.anomalies, report.order_anomalies
    )
}

/// Compares the two paths on one file; says whether the fast path read it.
fn compare_file(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Some(fast) = paired_paths_agree(&bytes, None) else {
        return false;
    };
    // The general path's operations, checked separately from the fast path's.
    let parsed = formats::load_bytes(&bytes, None, "general").unwrap();
    let general_ops = checker::wellformed::pair_owned(parsed.history).unwrap();
    let model = fast
        .header
        .as_ref()
        .and_then(|h| h.model.as_deref())
        .or(fast.default_model)
        .and_then(|name| name.parse::<ModelKind>().ok())
        .unwrap_or(ModelKind::Register);
    let options = CheckOptions::default();
    let fast_report = check_operations(&fast.operations, model, &options);
    let general_report = check_operations(&general_ops, model, &options);
    assert_eq!(
        verdict_of(&fast_report),
        verdict_of(&general_report),
        "{}: the paths' checks disagree",
        path.display()
    );
    true
}

#[test]
fn the_shared_corpus_reads_the_same_on_both_paths() {
    let shared = match std::env::var_os("GAUNTLET_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    let corpus = shared.join("corpus");
    let mut files = Vec::new();
    files_under(&corpus, &mut files);
    if files.is_empty() {
        eprintln!(
            "SKIPPED: the shared corpus is absent ({} has no files); it lives beside the \
             repository as ../shared/corpus (CI has it), or set GAUNTLET_SHARED_DIR",
            corpus.display()
        );
        return;
    }
    let fast: Vec<&PathBuf> = files.iter().filter(|path| compare_file(path)).collect();
    // The Porcupine KV logs are plain one-map-a-line histories: the fast path must take them.
    for name in ["c01-ok.txt", "c50-bad.txt", "c50-ok.txt"] {
        assert!(
            fast.iter().any(|path| path.ends_with(name)),
            "the fast path did not read {name}"
        );
    }
}

#[test]
fn the_shipped_histories_read_the_same_on_both_paths() {
    let mut files = Vec::new();
    files_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../histories"),
        &mut files,
    );
    assert!(files.len() > 10, "only {} shipped histories", files.len());
    let (fast, general): (Vec<&PathBuf>, Vec<&PathBuf>) =
        files.iter().partition(|path| compare_file(path));
    eprintln!(
        "{} of {} shipped histories read by the fast path; left to the general path: {general:?}",
        fast.len(),
        files.len()
    );
    for name in [
        "jsonl/kv-ok.jsonl",
        "jsonl/register-with-nemesis.jsonl",
        "jepsen/list-append-ok.edn",
        "porcupine-kv/kv-stale-get.txt",
    ] {
        assert!(
            fast.iter().any(|path| path.ends_with(name)),
            "the fast path did not read {name}"
        );
    }
}

/// One operation of a random well-formed history.
#[derive(Debug, Clone)]
struct RandomOp {
    process: u64,
    f: &'static str,
    key: Option<u8>,
    input: Value,
    output: Value,
    /// 0 ok, 1 fail, 2 info, 3 left open.
    ending: u8,
    /// Complete before the next operation's invocation, or after it.
    late: bool,
}

fn value_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        (0i64..4).prop_map(Value::Int),
        "[a-c]{1,2}".prop_map(Value::Str),
        prop::collection::vec((0i64..4).prop_map(Value::Int), 0..3).prop_map(Value::List),
    ]
}

fn op_strategy() -> impl Strategy<Value = RandomOp> {
    (
        0u64..4,
        prop::sample::select(vec!["read", "write", "cas", "get", "put", "append"]),
        prop::option::of(0u8..3),
        value_strategy(),
        value_strategy(),
        0u8..4,
        any::<bool>(),
    )
        .prop_map(|(process, f, key, input, output, ending, late)| RandomOp {
            process,
            f,
            key,
            input,
            output,
            ending,
            late,
        })
}

fn edn(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(items) => format!("[{}]", items.iter().map(edn).collect::<Vec<_>>().join(" ")),
    }
}

fn json(value: &Value) -> String {
    match value {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(items) => format!("[{}]", items.iter().map(json).collect::<Vec<_>>().join(",")),
    }
}

/// One event as a line of `format`.
fn line(format: Format, kind: &str, op: &RandomOp, value: &Value) -> String {
    match format {
        Format::Jsonl => {
            let key = op
                .key
                .map_or(String::new(), |k| format!(",\"key\":\"k{k}\""));
            format!(
                "{{\"type\":\"{kind}\",\"process\":{},\"f\":\"{}\"{key},\"value\":{}}}",
                op.process,
                op.f,
                json(value)
            )
        }
        _ => {
            let key = op.key.map_or(String::new(), |k| format!(" :key \"k{k}\","));
            format!(
                "{{:type :{kind}, :f :{},{key} :value {}, :process {}}}",
                op.f,
                edn(value),
                op.process
            )
        }
    }
}

/// The history's text: each process's operations in turn, a completion written before or after
/// the next invocation; a process with an open invocation is skipped (so the history stays
/// well-formed); nemesis events here and there.
fn render(format: Format, ops: &[RandomOp]) -> String {
    let mut text = String::new();
    let mut open: Vec<Option<String>> = vec![None; 4];
    let mut delayed: Vec<(u64, String)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let process = op.process as usize;
        if open[process].is_some() {
            continue;
        }
        // A process's own late completion comes before its next invocation.
        let own_pending = delayed.iter().any(|(p, _)| *p == op.process);
        if own_pending {
            for (_, completion) in delayed.drain(..) {
                text.push_str(&completion);
                text.push('\n');
            }
        }
        text.push_str(&line(format, "invoke", op, &op.input));
        text.push('\n');
        for (_, completion) in delayed.drain(..) {
            text.push_str(&completion);
            text.push('\n');
        }
        let completion = match op.ending {
            0 => Some(line(format, "ok", op, &op.output)),
            1 => Some(line(format, "fail", op, &op.input)),
            2 => Some(line(format, "info", op, &Value::Nil)),
            _ => None,
        };
        match completion {
            Some(completion) if op.late => delayed.push((op.process, completion)),
            Some(completion) => {
                text.push_str(&completion);
                text.push('\n');
            }
            None => open[process] = Some(String::new()),
        }
        if i % 7 == 3 {
            text.push_str(match format {
                Format::Jsonl => "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"kill\"}\n",
                _ => "{:type :info, :f :kill, :process :nemesis}\n",
            });
        }
    }
    for (_, completion) in delayed {
        text.push_str(&completion);
        text.push('\n');
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_well_formed_histories_read_the_same_on_both_paths(
        ops in prop::collection::vec(op_strategy(), 1..40),
        format in prop::sample::select(vec![Format::Jsonl, Format::Jepsen, Format::PorcupineKv]),
        header in any::<bool>(),
    ) {
        let mut text = render(format, &ops);
        if header && format == Format::Jsonl {
            text.insert_str(0, "{\"version\":1,\"model\":\"kv\"}\n");
        }
        for named in [None, Some(format)] {
            let fast: Option<PairedHistory> = paired_paths_agree(text.as_bytes(), named);
            // Every operation has a key in Porcupine's format only when the generator gave one.
            let keyed = ops.iter().all(|op| op.key.is_some());
            if format == Format::Jsonl || (format == Format::PorcupineKv && keyed) {
                prop_assert!(fast.is_some(), "the fast path left a plain history to the general one:\n{text}");
            }
            if let Some(fast) = fast {
                let model = fast.default_model.and_then(|m| m.parse::<ModelKind>().ok()).unwrap_or(ModelKind::Kv);
                let options = CheckOptions { threads: 1, ..CheckOptions::default() };
                let parsed = formats::load_bytes(text.as_bytes(), named, "h").unwrap();
                let general = checker::wellformed::pair_owned(parsed.history).unwrap();
                prop_assert_eq!(
                    verdict_of(&check_operations(&fast.operations, model, &options)),
                    verdict_of(&check_operations(&general, model, &options))
                );
            }
        }
    }
}
