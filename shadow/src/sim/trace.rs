//! Reading traces: `timestamp,value` CSVs (NAB and any other), and the headed, timestamp-less multi-column
//! CSVs of the Alibaba and Google cluster traces (one row per interval, in time order).

use std::{path::Path, time::Duration};

use chrono::{TimeZone, Utc};
use shadow_core::TimeSeries;

use crate::cli::{CliError, csv::parse_series};

/// Where the rows of a timestamp-less file start: 2000-01-01T00:00:00Z (the files give no absolute time).
pub const NO_TIMESTAMP_START: i64 = 946_684_800;

/// Drops every run of consecutive rows that share one timestamp: their true times are unknown. Clock changes
/// produce such runs: NAB's CloudWatch files stamp twelve 5-minute values around the hour skipped at the start
/// of daylight saving time all `03:00:00`, off the file's grid. The hour becomes a gap, which the simulator
/// does not score. Returns the text and the number of rows dropped.
#[must_use]
pub fn merge_duplicates(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut merged = 0;
    let mut run: Option<(String, f64, usize, usize)> = None; // (timestamp, sum, present, rows)
    let flush = |out: &mut String, run: &mut Option<(String, f64, usize, usize)>| {
        if let Some((t, sum, present, 1)) = run.take() {
            if present == 0 {
                out.push_str(&format!("{t},\n"));
            } else {
                out.push_str(&format!("{t},{sum}\n"));
            }
        }
    };
    for (i, line) in text.lines().enumerate() {
        let Some((t, v)) = line.split_once(',').filter(|_| i > 0) else {
            flush(&mut out, &mut run);
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let value = v.trim().parse::<f64>().ok().filter(|x| x.is_finite());
        match &mut run {
            Some((rt, sum, present, rows)) if rt == t => {
                if let Some(x) = value {
                    *sum += x;
                    *present += 1;
                }
                if *rows == 1 {
                    merged += 1;
                }
                *rows += 1;
                merged += 1;
            }
            _ => {
                flush(&mut out, &mut run);
                if value.is_none() && !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("nan") {
                    // Leave malformed rows to the strict parser's error message.
                    out.push_str(line);
                    out.push('\n');
                    continue;
                }
                run = Some((
                    t.to_string(),
                    value.unwrap_or(0.0),
                    usize::from(value.is_some()),
                    1,
                ));
            }
        }
    }
    flush(&mut out, &mut run);
    (out, merged)
}

/// Reads a trace. A file whose header's first column is `timestamp` (or whose first field parses as a time)
/// is read as `timestamp,value` (runs of a repeated timestamp dropped by [`merge_duplicates`]). Any other headed CSV of numbers is read as one row per `step`, taking the
/// column named `column` (default: the first).
///
/// # Errors
/// A one-line [`CliError`]: unreadable file, unknown column (listing the known ones), a field that is not a
/// number (naming the line), or the errors of [`parse_series`].
pub fn read_trace(path: &Path, column: Option<&str>, step: Duration) -> Result<TimeSeries, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path.display(), e))?;
    parse_trace(&text, &path.display().to_string(), column, step)
}

/// As [`read_trace`], from the file's text; `name` is used in error messages.
///
/// # Errors
/// As [`read_trace`], except for I/O errors.
pub fn parse_trace(
    text: &str,
    name: &str,
    column: Option<&str>,
    step: Duration,
) -> Result<TimeSeries, CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(CliError::Input(format!("{name}: the file is empty")));
    };
    let cols: Vec<&str> = header.split(',').map(|c| c.trim().trim_matches('"')).collect();
    let first = cols[0].to_ascii_lowercase();
    let timestamped = matches!(first.as_str(), "timestamp" | "time" | "ds" | "date")
        || crate::cli::csv::parse_timestamp(cols[0]).is_some();
    if timestamped {
        if column.is_some() {
            return Err(CliError::Input(format!(
                "{name}: --column applies only to files without timestamps"
            )));
        }
        return match parse_series(text, name) {
            Err(CliError::Input(msg)) if msg.contains("duplicate timestamp") => {
                let (cleaned, _) = merge_duplicates(text);
                parse_series(&cleaned, name)
            }
            other => other,
        };
    }
    let idx = match column {
        None => 0,
        Some(c) => cols.iter().position(|h| *h == c).ok_or_else(|| {
            CliError::Input(format!(
                "{name}: no column `{c}`; the columns are {}",
                cols.join(", ")
            ))
        })?,
    };
    if step.is_zero() {
        return Err(CliError::Input(format!("{name}: the step must be positive")));
    }
    let mut values = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let raw = fields.get(idx).map(|f| f.trim()).ok_or_else(|| {
            CliError::Input(format!(
                "{name}:{}: expected {} columns, found {}",
                i + 1,
                cols.len(),
                fields.len()
            ))
        })?;
        let v = if raw.is_empty() || raw.eq_ignore_ascii_case("nan") {
            f64::NAN
        } else {
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| CliError::Input(format!("{name}:{}: `{raw}` is not a finite number", i + 1)))?
        };
        values.push(v);
    }
    if values.is_empty() {
        return Err(CliError::Input(format!("{name}: no data rows")));
    }
    let start = Utc
        .timestamp_opt(NO_TIMESTAMP_START, 0)
        .single()
        .expect("a valid constant");
    TimeSeries::new(start, step, values).map_err(|e| CliError::Input(format!("{name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts() {
        let ts = parse_trace(
            "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,2\n",
            "a.csv",
            None,
            Duration::from_secs(300),
        )
        .unwrap();
        assert_eq!(ts.values(), &[1.0, 2.0]);
        let text = "cpu,mem\n10,80\n12,81\n,82\n";
        let ts = parse_trace(text, "b.csv", Some("mem"), Duration::from_secs(300)).unwrap();
        assert_eq!(ts.values(), &[80.0, 81.0, 82.0]);
        let ts = parse_trace(text, "b.csv", None, Duration::from_secs(30)).unwrap();
        assert_eq!(ts.len(), 3);
        assert!(ts.values()[2].is_nan());
        assert_eq!(ts.step(), Duration::from_secs(30));
        let err = parse_trace(text, "b.csv", Some("gpu"), Duration::from_secs(300)).unwrap_err();
        assert!(
            err.to_string()
                .contains("no column `gpu`; the columns are cpu, mem"),
            "{err}"
        );
        let err = parse_trace("cpu\n1\nx\n", "c.csv", None, Duration::from_secs(300)).unwrap_err();
        assert!(
            err.to_string().contains("c.csv:3: `x` is not a finite number"),
            "{err}"
        );
        assert!(parse_trace("", "d.csv", None, Duration::from_secs(300)).is_err());
        // A daylight-saving hour stamped three times: dropped, a gap.
        let dst = "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,2\n2024-01-01 00:15:00,3\n\
                   2024-01-01 00:15:00,5\n2024-01-01 00:15:00,\n2024-01-01 00:20:00,4\n";
        let ts = parse_trace(dst, "e.csv", None, Duration::from_secs(300)).unwrap();
        assert_eq!(ts.len(), 5);
        assert!(ts.values()[2].is_nan() && ts.values()[3].is_nan());
        assert_eq!(ts.values()[4], 4.0);
        assert_eq!(merge_duplicates(dst).1, 3);
    }
}
