//! Search-free checks for `list-append` and `set` histories: acknowledged elements missing from a
//! later read (lost writes) and elements read twice (duplicates), each naming the operations.

use serde::Serialize;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::history::{Operation, Value};
use crate::model::describe_value;

/// What kind of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// An acknowledged element is missing from a read that began after the acknowledgement.
    LostWrite,
    /// A read returned the same element more than once.
    Duplicate,
}

/// One anomaly, with the operations that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub key: Option<Value>,
    pub element: Value,
    /// The acknowledged append/add (lost writes only).
    pub write: Option<usize>,
    /// The read that shows it.
    pub read: usize,
    pub description: String,
}

fn is_write(f: &str) -> bool {
    matches!(f, "append" | "add")
}

fn is_read(f: &str) -> bool {
    matches!(f, "read" | "r")
}

/// Finds lost and duplicated elements in `list-append` / `set` histories, without search.
///
/// Lost: an append/add acknowledged (its `ok` event) before a read was invoked, whose element that
/// read does not contain; reported once per element, with the earliest such read. Duplicate: an
/// element a read returned more than once (for a list, more often than it was appended);
/// reported once per read and element.
pub fn find_collection_anomalies(ops: &[Operation]) -> Vec<Anomaly> {
    let mut by_key: BTreeMap<Option<&Value>, (Vec<&Operation>, Vec<&Operation>)> = BTreeMap::new();
    // How often each element was appended to each list (whatever the outcome): a list may hold
    // an element as often as it was appended.
    let mut appended: HashMap<(Option<&Value>, &Value), usize> = HashMap::new();
    for op in ops {
        if op.f == "append" {
            *appended.entry((op.key.as_ref(), &op.input)).or_default() += 1;
        }
        if op.ret.is_none() {
            continue;
        }
        if is_write(&op.f) {
            by_key.entry(op.key.as_ref()).or_default().0.push(op);
        } else if is_read(&op.f) && matches!(op.output, Some(Value::List(_))) {
            by_key.entry(op.key.as_ref()).or_default().1.push(op);
        }
    }
    let mut anomalies = Vec::new();
    for (key, (mut writes, mut reads)) in by_key {
        writes.sort_by_key(|w| w.ret);
        reads.sort_by_key(|r| r.call);
        let mut reported = vec![false; writes.len()];
        let mut acknowledged = 0;
        for read in reads {
            let Some(Value::List(items)) = &read.output else {
                continue;
            };
            let mut seen: HashMap<&Value, usize> = HashMap::with_capacity(items.len());
            let mut duplicated: BTreeSet<&Value> = BTreeSet::new();
            for item in items {
                let count = seen.entry(item).or_default();
                *count += 1;
                let allowed = appended.get(&(key, item)).copied().unwrap_or(0).max(1);
                if *count > allowed {
                    duplicated.insert(item);
                }
            }
            for element in duplicated {
                anomalies.push(Anomaly {
                    kind: AnomalyKind::Duplicate,
                    key: key.cloned(),
                    element: element.clone(),
                    write: None,
                    read: read.id,
                    description: format!(
                        "duplicate: read op {} (line {}){} returned {} more than once",
                        read.id,
                        read.call_line,
                        key_text(key),
                        describe_value(element)
                    ),
                });
            }
            while acknowledged < writes.len()
                && writes[acknowledged].ret.is_some_and(|ret| ret < read.call)
            {
                acknowledged += 1;
            }
            for (index, write) in writes[..acknowledged].iter().enumerate() {
                if reported[index] || seen.contains_key(&write.input) {
                    continue;
                }
                reported[index] = true;
                anomalies.push(Anomaly {
                    kind: AnomalyKind::LostWrite,
                    key: key.cloned(),
                    element: write.input.clone(),
                    write: Some(write.id),
                    read: read.id,
                    description: format!(
                        "lost write: {} op {} (line {}){} of {} was acknowledged, but read op {} \
                         (line {}), invoked later, does not contain it",
                        write.f,
                        write.id,
                        write.call_line,
                        key_text(key),
                        describe_value(&write.input),
                        read.id,
                        read.call_line
                    ),
                });
            }
        }
    }
    anomalies
}

fn key_text(key: Option<&Value>) -> String {
    key.map(|k| format!(" on key {}", describe_value(k)))
        .unwrap_or_default()
}
