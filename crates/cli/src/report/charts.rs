//! The report's charts, drawn by `plotters` into SVG strings.
//!
//! plotters draws the axes, labels and marks; its SVG backend writes text as
//! `<text>` elements that the browser sets in its own sans-serif font (no
//! font files are read: the `ttf` feature is off). Each chart then gets one
//! invisible column per point, carrying a `<title>`: hovering anywhere above
//! a bar or point shows its value, in every browser and without scripts.

use std::fmt::Write as _;

use anyhow::anyhow;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Chart size in SVG units (scaled to the page width).
const WIDTH: u32 = 860;
/// Chart height.
const HEIGHT: u32 = 300;
/// Text size given to plotters (its SVG backend writes `size / 1.24` px).
const TEXT: u32 = 16;

/// The colour of bars and of the line's points.
pub const BAR: RGBColor = RGBColor(0x33, 0x66, 0xCC);
/// The colour of lines.
pub const LINE: RGBColor = RGBColor(0xD9, 0x5F, 0x02);

/// How values are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A bar from 0 per value.
    Bars,
    /// A line through the values, with a dot on each.
    Line,
}

/// One chart: labelled points along x, a value each.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// The x axis's description.
    pub x_desc: &'a str,
    /// The y axis's description.
    pub y_desc: &'a str,
    /// Bars or a line.
    pub mark: Mark,
    /// The values, in x order (for a line, NaN: no data, a gap).
    pub values: Vec<f64>,
    /// The label under each point (an empty label: none shown there).
    pub labels: Vec<String>,
    /// What hovering over each point says.
    pub hover: Vec<String>,
    /// Fixed top of the y axis (rates: 1); otherwise from the values.
    pub y_max: Option<f64>,
    /// How y ticks are written.
    pub y_format: fn(f64) -> String,
    /// About this many x labels at most (at round steps among the points).
    pub max_x_labels: usize,
}

/// Escapes text for XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A round top for the y axis: the smallest of 1, 2, 2.5, 5 × 10ᵏ at or
/// above `max`.
fn nice_max(max: f64) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&v| v >= max)
        .unwrap_or(10.0 * p)
}

/// Draws `s` as an SVG document (its `width` set to scale with the page).
pub fn draw(s: &Series<'_>) -> anyhow::Result<String> {
    let n = s.values.len();
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing a chart ({}): {e}", s.y_desc);
    let y_max = s
        .y_max
        .unwrap_or_else(|| nice_max(s.values.iter().copied().fold(0.0, f64::max)));
    let mut svg = String::new();
    let mut hover = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin_top(14)
            .margin_right(24)
            .margin_left(8)
            .margin_bottom(4)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .build_cartesian_2d(-0.5..(n.max(1) as f64 - 0.5), 0.0..y_max)
            .map_err(|e| err(&e))?;
        // Labels at whole indices only: plotters picks round steps among
        // the indices (1, 2, 5, 10, 20…) for at most `max_x_labels` labels.
        let x_label = |v: &f64| -> String {
            let i = v.round();
            if (v - i).abs() > 1e-6 || i < 0.0 || i as usize >= n {
                return String::new();
            }
            s.labels.get(i as usize).cloned().unwrap_or_default()
        };
        let y_label = |v: &f64| (s.y_format)(*v);
        let text = ("sans-serif", TEXT)
            .into_font()
            .color(&RGBColor(0x33, 0x33, 0x33));
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(s.max_x_labels.max(1)) + 1)
            .y_labels(6)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .x_desc(s.x_desc)
            .y_desc(s.y_desc)
            .label_style(text.clone())
            .axis_desc_style(text)
            .max_light_lines(1)
            .light_line_style(RGBColor(0xF2, 0xF2, 0xF2))
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()
            .map_err(|e| err(&e))?;
        let half = if n > 60 { 0.5 } else { 0.38 };
        match s.mark {
            Mark::Bars => {
                chart
                    .draw_series(
                        s.values
                            .iter()
                            .enumerate()
                            .filter(|(_, v)| **v > 0.0)
                            .map(|(i, &v)| {
                                Rectangle::new([(i as f64 - half, 0.0), (i as f64 + half, v)], BAR.filled())
                            }),
                    )
                    .map_err(|e| err(&e))?;
            }
            Mark::Line => {
                // A value that is not a number is "no data": the line breaks
                // there (a gap), rather than dropping to 0.
                let points: Vec<(f64, f64)> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| (i as f64, v))
                    .collect();
                for run in points.chunk_by(|a, b| b.0 - a.0 == 1.0) {
                    chart
                        .draw_series(LineSeries::new(run.iter().copied(), LINE.stroke_width(2)))
                        .map_err(|e| err(&e))?;
                }
                let r = if n > 60 { 2 } else { 4 };
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, r, LINE.filled())))
                    .map_err(|e| err(&e))?;
            }
        }
        hover_columns(&chart, s, &mut hover);
        root.present().map_err(|e| err(&e))?;
    }
    let end = svg
        .rfind("</svg>")
        .ok_or_else(|| anyhow!("plotters wrote no </svg>"))?;
    svg.insert_str(end, &hover);
    // Scale with the page: the viewBox keeps the drawing's proportions.
    let svg = svg.replacen(
        &format!("width=\"{WIDTH}\" height=\"{HEIGHT}\""),
        &format!("width=\"100%\" role=\"img\" aria-label=\"{}\"", escape(s.y_desc)),
        1,
    );
    Ok(svg)
}

/// One transparent column per point, as high as the plot, with the point's
/// `<title>`.
fn hover_columns<DB: DrawingBackend>(
    chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    s: &Series<'_>,
    out: &mut String,
) {
    let (_, y_range) = chart.plotting_area().get_pixel_range();
    out.push_str("<g class=\"hover\" fill=\"#000\" fill-opacity=\"0\">");
    for (i, title) in s.hover.iter().enumerate() {
        let (x0, _) = chart.backend_coord(&(i as f64 - 0.5, 0.0));
        let (x1, _) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        let _ = write!(
            out,
            "<rect x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
            y_range.start,
            (x1 - x0).max(1),
            y_range.end - y_range.start,
            escape(title)
        );
    }
    out.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(mark: Mark, values: Vec<f64>) -> Series<'static> {
        let n = values.len();
        Series {
            x_desc: "x",
            y_desc: "y <&>",
            mark,
            labels: (0..n).map(|i| format!("L{i}")).collect(),
            hover: (0..n).map(|i| format!("point {i}")).collect(),
            values,
            y_max: None,
            y_format: |v| format!("{v}"),
            max_x_labels: 3,
        }
    }

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(180.0), 200.0);
        assert_eq!(nice_max(2_100.0), 2_500.0);
        assert_eq!(nice_max(0.3), 0.5);
    }

    #[test]
    fn bars_have_marks_hover_titles_and_spaced_labels() {
        let svg = draw(&series(Mark::Bars, vec![1.0, 0.0, 3.0, 2.0, 5.0, 4.0])).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("width=\"100%\""));
        assert!(svg.contains("aria-label=\"y &lt;&amp;&gt;\""));
        // Five bars (the 0 draws none), in the bar colour.
        assert_eq!(svg.matches("fill=\"#3366CC\"").count(), 5, "{svg}");
        assert_eq!(svg.matches("<title>").count(), 6);
        assert!(svg.contains("<title>point 4</title>"));
        // Every second label: L0, L2, L4 (6 points, at most 3 labels).
        for (label, shown) in [
            ("L0", true),
            ("L1", false),
            ("L2", true),
            ("L3", false),
            ("L4", true),
        ] {
            assert_eq!(
                svg.contains(&format!(">\n{label}\n</text>")),
                shown,
                "{label}: {svg}"
            );
        }
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn a_line_breaks_where_there_is_no_data() {
        let svg = draw(&Series {
            x_desc: "x",
            y_desc: "y",
            mark: Mark::Line,
            values: vec![0.5, f64::NAN, 0.25, 0.75],
            labels: vec![String::new(); 4],
            hover: vec![String::new(); 4],
            y_max: Some(1.0),
            y_format: |v| v.to_string(),
            max_x_labels: 4,
        })
        .unwrap();
        // Two runs (one of a single point draws no segment), three dots.
        let runs = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"2\""))
            .count();
        assert_eq!(runs, 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    }

    #[test]
    fn lines_have_a_polyline_and_dots() {
        let svg = draw(&series(Mark::Line, vec![0.5, 0.25, 1.0])).unwrap();
        assert!(svg.contains("<polyline"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    }
}
