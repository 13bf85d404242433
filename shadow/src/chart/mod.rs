//! A small hand-written SVG line chart over time: lines, step lines, quantile bands, shaded event spans and
//! vertical markers, with a time axis, nice y ticks and a legend. No dependencies beyond `chrono`.
//!
//! `NaN` values break lines and bands: gaps stay gaps. All text is escaped for XML.
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use shadow::chart::{Band, Chart, Series};
//!
//! let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
//! let pts: Vec<_> = (0..48).map(|h| (t0 + TimeDelta::hours(h), (h % 24) as f64)).collect();
//! let mut chart = Chart::new("CPU demand", 800, 400);
//! chart.add_band(Band::new("p10–p90", "#1f77b4", 0.2, pts.iter().map(|&(t, v)| (t, v - 1.0, v + 1.0)).collect()));
//! chart.add_series(Series::new("demand", "#333333", pts.clone()));
//! chart.add_series(Series::new("capacity", "#d62728", pts).step().dashed());
//! chart.add_span("campaign <sale>", t0 + TimeDelta::hours(10), t0 + TimeDelta::hours(14), "#ff7f0e");
//! let svg = chart.to_svg();
//! assert!(svg.starts_with("<svg") && svg.contains("campaign &lt;sale&gt;"));
//! ```

mod axes;
pub mod forecast;
mod scatter;
mod xml;

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};

use self::axes::{Frame, runs};
pub use self::{
    axes::nice_ticks,
    scatter::{PointSet, Scatter},
    xml::{check_well_formed, escape},
};

const MARGIN_LEFT: f64 = 72.0;
const MARGIN_RIGHT: f64 = 24.0;
const MARGIN_TOP: f64 = 56.0;
const MARGIN_BOTTOM: f64 = 96.0;
const FONT: &str = "font-family=\"Helvetica, Arial, sans-serif\"";

/// One line of the chart.
#[derive(Debug, Clone)]
pub struct Series {
    label: String,
    color: String,
    points: Vec<(DateTime<Utc>, f64)>,
    dashed: bool,
    step: bool,
    width: f64,
}

impl Series {
    /// A solid line through `points` (sorted by time). `NaN` values break the line.
    #[must_use]
    pub fn new(
        label: impl Into<String>,
        color: impl Into<String>,
        points: Vec<(DateTime<Utc>, f64)>,
    ) -> Self {
        Self {
            label: label.into(),
            color: color.into(),
            points,
            dashed: false,
            step: false,
            width: 1.6,
        }
    }

    /// Draws the line dashed.
    #[must_use]
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Draws a step line: each value holds until the next point.
    #[must_use]
    pub fn step(mut self) -> Self {
        self.step = true;
        self
    }

    /// Sets the stroke width in pixels.
    #[must_use]
    pub fn width(mut self, width: f64) -> Self {
        self.width = width;
        self
    }
}

/// A filled band between a lower and an upper path, such as a quantile fan.
#[derive(Debug, Clone)]
pub struct Band {
    label: String,
    color: String,
    opacity: f64,
    points: Vec<(DateTime<Utc>, f64, f64)>,
}

impl Band {
    /// A band through `(time, lower, upper)` points. A `NaN` bound breaks the band.
    #[must_use]
    pub fn new(
        label: impl Into<String>,
        color: impl Into<String>,
        opacity: f64,
        points: Vec<(DateTime<Utc>, f64, f64)>,
    ) -> Self {
        Self {
            label: label.into(),
            color: color.into(),
            opacity: opacity.clamp(0.0, 1.0),
            points,
        }
    }
}

#[derive(Debug, Clone)]
struct Span {
    label: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    color: String,
}

#[derive(Debug, Clone)]
struct Marker {
    label: String,
    at: DateTime<Utc>,
    color: String,
}

/// A line chart with a time x-axis. Build it, then call [`Chart::to_svg`] or [`Chart::write`].
#[derive(Debug, Clone)]
pub struct Chart {
    title: String,
    y_label: String,
    width: u32,
    height: u32,
    series: Vec<Series>,
    bands: Vec<Band>,
    spans: Vec<Span>,
    markers: Vec<Marker>,
}

impl Chart {
    /// An empty chart of `width × height` pixels.
    #[must_use]
    pub fn new(title: impl Into<String>, width: u32, height: u32) -> Self {
        Self {
            title: title.into(),
            y_label: String::new(),
            width: width.max(200),
            height: height.max(200),
            series: Vec::new(),
            bands: Vec::new(),
            spans: Vec::new(),
            markers: Vec::new(),
        }
    }

    /// Sets the y-axis label.
    pub fn set_y_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.y_label = label.into();
        self
    }

    /// Adds a line; lines are drawn in the order added, above bands and spans.
    pub fn add_series(&mut self, series: Series) -> &mut Self {
        self.series.push(series);
        self
    }

    /// Adds a band; bands are drawn in the order added, below every line.
    pub fn add_band(&mut self, band: Band) -> &mut Self {
        self.bands.push(band);
        self
    }

    /// Shades `[from, to)` and labels it at the top of the plot.
    pub fn add_span(
        &mut self,
        label: impl Into<String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        color: impl Into<String>,
    ) -> &mut Self {
        self.spans.push(Span {
            label: label.into(),
            from,
            to,
            color: color.into(),
        });
        self
    }

    /// Draws a labelled vertical line at `at`.
    pub fn add_marker(
        &mut self,
        label: impl Into<String>,
        at: DateTime<Utc>,
        color: impl Into<String>,
    ) -> &mut Self {
        self.markers.push(Marker {
            label: label.into(),
            at,
            color: color.into(),
        });
        self
    }

    /// Writes the SVG to `path`.
    ///
    /// # Errors
    /// The I/O error of writing the file.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_svg())
    }

    /// Renders the chart as a standalone SVG document.
    #[must_use]
    pub fn to_svg(&self) -> String {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let frame = Frame::fit(self, w, h);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">",
            self.width, self.height, self.width, self.height
        );
        let _ = writeln!(
            s,
            "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>"
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"28\" {FONT} font-size=\"18\" font-weight=\"bold\" fill=\"#222\">{}</text>",
            MARGIN_LEFT,
            escape(&self.title)
        );
        let _ = writeln!(
            s,
            "<defs><clipPath id=\"plot\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/></clipPath></defs>",
            frame.x0,
            frame.y0,
            frame.x1 - frame.x0,
            frame.y1 - frame.y0
        );
        self.axes(&mut s, &frame);
        s.push_str("<g clip-path=\"url(#plot)\">\n");
        for span in &self.spans {
            let (a, b) = (frame.x(span.from), frame.x(span.to));
            let _ = writeln!(
                s,
                "<rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"0.15\"/>",
                frame.y0,
                (b - a).max(1.0),
                frame.y1 - frame.y0,
                escape(&span.color)
            );
        }
        for band in &self.bands {
            for run in runs(&band.points, |p| p.1.is_finite() && p.2.is_finite()) {
                let mut d = String::new();
                for (i, p) in run.iter().enumerate() {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if i == 0 { "M" } else { "L" },
                        frame.x(p.0),
                        frame.y(p.2)
                    );
                }
                for p in run.iter().rev() {
                    let _ = write!(d, "L{:.1},{:.1} ", frame.x(p.0), frame.y(p.1));
                }
                let _ = writeln!(
                    s,
                    "<path d=\"{}Z\" fill=\"{}\" fill-opacity=\"{:.2}\" stroke=\"none\"/>",
                    d,
                    escape(&band.color),
                    band.opacity
                );
            }
        }
        for line in &self.series {
            let mut d = String::new();
            for run in runs(&line.points, |p| p.1.is_finite()) {
                for (i, p) in run.iter().enumerate() {
                    let (x, y) = (frame.x(p.0), frame.y(p.1));
                    match (i, line.step) {
                        (0, _) => {
                            let _ = write!(d, "M{x:.1},{y:.1} ");
                        }
                        (_, true) => {
                            let _ = write!(d, "H{x:.1} V{y:.1} ");
                        }
                        (_, false) => {
                            let _ = write!(d, "L{x:.1},{y:.1} ");
                        }
                    }
                }
            }
            if d.is_empty() {
                continue;
            }
            let dash = if line.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{:.1}\" stroke-linejoin=\"round\"{dash}/>",
                d.trim_end(),
                escape(&line.color),
                line.width
            );
        }
        for m in &self.markers {
            let x = frame.x(m.at);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>",
                frame.y0,
                frame.y1,
                escape(&m.color)
            );
        }
        s.push_str("</g>\n");
        // Labels of spans and markers go outside the clip so they are never cut. Each label takes the first
        // text row where it overlaps no label already placed, so neighbouring spans never write over each other.
        let mut rows: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut place = |from: f64, to: f64| -> usize {
            let free = |row: &Vec<(f64, f64)>| row.iter().all(|&(a, b)| to + 6.0 < a || from > b + 6.0);
            let i = rows.iter().position(free).unwrap_or(rows.len());
            if i == rows.len() {
                rows.push(Vec::new());
            }
            rows[i].push((from, to));
            i
        };
        for span in &self.spans {
            let width = 6.2 * span.label.chars().count() as f64;
            let x = frame.x(span.from).clamp(frame.x0, frame.x1) + 3.0;
            let (x, anchor, left) = if x + width <= frame.x1 {
                (x, "start", x)
            } else {
                let right = (frame.x(span.to).min(frame.x1) - 3.0).max(frame.x0 + width);
                (right, "end", right - width)
            };
            let row = place(left, left + width);
            let _ = writeln!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" fill=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                frame.y0 + 14.0 + 13.0 * row as f64,
                escape(&span.color),
                escape(&span.label)
            );
        }
        for m in &self.markers {
            let x = frame.x(m.at).clamp(frame.x0, frame.x1);
            let width = 6.2 * m.label.chars().count() as f64;
            let anchor = if x + 4.0 + width <= frame.x1 {
                "start"
            } else {
                "end"
            };
            let dx = if anchor == "end" { -4.0 } else { 4.0 };
            let left = if anchor == "end" { x - 4.0 - width } else { x + 4.0 };
            let row = place(left, left + width);
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" fill=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                x + dx,
                frame.y0 + 14.0 + 13.0 * row as f64,
                escape(&m.color),
                escape(&m.label)
            );
        }
        self.legend(&mut s, &frame);
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap() + TimeDelta::hours(h)
    }

    fn sample_chart() -> Chart {
        let mut pts: Vec<_> = (0..72).map(|h| (t(h), 10.0 + (h % 24) as f64)).collect();
        pts[30].1 = f64::NAN;
        let mut c = Chart::new("demand & capacity <cpu>", 900, 420);
        c.set_y_label("cores");
        c.add_band(Band::new(
            "p99",
            "#1f77b4",
            0.15,
            pts.iter().map(|&(t, v)| (t, v - 3.0, v + 3.0)).collect(),
        ));
        c.add_band(Band::new(
            "p90",
            "#1f77b4",
            0.3,
            pts.iter().map(|&(t, v)| (t, v - 1.0, v + 1.0)).collect(),
        ));
        c.add_series(Series::new("actual", "#222", pts.clone()));
        c.add_series(Series::new("p50", "#1f77b4", pts.clone()).dashed());
        c.add_series(
            Series::new(
                "capacity",
                "#d62728",
                pts.iter().map(|&(t, v)| (t, v + 5.0)).collect(),
            )
            .step(),
        );
        c.add_span("campaign \"black friday\"", t(10), t(14), "#ff7f0e");
        c.add_marker("switch", t(50), "#2ca02c");
        c
    }

    #[test]
    fn output_is_well_formed_and_has_every_element() {
        let svg = sample_chart().to_svg();
        let names = check_well_formed(&svg).unwrap();
        assert_eq!(names[0], "svg");
        let count = |n: &str| names.iter().filter(|x| *x == n).count();
        // 2 band runs each (the NaN splits them) + 3 lines.
        assert_eq!(count("path"), 2 * 2 + 3);
        assert!(count("text") > 10);
        assert!(svg.contains("demand &amp; capacity &lt;cpu&gt;"));
        assert!(svg.contains("campaign &quot;black friday&quot;"));
        assert!(svg.contains("stroke-dasharray=\"6 4\""));
        assert!(svg.contains(" H") && svg.contains(" V"), "step line");
        assert!(
            svg.contains("Fri 20 Nov") && svg.contains("Sun 22 Nov"),
            "date labels"
        );
        assert!(svg.contains("clip-path"));
    }

    #[test]
    fn nan_breaks_the_line() {
        let svg = sample_chart().to_svg();
        let actual = svg.lines().find(|l| l.contains("stroke=\"#222\"")).unwrap();
        assert_eq!(actual.matches('M').count(), 2);
    }
}
