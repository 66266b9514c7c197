//! From a parsed history (any format the checker reads) to the page's operations and fault
//! windows: client events paired into bars (failed ones kept), nemesis events paired into windows,
//! the native format's optional fields (`node`, `error_kind`, `error`, the `fault` object) picked
//! up from the raw lines, and the checker's counterexample renamed onto the bars.

use std::collections::HashMap;

use checker::history::{Event, EventKind, History, Operation, Process, Value};
use checker::model::describe_value;
use checker::report::Counterexample;
use serde::Deserialize;

use super::model::{BlockedView, CounterexampleView, FaultWindow, OperationBar, Outcome};

/// What a native history line may carry beyond what the checker reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineExtras {
    pub node: Option<u64>,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    /// The nemesis event's `fault` object.
    pub fault: Option<serde_json::Value>,
}

/// The optional fields of a native JSON Lines history, by 1-based line number.
#[derive(Clone, Debug, Default)]
pub struct NativeExtras {
    by_line: HashMap<usize, LineExtras>,
}

impl NativeExtras {
    /// Reads the optional fields from the text of a native history. Lines that are not JSON
    /// objects (or carry none of the fields) are passed over: the checker has judged the file.
    pub fn from_text(text: &str) -> NativeExtras {
        let mut by_line = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if !(line.contains("\"node\"")
                || line.contains("\"error")
                || line.contains("\"fault\""))
            {
                continue;
            }
            let Ok(serde_json::Value::Object(map)) = serde_json::from_str(line) else {
                continue;
            };
            let extras = LineExtras {
                node: map.get("node").and_then(serde_json::Value::as_u64),
                error_kind: map
                    .get("error_kind")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                error: map
                    .get("error")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                fault: map.get("fault").cloned(),
            };
            if extras != LineExtras::default() {
                by_line.insert(i + 1, extras);
            }
        }
        NativeExtras { by_line }
    }

    fn get(&self, line: usize) -> Option<&LineExtras> {
        self.by_line.get(&line)
    }
}

/// The operations and fault windows of one history.
#[derive(Clone, Debug, Default)]
pub struct HistoryParts {
    pub operations: Vec<OperationBar>,
    pub faults: Vec<FaultWindow>,
    /// True when some event has no time: every time is then the event's position.
    pub time_is_event_order: bool,
    /// The time of the last event.
    pub end_ns: u64,
}

/// Pairs the history's events into bars and windows. Ill-formed pairs (a completion with no
/// invocation) are passed over; an invocation never completed is `pending`.
pub fn history_parts(history: &History, extras: &NativeExtras) -> HistoryParts {
    let time_is_event_order = history.events.iter().any(|e| e.time_ns.is_none());
    let time = |e: &Event| -> u64 {
        if time_is_event_order {
            e.index as u64
        } else {
            e.time_ns.unwrap_or(0)
        }
    };
    let mut operations: Vec<OperationBar> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut nemesis = Vec::new();
    for event in &history.events {
        let process = match event.process {
            Process::Client(p) => p,
            Process::Nemesis => {
                nemesis.push(event);
                continue;
            }
        };
        let extra = extras.get(event.line);
        if event.kind == EventKind::Invoke {
            open.insert(process, operations.len());
            operations.push(OperationBar {
                process,
                f: event.f.clone(),
                key: event.key.clone(),
                input: event.value.clone(),
                output: None,
                outcome: Outcome::Pending,
                invoke_ns: time(event),
                complete_ns: None,
                invoke_index: event.index,
                complete_index: None,
                invoke_line: event.line,
                complete_line: None,
                checker_id: None,
                node: extra.and_then(|x| x.node),
                error_kind: None,
                error: None,
            });
            continue;
        }
        let Some(slot) = open.remove(&process) else {
            continue;
        };
        let op = &mut operations[slot];
        op.outcome = match event.kind {
            EventKind::Ok => Outcome::Ok,
            EventKind::Fail => Outcome::Fail,
            _ => Outcome::Info,
        };
        if event.kind == EventKind::Ok {
            op.output = Some(event.value.clone());
        }
        op.complete_ns = Some(time(event).max(op.invoke_ns));
        op.complete_index = Some(event.index);
        op.complete_line = Some(event.line);
        if let Some(extra) = extra {
            op.node = extra.node.or(op.node);
            op.error_kind = extra.error_kind.clone();
            op.error = extra.error.clone();
        }
    }
    let end_ns = history.events.last().map_or(0, time);
    let faults = fault_windows(&nemesis, extras, time);
    HistoryParts {
        operations,
        faults,
        time_is_event_order,
        end_ns,
    }
}

/// Whether a nemesis function starts a fault, ends one, or is an instant of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Start,
    End,
    Instant,
}

/// The fault's name and phase from a nemesis function: `partition-start`/`partition-end`
/// (native), `start-partition`/`stop-partition`, `start`/`stop` (Jepsen), `partition`/`heal`,
/// `pause`/`resume`, `kill`/`restart`; anything else is an instant named as itself.
fn fault_phase(f: &str) -> (String, Phase) {
    let f = f.trim_start_matches(':');
    for (suffix, phase) in [
        ("-start", Phase::Start),
        ("-begin", Phase::Start),
        ("-end", Phase::End),
        ("-stop", Phase::End),
    ] {
        if let Some(name) = f.strip_suffix(suffix) {
            return (name.to_string(), phase);
        }
    }
    for (prefix, phase) in [
        ("start-", Phase::Start),
        ("begin-", Phase::Start),
        ("stop-", Phase::End),
        ("end-", Phase::End),
    ] {
        if let Some(name) = f.strip_prefix(prefix) {
            return (name.to_string(), phase);
        }
    }
    match f {
        "start" => ("nemesis".to_string(), Phase::Start),
        "stop" => ("nemesis".to_string(), Phase::End),
        "partition" => ("partition".to_string(), Phase::Start),
        "heal" => ("partition".to_string(), Phase::End),
        "pause" => ("pause".to_string(), Phase::Start),
        "resume" => ("pause".to_string(), Phase::End),
        "kill" => ("kill".to_string(), Phase::Start),
        "restart" => ("kill".to_string(), Phase::End),
        other => (other.to_string(), Phase::Instant),
    }
}

/// Nodes named in a fault object: under `targets`, `nodes`, `node`, `cut`, `links`, `source`.
pub fn fault_targets(fault: &serde_json::Value) -> Vec<u64> {
    fn collect(value: &serde_json::Value, out: &mut Vec<u64>) {
        match value {
            serde_json::Value::Number(n) => out.extend(n.as_u64()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let serde_json::Value::Object(map) = fault {
        for key in [
            "targets", "nodes", "node", "cut", "links", "source", "resolved",
        ] {
            if let Some(value) = map.get(key) {
                collect(value, &mut out);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        other => describe_value(other),
    }
}

/// Pairs nemesis events into windows: a start with the next end of the same name (the one with
/// the same `fault` object first). A Jepsen nemesis records each step as an invocation and its
/// completion: the window runs from the start's invocation to the end's completion.
fn fault_windows(
    events: &[&Event],
    extras: &NativeExtras,
    time: impl Fn(&Event) -> u64,
) -> Vec<FaultWindow> {
    let mut windows: Vec<FaultWindow> = Vec::new();
    // Open windows: (index into `windows`, the fault object).
    let mut open: Vec<(usize, Option<serde_json::Value>)> = Vec::new();
    let mut last_invoke: Option<&str> = None;
    // The window each name's last end closed, for the completion of a Jepsen end step.
    let mut last_closed: HashMap<String, usize> = HashMap::new();
    for event in events {
        let (name, phase) = fault_phase(&event.f);
        let fault = extras.get(event.line).and_then(|x| x.fault.clone());
        let text = value_text(&event.value);
        // The completion of a step just invoked: only its time (for an end) and text count.
        let completes_invoke = event.kind != EventKind::Invoke && last_invoke == Some(&event.f);
        last_invoke = (event.kind == EventKind::Invoke).then_some(event.f.as_str());
        let t = time(event);
        match phase {
            Phase::Start | Phase::Instant if completes_invoke => {
                if let Some(window) = windows.iter_mut().rev().find(|w| w.name == name) {
                    append_text(&mut window.description, &text);
                }
            }
            Phase::Start => {
                open.push((windows.len(), fault.clone()));
                windows.push(FaultWindow {
                    name,
                    description: text,
                    start_ns: t,
                    end_ns: None,
                    targets: fault.as_ref().map(fault_targets).unwrap_or_default(),
                });
            }
            Phase::Instant => windows.push(FaultWindow {
                name,
                description: text,
                start_ns: t,
                end_ns: Some(t),
                targets: fault.as_ref().map(fault_targets).unwrap_or_default(),
            }),
            Phase::End => {
                let same_name =
                    |(i, _): &(usize, Option<serde_json::Value>)| windows[*i].name == name;
                let found = open
                    .iter()
                    .position(|entry| same_name(entry) && fault.is_some() && entry.1 == fault)
                    .or_else(|| open.iter().position(same_name));
                match found {
                    Some(pos) => {
                        let (i, _) = open.remove(pos);
                        last_closed.insert(name.clone(), i);
                        let window = &mut windows[i];
                        window.end_ns = Some(t.max(window.start_ns));
                        append_text(&mut window.description, &text);
                        if let Some(fault) = &fault {
                            for node in fault_targets(fault) {
                                if !window.targets.contains(&node) {
                                    window.targets.push(node);
                                }
                            }
                            window.targets.sort_unstable();
                        }
                    }
                    None if completes_invoke => {
                        if let Some(&i) = last_closed.get(&name) {
                            let window = &mut windows[i];
                            window.end_ns = Some(t.max(window.start_ns));
                            append_text(&mut window.description, &text);
                        }
                    }
                    // An end with no start in the history: the fault began before it.
                    None => windows.push(FaultWindow {
                        name,
                        description: format!("{text} (its start is not in the history)"),
                        start_ns: 0,
                        end_ns: Some(t),
                        targets: fault.as_ref().map(fault_targets).unwrap_or_default(),
                    }),
                }
            }
        }
    }
    windows.sort_by_key(|w| w.start_ns);
    windows
}

fn append_text(description: &mut String, text: &str) {
    if !text.is_empty() && description != text {
        if !description.is_empty() {
            description.push_str("; ");
        }
        description.push_str(text);
    }
}

/// Gives each bar the checker's id of its operation (matched by invocation event index) and
/// returns the map from checker ids to bar indexes.
pub fn link_checker_ids(bars: &mut [OperationBar], checked: &[Operation]) -> HashMap<usize, usize> {
    let by_invoke: HashMap<usize, usize> = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| (bar.invoke_index, i))
        .collect();
    let mut map = HashMap::with_capacity(checked.len());
    for op in checked {
        if let Some(&i) = by_invoke.get(&op.call) {
            bars[i].checker_id = Some(op.id);
            map.insert(op.id, i);
        }
    }
    map
}

/// A counterexample as stored in `results.json` (`checker.counterexample`) or produced by the
/// checker: operations by checker id.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StoredCounterexample {
    #[serde(default)]
    pub key: Option<Value>,
    #[serde(default)]
    pub prefix: Vec<usize>,
    #[serde(default)]
    pub state_after_prefix: String,
    #[serde(default)]
    pub blocked: Vec<StoredBlocked>,
    #[serde(default)]
    pub concurrent: Vec<usize>,
    #[serde(default)]
    pub explanation: String,
    #[serde(default)]
    pub anomaly: Option<serde_json::Value>,
}

/// A blocked operation in a [`StoredCounterexample`].
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StoredBlocked {
    pub op: usize,
    #[serde(default)]
    pub reason: String,
}

impl StoredCounterexample {
    /// The checker's counterexample in stored form.
    pub fn from_checker(cx: &Counterexample) -> StoredCounterexample {
        serde_json::to_value(cx)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// Renames the operations onto bar indexes (`ids`: checker id -> bar); operations the map
    /// does not know are left out and counted in the returned number.
    pub fn view(&self, ids: &HashMap<usize, usize>) -> (CounterexampleView, usize) {
        let mut missing = 0;
        let mut bar = |id: &usize| {
            let found = ids.get(id).copied();
            if found.is_none() {
                missing += 1;
            }
            found
        };
        let prefix = self.prefix.iter().filter_map(&mut bar).collect();
        let blocked = self
            .blocked
            .iter()
            .filter_map(|b| {
                bar(&b.op).map(|op| BlockedView {
                    op,
                    reason: b.reason.clone(),
                })
            })
            .collect();
        let concurrent = self.concurrent.iter().filter_map(&mut bar).collect();
        let view = CounterexampleView {
            key: self.key.as_ref().map_or("(no key)".to_string(), value_text),
            prefix,
            state_after_prefix: self.state_after_prefix.clone(),
            blocked,
            concurrent,
            explanation: self.explanation.clone(),
            anomaly: self
                .anomaly
                .as_ref()
                .and_then(|a| a.get("kind"))
                .and_then(|k| k.as_str())
                .map(str::to_string),
        };
        (view, missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(lines: &[&str]) -> (History, NativeExtras) {
        let text = lines.join("\n");
        let parsed = checker::formats::load_bytes(
            text.as_bytes(),
            Some(checker::formats::Format::Jsonl),
            "t",
        )
        .unwrap();
        (parsed.history, NativeExtras::from_text(&text))
    }

    #[test]
    fn pairs_operations_with_node_and_error_kind() {
        let (history, extras) = native(&[
            r#"{"type":"invoke","process":0,"f":"write","key":"a","value":1,"time_ns":10}"#,
            r#"{"type":"invoke","process":1,"f":"read","key":"a","value":null,"time_ns":11}"#,
            r#"{"type":"ok","process":0,"f":"write","key":"a","value":1,"time_ns":20,"node":3}"#,
            r#"{"type":"info","process":1,"f":"read","key":"a","value":null,"time_ns":30,"node":2,"error_kind":"timeout","error":"gave up"}"#,
            r#"{"type":"invoke","process":0,"f":"read","key":"a","value":null,"time_ns":40}"#,
        ]);
        let parts = history_parts(&history, &extras);
        assert!(!parts.time_is_event_order);
        let ops = &parts.operations;
        assert_eq!(ops.len(), 3);
        assert_eq!((ops[0].outcome, ops[0].node), (Outcome::Ok, Some(3)));
        assert_eq!((ops[0].invoke_ns, ops[0].complete_ns), (10, Some(20)));
        assert_eq!(ops[1].outcome, Outcome::Info);
        assert_eq!(ops[1].error_kind.as_deref(), Some("timeout"));
        assert_eq!(ops[1].error.as_deref(), Some("gave up"));
        assert_eq!(ops[2].outcome, Outcome::Pending);
        assert_eq!(ops[2].complete_ns, None);
    }

    #[test]
    fn pairs_fault_windows_by_name_and_fault_object() {
        let (history, extras) = native(&[
            r#"{"type":"info","process":"nemesis","f":"kill-start","value":"kill 1","time_ns":100,"fault":{"fault":"kill","targets":{"nodes":[1]}}}"#,
            r#"{"type":"info","process":"nemesis","f":"partition-start","value":"cut","time_ns":150,"fault":{"fault":"partition","shape":"bridge","cut":[[2,3]]}}"#,
            r#"{"type":"info","process":"nemesis","f":"kill-start","value":"kill 4","time_ns":200,"fault":{"fault":"kill","targets":{"nodes":[4]}}}"#,
            r#"{"type":"info","process":"nemesis","f":"kill-end","value":"restarted 4","time_ns":300,"fault":{"fault":"kill","targets":{"nodes":[4]}}}"#,
            r#"{"type":"info","process":"nemesis","f":"kill-end","value":"restarted 1","time_ns":400,"fault":{"fault":"kill","targets":{"nodes":[1]}}}"#,
        ]);
        let faults = history_parts(&history, &extras).faults;
        assert_eq!(faults.len(), 3);
        let kill1 = faults.iter().find(|w| w.targets == [1]).unwrap();
        assert_eq!((kill1.start_ns, kill1.end_ns), (100, Some(400)));
        let kill4 = faults.iter().find(|w| w.targets == [4]).unwrap();
        assert_eq!((kill4.start_ns, kill4.end_ns), (200, Some(300)));
        let partition = faults.iter().find(|w| w.name == "partition").unwrap();
        assert_eq!(partition.end_ns, None, "never healed in this history");
        assert_eq!(partition.targets, [2, 3]);
        assert_eq!(kill1.description, "kill 1; restarted 1");
    }

    #[test]
    fn jepsen_nemesis_steps_and_event_order_time() {
        let text = r#"{:type :invoke, :f :read, :value nil, :process 0, :index 0}
{:type :invoke, :f :start-partition, :value nil, :process :nemesis, :index 1}
{:type :info, :f :start-partition, :value "cut n1", :process :nemesis, :index 2}
{:type :ok, :f :read, :value 1, :process 0, :index 3}
{:type :invoke, :f :stop-partition, :value nil, :process :nemesis, :index 4}
{:type :info, :f :stop-partition, :value "healed", :process :nemesis, :index 5}
"#;
        let parsed = checker::formats::load_bytes(text.as_bytes(), None, "t").unwrap();
        let parts = history_parts(&parsed.history, &NativeExtras::default());
        assert!(parts.time_is_event_order);
        assert_eq!(parts.faults.len(), 1, "{:?}", parts.faults);
        let window = &parts.faults[0];
        assert_eq!(window.name, "partition");
        assert_eq!((window.start_ns, window.end_ns), (1, Some(5)));
        assert!(
            window.description.contains("cut n1"),
            "{}",
            window.description
        );
        assert_eq!(parts.operations[0].complete_ns, Some(3));
    }

    #[test]
    fn partition_and_heal_make_one_window_and_other_steps_are_instants() {
        let (history, extras) = native(&[
            r#"{"type":"info","process":"nemesis","f":"partition","value":"halves","time_ns":2000}"#,
            r#"{"type":"info","process":"nemesis","f":"clock-skew","value":"+3s","time_ns":3000}"#,
            r#"{"type":"info","process":"nemesis","f":"heal","value":null,"time_ns":5000}"#,
        ]);
        let faults = history_parts(&history, &extras).faults;
        let spans: Vec<(&str, u64, Option<u64>)> = faults
            .iter()
            .map(|w| (w.name.as_str(), w.start_ns, w.end_ns))
            .collect();
        assert_eq!(
            spans,
            [
                ("partition", 2000, Some(5000)),
                ("clock-skew", 3000, Some(3000))
            ]
        );
    }

    #[test]
    fn counterexample_is_renamed_onto_bars() {
        let (history, extras) = native(&[
            r#"{"type":"invoke","process":0,"f":"write","value":1,"time_ns":1}"#,
            r#"{"type":"fail","process":0,"f":"write","value":1,"time_ns":2}"#,
            r#"{"type":"invoke","process":0,"f":"write","value":2,"time_ns":3}"#,
            r#"{"type":"ok","process":0,"f":"write","value":2,"time_ns":4}"#,
            r#"{"type":"invoke","process":1,"f":"read","value":null,"time_ns":5}"#,
            r#"{"type":"ok","process":1,"f":"read","value":1,"time_ns":6}"#,
        ]);
        let mut parts = history_parts(&history, &extras);
        let checked = checker::wellformed::pair(&history).unwrap();
        let ids = link_checker_ids(&mut parts.operations, &checked);
        // The failed write is bar 0 but not a checker operation: checker op 0 is bar 1.
        assert_eq!(parts.operations[0].checker_id, None);
        assert_eq!(parts.operations[1].checker_id, Some(0));
        let stored = StoredCounterexample {
            prefix: vec![0],
            blocked: vec![StoredBlocked {
                op: 1,
                reason: "reads 1".into(),
            }],
            concurrent: vec![7],
            ..Default::default()
        };
        let (view, missing) = stored.view(&ids);
        assert_eq!(view.prefix, [1]);
        assert_eq!(view.blocked[0].op, 2);
        assert_eq!(missing, 1);
        assert_eq!(view.involved(), [2]);
    }
}
