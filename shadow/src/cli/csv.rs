//! Reading `timestamp,value` CSV files and writing forecast CSV.
//!
//! # Input format
//!
//! One sample per line, two comma-separated columns: `timestamp,value`.
//!
//! - **Line endings**: `\n`, `\r\n` or a bare `\r`. A leading UTF-8 byte-order mark is ignored.
//! - **Blank lines** (empty or whitespace only) are ignored, wherever they are; a trailing empty line is fine.
//! - **Fields** are trimmed of surrounding whitespace and of one pair of surrounding double quotes.
//! - **Header**: the first non-blank line is a header when its value column is neither a number nor a
//!   missing marker (see below) *and* its timestamp column is not a timestamp. So `timestamp,value` is a
//!   header, while `2024-01-01T00:00:00Z,abc` is a data row with a bad value (an error). A file may have
//!   no header.
//! - **Timestamps**, in UTC:
//!   - RFC 3339 with `Z` or an offset: `2024-01-01T00:00:00Z`, `2024-01-01T02:00:00+02:00`;
//!   - `YYYY-MM-DD HH:MM:SS`, optionally with a fraction, read as UTC: `2024-01-01 00:00:00`;
//!   - a date `YYYY-MM-DD`, read as midnight UTC (daily series such as Prophet's examples);
//!   - unix seconds, an integer (`1704067200`) or a fraction (`1704067200.5`, rounded to the millisecond).
//! - **Values**: a finite number. An empty field or `NaN` (any case) is a missing observation and becomes
//!   `NaN` in the series, never zero. `inf` is an error.
//! - **Grid**: rows are strictly increasing in time. The step is the smallest difference between
//!   consecutive rows; every row must sit on the grid `first + k·step`. Grid points without a row are
//!   missing observations.
//!
//! Every error is one line that names the file and, when it concerns a row, the line number
//! (`data.csv:7: ...`). Line numbers count every physical line, blank ones included, from 1.

use std::{
    io::{self, Write},
    path::Path,
    time::Duration,
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use shadow_core::{Forecast, Sample, TimeSeries};

use super::CliError;

/// The largest grid a CSV may span, in points, so that a stray timestamp cannot exhaust memory.
pub const MAX_GRID_POINTS: usize = 50_000_000;

/// Reads a `timestamp,value` CSV into a regular-grid series (gaps become `NaN`).
///
/// See the [module docs](self) for the accepted format.
///
/// # Errors
/// A one-line [`CliError`] naming the file and line: unreadable file, no data rows, wrong column count,
/// bad timestamp, non-numeric or infinite value, unsorted or duplicate timestamps (naming both lines),
/// a row off the grid, or every value missing.
pub fn read_series(path: &Path) -> Result<TimeSeries, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path.display(), e))?;
    parse_series(&text, &path.display().to_string())
}

/// Parses the text of a `timestamp,value` CSV; `name` is the file name used in error messages.
///
/// # Errors
/// As [`read_series`], except for I/O errors.
pub fn parse_series(text: &str, name: &str) -> Result<TimeSeries, CliError> {
    let err = |line: usize, msg: String| CliError::Input(format!("{name}:{line}: {msg}"));
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // (line number, sample) for every data row.
    let mut rows: Vec<(usize, Sample)> = Vec::new();
    let mut seen_first = false;
    for (idx, raw) in physical_lines(text).enumerate() {
        let line = idx + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(clean_field).collect();
        let first = !seen_first;
        seen_first = true;
        if first && fields.len() == 2 && is_header(fields[0], fields[1]) {
            continue;
        }
        if fields.len() != 2 {
            return Err(err(
                line,
                format!("expected 2 columns `timestamp,value`, found {}", fields.len()),
            ));
        }
        let at = parse_timestamp(fields[0]).ok_or_else(|| {
            err(
                line,
                format!(
                    "bad timestamp `{}`: expected RFC 3339 (2024-01-01T00:00:00Z), \
                     `YYYY-MM-DD HH:MM[:SS]` (UTC), `YYYY-MM-DD` or unix seconds",
                    fields[0]
                ),
            )
        })?;
        let value = parse_value(fields[1]).ok_or_else(|| {
            err(
                line,
                format!(
                    "value `{}` is not a finite number (leave it empty or write NaN for a missing observation)",
                    fields[1]
                ),
            )
        })?;
        if let Some(&(prev_line, prev)) = rows.last() {
            if at == prev.at {
                return Err(err(
                    line,
                    format!("duplicate timestamp {} (also on line {prev_line})", rfc3339(at)),
                ));
            }
            if at < prev.at {
                return Err(err(
                    line,
                    format!(
                        "timestamp {} is before {} on line {prev_line}; rows must be sorted by time",
                        rfc3339(at),
                        rfc3339(prev.at)
                    ),
                ));
            }
        }
        rows.push((line, Sample::new(at, value)));
    }

    let Some(&(first_line, first)) = rows.first() else {
        return Err(CliError::Input(format!("{name}: no data rows")));
    };
    if rows.len() < 2 {
        return Err(err(
            first_line,
            "only one data row; at least two are needed to infer the step".into(),
        ));
    }
    // Rows are strictly increasing, so the smallest positive difference is the smallest consecutive one.
    let step = rows
        .windows(2)
        .map(|w| w[1].1.at - w[0].1.at)
        .min()
        .unwrap_or(TimeDelta::zero());
    let step_ms = step.num_milliseconds();
    if step_ms == 0 || step != TimeDelta::milliseconds(step_ms) {
        let (line, s) = rows
            .windows(2)
            .find(|w| w[1].1.at - w[0].1.at == step)
            .map_or((first_line, first), |w| w[1]);
        return Err(err(
            line,
            format!(
                "timestamp {} is {} after the previous row; the step must be a whole number of milliseconds",
                rfc3339(s.at),
                humantime::format_duration(step.to_std().unwrap_or_default())
            ),
        ));
    }
    let step_std = Duration::from_millis(step_ms.unsigned_abs());
    for &(line, s) in &rows {
        let off = s.at - first.at;
        let k = off.num_milliseconds() / step_ms;
        if off != TimeDelta::milliseconds(k * step_ms) {
            return Err(err(
                line,
                format!(
                    "timestamp {} is not on the {} grid that starts at {} (line {first_line})",
                    rfc3339(s.at),
                    humantime::format_duration(step_std),
                    rfc3339(first.at)
                ),
            ));
        }
        if k >= MAX_GRID_POINTS as i64 {
            return Err(err(
                line,
                format!(
                    "timestamp {} would make a grid of more than {MAX_GRID_POINTS} points at a {} step",
                    rfc3339(s.at),
                    humantime::format_duration(step_std)
                ),
            ));
        }
    }
    if rows.iter().all(|(_, s)| s.value.is_nan()) {
        return Err(CliError::Input(format!(
            "{name}: all {} values are missing",
            rows.len()
        )));
    }
    let samples: Vec<Sample> = rows.into_iter().map(|(_, s)| s).collect();
    TimeSeries::from_samples_infer_step(&samples).map_err(|e| CliError::Input(format!("{name}: {e}")))
}

/// Parses a timestamp in one of the accepted forms: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` or
/// `YYYY-MM-DDTHH:MM:SS` without an offset (UTC), `YYYY-MM-DD`, or unix seconds (integer, or fractional
/// rounded to the millisecond). `None` when it is none of them.
#[must_use]
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for form in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, form) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    if let Ok(secs) = s.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0);
    }
    let secs: f64 = s.parse().ok()?;
    // `as` saturates, and out-of-range milliseconds give `None`.
    let millis = (secs * 1000.0).round();
    (millis.is_finite() && millis.abs() < 9.0e15)
        .then(|| DateTime::from_timestamp_millis(millis as i64))
        .flatten()
}

/// Parses a value: `Some(NaN)` for a missing observation (empty or `NaN`), `Some(v)` for a finite number,
/// `None` otherwise (including infinities).
fn parse_value(s: &str) -> Option<f64> {
    if s.is_empty() || s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn is_header(timestamp: &str, value: &str) -> bool {
    parse_value(value).is_none() && value.parse::<f64>().is_err() && parse_timestamp(timestamp).is_none()
}

fn clean_field(f: &str) -> &str {
    let f = f.trim();
    f.strip_prefix('"')
        .and_then(|g| g.strip_suffix('"'))
        .map_or(f, str::trim)
}

/// Splits on `\r\n`, `\n` or a bare `\r`.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
        }
    })
}

/// Formats a timestamp as RFC 3339 in UTC with `Z`, with a fraction only when it is not zero.
#[must_use]
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Writes a forecast as CSV: the header `timestamp,<label>...` with one column per quantile level in
/// increasing order (labels from [`shadow_core::Quantile::label`]), then one row per step with the
/// timestamp in RFC 3339 UTC (`2024-01-01T05:00:00Z`) and each value printed with `{}` (round-trips).
///
/// # Errors
/// Any error of the writer.
pub fn write_forecast(w: &mut impl Write, f: &Forecast) -> io::Result<()> {
    write!(w, "timestamp")?;
    for q in f.levels() {
        write!(w, ",{}", q.label())?;
    }
    writeln!(w)?;
    for h in 0..f.horizon() {
        write!(w, "{}", rfc3339(f.time_at(h)))?;
        for path in f.quantile_paths() {
            write!(w, ",{}", path[h])?;
        }
        writeln!(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use shadow_core::Quantile;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    fn parse(text: &str) -> Result<TimeSeries, String> {
        parse_series(text, "in.csv").map_err(|e| e.to_string())
    }

    #[test]
    fn timestamps_in_every_accepted_form() {
        let want = t(1_704_067_200);
        for s in [
            "2024-01-01T00:00:00Z",
            "2024-01-01T02:00:00+02:00",
            "2024-01-01 00:00:00",
            "2024-01-01 00:00:00.000",
            "2024-01-01 00:00",
            "2024-01-01T00:00:00",
            "1704067200",
            "1704067200.0",
            " 1704067200 ",
            "2024-01-01",
        ] {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
        assert_eq!(
            parse_timestamp("1704067200.5"),
            Some(want + TimeDelta::milliseconds(500))
        );
        for bad in [
            "2024-13-01",
            "2024-13-01 00:00:00",
            "yesterday",
            "NaN",
            "inf",
            "1e300",
            "",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn line_endings_header_whitespace_and_gaps() {
        let text = "timestamp,value\r\n 0 , 1 \r120,\r180,NaN\n240,nan\n\n300,\"6\"\n\n";
        let s = parse(text).unwrap();
        assert_eq!(s.start(), t(0));
        assert_eq!(s.step(), Duration::from_secs(60));
        assert_eq!(s.len(), 6);
        assert_eq!(s.get(0), Some(1.0));
        assert!(s.values()[1..5].iter().all(|v| v.is_nan()), "{:?}", s.values());
        assert_eq!(s.get(5), Some(6.0));
        // No header at all.
        assert_eq!(parse("0,1\n60,2").unwrap().values(), &[1.0, 2.0]);
    }

    #[test]
    fn every_error_names_file_and_line() {
        let cases = [
            ("", "in.csv: no data rows"),
            ("timestamp,value\n\n", "in.csv: no data rows"),
            ("timestamp,value\n0,1\n", "in.csv:2: only one data row"),
            ("t,v\n0,1\n60,2,3\n", "in.csv:3: expected 2 columns"),
            ("t,v\n0,1\nsoon,2\n", "in.csv:3: bad timestamp `soon`"),
            (
                "t,v\n0,1\n60,abc\n",
                "in.csv:3: value `abc` is not a finite number",
            ),
            ("t,v\n0,1\n60,inf\n", "in.csv:3: value `inf`"),
            ("0,abc\n60,1\n", "in.csv:1: value `abc`"),
            (
                "t,v\n0,1\n60,2\n60,3\n",
                "in.csv:4: duplicate timestamp 1970-01-01T00:01:00Z (also on line 3)",
            ),
            (
                "t,v\n0,1\n120,2\n60,3\n",
                "in.csv:4: timestamp 1970-01-01T00:01:00Z is before",
            ),
            (
                "t,v\n0,1\n60,2\n150,3\n",
                "in.csv:4: timestamp 1970-01-01T00:02:30Z is not on the 1m grid",
            ),
            ("t,v\n0,\n60,NaN\n", "in.csv: all 2 values are missing"),
            (
                "t,v\n1970-01-01T00:00:00Z,1\n1970-01-01T00:00:00.0004Z,2\n",
                "in.csv:3: timestamp 1970-01-01T00:00:00.000400Z is 400us after",
            ),
            (
                "t,v\n0,1\n0.001,1\n1000000000,1\n",
                "in.csv:4: timestamp 2001-09-09T01:46:40Z would make",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: got `{e}`, want `{want}`");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn writes_the_stable_csv_contract() {
        let q = |v| Quantile::try_new(v).unwrap();
        let f = Forecast::new(
            t(1_704_085_200),
            Duration::from_secs(3600),
            vec![1.0, 2.0],
            vec![q(0.999), q(0.5)],
            vec![vec![3.25, 4.0], vec![1.0, 0.1 + 0.2]],
        )
        .unwrap();
        let mut out = Vec::new();
        write_forecast(&mut out, &f).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "timestamp,p50,p99.9\n2024-01-01T05:00:00Z,1,3.25\n2024-01-01T06:00:00Z,0.30000000000000004,4\n"
        );
    }
}
