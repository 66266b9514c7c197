//! `throughput.svg`: completions per second over time, one line per function and outcome
//! (operations abandoned pending count as `info` at the end of the history), fault windows
//! shaded.

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::draw::{chart, draw_legend, failed, series_colour, shade_fault_windows, SIZE};
use super::series::{seconds, HistoryTimes, Outcome};
use super::windows::FaultWindow;

/// Bucket widths to choose from, in seconds.
const BUCKETS_S: [f64; 8] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];
/// At most this many buckets across the plot.
const MAX_BUCKETS: f64 = 60.0;

/// The narrowest bucket that keeps a history of `span_s` seconds within [`MAX_BUCKETS`].
pub fn bucket_seconds(span_s: f64) -> f64 {
    BUCKETS_S
        .into_iter()
        .find(|b| span_s / b <= MAX_BUCKETS)
        .unwrap_or((span_s / MAX_BUCKETS).ceil())
}

/// Completions per second of each function and outcome, per bucket of `bucket_s` seconds:
/// `(function, outcome) -> [(bucket start s, rate)]`, every bucket present (zero included).
pub fn rates(
    times: &HistoryTimes,
    bucket_s: f64,
    x_max: f64,
) -> BTreeMap<(String, Outcome), Vec<(f64, f64)>> {
    let buckets = (x_max / bucket_s).ceil().max(1.0) as usize;
    let mut counts: BTreeMap<(String, Outcome), Vec<u64>> = BTreeMap::new();
    for op in &times.operations {
        let slot = ((seconds(op.completed_ns) / bucket_s) as usize).min(buckets - 1);
        counts
            .entry((op.f.clone(), op.outcome))
            .or_insert_with(|| vec![0; buckets])[slot] += 1;
    }
    counts
        .into_iter()
        .map(|(key, counts)| {
            let line = counts
                .iter()
                .enumerate()
                .map(|(i, &n)| (i as f64 * bucket_s, n as f64 / bucket_s))
                .collect();
            (key, line)
        })
        .collect()
}

/// The SVG text of the throughput plot.
pub fn throughput_svg(
    times: &HistoryTimes,
    windows: &[FaultWindow],
    title: &str,
) -> Result<String, String> {
    let x_max = super::x_max(times, windows);
    let bucket_s = bucket_seconds(x_max);
    let lines = rates(times, bucket_s, x_max);
    let y_max = lines
        .values()
        .flatten()
        .map(|&(_, rate)| rate)
        .fold(1.0f64, f64::max)
        * 1.1;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let y_desc = format!("completions per second ({bucket_s} s buckets)");
        let mut chart = chart(&root, title, x_max, 0f64..y_max, &y_desc)?;
        shade_fault_windows(&mut chart, windows, (0.0, y_max))?;
        for (index, ((f, outcome), line)) in lines.into_iter().enumerate() {
            let colour = series_colour(index);
            let width = if outcome == Outcome::Ok { 2 } else { 1 };
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(width)))
                .map_err(failed)?
                .label(format!("{f} {}", outcome.name()))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(width))
                });
        }
        draw_legend(&mut chart)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::super::series::read_history;
    use super::*;

    #[test]
    fn buckets_stay_few_and_rates_count_completions_per_second() {
        assert_eq!(bucket_seconds(10.0), 0.25);
        assert_eq!(bucket_seconds(30.0), 0.5);
        assert_eq!(bucket_seconds(600.0), 10.0);
        assert_eq!(bucket_seconds(36_000.0), 600.0);
        let mut lines = Vec::new();
        // 4 reads ok in the first second, 2 in the second, 1 write failed in the second.
        for (i, t) in [0.1, 0.2, 0.3, 0.4, 1.1, 1.2].iter().enumerate() {
            let ns = (t * 1e9) as u64;
            lines.push(format!(
                r#"{{"type":"invoke","process":{i},"f":"read","time_ns":{ns}}}"#
            ));
            lines.push(format!(
                r#"{{"type":"ok","process":{i},"f":"read","time_ns":{}}}"#,
                ns + 1
            ));
        }
        lines.push(r#"{"type":"invoke","process":9,"f":"write","time_ns":1500000000}"#.into());
        lines.push(r#"{"type":"fail","process":9,"f":"write","time_ns":1600000000}"#.into());
        let times = read_history(&lines.join("\n"));
        let rates = rates(&times, 1.0, 2.0);
        assert_eq!(
            rates[&("read".to_string(), Outcome::Ok)],
            vec![(0.0, 4.0), (1.0, 2.0)]
        );
        assert_eq!(
            rates[&("write".to_string(), Outcome::Fail)],
            vec![(0.0, 0.0), (1.0, 1.0)]
        );
        assert_eq!(rates.len(), 2);
    }
}
