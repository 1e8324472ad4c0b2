//! Line charts as standalone SVG: no script, no web font, nothing fetched — they render
//! offline, inline in the HTML report or on their own.

use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 58.0;
const BOTTOM: f64 = 40.0;

/// Colours that stay apart for the usual colour-vision deficiencies (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

pub struct Line {
    pub label: String,
    pub color: &'static str,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

impl Line {
    pub fn new(label: impl Into<String>, color: &'static str, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            color,
            dashed: false,
            points,
        }
    }

    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// A round upper bound for an axis and its tick step: 1, 2 or 5 times a power of ten.
fn nice_scale(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.2);
    }
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| step * 5.0 >= max)
        .unwrap_or(10.0 * power);
    ((max / step).ceil() * step, step)
}

fn label(value: f64) -> String {
    if value >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

pub fn chart(title: &str, x_label: &str, y_label: &str, lines: &[Line]) -> String {
    let all = || lines.iter().flat_map(|line| line.points.iter());
    let (x_max, x_step) = nice_scale(all().map(|p| p.0).fold(0.0, f64::max));
    let (y_max, y_step) = nice_scale(all().map(|p| p.1).fold(0.0, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |v: f64| LEFT + v / x_max * plot_w;
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;

    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(svg, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text>"#,
        escape(title)
    );
    // Grid and tick labels.
    let mut tick = 0.0;
    while tick <= y_max + y_step / 2.0 {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(tick) + 4.0,
            label(tick),
            y = y(tick)
        );
        tick += y_step;
    }
    let mut tick = 0.0;
    while tick <= x_max + x_step / 2.0 {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(tick),
            HEIGHT - BOTTOM + 16.0,
            label(tick)
        );
        tick += x_step;
    }
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" stroke="#888"/><line x1="{LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#888"/>"##,
        bottom = TOP + plot_h,
        right = WIDTH - RIGHT
    );
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0,
        escape(x_label)
    );
    let _ = write!(
        svg,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(y_label)
    );
    // The lines, and a legend under the title, wrapping onto a second row if need be.
    let (mut legend_x, mut legend_y) = (LEFT, 34.0);
    for line in lines {
        let points: Vec<String> = line
            .points
            .iter()
            .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
            .collect();
        let dash = if line.dashed { r#" stroke-dasharray="5 3""# } else { "" };
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5"{dash} points="{}"/>"#,
            line.color,
            points.join(" ")
        );
        let width = 28.0 + 6.5 * line.label.chars().count() as f64;
        if legend_x + width > WIDTH - RIGHT {
            (legend_x, legend_y) = (LEFT, legend_y + 14.0);
        }
        let _ = write!(
            svg,
            r#"<line x1="{legend_x:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{legend_y:.1}">{}</text>"#,
            legend_x + 16.0,
            legend_y - 4.0,
            legend_y - 4.0,
            line.color,
            legend_x + 20.0,
            escape(&line.label)
        );
        legend_x += width;
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round() {
        assert_eq!(nice_scale(7.3), (8.0, 2.0));
        assert_eq!(nice_scale(180.0), (200.0, 50.0));
        assert_eq!(nice_scale(0.0), (1.0, 0.2));
    }

    #[test]
    fn charts_are_standalone_svg_with_escaped_text() {
        let svg = chart(
            "p99 <ms>",
            "s",
            "ms",
            &[Line::new("a&b", PALETTE[0], vec![(0.0, 1.0), (1.0, 2.0)])],
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("p99 &lt;ms&gt;") && svg.contains("a&amp;b"));
        assert!(svg.contains("<polyline"));
    }
}
