//! The timeline page of a run (issue 12): one self-contained HTML file showing every client
//! operation as a bar, the fault windows, each node's role and term over time, and the
//! counterexample in place (`docs/inspecting.md`).
//!
//! [`ReportData`] is what the page shows; [`load_run_dir`] fills it from a real run directory or a
//! simulator seed directory, [`report_from_history`] from any history the checker reads (for
//! `gauntlet check --html`); [`timeline::write_timeline`] writes the page and
//! [`write_run_timeline`] writes `timeline.html` into a run directory.

mod history;
mod load;
pub mod model;
mod nodes;
pub mod timeline;

use std::path::{Path, PathBuf};

use checker::history::{History, Operation};
use checker::report::CheckReport;

pub use history::{fault_targets, history_parts, HistoryParts, NativeExtras, StoredCounterexample};
pub use load::load_run_dir;
pub use model::{
    BlockedView, CounterexampleView, FaultWindow, NodeMark, NodeTrack, OperationBar, Outcome,
    ReportData, RoleSpan,
};
pub use nodes::node_tracks;

/// Why a page could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a run directory (expected history.jsonl in it)")]
    NotARunDir(PathBuf),
    #[error("{path}: {message}")]
    Unreadable { path: PathBuf, message: String },
}

impl ReportError {
    fn unreadable(path: &Path, message: impl std::fmt::Display) -> ReportError {
        ReportError::Unreadable {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// Builds the page's data from a history (events in any format), the checker's paired operations
/// and its report (for the verdict and counterexample; `None` when unchecked). `raw_native` is the
/// text of a native history, for its optional fields (`node`, `error_kind`, `error`, `fault`).
pub fn report_from_history(
    title: &str,
    history: &History,
    raw_native: Option<&str>,
    checked: &[Operation],
    report: Option<&CheckReport>,
) -> ReportData {
    let stored = report
        .and_then(|r| r.counterexample.as_ref())
        .map(StoredCounterexample::from_checker);
    let verdict = report.map_or("unchecked".to_string(), |r| verdict_name(&r.verdict));
    let mut data = assemble(title, history, raw_native, checked, stored.as_ref());
    data.verdict = verdict;
    if let Some(report) = report {
        data.verdict_detail = format!(
            "{} operations checked in {} partitions, decided by {}",
            report.stats.operations,
            report.stats.partitions,
            report.method.name()
        );
    }
    data
}

/// The kebab-case name of a checker verdict.
pub fn verdict_name(verdict: &checker::Verdict) -> String {
    match verdict {
        checker::Verdict::Linearizable => "linearizable".into(),
        checker::Verdict::NotLinearizable => "not-linearizable".into(),
        checker::Verdict::Unknown { reason } => format!("unknown ({reason})"),
    }
}

/// Operations, faults and counterexample of a history (no node tracks, no verdict).
fn assemble(
    title: &str,
    history: &History,
    raw_native: Option<&str>,
    checked: &[Operation],
    counterexample: Option<&StoredCounterexample>,
) -> ReportData {
    let extras = raw_native.map(NativeExtras::from_text).unwrap_or_default();
    let mut parts = history_parts(history, &extras);
    let ids = history::link_checker_ids(&mut parts.operations, checked);
    let mut notes = Vec::new();
    if parts.time_is_event_order {
        notes.push(
            "this history records no time: positions in it stand for time (one unit per event)"
                .to_string(),
        );
    }
    let counterexample = counterexample.map(|cx| {
        let (view, missing) = cx.view(&ids);
        if missing > 0 {
            notes.push(format!(
                "{missing} counterexample operations could not be found in the history"
            ));
        }
        view
    });
    ReportData {
        title: title.to_string(),
        verdict: String::new(),
        verdict_detail: String::new(),
        time_is_event_order: parts.time_is_event_order,
        operations: parts.operations,
        faults: parts.faults,
        nodes: Vec::new(),
        counterexample,
        notes,
    }
}

/// Writes `dir/timeline.html` for a run directory (real or simulated) and returns its path.
pub fn write_run_timeline(dir: &Path) -> Result<PathBuf, ReportError> {
    let data = load_run_dir(dir)?;
    let out = dir.join("timeline.html");
    timeline::write_timeline(&data, &out)?;
    Ok(out)
}
