//! A small SVG scatter chart with connected point sets: the cost-against-shortfall frontiers of
//! `shadow simulate --sweep`.

use std::{fmt::Write as _, path::Path};

use super::{escape, nice_ticks};

/// One set of points, drawn as dots, with an optional line through the given order.
#[derive(Debug, Clone)]
pub struct PointSet {
    label: String,
    color: String,
    points: Vec<(f64, f64)>,
    connect: bool,
}

impl PointSet {
    /// Dots at `points` (x, y); non-finite points are skipped.
    #[must_use]
    pub fn new(label: impl Into<String>, color: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            color: color.into(),
            points,
            connect: false,
        }
    }

    /// Also draws a line through the points in their order.
    #[must_use]
    pub fn connected(mut self) -> Self {
        self.connect = true;
        self
    }
}

/// An x–y scatter chart.
#[derive(Debug, Clone)]
pub struct Scatter {
    title: String,
    x_label: String,
    y_label: String,
    width: u32,
    height: u32,
    sets: Vec<PointSet>,
}

impl Scatter {
    /// An empty chart.
    #[must_use]
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            width: 900,
            height: 560,
            sets: Vec::new(),
        }
    }

    /// Adds a point set.
    pub fn add(&mut self, set: PointSet) -> &mut Self {
        self.sets.push(set);
        self
    }

    /// Writes the SVG to `path`.
    ///
    /// # Errors
    /// The I/O error of the write.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_svg())
    }

    /// Renders the SVG.
    #[must_use]
    pub fn to_svg(&self) -> String {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let (x0, x1, y0, y1) = (80.0, w - 200.0, 50.0, h - 60.0);
        let pts = || {
            self.sets
                .iter()
                .flat_map(|s| s.points.iter())
                .filter(|p| p.0.is_finite() && p.1.is_finite())
        };
        let range = |f: fn(&(f64, f64)) -> f64| {
            let (lo, hi) = pts()
                .map(f)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
            if !lo.is_finite() {
                (0.0, 1.0)
            } else if hi - lo < 1e-12 {
                (lo - 1.0, hi + 1.0)
            } else {
                (lo, hi)
            }
        };
        let xt = {
            let (a, b) = range(|p| p.0);
            nice_ticks(a, b, 6)
        };
        let yt = {
            let (a, b) = range(|p| p.1);
            nice_ticks(a.min(0.0), b, 6)
        };
        let (xmin, xmax) = (
            xt.first().copied().unwrap_or(0.0),
            xt.last().copied().unwrap_or(1.0),
        );
        let (ymin, ymax) = (
            yt.first().copied().unwrap_or(0.0),
            yt.last().copied().unwrap_or(1.0),
        );
        let sx = |v: f64| x0 + (x1 - x0) * (v - xmin) / (xmax - xmin).max(1e-12);
        let sy = |v: f64| y1 - (y1 - y0) * (v - ymin) / (ymax - ymin).max(1e-12);
        let mut s = String::new();
        let _ = write!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             font-family=\"Helvetica, Arial, sans-serif\">\
             <rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\
             <text x=\"{x0}\" y=\"28\" font-size=\"16\">{}</text>",
            escape(&self.title)
        );
        for v in &xt {
            let x = sx(*v);
            let _ = write!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{y1}\" stroke=\"#eeeeee\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                y1 + 16.0,
                label(*v)
            );
        }
        for v in &yt {
            let y = sy(*v);
            let _ = write!(
                s,
                "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#eeeeee\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
                x0 - 6.0,
                y + 4.0,
                label(*v)
            );
        }
        let _ = write!(
            s,
            "<rect x=\"{x0}\" y=\"{y0}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#888888\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\
             <text x=\"18\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" \
             transform=\"rotate(-90 18 {:.1})\">{}</text>",
            x1 - x0,
            y1 - y0,
            (x0 + x1) / 2.0,
            h - 20.0,
            escape(&self.x_label),
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            escape(&self.y_label)
        );
        for (k, set) in self.sets.iter().enumerate() {
            let color = escape(&set.color);
            let finite: Vec<_> = set
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect();
            if set.connect && finite.len() > 1 {
                let path: Vec<String> = finite
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.1)))
                    .collect();
                let _ = write!(
                    s,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>",
                    path.join(" ")
                );
            }
            for p in finite {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\" fill-opacity=\"0.8\"/>",
                    sx(p.0),
                    sy(p.1)
                );
            }
            let ly = y0 + 10.0 + 20.0 * k as f64;
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{ly:.1}\" r=\"4\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>",
                x1 + 16.0,
                x1 + 26.0,
                ly + 4.0,
                escape(&set.label)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a == a.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::check_well_formed;

    #[test]
    fn renders_sets_and_escapes() {
        let mut c = Scatter::new("frontier <a&b>", "cost", "minutes");
        c.add(PointSet::new("hpa", "#ff7f0e", vec![(1.0, 10.0), (2.0, 5.0)]).connected());
        c.add(PointSet::new(
            "ours",
            "#1f77b4",
            vec![(0.8, 2.0), (f64::NAN, 1.0)],
        ));
        let svg = c.to_svg();
        check_well_formed(&svg).unwrap();
        assert!(svg.contains("frontier &lt;a&amp;b&gt;"));
        assert_eq!(svg.matches("<circle").count(), 3 + 2);
        assert!(svg.contains("<polyline"));
        assert!(check_well_formed(&Scatter::new("e", "x", "y").to_svg()).is_ok());
    }
}
