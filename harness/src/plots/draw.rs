//! What both plots share: the canvas, the colours of functions and faults, the shaded and named
//! fault windows, and the legend.

use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::series::seconds;
use super::windows::FaultWindow;

/// Size of each plot, in pixels.
pub const SIZE: (u32, u32) = (1200, 600);

/// A chart on an SVG canvas, x in seconds.
pub type Chart<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;

/// A drawing failure, as text (plotters' errors are generic over the backend).
pub fn failed(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// A titled chart on `root`, x from 0 to `x_max` seconds into the history, y over `y`, with its
/// grid and axis names drawn.
pub fn chart<'a, 'b, Y>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    x_max: f64,
    y: Y,
    y_desc: &str,
) -> Result<Chart<'a, 'b, Y::CoordDescType>, String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    root.fill(&WHITE).map_err(failed)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, y)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("seconds into the history")
        .y_desc(y_desc)
        .y_label_formatter(&|v| tidy(*v))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(failed)?;
    Ok(chart)
}

/// A tick label: at most three decimals, no trailing zeros (`70`, `2.5`, `0.001`).
fn tidy(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Distinct colours for functions (and throughput series), picked in order.
const SERIES_COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

/// Colours of fault windows, one per fault name in order of first appearance.
const FAULT_COLOURS: [RGBColor; 8] = [
    RGBColor(255, 140, 0),
    RGBColor(70, 130, 180),
    RGBColor(160, 60, 160),
    RGBColor(60, 150, 90),
    RGBColor(200, 170, 0),
    RGBColor(220, 60, 60),
    RGBColor(0, 160, 160),
    RGBColor(110, 110, 110),
];

pub fn series_colour(index: usize) -> RGBColor {
    SERIES_COLOURS[index % SERIES_COLOURS.len()]
}

/// The `(low, high)` y-range a window's shading covers.
pub type YSpan = (f64, f64);

/// Shades every fault window across the chart's height and writes its name at its top left
/// (one row of labels per fault name, so overlapping faults stay readable); one legend entry
/// per fault name.
pub fn shade_fault_windows<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, 'b, Y>,
    windows: &[FaultWindow],
    (low, high): YSpan,
) -> Result<(), String> {
    let mut names: Vec<&str> = Vec::new();
    for window in windows {
        if !names.contains(&window.name.as_str()) {
            names.push(&window.name);
        }
    }
    for (row, name) in names.iter().enumerate() {
        let colour = FAULT_COLOURS[row % FAULT_COLOURS.len()];
        let of_name = windows.iter().filter(|w| w.name == *name);
        chart
            .draw_series(of_name.clone().map(|w| {
                Rectangle::new(
                    [(seconds(w.start_ns), low), (seconds(w.end_ns), high)],
                    colour.mix(0.13).filled(),
                )
            }))
            .map_err(failed)?
            .label(format!("{name} (fault)"))
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.mix(0.35).filled())
            });
        let text = ("sans-serif", 15).into_font().color(&colour);
        chart
            .draw_series(of_name.map(|w| {
                EmptyElement::at((seconds(w.start_ns), high))
                    + Text::new(w.name.clone(), (3, 3 + 18 * row as i32), text.clone())
            }))
            .map_err(failed)?;
    }
    Ok(())
}

/// Draws the legend in the chart's upper right corner.
pub fn draw_legend<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, 'b, Y>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tick_labels_are_tidy() {
        let labels: Vec<_> = [70.0, 2.5, 0.001, 0.30000000000000004, 10000.0]
            .into_iter()
            .map(super::tidy)
            .collect();
        assert_eq!(labels, ["70", "2.5", "0.001", "0.3", "10000"]);
    }
}
