//! Seasonal mean: the average of the last `k` seasons at the same position, a smoother relative of the
//! seasonal naive forecast and one of the candidates of [`crate::auto`].
//!
//! The season is a week in steps when the history covers `k` weeks and the step divides a week, otherwise a
//! day when it covers `k` days, otherwise the model falls back to the mean of the last `k` values (and says
//! so). Gaps are skipped in each average. Quantiles are Gaussian with the standard deviation of the in-sample
//! errors of the same rule, growing with the square root of the number of seasons ahead. Event regressors
//! are handled by [`crate::effects::Effects`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use shadow_core::{Fit, FitInput, Forecast, Named, Predict, PredictRequest};

use crate::{
    effects::{Effects, apply_uplift, gaussian_quantiles},
    error::{Error, Result, check_series},
    periods,
};

/// The mean of the last `k` seasons. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeasonalMean {
    k: usize,
}

impl SeasonalMean {
    /// Averages the last `k` seasons (at least 1).
    #[must_use]
    pub fn new(k: usize) -> Self {
        Self { k: k.max(1) }
    }
}

impl Named for SeasonalMean {
    fn model_name(&self) -> &str {
        "seasonal-mean"
    }
}

/// A fitted [`SeasonalMean`].
#[derive(Debug, Clone)]
pub struct FittedSeasonalMean {
    profile: Vec<f64>,
    period: usize,
    sd: f64,
    effects: Effects,
    fallback: Option<String>,
    start: DateTime<Utc>,
    step: Duration,
}

impl FittedSeasonalMean {
    /// The season length in steps (1 after the fallback).
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }

    /// Why the model fell back to a simpler form, if it did.
    #[must_use]
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }
}

fn mean_back(y: &[f64], t: usize, m: usize, k: usize) -> Option<f64> {
    let (mut s, mut c) = (0.0, 0usize);
    for j in 1..=k {
        let Some(i) = t.checked_sub(j * m) else { break };
        if !y[i].is_nan() {
            s += y[i];
            c += 1;
        }
    }
    (c > 0).then(|| s / c as f64)
}

impl Fit for SeasonalMean {
    type Fitted = FittedSeasonalMean;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedSeasonalMean> {
        let series = input.series;
        let raw = series.values();
        check_series(raw, 2)?;
        let k = self.k;
        let candidates = periods::candidates(series.step());
        let period = candidates
            .iter()
            .rev()
            .copied()
            .find(|&m| raw.len() >= (k + 1) * m);
        let fallback = period.is_none().then(|| {
            format!(
                "history of {} points covers fewer than {} days; using the mean of the last {k} values",
                raw.len(),
                k + 1
            )
        });
        let m = period.unwrap_or(1);
        let effects = Effects::estimate(raw, input.regressors, &candidates)?;
        let y = effects.clean(raw, input.regressors);
        let n = y.len();
        let profile: Vec<f64> = (0..m)
            .map(|h| mean_back(&y, n + h, m, k).unwrap_or(f64::NAN))
            .collect();
        let last = y.iter().rev().copied().find(|v| !v.is_nan()).unwrap_or(0.0);
        let profile = profile
            .into_iter()
            .map(|v| if v.is_nan() { last } else { v })
            .collect();
        let errors: Vec<f64> = (k * m..n)
            .filter_map(|t| Some(y[t] - mean_back(&y, t, m, k)?))
            .filter(|e| e.is_finite())
            .collect();
        let sd = if errors.len() > 1 {
            (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt()
        } else {
            0.0
        };
        Ok(FittedSeasonalMean {
            profile,
            period: m,
            sd,
            effects,
            fallback,
            start: series.end(),
            step: series.step(),
        })
    }
}

impl Predict for FittedSeasonalMean {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        let uplift = self.effects.uplift(request)?;
        out.reset(self.start, self.step, request.horizon, request.levels)?;
        let m = self.period;
        for (h, p) in out.point_mut().iter_mut().enumerate() {
            *p = self.profile[h % m];
        }
        let sd: Vec<f64> = (0..request.horizon)
            .map(|h| self.sd * ((h / m + 1) as f64).sqrt())
            .collect();
        gaussian_quantiles(out, &sd);
        apply_uplift(out, &uplift);
        out.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shadow_core::Quantile;

    use super::*;
    use crate::test_support::hourly;

    #[test]
    fn averages_the_last_weeks_and_skips_gaps() {
        // Three weeks: the hour-of-week value is 10, 20, 30 in weeks 1, 2, 3.
        let mut y: Vec<f64> = (0..3 * 168).map(|t| 10.0 * (t / 168 + 1) as f64).collect();
        y[2 * 168 + 5] = f64::NAN;
        let fitted = SeasonalMean::new(2).fit(&FitInput::new(&hourly(y))).unwrap();
        assert_eq!(fitted.period(), 168);
        let lv = [Quantile::try_new(0.1).unwrap(), Quantile::try_new(0.9).unwrap()];
        let f = fitted.predict(&PredictRequest::new(170, &lv)).unwrap();
        assert_eq!(f.point()[0], 25.0);
        assert_eq!(f.point()[5], 20.0); // week 3 missing at this hour: week 2 alone
        assert_eq!(f.point()[168], 25.0);
        assert!(f.quantile_paths()[0][0] < f.quantile_paths()[1][0]);
    }

    #[test]
    fn short_history_falls_back_and_says_so() {
        let fitted = SeasonalMean::new(3)
            .fit(&FitInput::new(&hourly(vec![1.0, 2.0, 3.0, 6.0])))
            .unwrap();
        assert_eq!(fitted.period(), 1);
        assert!(fitted.fallback().unwrap().contains("fewer than 4 days"));
        let f = fitted.predict(&PredictRequest::new(2, &[])).unwrap();
        assert_eq!(f.point(), &[11.0 / 3.0, 11.0 / 3.0]);
    }
}
