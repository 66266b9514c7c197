//! Reading a run directory into [`ReportData`]: a real run (`history.jsonl`, `test.json`,
//! `results.json`, `events-<id>.jsonl` stamped in `CLOCK_MONOTONIC`, mapped onto the history's
//! clock with `test.json`'s `history_zero_monotonic_ns`) or a simulator seed directory
//! (`history.jsonl`, `events.jsonl` in virtual time on the history's clock, `verdict.txt`,
//! `spec.json`). The counterexample comes from `results.json`; when it is not there (simulator,
//! interrupted run) the history is checked again, within [`RECHECK_TIMEOUT`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use checker::formats;
use checker::history::Operation;
use checker::{check_operations, CheckOptions, ModelKind};
use raft::events::EventRecord;

use super::history::StoredCounterexample;
use super::model::{NodeMark, ReportData};
use super::nodes::node_tracks;
use super::{assemble, verdict_name, ReportError};

/// How long a re-check of a run's history may take before the page goes without a counterexample.
pub const RECHECK_TIMEOUT: Duration = Duration::from_secs(30);

fn read_text(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>, ReportError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(path)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|err| ReportError::unreadable(path, err))
}

/// Reads a real run directory or a simulator seed directory.
pub fn load_run_dir(dir: &Path) -> Result<ReportData, ReportError> {
    let history_path = dir.join("history.jsonl");
    if !history_path.is_file() {
        return Err(ReportError::NotARunDir(dir.to_path_buf()));
    }
    let text = read_text(&history_path)?;
    let parsed = formats::load_bytes(text.as_bytes(), None, &history_path.display().to_string())
        .map_err(|err| ReportError::unreadable(&history_path, err))?;
    let checked = checker::wellformed::pair(&parsed.history)
        .map_err(|err| ReportError::unreadable(&history_path, err))?;
    let model = parsed
        .header
        .as_ref()
        .and_then(|h| h.model.as_deref())
        .or(parsed.default_model)
        .and_then(|name| name.parse::<ModelKind>().ok());

    let test = read_json(&dir.join("test.json"))?;
    let results = read_json(&dir.join("results.json"))?;
    let simulated = test.is_none() && dir.join("events.jsonl").is_file()
        || dir.join("spec.json").is_file()
        || dir.join("verdict.txt").is_file();

    let mut notes = Vec::new();
    let stored = results
        .as_ref()
        .and_then(|r| r.get("checker"))
        .and_then(|c| c.get("counterexample"))
        .filter(|c| !c.is_null())
        .and_then(|c| serde_json::from_value::<StoredCounterexample>(c.clone()).ok());
    let (stored, recheck_verdict) = match stored {
        Some(stored) => (Some(stored), None),
        None if results.is_some() && !simulated => (None, None),
        None => recheck(&checked, model, &mut notes),
    };

    let title = title(dir, test.as_ref(), simulated);
    let mut data = assemble(
        &title,
        &parsed.history,
        Some(&text),
        &checked,
        stored.as_ref(),
    );
    data.notes.append(&mut notes);
    let (verdict, detail) = verdict(dir, results.as_ref(), recheck_verdict)?;
    data.verdict = verdict;
    data.verdict_detail = detail;
    if let Some(replay) = test
        .as_ref()
        .and_then(|t| t.get("replay"))
        .and_then(|r| r.as_str())
    {
        data.verdict_detail
            .push_str(&format!(" | replay: {replay}"));
    }

    let records = if simulated {
        sim_events(dir)?
    } else {
        real_events(dir, test.as_ref(), &mut data.notes)?
    };
    data.nodes = node_tracks(&records, &data.faults);
    if data.nodes.is_empty() {
        data.notes
            .push("no node event streams in this run directory: no node lanes".into());
    }
    add_raft_violations(&mut data, results.as_ref());
    Ok(data)
}

/// Checks the history again for its counterexample (the simulator does not store one).
fn recheck(
    checked: &[Operation],
    model: Option<ModelKind>,
    notes: &mut Vec<String>,
) -> (Option<StoredCounterexample>, Option<String>) {
    let Some(model) = model else {
        notes.push("the history names no model: not checked, no counterexample shown".into());
        return (None, None);
    };
    let options = CheckOptions {
        timeout: Some(RECHECK_TIMEOUT),
        ..CheckOptions::default()
    };
    let report = check_operations(checked, model, &options);
    if let checker::Verdict::Unknown { reason } = &report.verdict {
        notes.push(format!(
            "the re-check of the history gave up ({reason}): no counterexample"
        ));
    }
    (
        report
            .counterexample
            .as_ref()
            .map(StoredCounterexample::from_checker),
        Some(verdict_name(&report.verdict)),
    )
}

fn title(dir: &Path, test: Option<&serde_json::Value>, simulated: bool) -> String {
    let name = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    if let Some(test) = test {
        let get = |k: &str| {
            test.get(k)
                .map(|v| v.to_string().trim_matches('"').to_string())
        };
        return format!(
            "{} seed {} ({})",
            get("test").unwrap_or_default(),
            get("seed").unwrap_or_default(),
            get("started").unwrap_or(name)
        );
    }
    if simulated {
        return format!("simulated run {name}");
    }
    name
}

/// The run's verdict and detail line.
fn verdict(
    dir: &Path,
    results: Option<&serde_json::Value>,
    recheck: Option<String>,
) -> Result<(String, String), ReportError> {
    if let Some(results) = results {
        let get = |k: &str| {
            results
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        return Ok((get("verdict"), get("detail")));
    }
    let verdict_txt = dir.join("verdict.txt");
    if verdict_txt.is_file() {
        // The verdict's summary, then what it found (a violation's detail, at most a few lines
        // shown: the history's counterexample has a panel of its own).
        let text = read_text(&verdict_txt)?;
        let mut lines = text.lines();
        let verdict = lines.next().unwrap_or("").trim().to_string();
        let mut detail: Vec<String> = lines
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(VERDICT_DETAIL_LINES)
            .map(String::from)
            .collect();
        if let Some(v) = recheck {
            detail.push(format!("the history re-checked: {v}"));
        }
        return Ok((verdict, detail.join("; ")));
    }
    Ok((recheck.unwrap_or_else(|| "unknown".into()), String::new()))
}

/// Lines of a simulated verdict's detail that the page's header shows.
const VERDICT_DETAIL_LINES: usize = 3;

/// A simulator's `events.jsonl`: every node, virtual time on the history's clock.
fn sim_events(dir: &Path) -> Result<Vec<(u64, EventRecord)>, ReportError> {
    let path = dir.join("events.jsonl");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let stream =
        raft::events::read_stream(&path).map_err(|err| ReportError::unreadable(&path, err))?;
    Ok(stream.records.into_iter().map(|r| (r.time_ns, r)).collect())
}

/// The per-node streams of a real run, mapped from `CLOCK_MONOTONIC` onto the history's clock.
fn real_events(
    dir: &Path,
    test: Option<&serde_json::Value>,
    notes: &mut Vec<String>,
) -> Result<Vec<(u64, EventRecord)>, ReportError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| ReportError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("events-") && n.ends_with(".jsonl")
            })
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let Some(zero) = test
        .and_then(|t| t.get("history_zero_monotonic_ns"))
        .and_then(|z| z.as_u64())
    else {
        notes.push(
            "test.json has no history_zero_monotonic_ns: the node streams cannot be placed on the history's clock, node lanes left out"
                .into(),
        );
        return Ok(Vec::new());
    };
    let mut records = Vec::new();
    let mut before_zero = 0usize;
    for path in paths {
        let stream =
            raft::events::read_stream(&path).map_err(|err| ReportError::unreadable(&path, err))?;
        if stream.truncated_last_line {
            notes.push(format!(
                "{}: the last line was cut short (a killed node) and is left out",
                path.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
        for record in stream.records {
            let t = history_time(record.time_ns, zero);
            before_zero += usize::from(record.time_ns < zero);
            records.push((t, record));
        }
    }
    if before_zero > 0 {
        notes.push(format!(
            "{before_zero} node events came before the history's time 0 and are drawn at 0"
        ));
    }
    Ok(records)
}

/// A `CLOCK_MONOTONIC` stamp on the history's clock (0 for anything before its start).
pub fn history_time(monotonic_ns: u64, history_zero_monotonic_ns: u64) -> u64 {
    monotonic_ns.saturating_sub(history_zero_monotonic_ns)
}

/// The Raft check's violations from `results.json`, as marks on their nodes.
fn add_raft_violations(data: &mut ReportData, results: Option<&serde_json::Value>) {
    let Some(violations) = results
        .and_then(|r| r.get("raft_check"))
        .and_then(|c| c.get("violations"))
        .and_then(|v| v.as_array())
    else {
        return;
    };
    for violation in violations {
        let node = violation.get("node").and_then(|n| n.as_u64());
        let time_s = violation.get("time_s").and_then(|t| t.as_f64());
        let (Some(node), Some(time_s)) = (node, time_s) else {
            continue;
        };
        let name = violation.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let detail = violation
            .get("detail")
            .and_then(|n| n.as_str())
            .unwrap_or("");
        if let Some(track) = data.nodes.iter_mut().find(|t| t.node == node) {
            track.marks.push(NodeMark {
                time_ns: (time_s.max(0.0) * 1e9) as u64,
                kind: "raft-violation".into(),
                detail: format!("{name}: {detail}"),
            });
            track.marks.sort_by_key(|m| m.time_ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HISTORY: &str = r#"{"format":"gauntlet-history","version":1,"workload":"register","seed":1,"model":"register"}
{"type":"invoke","process":0,"f":"write","value":1,"time_ns":1000,"index":0}
{"type":"ok","process":0,"f":"write","value":1,"time_ns":2000,"index":1,"node":1}
{"type":"info","process":"nemesis","f":"kill-start","value":"kill nodes 1","time_ns":2500,"index":2,"fault":{"fault":"kill","targets":{"nodes":[1]}}}
{"type":"invoke","process":1,"f":"read","value":null,"time_ns":3000,"index":3}
{"type":"ok","process":1,"f":"read","value":0,"time_ns":4000,"index":4,"node":2}
{"type":"info","process":"nemesis","f":"kill-end","value":"restarted [1]","time_ns":5000,"index":5,"fault":{"fault":"kill","targets":{"nodes":[1]}}}
"#;

    fn started(node: u64, t: u64) -> String {
        format!(
            r#"{{"time_ns":{t},"node":{node},"event":"started","term":0,"vote":null,"commit":0,"applied":0,"applied_digest":"cbf29ce484222325","snapshot_index":0,"snapshot_term":0,"last_index":0,"voters":[1,2],"learners":[]}}"#
        )
    }

    fn role(node: u64, t: u64, role: &str, term: u64, leader: &str) -> String {
        format!(
            r#"{{"time_ns":{t},"node":{node},"event":"role","role":"{role}","term":{term},"leader":{leader}}}"#
        )
    }

    #[test]
    fn real_run_events_are_mapped_onto_the_history_clock() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("history.jsonl"), HISTORY).unwrap();
        let zero = 1_000_000u64;
        std::fs::write(
            dir.path().join("test.json"),
            format!(r#"{{"test":"t","seed":1,"history_zero_monotonic_ns":{zero}}}"#),
        )
        .unwrap();
        let stream1 = [
            started(1, zero - 500),
            role(1, zero - 500, "follower", 0, "null"),
            role(1, zero + 1500, "leader", 1, "1"),
            started(1, zero + 5200),
        ]
        .join("\n");
        std::fs::write(dir.path().join("events-1.jsonl"), stream1 + "\n").unwrap();
        let stream2 = [started(2, zero), role(2, zero + 4100, "leader", 2, "2")].join("\n");
        std::fs::write(dir.path().join("events-2.jsonl"), stream2 + "\n").unwrap();

        let data = load_run_dir(dir.path()).unwrap();
        assert_eq!(data.nodes.len(), 2);
        let n1 = &data.nodes[0];
        let spans: Vec<(u64, Option<u64>, &str)> = n1
            .spans
            .iter()
            .map(|s| (s.start_ns, s.end_ns, s.role.as_str()))
            .collect();
        // Stamped before time 0 -> 0; leader at 1500; killed at 2500 (the fault); restarted 5200.
        assert_eq!(
            spans,
            [
                (0, Some(1500), "follower"),
                (1500, Some(2500), "leader"),
                (2500, Some(5200), "down")
            ]
        );
        assert_eq!(data.nodes[1].spans[0].start_ns, 4100);
        assert!(data
            .notes
            .iter()
            .any(|n| n.contains("before the history's time 0")));
        assert_eq!(data.faults.len(), 1);
        assert_eq!(data.operations[0].node, Some(1));
        // No results.json: the history was checked again (a read of 0 after a write of 1).
        assert_eq!(data.verdict, "not-linearizable");
        assert!(data.counterexample.is_some());
    }

    #[test]
    fn real_run_without_clock_zero_says_so() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("history.jsonl"), HISTORY).unwrap();
        std::fs::write(dir.path().join("test.json"), r#"{"test":"t","seed":1}"#).unwrap();
        std::fs::write(dir.path().join("events-1.jsonl"), started(1, 5) + "\n").unwrap();
        let data = load_run_dir(dir.path()).unwrap();
        assert!(data.nodes.is_empty());
        assert!(data
            .notes
            .iter()
            .any(|n| n.contains("history_zero_monotonic_ns")));
    }

    #[test]
    fn sim_dir_reads_virtual_time_and_verdict() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("history.jsonl"), HISTORY).unwrap();
        std::fs::write(
            dir.path().join("verdict.txt"),
            "violation: not-linearizable\nkey k0: no order fits\n",
        )
        .unwrap();
        let events = [
            started(1, 0),
            started(2, 0),
            role(2, 700, "leader", 1, "2"),
            role(1, 800, "follower", 1, "2"),
        ]
        .join("\n");
        std::fs::write(dir.path().join("events.jsonl"), events + "\n").unwrap();
        let data = load_run_dir(dir.path()).unwrap();
        assert_eq!(data.verdict, "violation: not-linearizable");
        assert!(
            data.verdict_detail.starts_with("key k0: no order fits"),
            "the verdict's detail is shown: {}",
            data.verdict_detail
        );
        assert!(data.title.starts_with("simulated run"));
        assert_eq!(
            data.nodes[1].spans[0].start_ns, 700,
            "virtual time is kept as is"
        );
        assert_eq!(data.nodes[1].spans[0].role, "leader");
        let cx = data.counterexample.expect("re-checked");
        assert!(
            cx.involved().contains(&1),
            "the stale read is involved: {cx:?}"
        );
    }

    #[test]
    fn a_directory_without_history_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_run_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a run directory"), "{err}");
    }

    #[test]
    fn history_time_clamps_at_zero() {
        assert_eq!(history_time(1_500, 1_000), 500);
        assert_eq!(history_time(900, 1_000), 0);
    }
}
