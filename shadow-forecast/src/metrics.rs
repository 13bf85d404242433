//! Forecast accuracy and calibration metrics, as the M4 competition defines them.
//!
//! Every function is pure and skips missing actuals (`NaN`). Definitions follow the organisers'
//! `Benchmarks and Evaluation.R` (M4-methods repository):
//!
//! - [`smape`]: `mean 200·|y − ŷ| / (|y| + |ŷ|)`, in percent; a term with `y = ŷ = 0` counts 0.
//! - [`mase`]: `mean |y − ŷ|` divided by [`seasonal_naive_scale`], the in-sample mean `|x_t − x_{t−m}|` of the
//!   training data.
//! - [`owa`]: `½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2)` on the aggregate (mean over series) values.
//! - [`naive2`]: the naive forecast of the classically, multiplicatively deseasonalised series, re-seasonalised;
//!   the series is deseasonalised only when [`seasonality_test`] (90 % one-sided ACF test at lag `m`) passes.
//! - [`pinball`] and [`coverage`]: quantile loss and the share of actuals inside an interval.
//!
//! ```
//! use shadow_forecast::metrics::{mase, seasonal_naive_scale, smape};
//!
//! let train = [1.0, 2.0, 4.0, 7.0];
//! let scale = seasonal_naive_scale(&train, 1).unwrap(); // mean of 1, 2, 3
//! assert_eq!(scale, 2.0);
//! assert_eq!(mase(&[10.0], &[12.0], scale), Some(1.0));
//! assert!((smape(&[100.0], &[110.0]).unwrap() - 2000.0 / 210.0).abs() < 1e-12);
//! ```

/// The critical value of the M4 seasonality test (one-sided 90 %).
pub const SEASONALITY_TCRIT: f64 = 1.645;

/// Mean sMAPE in percent over the present actuals; `None` when no actual is present.
///
/// # Panics
/// Never; `forecast` shorter than `actual` only scores the common prefix.
#[must_use]
pub fn smape(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    mean_over(actual, forecast, smape_term)
}

/// One sMAPE term in percent: `200·|y − ŷ|/(|y| + |ŷ|)`, 0 when both are 0.
#[must_use]
pub fn smape_term(y: f64, yhat: f64) -> f64 {
    let denom = y.abs() + yhat.abs();
    if denom == 0.0 {
        0.0
    } else {
        200.0 * (y - yhat).abs() / denom
    }
}

/// The MASE denominator: the in-sample mean of `|x_t − x_{t−lag}|` over pairs with both values present.
///
/// `None` when there is no such pair or the mean is zero (a flat series), so that it cannot scale anything.
#[must_use]
pub fn seasonal_naive_scale(train: &[f64], lag: usize) -> Option<f64> {
    let lag = lag.max(1);
    let (mut sum, mut n) = (0.0, 0usize);
    for t in lag..train.len() {
        let d = (train[t] - train[t - lag]).abs();
        if !d.is_nan() {
            sum += d;
            n += 1;
        }
    }
    let mae = sum / n as f64;
    (n > 0 && mae > 0.0 && mae.is_finite()).then_some(mae)
}

/// Mean absolute error over present actuals divided by `scale` (see [`seasonal_naive_scale`]).
#[must_use]
pub fn mase(actual: &[f64], forecast: &[f64], scale: f64) -> Option<f64> {
    mean_over(actual, forecast, |y, f| (y - f).abs()).map(|mae| mae / scale)
}

/// The pinball (quantile) loss of quantile value `q` at level `tau` for the actual `y`.
#[must_use]
pub fn pinball(y: f64, q: f64, tau: f64) -> f64 {
    if y >= q {
        tau * (y - q)
    } else {
        (1.0 - tau) * (q - y)
    }
}

/// Mean pinball loss of one quantile path over the present actuals.
#[must_use]
pub fn pinball_loss(actual: &[f64], path: &[f64], tau: f64) -> Option<f64> {
    mean_over(actual, path, |y, q| pinball(y, q, tau))
}

/// The share of present actuals inside `[lower, upper]` (bounds inclusive).
#[must_use]
pub fn coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> Option<f64> {
    let (mut inside, mut n) = (0usize, 0usize);
    for ((&y, &lo), &hi) in actual.iter().zip(lower).zip(upper) {
        if !y.is_nan() {
            n += 1;
            inside += usize::from(lo <= y && y <= hi);
        }
    }
    (n > 0).then(|| inside as f64 / n as f64)
}

/// The overall weighted average: `½ (smape / smape_naive2 + mase / mase_naive2)`.
///
/// `None` when a Naive2 figure is zero or not finite.
#[must_use]
pub fn owa(smape: f64, mase: f64, smape_naive2: f64, mase_naive2: f64) -> Option<f64> {
    let ok = |v: f64| v.is_finite() && v > 0.0;
    (ok(smape_naive2) && ok(mase_naive2)).then(|| 0.5 * (smape / smape_naive2 + mase / mase_naive2))
}

/// The sample autocorrelation at lags `1..=max_lag` (as R's `acf`: mean-centred, divided by the lag-0 sum).
///
/// Missing values are skipped pairwise. Returns zeros when the series has no variance.
#[must_use]
pub fn acf(y: &[f64], max_lag: usize) -> Vec<f64> {
    let present: Vec<f64> = y.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = present.len();
    if n == 0 {
        return vec![0.0; max_lag];
    }
    let mean = present.iter().sum::<f64>() / n as f64;
    let c0: f64 = present.iter().map(|v| (v - mean).powi(2)).sum();
    if c0 <= 0.0 || !c0.is_finite() {
        return vec![0.0; max_lag];
    }
    (1..=max_lag)
        .map(|k| {
            let ck: f64 = (k..y.len())
                .map(|t| (y[t] - mean) * (y[t - k] - mean))
                .filter(|v| !v.is_nan())
                .sum();
            ck / c0
        })
        .collect()
}

/// The M4 seasonality test: is the autocorrelation at lag `period` significant at 90 %?
///
/// With `r_k` the autocorrelations, the limit is `1.645/√n · √(1 + 2 Σ_{k<m} r_k²)` (Bartlett's formula);
/// a series shorter than three periods, or with `period < 2`, is never seasonal.
#[must_use]
pub fn seasonality_test(y: &[f64], period: usize) -> bool {
    if period < 2 || y.len() < 3 * period {
        return false;
    }
    let r = acf(y, period);
    let sum_sq: f64 = r[..period - 1].iter().map(|v| v * v).sum();
    let limit = SEASONALITY_TCRIT / (y.len() as f64).sqrt() * (1.0 + 2.0 * sum_sq).sqrt();
    r[period - 1].abs() > limit
}

/// The seasonal indices of a classical multiplicative decomposition (as R's `decompose(type =
/// "multiplicative")`): the ratio of the series to its centred moving average of order `period` (`2×m` for an
/// even `m`), averaged per position in the season and normalised to mean 1.
///
/// `indices[i]` belongs to the positions `t ≡ i (mod period)`, counting `t` from the first value. `None` when a
/// position has no ratio (too short a series, gaps everywhere) or an index is not positive and finite.
#[must_use]
pub fn multiplicative_seasonal_indices(y: &[f64], period: usize) -> Option<Vec<f64>> {
    let n = y.len();
    if period < 2 || n < 2 * period {
        return None;
    }
    let half = period / 2;
    let even = period % 2 == 0;
    let mut sums = vec![0.0; period];
    let mut counts = vec![0usize; period];
    for t in half..n.saturating_sub(half) {
        let trend = if even {
            let inner: f64 = y[t + 1 - half..t + half].iter().sum();
            (0.5 * y[t - half] + inner + 0.5 * y[t + half]) / period as f64
        } else {
            y[t - half..=t + half].iter().sum::<f64>() / period as f64
        };
        let ratio = y[t] / trend;
        if ratio.is_finite() {
            sums[t % period] += ratio;
            counts[t % period] += 1;
        }
    }
    if counts.contains(&0) {
        return None;
    }
    let figure: Vec<f64> = sums.iter().zip(&counts).map(|(s, &c)| s / c as f64).collect();
    let mean = figure.iter().sum::<f64>() / period as f64;
    let indices: Vec<f64> = figure.iter().map(|f| f / mean).collect();
    indices
        .iter()
        .all(|v| v.is_finite() && *v > 0.0)
        .then_some(indices)
}

/// The M4 Naive2 benchmark forecast of `horizon` steps after `train`.
///
/// When [`seasonality_test`] passes at `period` and the decomposition exists, the series is divided by its
/// [`multiplicative_seasonal_indices`], the last present value is repeated, and the forecast is multiplied by
/// the indices of the future positions. Otherwise it is the plain naive forecast (the last present value).
/// `None` when `train` has no present value.
#[must_use]
pub fn naive2(train: &[f64], period: usize, horizon: usize) -> Option<Vec<f64>> {
    let n = train.len();
    let indices = seasonality_test(train, period)
        .then(|| multiplicative_seasonal_indices(train, period))
        .flatten();
    let (last_t, last) = train.iter().enumerate().rev().find(|(_, v)| !v.is_nan())?;
    Some(match indices {
        Some(idx) => {
            let level = last / idx[last_t % period];
            (0..horizon).map(|h| level * idx[(n + h) % period]).collect()
        }
        None => vec![*last; horizon],
    })
}

fn mean_over(actual: &[f64], other: &[f64], f: impl Fn(f64, f64) -> f64) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for (&y, &x) in actual.iter().zip(other) {
        if !y.is_nan() {
            sum += f(y, x);
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + b.abs())
    }

    #[test]
    fn point_metrics_by_hand() {
        assert!(close(pinball(10.0, 8.0, 0.9), 1.8));
        assert!(close(pinball(10.0, 12.0, 0.9), 0.2));
        assert!(close(smape_term(0.0, 3.0), 200.0));
        assert_eq!(smape_term(0.0, 0.0), 0.0);
        let y = [10.0, f64::NAN, 20.0];
        let f = [12.0, 5.0, 15.0];
        assert!(close(
            smape(&y, &f).unwrap(),
            (400.0 / 22.0 + 1000.0 / 35.0) / 2.0
        ));
        assert!(close(mase(&y, &f, 2.0).unwrap(), 1.75));
        assert_eq!(smape(&[f64::NAN], &[1.0]), None);
        assert_eq!(coverage(&y, &[9.0, 0.0, 21.0], &[13.0, 9.0, 25.0]), Some(0.5));
        assert!(close(owa(10.0, 1.0, 20.0, 2.0).unwrap(), 0.5));
        assert_eq!(owa(10.0, 1.0, 0.0, 2.0), None);
    }

    #[test]
    fn scale_skips_gaps_and_flat_series() {
        let y = [1.0, 2.0, 4.0, 7.0];
        assert_eq!(seasonal_naive_scale(&y, 1), Some(2.0));
        assert_eq!(seasonal_naive_scale(&y, 2), Some(4.0));
        assert_eq!(seasonal_naive_scale(&[1.0, f64::NAN, 4.0, 7.0], 1), Some(3.0));
        assert_eq!(seasonal_naive_scale(&y, 4), None);
        assert_eq!(seasonal_naive_scale(&[3.0; 5], 1), None);
    }

    #[test]
    fn acf_by_hand() {
        // By hand: mean 3.5, deviations −2.5 −0.5 −1.5 1.5 0.5 2.5, c0 = 17.5, c1 = 1.75, c2 = 6
        // (R's acf(c(1, 3, 2, 5, 4, 6)) gives 0.1 and 0.343).
        let r = acf(&[1.0, 3.0, 2.0, 5.0, 4.0, 6.0], 2);
        assert!(close(r[0], 0.1), "{r:?}");
        assert!(close(r[1], 6.0 / 17.5), "{r:?}");
    }

    fn seasonal_series(n: usize, m: usize) -> Vec<f64> {
        let shape = |i: usize| 1.0 + 0.5 * (2.0 * std::f64::consts::PI * (i % m) as f64 / m as f64).sin();
        (0..n)
            .map(|i| (100.0 + 0.1 * i as f64) * shape(i) * (1.0 + 0.01 * ((i * 7919) % 13) as f64 / 13.0))
            .collect()
    }

    #[test]
    fn naive2_reseasonalises_a_seasonal_series() {
        let y = seasonal_series(24 * 20, 24);
        assert!(seasonality_test(&y, 24));
        let idx = multiplicative_seasonal_indices(&y, 24).unwrap();
        assert!(close(idx.iter().sum::<f64>(), 24.0));
        // The peak of the sine is at position 6, the trough at 18.
        assert!(idx[6] > 1.4 && idx[18] < 0.6, "{idx:?}");
        let f = naive2(&y, 24, 48).unwrap();
        assert_eq!(f.len(), 48);
        // One season ahead it is close to the last season (the trend is slow).
        for h in 0..24 {
            let last = y[y.len() - 24 + h];
            assert!((f[h] - last).abs() / last < 0.05, "h={h}: {} vs {last}", f[h]);
        }
        // Non-seasonal noise: the plain naive forecast.
        let noise: Vec<f64> = (0..200).map(|i| 50.0 + ((i * 7919) % 17) as f64).collect();
        assert!(!seasonality_test(&noise, 24));
        assert_eq!(naive2(&noise, 24, 3).unwrap(), vec![noise[199]; 3]);
        // Too short for the test.
        assert!(!seasonality_test(&y[..70], 24));
        assert_eq!(naive2(&[f64::NAN], 24, 2), None);
    }
}
