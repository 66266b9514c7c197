//! Progress of a run for the person watching: an indicatif bar on a terminal (elapsed, ops
//! ok/fail/info, the fault in force), plain lines every few seconds otherwise (CI logs). The
//! run's `gauntlet.log` ([`crate::console_log`]) gets the plain lines either way.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::console_log;
use crate::recorder::CountsSnapshot;

/// Where progress goes.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    line_every: Duration,
}

impl Progress {
    /// A bar of `total` seconds when stderr is a terminal, plain lines every 5 s otherwise.
    pub fn new(total: Duration) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len}s {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
            line_every: Duration::from_secs(5),
        }
    }

    /// Announces a phase (`starting 3 nodes`, `healing`, ...).
    pub fn phase(&self, text: &str) {
        let line = format!(
            "gauntlet: [{:>6.1}s] {text}",
            self.started.elapsed().as_secs_f64()
        );
        console_log::shown(&line);
        match &self.bar {
            Some(bar) => bar.println(format!("gauntlet: {text}")),
            None => eprintln!("{line}"),
        }
    }

    /// Updates the workload-phase figures.
    pub fn update(&mut self, elapsed: Duration, counts: CountsSnapshot, fault: Option<&str>) {
        let text = format!(
            "ok {} fail {} info {} | {}",
            counts.ok,
            counts.fail,
            counts.info,
            fault.unwrap_or("no fault")
        );
        if self.last_line.elapsed() >= self.line_every {
            self.last_line = Instant::now();
            let line = format!(
                "gauntlet: [{:>6.1}s] {text}",
                self.started.elapsed().as_secs_f64()
            );
            console_log::shown(&line);
            if self.bar.is_none() {
                eprintln!("{line}");
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_position(elapsed.as_secs());
            bar.set_message(text);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
