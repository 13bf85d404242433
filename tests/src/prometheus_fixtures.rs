//! The series backfilled into the test Prometheus, and the values Prometheus 2.42 answers for them.
//!
//! `prometheus_backfill` (the binary) writes them as OpenMetrics files before `scripts/test.sh` starts the
//! server; the tests call the same functions to know what to expect. Everything here is deterministic and
//! uses only `std`.
//!
//! - [`generated`]: cAdvisor-shaped series with known values, deliberate gaps and one `NaN` sample.
//! - [`nab`]: the NAB AWS CloudWatch and "known cause" CSVs as gauges `shadow_nab{series, dataset}`, when
//!   the shared data directory exists.
//!
//! Prometheus evaluates an instant selector at `t` to the newest sample in `[t - 5m, t]` (2.x: both ends
//! inclusive), so a missing sample is carried forward for five minutes; [`lookback`] models that, and
//! the expected values below are computed with it.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

/// The first timestamp of the generated series, in Unix seconds (2023-11-14, a whole minute).
pub const GEN_START: i64 = 1_700_000_040;
/// The step of the generated series, in seconds.
pub const GEN_STEP: i64 = 60;
/// Points of the long memory series; more than one 11,000-point request.
pub const MEM_POINTS: usize = 15_000;
/// The missing samples of the memory series (both pods): indices `GAP.0..GAP.1`.
pub const MEM_GAP: (usize, usize) = (1_000, 1_030);
/// The index where pod 0 of the memory series reports `NaN`.
pub const MEM_NAN_AT: usize = 2_000;
/// Points of the CPU counter.
pub const CPU_POINTS: usize = 3_000;
/// Points of the custom series.
pub const CUSTOM_POINTS: usize = 300;
/// The start of the conformance series (20 days after [`GEN_START`]).
pub const CONF_START: i64 = GEN_START + 20 * 86_400;
/// The step of the conformance series: longer than the 5-minute lookback, so a missing sample is a gap.
pub const CONF_STEP: i64 = 600;
/// Prometheus's default lookback delta, in seconds.
pub const LOOKBACK: i64 = 300;

/// One series: its labels and its samples `(unix seconds, value)`, strictly increasing in time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label pairs, without the metric name.
    pub labels: Vec<(String, String)>,
    /// The samples.
    pub samples: Vec<(i64, f64)>,
}

impl Series {
    fn new(labels: &[(&str, &str)], samples: Vec<(i64, f64)>) -> Self {
        Self {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            samples,
        }
    }

    /// The value of label `name`.
    #[must_use]
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric family: a name, an OpenMetrics type and its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The sample name (`container_cpu_usage_seconds_total`).
    pub name: String,
    /// `gauge` or `counter`.
    pub kind: &'static str,
    /// The series.
    pub series: Vec<Series>,
}

fn grid(start: i64, step: i64, n: usize, value: impl Fn(usize) -> Option<f64>) -> Vec<(i64, f64)> {
    (0..n)
        .filter_map(|i| value(i).map(|v| (start + i as i64 * step, v)))
        .collect()
}

/// Pod `pod` of the memory series at index `i`, `None` in the gap.
#[must_use]
pub fn memory_value(pod: usize, i: usize) -> Option<f64> {
    if (MEM_GAP.0..MEM_GAP.1).contains(&i) {
        return None;
    }
    if pod == 0 && i == MEM_NAN_AT {
        return Some(f64::NAN);
    }
    Some(match pod {
        0 => 100_000_000.0 + (i % 97) as f64 * 100_000.0,
        _ => 50_000_000.0 + (i % 13) as f64 * 10_000.0,
    })
}

/// The CPU counter's cumulative value at index `i` (CPU seconds).
#[must_use]
pub fn cpu_counter(i: usize) -> f64 {
    (0..=i).map(|k| (k % 7 + 1) as f64 * 0.6).sum()
}

/// The conformance series: `NaN` at the gaps.
#[must_use]
pub fn conformance_values() -> Vec<f64> {
    (0..40)
        .map(|i| {
            if [10, 11, 25].contains(&i) {
                f64::NAN
            } else {
                1_000.0 + (i * i) as f64
            }
        })
        .collect()
}

/// The generated families.
#[must_use]
pub fn generated() -> Vec<Family> {
    let mem = |pod: usize| grid(GEN_START, GEN_STEP, MEM_POINTS, move |i| memory_value(pod, i));
    let memory_series = vec![
        Series::new(
            &[
                ("service", "gen-mem"),
                ("environment", "live"),
                ("container", "app"),
                ("pod", "gen-mem-0"),
            ],
            mem(0),
        ),
        Series::new(
            &[
                ("service", "gen-mem"),
                ("environment", "live"),
                ("container", "app"),
                ("pod", "gen-mem-1"),
            ],
            mem(1),
        ),
        // The pod-level cgroup series of cAdvisor (container=""): the default template must ignore it.
        Series::new(
            &[
                ("service", "gen-mem"),
                ("environment", "live"),
                ("container", ""),
                ("pod", "gen-mem-0"),
            ],
            grid(GEN_START, GEN_STEP, 200, |_| Some(9e12)),
        ),
        Series::new(
            &[
                ("service", "gen-mem"),
                ("environment", "shadow"),
                ("container", "app"),
                ("pod", "gen-mem-s0"),
            ],
            grid(GEN_START, GEN_STEP, 100, |i| Some(42e6 + i as f64)),
        ),
        Series::new(
            &[
                ("service", "gen-conformance"),
                ("environment", "live"),
                ("container", "app"),
                ("pod", "gen-conformance-0"),
            ],
            conformance_values()
                .into_iter()
                .enumerate()
                .filter(|(_, v)| !v.is_nan())
                .map(|(i, v)| (CONF_START + i as i64 * CONF_STEP, v))
                .collect(),
        ),
    ];
    vec![
        Family {
            name: "container_memory_working_set_bytes".into(),
            kind: "gauge",
            series: memory_series,
        },
        Family {
            name: "container_cpu_usage_seconds_total".into(),
            kind: "counter",
            series: vec![Series::new(
                &[
                    ("service", "gen-cpu"),
                    ("environment", "live"),
                    ("container", "app"),
                    ("pod", "gen-cpu-0"),
                ],
                grid(GEN_START, GEN_STEP, CPU_POINTS, |i| Some(cpu_counter(i))),
            )],
        },
        Family {
            name: "shadow_gen_requests".into(),
            kind: "gauge",
            series: vec![Series::new(
                &[("app", "gen-custom"), ("env", "live")],
                grid(GEN_START, GEN_STEP, CUSTOM_POINTS, |i| {
                    Some(((i * i) % 1000) as f64)
                }),
            )],
        },
    ]
}

/// Where the shared data lives: `$SHADOW_DATA`, or `../shared/data` next to the repository.
#[must_use]
pub fn data_dir() -> PathBuf {
    std::env::var_os("SHADOW_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// The NAB datasets that are backfilled.
pub const NAB_DATASETS: [&str; 2] = ["realAWSCloudwatch", "realKnownCause"];

/// The NAB series as `shadow_nab{series="<file stem>", dataset="<dir>"}`, or `None` when `data/nab` is
/// absent. Timestamps (no zone in the files) are read as UTC; a sample not after its predecessor is left out,
/// as Prometheus would drop it.
///
/// # Errors
/// When a file cannot be read or parsed.
pub fn nab(data: &Path) -> io::Result<Option<Family>> {
    let root = data.join("nab");
    if !root.is_dir() {
        return Ok(None);
    }
    let mut series = Vec::new();
    for dataset in NAB_DATASETS {
        let mut files: Vec<PathBuf> = fs::read_dir(root.join(dataset))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        files.sort();
        for file in files {
            let stem = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let samples = read_csv(&file)?;
            series.push(Series::new(&[("series", &stem), ("dataset", dataset)], samples));
        }
    }
    Ok(Some(Family {
        name: "shadow_nab".into(),
        kind: "gauge",
        series,
    }))
}

fn read_csv(file: &Path) -> io::Result<Vec<(i64, f64)>> {
    let bad = |line: &str| io::Error::other(format!("{}: bad line {line:?}", file.display()));
    let mut out: Vec<(i64, f64)> = Vec::new();
    for line in fs::read_to_string(file)?.lines().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (ts, value) = line.split_once(',').ok_or_else(|| bad(line))?;
        let ts = parse_timestamp(ts).ok_or_else(|| bad(line))?;
        let value: f64 = value.trim().parse().map_err(|_| bad(line))?;
        if out.last().is_none_or(|(last, _)| ts > *last) {
            out.push((ts, value));
        }
    }
    Ok(out)
}

/// Parses `YYYY-MM-DD HH:MM:SS` as UTC Unix seconds.
#[must_use]
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once(' ')?;
    let d: Vec<i64> = date.split('-').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let t: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let ([y, m, day], [hh, mm, ss]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    Some(days_from_civil(*y, *m, *day) * 86_400 + hh * 3_600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Writes `families` as one OpenMetrics text: timestamps in seconds, ending with `# EOF`.
///
/// # Errors
/// When writing fails.
pub fn write_openmetrics(families: &[Family], out: &mut impl Write) -> io::Result<()> {
    for family in families {
        let base = match family.kind {
            "counter" => family.name.strip_suffix("_total").unwrap_or(&family.name),
            _ => &family.name,
        };
        writeln!(out, "# TYPE {base} {}", family.kind)?;
        for series in &family.series {
            let labels: Vec<String> = series
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            let labels = labels.join(",");
            for (ts, v) in &series.samples {
                writeln!(out, "{}{{{labels}}} {} {ts}", family.name, om_value(*v))?;
            }
        }
    }
    writeln!(out, "# EOF")
}

fn om_value(v: f64) -> String {
    if v.is_nan() { "NaN".into() } else { format!("{v}") }
}

/// The newest sample in `[t - LOOKBACK, t]`, as Prometheus 2.x evaluates an instant selector.
#[must_use]
pub fn lookback(samples: &[(i64, f64)], t: i64) -> Option<f64> {
    let after = samples.partition_point(|(ts, _)| *ts <= t);
    let (ts, v) = *samples.get(after.checked_sub(1)?)?;
    (ts >= t - LOOKBACK).then_some(v)
}

/// What `sum(<selector>)` answers at `t` over `series`: `NaN` when no series has a sample in the lookback.
#[must_use]
pub fn sum_at(series: &[&Series], t: i64) -> f64 {
    let present: Vec<f64> = series.iter().filter_map(|s| lookback(&s.samples, t)).collect();
    if present.is_empty() {
        f64::NAN
    } else {
        present.iter().sum()
    }
}

/// The family named `name` of [`generated`].
///
/// # Panics
/// When there is none.
#[must_use]
pub fn family(name: &str) -> Family {
    generated()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no generated family {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timestamps_and_models_lookback() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp("2014-02-14 14:27:00"), Some(1_392_388_020));
        assert_eq!(parse_timestamp("2000-03-01 00:00:01"), Some(951_868_801));
        let s = [(0, 1.0), (60, 2.0), (600, 3.0)];
        assert_eq!(lookback(&s, 60), Some(2.0));
        assert_eq!(lookback(&s, 360), Some(2.0));
        assert_eq!(lookback(&s, 361), None);
        assert_eq!(lookback(&s, -1), None);
        let mut text = Vec::new();
        write_openmetrics(&generated()[1..2], &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("# TYPE container_cpu_usage_seconds counter\n"));
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains(&format!("pod=\"gen-cpu-0\"}} 0.6 {GEN_START}\n")));
    }
}
