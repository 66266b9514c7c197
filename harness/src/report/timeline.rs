//! Writes the timeline page: one self-contained HTML file (style, script and data inline, nothing
//! fetched) that draws [`ReportData`] on a canvas. The data is embedded compactly: operations as
//! columns of numbers with their texts interned, times in microseconds (or event positions), long
//! values cut short; whatever is left out is said on the page.

use std::collections::HashMap;
use std::path::Path;

use checker::history::Value;
use checker::model::describe_value;
use serde_json::{json, Value as Json};

use super::model::{Outcome, ReportData};
use super::ReportError;

const TEMPLATE: &str = include_str!("page/timeline.html");
const STYLE: &str = include_str!("page/timeline.css");
const SCRIPT: &str = include_str!("page/timeline.js");

/// Values (and error texts) longer than this many characters are cut short in the page.
pub const MAX_VALUE_CHARS: usize = 120;
/// At most this many operations are embedded; later ones are left out (and the page says so).
pub const MAX_OPERATIONS: usize = 1_000_000;

/// Writes the page for `data` to `out`.
pub fn write_timeline(data: &ReportData, out: &Path) -> Result<(), ReportError> {
    let html = render_timeline(data);
    std::fs::write(out, html).map_err(|source| ReportError::Io {
        path: out.to_path_buf(),
        source,
    })
}

/// The page for `data`, as a string.
pub fn render_timeline(data: &ReportData) -> String {
    let embedded = embed(data);
    // `<` never appears outside a string in JSON; escaped, no text can close the script element.
    let json = embedded.to_string().replace('<', "\\u003c");
    TEMPLATE
        .replacen("__TITLE__", &escape_html(&data.title), 1)
        .replacen("__STYLE__", STYLE, 1)
        .replacen("__SCRIPT__", SCRIPT, 1)
        .replacen("__DATA__", &json, 1)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Interned texts: each distinct string once, referred to by position.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: HashMap<String, i64>,
    cut: usize,
}

impl Strings {
    fn intern(&mut self, text: &str) -> i64 {
        let text = self.cut_short(text);
        if let Some(&i) = self.index.get(&text) {
            return i;
        }
        let i = self.list.len() as i64;
        self.index.insert(text.clone(), i);
        self.list.push(text);
        i
    }

    fn cut_short(&mut self, text: &str) -> String {
        if text.chars().count() <= MAX_VALUE_CHARS {
            return text.to_string();
        }
        self.cut += 1;
        let kept: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{kept}… ({} characters)", text.chars().count())
    }

    fn value(&mut self, value: &Value) -> i64 {
        match value {
            Value::Str(s) => self.intern(s),
            other => self.intern(&describe_value(other)),
        }
    }
}

/// The page's time unit and the factor from nanoseconds to it.
fn unit(data: &ReportData) -> (&'static str, u64) {
    if data.time_is_event_order {
        ("event", 1)
    } else {
        ("us", 1000)
    }
}

/// The compact JSON the page script reads (see `page/timeline.js`).
fn embed(data: &ReportData) -> Json {
    let (unit, per_tick) = unit(data);
    let tick = |ns: u64| -> u64 { ns.div_ceil(per_tick) };
    let mut strings = Strings::default();
    let ops = &data.operations[..data.operations.len().min(MAX_OPERATIONS)];
    let n = ops.len();
    let mut cols: [Vec<i64>; 13] = std::array::from_fn(|_| Vec::with_capacity(n));
    let opt = |v: Option<u64>| v.map_or(-1, |v| v as i64);
    for op in ops {
        let [p, f, k, i, r, o, t0, t1, node, ek, er, l, c] = &mut cols;
        p.push(op.process as i64);
        f.push(strings.intern(&op.f));
        k.push(op.key.as_ref().map_or(-1, |key| strings.value(key)));
        i.push(strings.value(&op.input));
        r.push(op.output.as_ref().map_or(-1, |v| strings.value(v)));
        o.push(match op.outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
            Outcome::Pending => 3,
        });
        t0.push(tick(op.invoke_ns) as i64);
        t1.push(opt(op.complete_ns.map(tick)));
        node.push(opt(op.node));
        ek.push(op.error_kind.as_deref().map_or(-1, |e| strings.intern(e)));
        er.push(op.error.as_deref().map_or(-1, |e| strings.intern(e)));
        l.push(op.invoke_line as i64);
        c.push(opt(op.checker_id.map(|c| c as u64)));
    }
    let mut end = 0u64;
    for op in ops {
        end = end.max(op.complete_ns.unwrap_or(op.invoke_ns));
    }
    let faults: Vec<Json> = data
        .faults
        .iter()
        .map(|w| {
            end = end.max(w.end_ns.unwrap_or(w.start_ns));
            json!({
                "name": w.name,
                "desc": w.description,
                "s": tick(w.start_ns),
                "e": w.end_ns.map(tick),
                "targets": w.targets,
            })
        })
        .collect();
    let nodes: Vec<Json> = data
        .nodes
        .iter()
        .map(|track| {
            let spans: Vec<Json> = track
                .spans
                .iter()
                .map(|s| {
                    json!([
                        tick(s.start_ns),
                        opt(s.end_ns.map(tick)),
                        s.role,
                        s.term,
                        opt(s.leader)
                    ])
                })
                .collect();
            let marks: Vec<Json> = track
                .marks
                .iter()
                .map(|m| json!([tick(m.time_ns), m.kind, m.detail]))
                .collect();
            json!({ "node": track.node, "spans": spans, "marks": marks })
        })
        .collect();
    for track in &data.nodes {
        for span in &track.spans {
            end = end.max(span.end_ns.unwrap_or(span.start_ns));
        }
    }
    let cx = data.counterexample.as_ref().map(|cx| {
        let keep = |ids: &[usize]| -> Vec<usize> { ids.iter().copied().filter(|&i| i < n).collect() };
        json!({
            "key": cx.key,
            "prefix": keep(&cx.prefix),
            "state": cx.state_after_prefix,
            "blocked": cx.blocked.iter().filter(|b| b.op < n).map(|b| json!([b.op, b.reason])).collect::<Vec<_>>(),
            "concurrent": keep(&cx.concurrent),
            "explanation": cx.explanation,
            "anomaly": cx.anomaly,
        })
    });
    let mut notes = data.notes.clone();
    if data.operations.len() > n {
        notes.push(format!(
            "{} operations after the first {n} are left out of this page",
            data.operations.len() - n
        ));
    }
    if strings.cut > 0 {
        notes.push(format!(
            "{} values or error texts longer than {MAX_VALUE_CHARS} characters are cut short (the history file has them whole)",
            strings.cut
        ));
    }
    let [p, f, k, i, r, o, t0, t1, node, ek, er, l, c] = cols;
    json!({
        "title": data.title,
        "verdict": data.verdict,
        "detail": data.verdict_detail,
        "unit": unit,
        "end": tick(end),
        "s": strings.list,
        "ops": {
            "p": p, "f": f, "k": k, "i": i, "r": r, "o": o, "t0": t0, "t1": t1,
            "n": node, "ek": ek, "er": er, "l": l, "c": c,
        },
        "faults": faults,
        "nodes": nodes,
        "cx": cx,
        "notes": notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{BlockedView, CounterexampleView, FaultWindow, OperationBar};

    fn bar(process: u64, t0: u64, t1: u64, value: Value) -> OperationBar {
        OperationBar {
            process,
            f: "write".into(),
            key: Some(Value::Str("k</script>".into())),
            input: value,
            output: None,
            outcome: Outcome::Ok,
            invoke_ns: t0,
            complete_ns: Some(t1),
            invoke_index: 0,
            complete_index: Some(1),
            invoke_line: 2,
            complete_line: Some(3),
            checker_id: Some(0),
            node: Some(2),
            error_kind: None,
            error: None,
        }
    }

    #[test]
    fn page_is_self_contained_and_escapes_its_data() {
        let data = ReportData {
            title: "a <b> run".into(),
            verdict: "not-linearizable".into(),
            operations: vec![
                bar(0, 1_000, 2_000, Value::Int(1)),
                bar(1, 1_500, 9_000, Value::Str("x".repeat(500))),
            ],
            faults: vec![FaultWindow {
                name: "partition".into(),
                description: "cut".into(),
                start_ns: 1_200,
                end_ns: None,
                targets: vec![1],
            }],
            counterexample: Some(CounterexampleView {
                blocked: vec![BlockedView {
                    op: 1,
                    reason: "why".into(),
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let html = render_timeline(&data);
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no network"
        );
        assert!(
            !html.contains("k</script>"),
            "data cannot close its script element"
        );
        assert!(html.contains("a &lt;b&gt; run"));
        assert!(!html.contains("__DATA__") && !html.contains("__SCRIPT__"));
        let start = html.find("id=\"timeline-data\">").unwrap() + "id=\"timeline-data\">".len();
        let stop = start + html[start..].find("</script>").unwrap();
        let json: Json = serde_json::from_str(&html[start..stop]).unwrap();
        assert_eq!(json["ops"]["t0"], json!([1, 2]), "microseconds");
        assert_eq!(json["ops"]["n"], json!([2, 2]));
        assert_eq!(json["end"], json!(9));
        assert_eq!(json["faults"][0]["e"], Json::Null);
        assert_eq!(json["cx"]["blocked"][0], json!([1, "why"]));
        let notes = json["notes"].as_array().unwrap();
        assert!(notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("cut short")));
    }
}
