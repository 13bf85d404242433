//! The metric gate: error rate and p99 latency of live and shadow from a [`MetricSource`](shadow_core::MetricSource), judged shadow
//! against live with thresholds and a one-sided Mann–Whitney U test, as Kayenta's canary judge does.

use std::{fmt, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shadow_core::{
    DynMetricSource, Environment, MetricQuery, ResourceKind, ServiceId, TimeRange, series::to_delta,
};

use crate::error::{Error, Result};

/// Thresholds of the metric gate.
///
/// A metric **fails** when the shadow is worse than live by more than the allowed margin *and* the
/// Mann–Whitney test says the difference is significant (`p < alpha`); the error rate also fails on its own
/// when the shadow's mean is above `max_error_rate`. With fewer than `min_samples` finite points on either side
/// a metric is **inconclusive**, which passes and is logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// The resource kind of the error rate (errors per request, `0..=1`). Default: `error_rate`.
    pub error_rate: String,
    /// The resource kind of the p99 latency (seconds). Default: `latency_p99`.
    pub latency_p99: String,
    /// How far back each analysis looks (capped at the dwell). Default: 60 s.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// The grid step of the fetched series. Default: 1 s.
    #[serde(with = "humantime_serde")]
    pub step: Duration,
    /// The largest allowed `shadow - live` mean error rate. Default: 0.01 (one point).
    pub max_error_rate_increase: f64,
    /// The largest allowed shadow mean error rate, whatever live does. Default: 0.05.
    pub max_error_rate: f64,
    /// The largest allowed `shadow / live` median p99 latency. Default: 1.5.
    pub max_latency_ratio: f64,
    /// The significance level of the test. Default: 0.05.
    pub alpha: f64,
    /// The fewest finite points per side for a verdict. Default: 5.
    pub min_samples: usize,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            error_rate: "error_rate".into(),
            latency_p99: "latency_p99".into(),
            window: Duration::from_secs(60),
            step: Duration::from_secs(1),
            max_error_rate_increase: 0.01,
            max_error_rate: 0.05,
            max_latency_ratio: 1.5,
            alpha: 0.05,
            min_samples: 5,
        }
    }
}

/// The outcome of one metric's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The shadow is not significantly worse.
    Pass,
    /// The shadow is significantly worse by more than the margin.
    Fail,
    /// Not enough data for a verdict.
    Inconclusive,
}

/// One metric compared between live and shadow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricCheck {
    /// The resource kind.
    pub metric: String,
    /// Live's mean (error rate) or median (latency), `NaN` without data.
    pub live: f64,
    /// The shadow's mean (error rate) or median (latency), `NaN` without data.
    pub shadow: f64,
    /// Finite points (live, shadow).
    pub samples: (usize, usize),
    /// One-sided Mann–Whitney p-value of "shadow is larger"; `1.0` when not computed.
    pub p_value: f64,
    /// The verdict.
    pub outcome: Outcome,
}

impl fmt::Display for MetricCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?}: live {:.4} shadow {:.4} (n={}/{}, p={:.3})",
            self.metric, self.outcome, self.live, self.shadow, self.samples.0, self.samples.1, self.p_value
        )
    }
}

/// The verdict of one analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Every metric's check.
    pub checks: Vec<MetricCheck>,
}

impl Verdict {
    /// Whether no metric failed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.checks.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

/// The metric gate: a [`MetricSource`](shadow_core::MetricSource) and thresholds.
#[derive(Debug, Clone)]
pub struct Analysis {
    source: Arc<DynMetricSource>,
    config: AnalysisConfig,
    error_rate: ResourceKind,
    latency: ResourceKind,
}

impl Analysis {
    /// Validates the thresholds.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: a bad resource kind, a zero window or step, a threshold that is not
    /// finite and non-negative, a ratio below 1, or an `alpha` outside `(0, 1)`.
    pub fn new(source: Arc<DynMetricSource>, config: AnalysisConfig) -> Result<Self> {
        let bad = |field: &str, message: &str| Error::Config {
            field: format!("switch.analysis.{field}"),
            message: message.into(),
        };
        let kind = |field: &str, name: &str| {
            name.parse::<ResourceKind>()
                .map_err(|e| bad(field, &e.to_string()))
        };
        let error_rate = kind("error_rate", &config.error_rate)?;
        let latency = kind("latency_p99", &config.latency_p99)?;
        if config.window.is_zero() || config.step.is_zero() || config.step > config.window {
            return Err(bad(
                "step",
                "window and step must be positive, step at most window",
            ));
        }
        for (f, v) in [
            ("max_error_rate_increase", config.max_error_rate_increase),
            ("max_error_rate", config.max_error_rate),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(f, "must be a finite number >= 0"));
            }
        }
        if !(config.max_latency_ratio.is_finite() && config.max_latency_ratio >= 1.0) {
            return Err(bad("max_latency_ratio", "must be a finite number >= 1"));
        }
        if !(config.alpha > 0.0 && config.alpha < 1.0) {
            return Err(bad("alpha", "must be strictly between 0 and 1"));
        }
        if config.min_samples < 2 {
            return Err(bad("min_samples", "must be at least 2"));
        }
        Ok(Self {
            source,
            config,
            error_rate,
            latency,
        })
    }

    /// The thresholds.
    #[must_use]
    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// Fetches both metrics of both sides over `[now - min(window, max_window), now)` and judges them.
    ///
    /// # Errors
    /// [`Error::Analysis`] when a fetch fails (other than [`shadow_core::Error::NotFound`], which counts as no
    /// data): the gate cannot vouch for the shadow, so the caller rolls back.
    pub async fn judge(
        &self,
        service: &ServiceId,
        now: DateTime<Utc>,
        max_window: Duration,
    ) -> Result<Verdict> {
        let window = self.config.window.min(max_window).max(self.config.step);
        let start = now - to_delta(window).unwrap_or_default();
        let range = TimeRange::new(start, now).map_err(Error::Analysis)?;
        let mut checks = Vec::with_capacity(2);
        for (kind, is_error) in [(&self.error_rate, true), (&self.latency, false)] {
            let mut sides = Vec::with_capacity(2);
            for env in Environment::BOTH {
                let query = MetricQuery::new(service.clone(), kind.clone(), range, self.config.step)
                    .map_err(Error::Analysis)?
                    .in_environment(env);
                let values = match self.source.fetch(&query).await {
                    Ok(series) => series
                        .values()
                        .iter()
                        .copied()
                        .filter(|v| v.is_finite())
                        .collect(),
                    // A metric the source does not know has no data: inconclusive, like a gap.
                    Err(shadow_core::Error::NotFound { .. }) => Vec::new(),
                    Err(e) => return Err(Error::Analysis(e)),
                };
                sides.push(values);
            }
            checks.push(self.compare(kind.as_str(), &sides[0], &sides[1], is_error));
        }
        Ok(Verdict { checks })
    }

    /// Compares one metric's live and shadow samples.
    #[must_use]
    pub fn compare(&self, metric: &str, live: &[f64], shadow: &[f64], is_error_rate: bool) -> MetricCheck {
        let c = &self.config;
        let centre = |x: &[f64]| if is_error_rate { mean(x) } else { median(x) };
        let (l, s) = (centre(live), centre(shadow));
        let mut check = MetricCheck {
            metric: metric.to_string(),
            live: l,
            shadow: s,
            samples: (live.len(), shadow.len()),
            p_value: 1.0,
            outcome: Outcome::Inconclusive,
        };
        if is_error_rate && shadow.len() >= c.min_samples && s > c.max_error_rate {
            check.outcome = Outcome::Fail;
            return check;
        }
        if live.len() < c.min_samples || shadow.len() < c.min_samples {
            return check;
        }
        check.p_value = mann_whitney_greater(shadow, live);
        let worse = if is_error_rate {
            s - l > c.max_error_rate_increase
        } else {
            s > l * c.max_latency_ratio
        };
        check.outcome = if worse && check.p_value < c.alpha {
            Outcome::Fail
        } else {
            Outcome::Pass
        };
        check
    }
}

fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        f64::NAN
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The one-sided p-value of the Mann–Whitney U test that `a` tends to be larger than `b`: normal
/// approximation with tie correction and continuity correction (scipy's `mannwhitneyu(a, b,
/// alternative="greater", method="asymptotic")`). Returns 1 when either sample is empty or all values tie.
#[must_use]
pub fn mann_whitney_greater(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1..=j+1 share their average.
        let avg = (i + j + 2) as f64 / 2.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_a += avg * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (fa, fb, fnn) = (na as f64, nb as f64, n as f64);
    let u = rank_a - fa * (fa + 1.0) / 2.0;
    let mu = fa * fb / 2.0;
    let var = fa * fb / 12.0 * ((fnn + 1.0) - ties / (fnn * (fnn - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = (u - mu - 0.5) / var.sqrt();
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, by the Chebyshev fit of Press et al. (relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use shadow_core::memory::InMemoryMetricSource;

    use super::*;

    #[test]
    fn mann_whitney_matches_scipy() {
        // scipy.stats.mannwhitneyu([6,7,8,9,10], [1,2,3,4,5], alternative="greater", method="asymptotic")
        // -> pvalue 0.006093 (z = 2.5067), and 0.996692 with the samples swapped (z = -2.7156).
        let p = mann_whitney_greater(&[6., 7., 8., 9., 10.], &[1., 2., 3., 4., 5.]);
        assert!((p - 0.006_092).abs() < 2e-5, "{p}");
        let q = mann_whitney_greater(&[1., 2., 3., 4., 5.], &[6., 7., 8., 9., 10.]);
        assert!((q - 0.996_692).abs() < 2e-5, "{q}");
        assert_eq!(mann_whitney_greater(&[1.0; 4], &[1.0; 4]), 1.0);
        assert_eq!(mann_whitney_greater(&[], &[1.0]), 1.0);
        assert!((erfc(0.0) - 1.0).abs() < 1e-7 && (erfc(1.0) - 0.157_299_2).abs() < 1e-6);
    }

    fn analysis() -> Analysis {
        Analysis::new(Arc::new(InMemoryMetricSource::new()), AnalysisConfig::default()).unwrap()
    }

    #[test]
    fn judges_error_rate_and_latency() {
        let a = analysis();
        let live = [0.001, 0.002, 0.0, 0.001, 0.003, 0.002, 0.001, 0.0];
        let bad = [0.03, 0.04, 0.02, 0.035, 0.03, 0.045, 0.03, 0.04];
        assert_eq!(a.compare("error_rate", &live, &live, true).outcome, Outcome::Pass);
        let c = a.compare("error_rate", &live, &bad, true);
        assert_eq!(c.outcome, Outcome::Fail, "{c}");
        assert!(c.p_value < 0.01);
        // Above the absolute ceiling fails even without live data.
        assert_eq!(
            a.compare("error_rate", &[], &[0.2; 6], true).outcome,
            Outcome::Fail
        );
        assert_eq!(
            a.compare("error_rate", &[], &[0.01; 6], true).outcome,
            Outcome::Inconclusive
        );
        let slow_live = [0.010, 0.011, 0.012, 0.010, 0.013, 0.011];
        let slower = [0.030, 0.031, 0.029, 0.035, 0.030, 0.032];
        assert_eq!(
            a.compare("latency_p99", &slow_live, &slower, false).outcome,
            Outcome::Fail
        );
        // 10 % slower is within the 1.5x margin even though significant.
        let a_bit = slow_live.map(|v| v * 1.1 + 0.0001);
        assert_eq!(
            a.compare("latency_p99", &slow_live, &a_bit, false).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn validates_thresholds() {
        let src: Arc<DynMetricSource> = Arc::new(InMemoryMetricSource::new());
        let bad = AnalysisConfig {
            alpha: 1.5,
            ..AnalysisConfig::default()
        };
        let err = Analysis::new(src, bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid switch config at `switch.analysis.alpha`: must be strictly between 0 and 1"
        );
    }
}
