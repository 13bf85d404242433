//! Event files: known past and future events (launches, campaigns, holidays) read from TOML or CSV.
//!
//! Each event has a start, an end and an optional label (default `event`). Events with one label share one
//! learned effect: [`EventSet::regressors`] turns them into one indicator column per label
//! ([`Regressors::from_events`]), which models estimate jointly with the rest of the fit.
//!
//! # TOML
//!
//! ```toml
//! labels = ["launch", "sale"]   # optional: every event must use one of these
//!
//! [[event]]
//! start = "2024-03-01T09:00:00Z"
//! end = "2024-03-01T18:00:00Z"
//! label = "launch"
//!
//! [[event]]
//! start = "2024-03-08"          # a date alone is the start of that day (UTC)...
//! end = "2024-03-09"            # ...and, as an end, the end of that day: this event spans two days
//! label = "sale"
//! ```
//!
//! # CSV
//!
//! A header `start,end,label` (or `start,end`), then one event per line. Blank lines and lines starting with
//! `#` are ignored.
//!
//! ```text
//! start,end,label
//! 2024-03-01T09:00:00Z,2024-03-01T18:00:00Z,launch
//! 2024-03-08,2024-03-09,sale
//! ```
//!
//! # Times
//! RFC 3339 (`2024-03-01T09:00:00Z`, with an offset), `YYYY-MM-DD HH:MM:SS` (UTC), unix seconds, or a date
//! `YYYY-MM-DD`. An event covers `[start, end)`; a date-only end means the end of that day.
//!
//! # Errors
//! Every error names the file and line: a bad time, an end not after its start, an empty or invalid label,
//! a label not in `labels`, and two events of one label that overlap (naming both lines). Events with
//! different labels may overlap; their effects add up.
//!
//! ```
//! use shadow_core::events::EventSet;
//!
//! let set = EventSet::parse_csv("start,end,label\n2024-03-01,2024-03-01,sale\n", "events.csv").unwrap();
//! assert_eq!(set.events()[0].label, "sale");
//! let bad = EventSet::parse_csv("start,end\n2024-03-01,yesterday\n", "events.csv").unwrap_err();
//! assert!(bad.to_string().contains("events.csv:2"));
//! ```

use std::{path::Path, time::Duration};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde::Deserialize;

use crate::{
    error::{Error, Result},
    forecast::{Event, Regressors},
    series::TimeRange,
};

/// The label of an event that gives none.
pub const DEFAULT_LABEL: &str = "event";

/// The events of a file, each with the line it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventSet {
    name: String,
    events: Vec<Event>,
    lines: Vec<usize>,
}

impl EventSet {
    /// Reads a `.toml` file as TOML and anything else as CSV.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (what = `events`) naming the file, and the line where there is one.
    pub fn from_path(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::invalid("events", format!("{name}: {e}")))?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            Self::parse_toml(&text, &name)
        } else {
            Self::parse_csv(&text, &name)
        }
    }

    /// Parses the TOML format; `name` is the file name used in errors.
    ///
    /// # Errors
    /// As [`EventSet::from_path`].
    pub fn parse_toml(text: &str, name: &str) -> Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            labels: Option<Vec<String>>,
            #[serde(default)]
            event: Vec<toml::Spanned<Raw>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            start: toml::Spanned<toml::Value>,
            end: toml::Spanned<toml::Value>,
            label: Option<toml::Spanned<String>>,
        }
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(s.start));
            Error::invalid("events", format!("{name}:{line}: {}", e.message()))
        })?;
        let mut raw = Vec::new();
        for ev in &file.event {
            let line = line_of(ev.span().start);
            let time = |v: &toml::Spanned<toml::Value>| match v.get_ref() {
                toml::Value::String(s) => Ok((s.clone(), line_of(v.span().start))),
                toml::Value::Datetime(d) => Ok((d.to_string(), line_of(v.span().start))),
                other => Err(Error::invalid(
                    "events",
                    format!(
                        "{name}:{}: a time must be a string or a TOML date-time, not {}",
                        line_of(v.span().start),
                        other.type_str()
                    ),
                )),
            };
            let (start, start_line) = time(&ev.get_ref().start)?;
            let (end, end_line) = time(&ev.get_ref().end)?;
            let label = ev
                .get_ref()
                .label
                .as_ref()
                .map(|l| (l.get_ref().clone(), line_of(l.span().start)));
            raw.push(RawEvent {
                line,
                start: (start, start_line),
                end: (end, end_line),
                label,
            });
        }
        Self::build(name, raw, file.labels.as_deref())
    }

    /// Parses the CSV format; `name` is the file name used in errors.
    ///
    /// # Errors
    /// As [`EventSet::from_path`].
    pub fn parse_csv(text: &str, name: &str) -> Result<Self> {
        let mut raw = Vec::new();
        let mut header_seen = false;
        for (idx, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            let no = idx + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = trimmed.split(',').map(|f| f.trim().trim_matches('"')).collect();
            if !header_seen {
                header_seen = true;
                if fields.first().is_some_and(|f| parse_time(f, false).is_none()) {
                    let ok = fields[0].eq_ignore_ascii_case("start")
                        && matches!(fields.as_slice(), [_, e] | [_, e, _] if e.eq_ignore_ascii_case("end"))
                        && fields.get(2).is_none_or(|l| l.eq_ignore_ascii_case("label"));
                    if !ok {
                        return Err(Error::invalid(
                            "events",
                            format!("{name}:{no}: the header must be `start,end` or `start,end,label`"),
                        ));
                    }
                    continue;
                }
            }
            if !(2..=3).contains(&fields.len()) {
                return Err(Error::invalid(
                    "events",
                    format!(
                        "{name}:{no}: expected `start,end` or `start,end,label`, found {} fields",
                        fields.len()
                    ),
                ));
            }
            raw.push(RawEvent {
                line: no,
                start: (fields[0].to_string(), no),
                end: (fields[1].to_string(), no),
                label: fields
                    .get(2)
                    .filter(|l| !l.is_empty())
                    .map(|l| (l.to_string(), no)),
            });
        }
        Self::build(name, raw, None)
    }

    fn build(name: &str, raw: Vec<RawEvent>, known: Option<&[String]>) -> Result<Self> {
        let err = |line: usize, msg: String| Error::invalid("events", format!("{name}:{line}: {msg}"));
        let mut events = Vec::with_capacity(raw.len());
        let mut lines = Vec::with_capacity(raw.len());
        for r in raw {
            let start = parse_time(&r.start.0, false)
                .ok_or_else(|| err(r.start.1, format!("bad start time `{}`", r.start.0)))?;
            let end = parse_time(&r.end.0, true)
                .ok_or_else(|| err(r.end.1, format!("bad end time `{}`", r.end.0)))?;
            if end <= start {
                return Err(err(
                    r.end.1,
                    format!("the end `{}` is not after the start `{}`", r.end.0, r.start.0),
                ));
            }
            let (label, label_line) = r.label.unwrap_or_else(|| (DEFAULT_LABEL.to_string(), r.line));
            if let Some(known) = known {
                if !known.contains(&label) {
                    return Err(err(
                        label_line,
                        format!("unknown label `{label}`; the file declares {}", known.join(", ")),
                    ));
                }
            }
            let window = TimeRange::new(start, end)?;
            let event = Event::new(label.clone(), window)
                .map_err(|e| err(label_line, format!("label `{label}`: {e}")))?;
            events.push(event);
            lines.push(r.line);
        }
        // Overlaps within one label, naming both lines.
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| {
            (events[a].label.as_str(), events[a].window.start)
                .cmp(&(events[b].label.as_str(), events[b].window.start))
        });
        for w in order.windows(2) {
            let (a, b) = (&events[w[0]], &events[w[1]]);
            if a.label == b.label && b.window.start < a.window.end {
                let (first, second) = (lines[w[0]].min(lines[w[1]]), lines[w[0]].max(lines[w[1]]));
                return Err(err(
                    second,
                    format!("this `{}` event overlaps the one on line {first}", a.label),
                ));
            }
        }
        Ok(Self {
            name: name.to_string(),
            events,
            lines,
        })
    }

    /// The events, in file order.
    #[must_use]
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The line of each event, in the order of [`EventSet::events`].
    #[must_use]
    pub fn lines(&self) -> &[usize] {
        &self.lines
    }

    /// The distinct labels, sorted (the column order of [`EventSet::regressors`]).
    #[must_use]
    pub fn labels(&self) -> Vec<String> {
        let mut l: Vec<String> = self.events.iter().map(|e| e.label.clone()).collect();
        l.sort();
        l.dedup();
        l
    }

    /// Indicator regressors for a history of `history` points from `start` at `step`, and for the `horizon`
    /// steps after it: `(past, future)`, with the same columns.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the file and line of the first event whose label has no event touching
    /// the history while it touches the horizon: its effect cannot be learned. Also when `step` is zero.
    pub fn regressors(
        &self,
        start: DateTime<Utc>,
        step: Duration,
        history: usize,
        horizon: usize,
    ) -> Result<(Regressors, Regressors)> {
        let all = Regressors::from_events(&self.events, start, step, history + horizon)?;
        let mut past = Regressors::empty();
        let mut future = Regressors::empty();
        for (label, col) in all.names().iter().zip(all.columns()) {
            let seen = col[..history].iter().any(|v| *v != 0.0);
            let ahead = col[history..].iter().any(|v| *v != 0.0);
            if ahead && !seen {
                let first = self
                    .events
                    .iter()
                    .zip(&self.lines)
                    .filter(|(e, _)| &e.label == label)
                    .map(|(_, l)| *l)
                    .min()
                    .unwrap_or(0);
                return Err(Error::invalid(
                    "events",
                    format!(
                        "{}:{first}: unknown label `{label}`: no `{label}` event falls in the history, so its \
                         effect cannot be learned",
                        self.name
                    ),
                ));
            }
            if !seen {
                // A label only outside both the history and the horizon carries no information.
                continue;
            }
            past.push(label.clone(), col[..history].to_vec())?;
            future.push(label.clone(), col[history..].to_vec())?;
        }
        Ok((past, future))
    }
}

/// One event as read, before validation: `(text, line)` pairs.
#[derive(Debug)]
struct RawEvent {
    line: usize,
    start: (String, usize),
    end: (String, usize),
    label: Option<(String, usize)>,
}

/// Parses an event time; a date alone is the start of that day, or the end of it when `is_end`.
fn parse_time(s: &str, is_end: bool) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0)?.and_utc();
        return Some(if is_end { t + TimeDelta::days(1) } else { t });
    }
    if let Ok(secs) = s.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0);
    }
    None
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn toml_and_csv_give_the_same_events() {
        let toml = r#"
labels = ["launch", "sale"]

[[event]]
start = "2024-03-01T09:00:00Z"
end = 2024-03-01T18:00:00Z
label = "launch"

[[event]]
start = "2024-03-08"
end = "2024-03-09"
label = "sale"
"#;
        let a = EventSet::parse_toml(toml, "e.toml").unwrap();
        let csv = "start,end,label\n2024-03-01T09:00:00Z,2024-03-01 18:00:00,launch\n\n# two days\n2024-03-08,2024-03-09,sale\n";
        let b = EventSet::parse_csv(csv, "e.csv").unwrap();
        assert_eq!(a.events(), b.events());
        assert_eq!(a.lines(), [4, 9]);
        assert_eq!(b.lines(), [2, 5]);
        assert_eq!(a.events()[1].window.start, t("2024-03-08T00:00:00Z"));
        assert_eq!(a.events()[1].window.end, t("2024-03-10T00:00:00Z"));
        assert_eq!(a.labels(), ["launch", "sale"]);
        let unlabelled = EventSet::parse_csv("start,end\n1700000000,1700003600\n", "e.csv").unwrap();
        assert_eq!(unlabelled.events()[0].label, DEFAULT_LABEL);
    }

    #[test]
    fn every_error_names_the_line() {
        let cases: &[(&str, &str)] = &[
            (
                "start,end,label\n2024-03-01,soon,x\n",
                "e.csv:2: bad end time `soon`",
            ),
            (
                "start,end\n\n2024-13-01,2024-03-02\n",
                "e.csv:3: bad start time `2024-13-01`",
            ),
            (
                "start,end\n2024-03-02,2024-03-01\n",
                "e.csv:2: the end `2024-03-01` is not after",
            ),
            (
                "start,end,label\n2024-03-01,2024-03-03,a\n2024-03-05,2024-03-06,a\n2024-03-02,2024-03-04,a\n",
                "e.csv:4: this `a` event overlaps the one on line 2",
            ),
            (
                "start,end,label\n2024-03-01,2024-03-03,bad label\n",
                "e.csv:2: label `bad label`",
            ),
            ("start,end,label\n2024-03-01\n", "e.csv:2: expected `start,end`"),
            ("begin,end\n", "e.csv:1: the header must be"),
        ];
        for (text, want) in cases {
            let e = EventSet::parse_csv(text, "e.csv").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        // Different labels may overlap.
        assert!(
            EventSet::parse_csv(
                "start,end,label\n2024-03-01,2024-03-03,a\n2024-03-02,2024-03-04,b\n",
                "e.csv"
            )
            .is_ok()
        );

        let toml_cases: &[(&str, &str)] = &[
            (
                "labels = [\"a\"]\n\n[[event]]\nstart = \"2024-03-01\"\nend = \"2024-03-01\"\nlabel = \"b\"\n",
                "e.toml:6: unknown label `b`; the file declares a",
            ),
            (
                "[[event]]\nstart = \"2024-03-01\"\nend = 5\n",
                "e.toml:3: a time must be a string",
            ),
            ("[[event]]\nstart = \"2024-03-01\"\nfinish = \"x\"\n", "e.toml:"),
            (
                "[[event]]\nstart = \"2024-03-01\"\nend = \"2024-03-01\"\n[[event]]\nstart = \"2024-03-01 12:00:00\"\nend = \"2024-03-03\"\n",
                "e.toml:4: this `event` event overlaps the one on line 1",
            ),
        ];
        for (text, want) in toml_cases {
            let e = EventSet::parse_toml(text, "e.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn regressors_split_past_and_future_and_reject_unlearnable_labels() {
        let set = EventSet::parse_csv(
            "start,end,label\n1970-01-01 02:00:00,1970-01-01 04:00:00,sale\n1970-01-01 09:00:00,1970-01-01 10:00:00,sale\n1970-01-01 20:00:00,1970-01-01 21:00:00,gone\n",
            "e.csv",
        )
        .unwrap();
        let start = Utc.timestamp_opt(0, 0).unwrap();
        let (past, future) = set.regressors(start, Duration::from_secs(3600), 8, 4).unwrap();
        assert_eq!(past.names(), ["sale"]);
        assert_eq!(past.columns()[0], [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(future.columns()[0], [0.0, 1.0, 0.0, 0.0]);
        // `sale` only in the future: not learnable.
        let e = set
            .regressors(start, Duration::from_secs(3600), 2, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("e.csv:2: unknown label `sale`"), "{e}");
    }
}
