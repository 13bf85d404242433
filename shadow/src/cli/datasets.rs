//! Loading the series a backtest runs on: one CSV, a folder of them, or the M4 wide layout.
//!
//! | `--data` is | detected by | each series |
//! |---|---|---|
//! | an M4 file (`Hourly-train.csv`) | first field of the first line is `V1` | one row: id, then values (ragged; empty cells end it), on a grid of `--step` (default 1 h) from 1970-01-01 |
//! | a `timestamp,value` CSV | otherwise | the whole file ([`super::csv`]) |
//! | a folder | a directory | every `*.csv` file and every file without an extension, recursively, in name order |
//!
//! In a folder, a file whose first non-blank line holds only numbers separated by spaces (the Google cluster
//! 2011 VM layout `cpu mem`) is a *values-only* file: its first column, on a grid of `--step` (default 5 min)
//! from 1970-01-01. A file that does not parse is reported and skipped; the others still run.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::DateTime;
use shadow_core::TimeSeries;

use super::{CliError, csv::parse_series};

/// One named series of a dataset.
#[derive(Debug, Clone)]
pub struct NamedSeries {
    /// The series id (M4) or the file path relative to the folder.
    pub name: String,
    /// The values on their grid.
    pub series: TimeSeries,
}

/// What `--data` was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    /// The M4 wide layout.
    M4,
    /// A folder of files.
    Folder,
    /// One `timestamp,value` CSV.
    Single,
}

/// A loaded dataset: the series and the files that were skipped, with the reason.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// What `--data` was.
    pub kind: DatasetKind,
    /// The series, in file or row order.
    pub series: Vec<NamedSeries>,
    /// `(file, reason)` for every file of a folder that did not parse.
    pub skipped: Vec<(String, String)>,
    /// `(file, what was cleaned)` for every file of a folder that parsed only after cleaning.
    pub cleaned: Vec<(String, String)>,
}

/// Loads `path`; `step` is the grid step of M4 rows and values-only files (`None`: 1 h for M4, 5 min else).
///
/// # Errors
/// A one-line [`CliError`] when the path cannot be read, a single file or an M4 file does not parse (naming
/// the line), or a folder holds no usable series.
pub fn load(path: &Path, step: Option<Duration>) -> Result<Dataset, CliError> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::io(path.display(), e))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        collect_files(path, &mut files)?;
        files.sort();
        let step = step.unwrap_or(Duration::from_secs(300));
        let mut series = Vec::new();
        let mut skipped = Vec::new();
        let mut cleaned = Vec::new();
        for file in files {
            let name = file.strip_prefix(path).unwrap_or(&file).display().to_string();
            let parsed = std::fs::read_to_string(&file)
                .map_err(|e| CliError::io(file.display(), e))
                .and_then(|text| match parse_any(&text, &name, step) {
                    Err(CliError::Input(msg)) if msg.contains("duplicate timestamp") => {
                        let (text, dropped) = drop_repeated_timestamps(&text);
                        let s = parse_any(&text, &name, step)?;
                        cleaned.push((
                            name.clone(),
                            format!("{dropped} row(s) repeating a timestamp dropped"),
                        ));
                        Ok(s)
                    }
                    other => other,
                });
            match parsed {
                Ok(s) => series.push(NamedSeries { name, series: s }),
                Err(e) => skipped.push((name, e.to_string())),
            }
        }
        if series.is_empty() {
            return Err(CliError::Input(format!(
                "{}: no usable series in the folder ({} file(s) skipped)",
                path.display(),
                skipped.len()
            )));
        }
        return Ok(Dataset {
            kind: DatasetKind::Folder,
            series,
            skipped,
            cleaned,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path.display(), e))?;
    let name = path.display().to_string();
    if is_m4(&text) {
        let series = parse_m4(&text, &name, step.unwrap_or(Duration::from_secs(3600)))?;
        return Ok(Dataset {
            kind: DatasetKind::M4,
            series,
            skipped: Vec::new(),
            cleaned: Vec::new(),
        });
    }
    let series = parse_series(&text, &name)?;
    Ok(Dataset {
        kind: DatasetKind::Single,
        series: vec![NamedSeries { name, series }],
        skipped: Vec::new(),
        cleaned: Vec::new(),
    })
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::io(dir.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CliError::io(dir.display(), e))?;
        let p = entry.path();
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if p.extension().is_none_or(|e| e.eq_ignore_ascii_case("csv")) {
            out.push(p);
        }
    }
    Ok(())
}

/// Drops every row whose timestamp field repeats the previous row's (such as the repeated hour of a clock
/// change in some NAB files), keeping the first; returns the text and the number of rows dropped.
fn drop_repeated_timestamps(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<&str> = None;
    let mut dropped = 0;
    for line in text.lines() {
        let ts = line.split(',').next().map(str::trim).filter(|t| !t.is_empty());
        if ts.is_some() && ts == prev {
            dropped += 1;
            continue;
        }
        if ts.is_some() {
            prev = ts;
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, dropped)
}

/// Whether the text is in the M4 wide layout (its first field is `V1`).
fn is_m4(text: &str) -> bool {
    let first = text.trim_start_matches('\u{feff}').lines().next().unwrap_or("");
    first.split(',').next().map(unquote) == Some("V1")
}

fn unquote(f: &str) -> &str {
    let f = f.trim();
    f.strip_prefix('"').and_then(|g| g.strip_suffix('"')).unwrap_or(f)
}

/// Parses the M4 wide layout: a header line, then `id,v1,v2,...` per series; empty cells end a row.
fn parse_m4(text: &str, name: &str, step: Duration) -> Result<Vec<NamedSeries>, CliError> {
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split(',').map(unquote);
        let id = fields.next().unwrap_or("").to_string();
        let mut values = Vec::new();
        for (col, f) in fields.enumerate() {
            if f.is_empty() || f.eq_ignore_ascii_case("NA") {
                break;
            }
            let v: f64 = f.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
                CliError::Input(format!(
                    "{name}:{}: column {} of `{id}` is not a finite number: `{f}`",
                    idx + 1,
                    col + 2
                ))
            })?;
            values.push(v);
        }
        if values.is_empty() {
            return Err(CliError::Input(format!(
                "{name}:{}: series `{id}` has no values",
                idx + 1
            )));
        }
        let series = TimeSeries::new(DateTime::UNIX_EPOCH, step, values)?;
        out.push(NamedSeries { name: id, series });
    }
    if out.is_empty() {
        return Err(CliError::Input(format!("{name}: no series after the header")));
    }
    Ok(out)
}

/// Parses one file of a folder: values-only when the first non-blank line is numbers separated by
/// whitespace, else a `timestamp,value` CSV.
fn parse_any(text: &str, name: &str, step: Duration) -> Result<TimeSeries, CliError> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let values_only = !first.contains(',')
        && first.split_whitespace().count() >= 1
        && first.split_whitespace().all(|f| f.parse::<f64>().is_ok());
    if !values_only {
        return parse_series(text, name);
    }
    let mut values = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let Some(f) = line.split_whitespace().next() else {
            continue;
        };
        let v: f64 =
            f.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
                CliError::Input(format!("{name}:{}: `{f}` is not a finite number", idx + 1))
            })?;
        values.push(v);
    }
    Ok(TimeSeries::new(DateTime::UNIX_EPOCH, step, values)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m4_rows_are_ragged() {
        let text = "\"V1\",\"V2\",\"V3\",\"V4\"\n\"H1\",\"1\",\"2\",\"3\"\n\"H2\",\"4\",\"5\",\"\"\n";
        assert!(is_m4(text));
        let s = parse_m4(text, "m4.csv", Duration::from_secs(3600)).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].name, "H2");
        assert_eq!(s[1].series.values(), &[4.0, 5.0]);
        let e = parse_m4("V1,V2\nH1,x\n", "m4.csv", Duration::from_secs(60))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "m4.csv:2: column 2 of `H1` is not a finite number: `x`");
        assert!(!is_m4("timestamp,value\n"));
    }

    #[test]
    fn values_only_and_csv_files() {
        let s = parse_any("20.5 3.0\n21 3\n\n22 1\n", "vm_1", Duration::from_secs(300)).unwrap();
        assert_eq!(s.values(), &[20.5, 21.0, 22.0]);
        assert_eq!(s.step(), Duration::from_secs(300));
        let e = parse_any("1 2\nx 3\n", "vm_2", Duration::from_secs(300))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "vm_2:2: `x` is not a finite number");
        let c = parse_any(
            "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,2\n",
            "a.csv",
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(c.step(), Duration::from_secs(300));
    }

    #[test]
    fn folder_loads_csvs_and_reports_bad_files() {
        let dir = std::env::temp_dir().join(format!("shadow-datasets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a.csv"), "timestamp,value\n0,1\n60,2\n120,3\n").unwrap();
        std::fs::write(dir.join("sub/vm_1"), "1 2\n3 4\n").unwrap();
        std::fs::write(dir.join("bad.csv"), "timestamp,value\n0,abc\n").unwrap();
        std::fs::write(dir.join("notes.md"), "ignored").unwrap();
        std::fs::write(dir.join("dup.csv"), "timestamp,value\n0,1\n60,2\n60,9\n120,3\n").unwrap();
        let d = load(&dir, None).unwrap();
        assert_eq!(d.kind, DatasetKind::Folder);
        let names: Vec<&str> = d.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a.csv", "dup.csv", "sub/vm_1"]);
        assert_eq!(d.series[1].series.values(), &[1.0, 2.0, 3.0]);
        assert_eq!(
            d.cleaned,
            [(
                "dup.csv".to_string(),
                "1 row(s) repeating a timestamp dropped".to_string()
            )]
        );
        assert_eq!(d.skipped.len(), 1);
        assert!(d.skipped[0].1.contains("bad.csv:2"), "{:?}", d.skipped);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
