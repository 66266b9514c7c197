//! `gauntlet report RUN_DIR`: rebuilds a run directory's derived artifacts from what the run
//! recorded (the timeline page `timeline.html` and the plots `latency.svg` and `throughput.svg`),
//! for a real run's directory or a simulated seed's (`<store>/sim/seed-N/`), and prints the path
//! of each file written. [`rebuild`] is also what `gauntlet test` and `gauntlet sim` call when a
//! run ends.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::check_cmd::EXIT_UNUSABLE_INPUT;

/// Flags of `gauntlet report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The run directory: a real run's (`<store>/<test>/<time>/`, or `<store>/latest`) or a
    /// simulated seed's (`<store>/sim/seed-N/`); it must hold a `history.jsonl`.
    #[arg(value_name = "RUN_DIR")]
    pub dir: PathBuf,
}

/// Runs `gauntlet report`; exit code 0 when every artifact was written, 3 when the directory is
/// not a run directory or an artifact could not be written.
pub fn run(args: &ReportArgs) -> anyhow::Result<u8> {
    let dir = &args.dir;
    if !dir.join("history.jsonl").is_file() {
        eprintln!(
            "gauntlet report: {} is not a run directory: it has no history.jsonl (expected \
             <store>/<test>/<time>/, <store>/latest or <store>/sim/seed-N/)",
            dir.display()
        );
        return Ok(EXIT_UNUSABLE_INPUT);
    }
    let (written, failures) = rebuild(dir);
    for path in written {
        println!("{}", path.display());
    }
    for failure in &failures {
        eprintln!("gauntlet report: {failure}");
    }
    Ok(if failures.is_empty() {
        0
    } else {
        EXIT_UNUSABLE_INPUT
    })
}

/// Writes a run directory's timeline page and plots; returns the files written and, for each
/// artifact that could not be made, why (one failing artifact does not stop the others).
pub fn rebuild(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut written = Vec::new();
    let mut failures = Vec::new();
    match crate::report::write_run_timeline(dir) {
        Ok(path) => written.push(path),
        Err(err) => failures.push(format!("the timeline page was not written: {err}")),
    }
    match crate::plots::write_run_plots(dir) {
        Ok(paths) => written.extend(paths),
        Err(err) => failures.push(format!("the plots were not written: {err}")),
    }
    (written, failures)
}
