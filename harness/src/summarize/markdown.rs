//! `summary.md`: the morning report a person reads. Totals first, then what changed since the
//! last night, then every failure with how to reproduce it and where its files are, then the
//! figures of what passed. Nothing in it depends on the time it was written, only on the store.

use std::fmt::Write;

use super::report::Summary;
use super::trend::{Changes, FigureMove, ALL_RUNS};
use crate::verdict::ExitVerdict;

/// The whole report.
pub fn render(summary: &Summary) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# gauntlet nightly summary: {}\n", summary.night);
    let since = summary
        .since
        .as_ref()
        .map(|s| format!(", runs started since {s}"))
        .unwrap_or_default();
    let verdict = ExitVerdict::from_exit_code(summary.exit_code).map_or("?", |v| v.name());
    let _ = writeln!(
        md,
        "Store `{}`{since}. Overall: **{verdict}** (exit code {}).\n",
        summary.store, summary.exit_code
    );
    totals(&mut md, summary);
    if let Some(changes) = &summary.changes {
        changes_section(&mut md, changes);
    }
    failures(&mut md, summary);
    passing(&mut md, summary);
    sweeps(&mut md, summary);
    fuzz(&mut md, summary);
    md
}

fn totals(md: &mut String, s: &Summary) {
    let verdicts: Vec<String> = s
        .real
        .by_verdict
        .iter()
        .filter(|v| v.runs > 0)
        .map(|v| format!("{} {}", v.runs, v.verdict))
        .collect();
    let unreadable = if s.real.unreadable > 0 {
        format!(
            "; **{} unreadable** file(s) or run directories",
            s.real.unreadable
        )
    } else {
        String::new()
    };
    if s.real.runs == 0 && s.real.unreadable == 0 {
        let _ = writeln!(md, "- Real runs: none (no run directories in the store)");
    } else {
        let _ = writeln!(
            md,
            "- Real runs: {}{}{unreadable}",
            s.real.runs,
            if verdicts.is_empty() {
                String::new()
            } else {
                format!(" ({})", verdicts.join(", "))
            }
        );
    }
    if s.sim.sweeps == 0 {
        let _ = writeln!(
            md,
            "- Simulated seeds: none (no sweep summaries in the store)"
        );
    } else {
        let _ = writeln!(
        md,
        "- Simulated seeds: {} in {} sweep(s): {} violation(s), {} unknown, {} harness failure(s); \
         {:.1} simulated s in {:.1} CPU s",
        s.sim.seeds_run,
        s.sim.sweeps,
        s.sim.violations,
        s.sim.unknowns,
        s.sim.harness_failures,
        s.sim.simulated_s,
        s.sim.cpu_s
    );
    }
    if s.fuzz_targets == 0 {
        let _ = writeln!(md, "- Fuzz targets: none (no fuzz results in the store)\n");
    } else {
        let _ = writeln!(
            md,
            "- Fuzz targets: {}, {} crashed\n",
            s.fuzz_targets, s.fuzz_crashed
        );
    }
}

fn changes_section(md: &mut String, c: &Changes) {
    let _ = writeln!(md, "## Since the previous night ({})\n", c.previous_night);
    if c.new_failures.is_empty() && c.fixed.is_empty() {
        let _ = writeln!(md, "- No new failures, none fixed.");
    }
    for f in &c.new_failures {
        let _ = writeln!(md, "- **new** {} `{}`: {}", f.kind, f.key, f.failure);
    }
    for f in &c.fixed {
        let _ = writeln!(md, "- fixed: {} `{}`: {}", f.kind, f.key, f.failure);
    }
    for f in &c.not_rerun {
        let _ = writeln!(
            md,
            "- not run tonight, failed last: {} `{}`: {}",
            f.kind, f.key, f.failure
        );
    }
    for m in &c.moved {
        let _ = writeln!(md, "- {}", figure_move(m));
    }
    md.push('\n');
}

fn figure_move(m: &FigureMove) -> String {
    let key = if m.key == ALL_RUNS {
        m.key.clone()
    } else {
        format!("`{}`", m.key)
    };
    if m.figure == "availability" {
        format!(
            "availability, {key}: {:.1}% -> {:.1}%",
            m.before * 100.0,
            m.after * 100.0
        )
    } else {
        format!(
            "p99 latency, {key}: {:.1} ms -> {:.1} ms",
            m.before, m.after
        )
    }
}

fn failures(md: &mut String, s: &Summary) {
    let c = &s.collected;
    let failed_runs: Vec<_> = c.runs.iter().filter(|r| r.verdict != "valid").collect();
    let sim_failures: Vec<_> = c.sweeps.iter().flat_map(|s| s.failures.iter()).collect();
    let crashed: Vec<_> = c
        .fuzz
        .iter()
        .filter(|f| f.crashes > 0 || f.exit_status != 0)
        .collect();
    if failed_runs.is_empty()
        && sim_failures.is_empty()
        && crashed.is_empty()
        && c.unreadable.is_empty()
    {
        let _ = writeln!(md, "## Failures\n\nNone.\n");
        return;
    }
    let _ = writeln!(md, "## Failures\n");
    for run in failed_runs {
        let anomaly = run
            .anomaly
            .as_ref()
            .map(|a| format!(" [{a}]"))
            .unwrap_or_default();
        let _ = writeln!(
            md,
            "### real `{}` seed {}: {}{anomaly}\n\n- {}\n- reproduce: `{}`\n- run directory: `{}`\n- timeline: `{}`\n",
            run.test,
            run.seed,
            run.verdict,
            run.detail,
            run.reproduce,
            run.dir.display(),
            run.timeline.display()
        );
    }
    for f in sim_failures {
        let _ = writeln!(
            md,
            "### sim seed {}: {} [{}]\n\n- {}\n- reproduce: `{}`\n- saved: `{}` (history.jsonl, schedule.json, spec.json)\n",
            f.seed,
            f.verdict,
            f.anomaly,
            f.summary,
            f.reproduce,
            f.dir.display()
        );
    }
    for f in crashed {
        let _ = writeln!(
            md,
            "### fuzz `{}`: {} crash file(s), exit {}\n\n- crash inputs: `{}`\n- log: `{}`\n- reproduce: `cd fuzz && cargo fuzz run -s none {} <crash file>`\n",
            f.target,
            f.crashes,
            f.exit_status,
            f.crash_dir.display(),
            f.log.display(),
            f.target
        );
    }
    for u in &c.unreadable {
        let _ = writeln!(
            md,
            "### unreadable `{}`\n\n- {}\n",
            u.path.display(),
            u.problem
        );
    }
}

fn passing(md: &mut String, s: &Summary) {
    if s.passing.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Passing real runs\n");
    let _ = writeln!(
        md,
        "| test | runs | availability mean (min) | latency ms p50 / p99 / max | recovery s (max) | run s (mean) |"
    );
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: |");
    for p in &s.passing {
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1}%", v * 100.0));
        let num = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        let _ = writeln!(
            md,
            "| `{}` | {} | {} ({}) | {} / {} / {} | {} | {} |",
            p.test,
            p.runs,
            pct(p.availability_mean),
            pct(p.availability_min),
            num(p.p50_ms_mean),
            num(p.p99_ms_max),
            num(p.max_ms),
            num(p.recovery_s_max),
            num(p.duration_s_mean)
        );
    }
    md.push('\n');
}

fn sweeps(md: &mut String, s: &Summary) {
    if s.collected.sweeps.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Simulated sweeps\n");
    let _ = writeln!(
        md,
        "| seeds | shards | seeds run | failed | unknown | simulated s | CPU s | seeds per CPU s |"
    );
    let _ = writeln!(
        md,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for w in &s.collected.sweeps {
        let _ = writeln!(
            md,
            "| {} | {}/{} | {} of {} | {} | {} | {:.1} | {:.1} | {:.1} |",
            w.seeds,
            w.shards.len(),
            w.shard_count,
            w.seeds_run,
            w.seeds_planned,
            (w.failures.len() as u64).saturating_sub(w.unknowns),
            w.unknowns,
            w.simulated_s,
            w.cpu_s,
            w.seeds_run as f64 / w.cpu_s.max(1e-9)
        );
    }
    md.push('\n');
    for w in &s.collected.sweeps {
        let _ = writeln!(md, "- `{}`", w.command);
        if !w.missing_shards.is_empty() {
            let missing: Vec<String> = w
                .missing_shards
                .iter()
                .map(|i| format!("{i}/{}", w.shard_count))
                .collect();
            let _ = writeln!(md, "  - **missing shards**: {}", missing.join(", "));
        }
        let missed: Vec<&str> = w
            .coverage
            .iter()
            .filter(|m| m.seeds == 0)
            .map(|m| m.mark.as_str())
            .collect();
        if !missed.is_empty() {
            let _ = writeln!(
                md,
                "  - coverage marks no seed passed: {}",
                missed.join(", ")
            );
        }
    }
    md.push('\n');
}

fn fuzz(md: &mut String, s: &Summary) {
    if s.collected.fuzz.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Fuzzing\n");
    let _ = writeln!(md, "| target | seconds | runs | exec/s | crashes |");
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: |");
    for f in &s.collected.fuzz {
        let opt = |v: Option<u64>| v.map_or("?".into(), |v| v.to_string());
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} |",
            f.target,
            f.seconds,
            opt(f.runs),
            opt(f.exec_per_s),
            f.crashes
        );
    }
    md.push('\n');
}
