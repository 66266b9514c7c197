//! `latency.svg`: every client operation as a point at the time it completed (an operation whose
//! outcome is unknown at the time it was abandoned), its latency on a log scale; colour by
//! function, shape by outcome (ok a disc, fail a cross, info a triangle), fault windows shaded.

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::draw::{chart, draw_legend, failed, series_colour, shade_fault_windows, SIZE};
use super::series::{seconds, HistoryTimes, Outcome};
use super::windows::FaultWindow;

/// Latencies below this (a simulated operation can take no time) are drawn at it.
const FLOOR_MS: f64 = 0.001;

/// The SVG text of the latency plot.
pub fn latency_svg(
    times: &HistoryTimes,
    windows: &[FaultWindow],
    title: &str,
) -> Result<String, String> {
    let functions = super::functions(times);
    let mut points: BTreeMap<(usize, Outcome), Vec<(f64, f64)>> = BTreeMap::new();
    for op in &times.operations {
        let index = functions.iter().position(|f| *f == op.f).unwrap_or(0);
        let latency_ms = (op.latency_ns() as f64 / 1e6).max(FLOOR_MS);
        points
            .entry((index, op.outcome))
            .or_default()
            .push((seconds(op.completed_ns), latency_ms));
    }
    let (low, high) = log_range(points.values().flatten().map(|&(_, y)| y));
    let x_max = super::x_max(times, windows);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let y = (low..high).log_scale();
        let mut chart = chart(&root, title, x_max, y, "latency (ms, log scale)")?;
        shade_fault_windows(&mut chart, windows, (low, high))?;
        for ((index, outcome), coords) in &points {
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
    fn the_log_range_covers_whole_decades() {
        assert_eq!(log_range([3.0, 250.0].into_iter()), (1.0, 1000.0));
        assert_eq!(log_range([10.0].into_iter()), (10.0, 100.0));
        assert_eq!(log_range(std::iter::empty()), (1.0, 10.0));
    }
}
