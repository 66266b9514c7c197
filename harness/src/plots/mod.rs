//! Plots of a run directory, as Jepsen draws them: `latency.svg` (every operation's latency over
//! time, by function and outcome) and `throughput.svg` (completions per second over time), both
//! with the fault windows shaded and named. Read from the directory's `history.jsonl`, so they
//! work alike for a real run (wall-clock ns) and a simulated seed (virtual ns). SVG only: no font
//! or image library is needed to build or to draw (the viewer lays out the text).

pub mod draw;
pub mod latency;
pub mod series;
pub mod throughput;
pub mod windows;

use std::path::{Path, PathBuf};

use crate::artifacts::{write_atomic, ArtifactError};
use series::{read_history, HistoryTimes};
use windows::{fault_windows, FaultWindow};

/// Why the plots of a run directory could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot draw {}: {reason}", path.display())]
    Draw { path: PathBuf, reason: String },
    #[error(transparent)]
    Write(#[from] ArtifactError),
}

/// Reads `dir/history.jsonl` and writes `dir/latency.svg` and `dir/throughput.svg` (each
/// atomically); returns their paths.
pub fn write_run_plots(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let history = dir.join("history.jsonl");
    let text = std::fs::read_to_string(&history).map_err(|source| PlotError::Read {
        path: history.clone(),
        source,
    })?;
    let times = read_history(&text);
    let windows = fault_windows(&times.nemesis, times.end_ns);
    let run = run_name(dir);
    type Draw = fn(&HistoryTimes, &[FaultWindow], &str) -> Result<String, String>;
    let plots: [(&str, String, Draw); 2] = [
        (
            "latency.svg",
            format!("latency of every operation: {run}"),
            latency::latency_svg,
        ),
        (
            "throughput.svg",
            format!("throughput: {run}"),
            throughput::throughput_svg,
        ),
    ];
    let mut written = Vec::new();
    for (name, title, draw) in plots {
        let path = dir.join(name);
        let svg = draw(&times, &windows, &title).map_err(|reason| PlotError::Draw {
            path: path.clone(),
            reason,
        })?;
        write_atomic(&path, svg.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The run's name in titles: the directory's last two components (`<test>/<time>`,
/// `sim/seed-N`).
fn run_name(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let parts: Vec<_> = dir
        .components()
        .rev()
        .take(2)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// The functions of the history's operations, sorted: their index picks their colour.
fn functions(times: &HistoryTimes) -> Vec<String> {
    let mut functions: Vec<String> = times.operations.iter().map(|o| o.f.clone()).collect();
    functions.sort_unstable();
    functions.dedup();
    functions
}

/// The right end of the x axis, in seconds: the end of the history or of the last window.
fn x_max(times: &HistoryTimes, windows: &[FaultWindow]) -> f64 {
    let end = windows
        .iter()
        .map(|w| w.end_ns)
        .fold(times.end_ns, u64::max);
    series::seconds(end).max(0.001)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> String {
        let mut lines = vec![r#"{"format":"gauntlet-history","version":1}"#.to_string()];
        for i in 0..50u64 {
            let t = i * 100_000_000;
            let (f, kind) = match i % 5 {
                0 => ("write", "fail"),
                1 => ("write", "info"),
                _ => ("read", "ok"),
            };
            lines.push(format!(
                r#"{{"type":"invoke","process":{},"f":"{f}","time_ns":{t}}}"#,
                i % 3
            ));
            lines.push(format!(
                r#"{{"type":"{kind}","process":{},"f":"{f}","time_ns":{}}}"#,
                i % 3,
                t + (i + 1) * 1_000_000
            ));
        }
        lines.push(r#"{"type":"info","process":"nemesis","f":"partition-start","time_ns":1000000000,"value":"isolate leader 2","fault":{"fault":"partition"}}"#.into());
        lines.push(r#"{"type":"info","process":"nemesis","f":"partition-end","time_ns":2500000000,"value":"healed 4 links","fault":{"fault":"partition"}}"#.into());
        lines.join("\n") + "\n"
    }

    #[test]
    fn a_run_directory_gets_both_plots_with_points_legends_and_named_windows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("history.jsonl"), history()).unwrap();
        let written = write_run_plots(dir.path()).unwrap();
        assert_eq!(
            written,
            vec![
                dir.path().join("latency.svg"),
                dir.path().join("throughput.svg")
            ]
        );
        let latency = std::fs::read_to_string(&written[0]).unwrap();
        assert!(latency.starts_with("<svg"), "{}", &latency[..100]);
        // 30 ok reads as discs (plus one in the legend); the legend names every series.
        assert_eq!(latency.matches("<circle").count(), 31, "ok points");
        for label in ["read ok", "write fail", "write info", "partition (fault)"] {
            assert!(latency.contains(label), "latency legend lacks {label}");
        }
        assert!(
            latency.contains("\npartition\n</text>"),
            "the window is named"
        );
        assert!(latency.contains("latency (ms, log scale)"));
        let throughput = std::fs::read_to_string(&written[1]).unwrap();
        for label in ["read ok", "write fail", "write info", "partition (fault)"] {
            assert!(
                throughput.contains(label),
                "throughput legend lacks {label}"
            );
        }
        assert!(throughput.contains("<polyline"), "lines are drawn");
    }

    #[test]
    fn a_directory_without_a_history_is_a_read_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_run_plots(dir.path()).unwrap_err();
        assert!(matches!(err, PlotError::Read { .. }), "{err}");
        assert!(err.to_string().contains("history.jsonl"), "{err}");
    }

    #[test]
    fn an_empty_history_still_draws_empty_plots() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("history.jsonl"), "{\"format\":\"x\"}\n").unwrap();
        let written = write_run_plots(dir.path()).unwrap();
        assert_eq!(written.len(), 2);
        assert!(std::fs::read_to_string(&written[0])
            .unwrap()
            .contains("</svg>"));
    }
}
