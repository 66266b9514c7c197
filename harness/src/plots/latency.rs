//! `latency.svg`: every client operation as a point at the time it completed (an operation whose
//! outcome is unknown at the time it was abandoned), its latency on a log scale; colour by
//! function, shape by outcome (ok a disc, fail a cross, info a triangle), fault windows shaded.
//! Ok points are drawn first so the rarer fail and info ones stay visible on top; past
//! [`MAX_OK_POINTS`] ok operations only every n-th is drawn (the axis says so), which keeps the
//! file a few MB and quick to open for a 100,000-operation history.

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::draw::{chart, draw_legend, failed, series_colour, shade_fault_windows, SIZE};
use super::series::{seconds, HistoryTimes, Outcome};
use super::windows::FaultWindow;

/// Latencies below this (a simulated operation can take no time) are drawn at it.
const FLOOR_MS: f64 = 0.001;

/// At most about this many `ok` points are drawn; fail and info points are always all drawn.
pub const MAX_OK_POINTS: usize = 20_000;

/// The SVG text of the latency plot.
pub fn latency_svg(
    times: &HistoryTimes,
    windows: &[FaultWindow],
    title: &str,
) -> Result<String, String> {
    let functions = super::functions(times);
    let ok_count = times
        .operations
        .iter()
        .filter(|o| o.outcome == Outcome::Ok)
        .count();
    let ok_stride = ok_count.div_ceil(MAX_OK_POINTS).max(1);
    let mut ok_seen = 0usize;
    // Keyed by outcome first: ok points are drawn first, under the others.
    let mut points: BTreeMap<(Outcome, usize), Vec<(f64, f64)>> = BTreeMap::new();
    for op in &times.operations {
        if op.outcome == Outcome::Ok {
            ok_seen += 1;
            if !(ok_seen - 1).is_multiple_of(ok_stride) {
                continue;
            }
        }
        let index = functions.iter().position(|f| *f == op.f).unwrap_or(0);
        let latency_ms = (op.latency_ns() as f64 / 1e6).max(FLOOR_MS);
        points
            .entry((op.outcome, index))
            .or_default()
            .push((seconds(op.completed_ns), latency_ms));
    }
    let y_desc = match ok_stride {
        1 => "latency (ms, log scale)".to_string(),
        n => format!("latency (ms, log scale; 1 in {n} ok operations drawn)"),
    };
    let (low, high) = log_range(points.values().flatten().map(|&(_, y)| y));
    let x_max = super::x_max(times, windows);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let y = (low..high).log_scale();
        let mut chart = chart(&root, title, x_max, y, &y_desc)?;
        shade_fault_windows(&mut chart, windows, (low, high))?;
        for ((outcome, index), coords) in &points {
            let colour = series_colour(*index);
            let label = format!("{} {}", functions[*index], outcome.name());
            let coords = coords.iter().copied();
            match outcome {
                Outcome::Ok => chart
                    .draw_series(coords.map(|c| Circle::new(c, 2, colour.mix(0.7).filled())))
                    .map_err(failed)?
                    .label(label)
                    .legend(move |c| Circle::new(c, 3, colour.filled())),
                Outcome::Fail => chart
                    .draw_series(coords.map(|c| Cross::new(c, 3, colour)))
                    .map_err(failed)?
                    .label(label)
                    .legend(move |c| Cross::new(c, 3, colour)),
                Outcome::Info => chart
                    .draw_series(coords.map(|c| TriangleMarker::new(c, 4, colour.filled())))
                    .map_err(failed)?
                    .label(label)
                    .legend(move |c| TriangleMarker::new(c, 4, colour.filled())),
            };
        }
        draw_legend(&mut chart)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// A log-scale range holding every value: whole decades around them (1 to 10 ms when empty).
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !min.is_finite() {
        return (1.0, 10.0);
    }
    let low = 10f64.powf(min.log10().floor());
    let high = 10f64.powf(max.log10().ceil()).max(low * 10.0);
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_one_ok_operation_in_n_is_drawn_and_every_failure() {
        use crate::plots::series::Operation;
        let op = |i: u64, outcome| Operation {
            f: "read".into(),
            outcome,
            invoked_ns: i * 1_000_000,
            completed_ns: i * 1_000_000 + 5_000_000,
            pending: false,
        };
        let mut times = HistoryTimes {
            operations: (0..45_000).map(|i| op(i, Outcome::Ok)).collect(),
            end_ns: 45_005_000_000,
            ..HistoryTimes::default()
        };
        times
            .operations
            .extend((0..7).map(|i| op(i, Outcome::Fail)));
        let svg = latency_svg(&times, &[], "t").unwrap();
        // 45,000 ok at 1 in 3, plus the legend's disc.
        assert_eq!(svg.matches("<circle").count(), 15_000 + 1);
        assert!(svg.contains("1 in 3 ok operations drawn"));
        let small = HistoryTimes {
            operations: times.operations[..100].to_vec(),
            ..times.clone()
        };
        let svg = latency_svg(&small, &[], "t").unwrap();
        assert_eq!(svg.matches("<circle").count(), 100 + 1);
        assert!(!svg.contains("operations drawn"));
    }

    #[test]
    fn the_log_range_covers_whole_decades() {
        assert_eq!(log_range([3.0, 250.0].into_iter()), (1.0, 1000.0));
        assert_eq!(log_range([10.0].into_iter()), (10.0, 100.0));
        assert_eq!(log_range(std::iter::empty()), (1.0, 10.0));
    }
}
