//! Axes, legend and the data-to-pixel frame of a [`Chart`].

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use super::{Chart, FONT, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, xml::escape};

impl Chart {
    pub(super) fn axes(&self, s: &mut String, f: &Frame) {
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#999\"/>",
            f.x0,
            f.y0,
            f.x1 - f.x0,
            f.y1 - f.y0
        );
        for v in nice_ticks(f.ymin, f.ymax, 6) {
            let y = f.y(v);
            let _ = writeln!(
                s,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>",
                f.x0, f.x1
            );
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" fill=\"#444\" text-anchor=\"end\">{}</text>",
                f.x0 - 6.0,
                y + 4.0,
                format_number(v)
            );
        }
        if !self.y_label.is_empty() {
            let (x, y) = (16.0, (f.y0 + f.y1) / 2.0);
            let _ = writeln!(
                s,
                "<text x=\"{x}\" y=\"{y:.1}\" {FONT} font-size=\"12\" fill=\"#444\" text-anchor=\"middle\" transform=\"rotate(-90 {x} {y:.1})\">{}</text>",
                escape(&self.y_label)
            );
        }
        let span_h = (f.tmax - f.tmin).num_seconds().max(1) as f64 / 3600.0;
        let max_ticks = ((f.x1 - f.x0) / 70.0).max(2.0);
        // Up to a week per tick, then multiples of a week, so months of daily data stay readable.
        let hours = [1i64, 2, 3, 6, 12, 24, 48, 168, 336, 672, 1344, 2688, 8736]
            .into_iter()
            .find(|h| span_h / *h as f64 <= max_ticks)
            .unwrap_or(8736);
        let step = hours * 3600;
        let first = f.tmin.timestamp().div_euclid(step) * step
            + if f.tmin.timestamp() % step == 0 { 0 } else { step };
        let mut t = first;
        let mut last_day = None;
        let mut last_month: Option<String> = None;
        while t <= f.tmax.timestamp() {
            let Some(at) = DateTime::<Utc>::from_timestamp(t, 0) else {
                break;
            };
            let x = f.x(at);
            let midnight = at.hour() == 0 && at.minute() == 0;
            let stroke = if midnight { "#cfcfcf" } else { "#eeeeee" };
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{stroke}\"/>",
                f.y0, f.y1
            );
            // Sub-day ticks: the time on top and the date below at midnight. Day ticks: the day on top and
            // the month below when it changes.
            let (top, below) = if hours >= 24 {
                let month = at.format("%b %Y").to_string();
                let changed = last_month.as_ref() != Some(&month);
                last_month = Some(month.clone());
                (at.format("%a %d").to_string(), changed.then_some(month))
            } else {
                let day = at.date_naive();
                let show = last_day != Some(day) && (midnight || last_day.is_none());
                if show {
                    last_day = Some(day);
                }
                (
                    at.format("%H:%M").to_string(),
                    show.then(|| at.format("%a %d %b").to_string()),
                )
            };
            let _ = writeln!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" fill=\"#444\" text-anchor=\"middle\">{top}</text>",
                f.y1 + 16.0
            );
            if let Some(below) = below {
                let _ = writeln!(
                    s,
                    "<text x=\"{x:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" font-weight=\"bold\" fill=\"#444\" text-anchor=\"middle\">{below}</text>",
                    f.y1 + 30.0
                );
            }
            t += step;
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"10\" fill=\"#888\" text-anchor=\"end\">time (UTC)</text>",
            f.x1,
            f.y1 + 44.0
        );
    }

    pub(super) fn legend(&self, s: &mut String, f: &Frame) {
        let mut x = f.x0;
        let mut y = f.y1 + 62.0;
        let entries = self
            .bands
            .iter()
            .map(|b| (&b.label, &b.color, Some(b.opacity), false, false))
            .chain(
                self.series
                    .iter()
                    .map(|l| (&l.label, &l.color, None, l.dashed, l.step)),
            );
        let items: Vec<_> = entries
            .chain(
                self.spans
                    .iter()
                    .map(|sp| (&sp.label, &sp.color, Some(0.15), false, false)),
            )
            .filter(|e| !e.0.is_empty())
            .collect();
        let mut seen: Vec<&String> = Vec::new();
        for (label, color, opacity, dashed, _) in items {
            if seen.contains(&label) {
                continue;
            }
            seen.push(label);
            let width = 30.0 + 6.5 * label.chars().count() as f64 + 18.0;
            if x + width > f.x1 && x > f.x0 {
                x = f.x0;
                y += 18.0;
            }
            match opacity {
                Some(o) => {
                    let _ = writeln!(
                        s,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"22\" height=\"10\" fill=\"{}\" fill-opacity=\"{o:.2}\"/>",
                        y - 9.0,
                        escape(color)
                    );
                }
                None => {
                    let dash = if dashed { " stroke-dasharray=\"6 4\"" } else { "" };
                    let _ = writeln!(
                        s,
                        "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"2\"{dash}/>",
                        y - 4.0,
                        x + 22.0,
                        y - 4.0,
                        escape(color)
                    );
                }
            }
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{y:.1}\" {FONT} font-size=\"12\" fill=\"#333\">{}</text>",
                x + 28.0,
                escape(label)
            );
            x += width;
        }
    }
}

/// Maps data to pixels.
pub(super) struct Frame {
    pub(super) x0: f64,
    pub(super) x1: f64,
    pub(super) y0: f64,
    pub(super) y1: f64,
    pub(super) tmin: DateTime<Utc>,
    pub(super) tmax: DateTime<Utc>,
    pub(super) ymin: f64,
    pub(super) ymax: f64,
}

impl Frame {
    pub(super) fn fit(chart: &Chart, w: f64, h: f64) -> Self {
        let times = chart
            .series
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .chain(chart.bands.iter().flat_map(|b| b.points.iter().map(|p| p.0)));
        let (mut tmin, mut tmax) = (DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC);
        for t in times {
            tmin = tmin.min(t);
            tmax = tmax.max(t);
        }
        if tmin > tmax {
            tmin = DateTime::<Utc>::UNIX_EPOCH;
            tmax = tmin + TimeDelta::hours(1);
        } else if tmin == tmax {
            tmax = tmin + TimeDelta::hours(1);
        }
        let values = chart
            .series
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .chain(
                chart
                    .bands
                    .iter()
                    .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
            )
            .filter(|v| v.is_finite());
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        lo = lo.min(0.0);
        if hi <= lo {
            hi = lo + 1.0;
        }
        let ticks = nice_ticks(lo, hi + (hi - lo) * 0.12, 6);
        let ymin = ticks.first().copied().unwrap_or(lo).min(lo);
        let ymax = ticks.last().copied().unwrap_or(hi).max(hi);
        Self {
            x0: MARGIN_LEFT,
            x1: w - MARGIN_RIGHT,
            y0: MARGIN_TOP,
            y1: h - MARGIN_BOTTOM,
            tmin,
            tmax,
            ymin,
            ymax,
        }
    }

    pub(super) fn x(&self, t: DateTime<Utc>) -> f64 {
        let total = (self.tmax - self.tmin).num_milliseconds() as f64;
        let off = (t - self.tmin).num_milliseconds() as f64;
        self.x0 + (self.x1 - self.x0) * off / total
    }

    pub(super) fn y(&self, v: f64) -> f64 {
        self.y1 - (self.y1 - self.y0) * (v - self.ymin) / (self.ymax - self.ymin)
    }
}

/// Contiguous runs of points that pass `keep`.
pub(super) fn runs<T>(points: &[T], keep: impl Fn(&T) -> bool) -> Vec<&[T]> {
    points.split(|p| !keep(p)).filter(|r| !r.is_empty()).collect()
}

/// Round tick values (1, 2, 2.5 or 5 × 10^k apart) covering `[lo, hi]` with about `count` ticks.
#[must_use]
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || count < 2 {
        return vec![];
    }
    let raw = (hi - lo) / (count - 1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let n = ((end - start) / step).round() as usize;
    (0..=n).map(|i| start + i as f64 * step).collect()
}

fn format_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a == a.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::check_well_formed;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_ticks(0.0, 97.0, 6), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert!(nice_ticks(1.0, 1.0, 5).is_empty());
        let empty = Chart::new("empty", 300, 200).to_svg();
        assert!(check_well_formed(&empty).is_ok());
    }
}
