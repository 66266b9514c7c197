//! How a bench reports: one line per measurement as it completes, a table of every figure's
//! spread over the runs (median [min-max]), or all of it as one JSON object (`--json`).

use serde::Serialize;
use serde_json::{json, Value};

use super::stats::{Figures, Spread};

/// What was measured with what settings (the header of the report).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Settings {
    pub dbs: Vec<&'static str>,
    pub ops: Vec<&'static str>,
    pub clients: Vec<usize>,
    pub runs: usize,
    pub nodes: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub value_bytes: usize,
    pub keys: usize,
    /// `--client-profile`: patient or workload.
    pub client_profile: &'static str,
}

/// One measurement: a system, an operation, a number of clients, a run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Measurement {
    pub db: &'static str,
    pub op: &'static str,
    pub clients: usize,
    /// 1-based run number: each run is a fresh cluster.
    pub run: usize,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Every run of one system, operation and number of clients.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    pub db: &'static str,
    pub op: &'static str,
    pub clients: usize,
    pub runs: usize,
    pub ops_per_sec: Spread,
    pub p50_ms: Option<Spread>,
    pub p99_ms: Option<Spread>,
    pub max_ms: Option<Spread>,
    /// Failed operations over all runs.
    pub fail: u64,
    pub info: u64,
}

/// One summary per system, operation and number of clients, in the order first measured.
pub fn summarize(measurements: &[Measurement]) -> Vec<Summary> {
    let mut keys: Vec<(&'static str, &'static str, usize)> = Vec::new();
    for m in measurements {
        let key = (m.db, m.op, m.clients);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .filter_map(|(db, op, clients)| {
            let runs: Vec<&Figures> = measurements
                .iter()
                .filter(|m| (m.db, m.op, m.clients) == (db, op, clients))
                .map(|m| &m.figures)
                .collect();
            Some(Summary {
                db,
                op,
                clients,
                runs: runs.len(),
                ops_per_sec: Spread::of(runs.iter().map(|f| f.ops_per_sec))?,
                p50_ms: Spread::of(runs.iter().filter_map(|f| f.p50_ms)),
                p99_ms: Spread::of(runs.iter().filter_map(|f| f.p99_ms)),
                max_ms: Spread::of(runs.iter().filter_map(|f| f.max_ms)),
                fail: runs.iter().map(|f| f.fail).sum(),
                info: runs.iter().map(|f| f.info).sum(),
            })
        })
        .collect()
}

/// `12345.6` as `12,346`.
pub fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn latency(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms < 10.0 => format!("{ms:.2}"),
        Some(ms) => format!("{ms:.1}"),
        None => "-".into(),
    }
}

/// The report's first line.
pub fn header_line(settings: &Settings) -> String {
    format!(
        "gauntlet bench: {} nodes, {} clients, {} s measured after {} s warm-up, values of {} \
         bytes, {} keys, {} run(s) of a fresh cluster each",
        settings.nodes,
        settings.client_profile,
        settings.duration_s,
        settings.warmup_s,
        settings.value_bytes,
        settings.keys,
        settings.runs
    )
}

/// One measurement as a line.
pub fn measurement_line(m: &Measurement, runs: usize) -> String {
    let f = &m.figures;
    let mut line = format!(
        "{:<8} {:<4} {:>4} clients  run {}/{}: {:>9} ops/s  p50 {:>7} ms  p99 {:>7} ms  max {:>7} ms  errors {} fail, {} info",
        m.db,
        m.op,
        m.clients,
        m.run,
        runs,
        grouped(f.ops_per_sec),
        latency(f.p50_ms),
        latency(f.p99_ms),
        latency(f.max_ms),
        f.fail,
        f.info
    );
    if let Some(error) = &f.first_error {
        line.push_str(&format!(" (first: {error})"));
    }
    line
}

fn spread_cell(spread: Option<Spread>, show: impl Fn(f64) -> String) -> String {
    match spread {
        Some(s) if s.min == s.max => show(s.median),
        Some(s) => format!("{} [{}-{}]", show(s.median), show(s.min), show(s.max)),
        None => "-".into(),
    }
}

/// The summaries as a table: each figure as median [min-max] over the runs.
pub fn summary_table(summaries: &[Summary]) -> String {
    let ms = |v: f64| latency(Some(v));
    let rows: Vec<[String; 8]> = summaries
        .iter()
        .map(|s| {
            [
                s.db.to_string(),
                s.op.to_string(),
                s.clients.to_string(),
                spread_cell(Some(s.ops_per_sec), grouped),
                spread_cell(s.p50_ms, ms),
                spread_cell(s.p99_ms, ms),
                spread_cell(s.max_ms, ms),
                format!("{}/{}", s.fail, s.info),
            ]
        })
        .collect();
    let header = [
        "db",
        "op",
        "clients",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "fail/info",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let render = |row: &[String; 8]| {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i < 2 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    let mut out = format!("median [min-max] over the runs\n{}\n", render(&header));
    for row in &rows {
        out.push_str(&render(row));
        out.push('\n');
    }
    out
}

/// Everything as one JSON object: the settings, every measurement, every summary.
pub fn json_report(
    settings: &Settings,
    measurements: &[Measurement],
    summaries: &[Summary],
) -> Value {
    json!({
        "settings": settings,
        "measurements": measurements,
        "summaries": summaries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(db: &'static str, clients: usize, run: usize, ops_per_sec: f64) -> Measurement {
        Measurement {
            db,
            op: "put",
            clients,
            run,
            figures: Figures {
                ops: (ops_per_sec * 10.0) as u64,
                ops_per_sec,
                p50_ms: Some(1.5),
                p99_ms: Some(run as f64 * 10.0),
                max_ms: Some(50.0),
                fail: 1,
                info: run as u64,
                first_error: None,
            },
        }
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0.4), "0");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(1000.0), "1,000");
        assert_eq!(grouped(15234.6), "15,235");
        assert_eq!(grouped(1234567.0), "1,234,567");
    }

    #[test]
    fn summaries_group_runs_of_the_same_system_op_and_clients() {
        let all = vec![
            measurement("raft-kv", 1, 1, 100.0),
            measurement("etcd", 1, 1, 50.0),
            measurement("raft-kv", 1, 2, 120.0),
            measurement("raft-kv", 1, 3, 110.0),
            measurement("raft-kv", 16, 1, 900.0),
        ];
        let summaries = summarize(&all);
        assert_eq!(summaries.len(), 3);
        let first = &summaries[0];
        assert_eq!((first.db, first.clients, first.runs), ("raft-kv", 1, 3));
        assert_eq!(first.ops_per_sec.median, 110.0);
        assert_eq!(
            (first.ops_per_sec.min, first.ops_per_sec.max),
            (100.0, 120.0)
        );
        assert_eq!(first.p99_ms.unwrap().max, 30.0);
        assert_eq!((first.fail, first.info), (3, 6));
        assert_eq!(summaries[1].db, "etcd");
        let table = summary_table(&summaries);
        assert!(table.contains("110 [100-120]"), "{table}");
        assert!(table.contains("fail/info"), "{table}");
    }

    #[test]
    fn json_uses_kebab_case_names() {
        let all = vec![measurement("raft-kv", 4, 1, 100.0)];
        let settings = Settings {
            dbs: vec!["raft-kv"],
            ops: vec!["put"],
            clients: vec![4],
            runs: 1,
            nodes: 3,
            warmup_s: 1.0,
            duration_s: 2.0,
            value_bytes: 100,
            keys: 10,
            client_profile: "patient",
        };
        let report = json_report(&settings, &all, &summarize(&all));
        let m = &report["measurements"][0];
        assert_eq!(m["ops-per-sec"], 100.0);
        assert_eq!(m["p50-ms"], 1.5);
        assert_eq!(report["settings"]["value-bytes"], 100);
        assert_eq!(report["settings"]["client-profile"], "patient");
        assert_eq!(report["summaries"][0]["ops-per-sec"]["median"], 100.0);
        let line = measurement_line(&all[0], 1);
        assert!(
            line.contains("100 ops/s") && line.contains("errors 1 fail, 1 info"),
            "{line}"
        );
    }
}
