//! `gauntlet report RUN_DIR`: rebuilds a run directory's derived artifacts from what the run
//! recorded (today the plots, `latency.svg` and `throughput.svg`), for a real run's directory or
//! a simulated seed's (`<store>/sim/seed-N/`), and prints the path of each file written.

use std::path::PathBuf;

use anyhow::Context;
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
    let written = crate::plots::write_run_plots(dir)
        .with_context(|| format!("plotting {}", dir.display()))?;
    // The lead adds the timeline here: crate::report::write_run_timeline(dir).
    for path in written {
        println!("{}", path.display());
    }
    Ok(0)
}
