//! [`MeanForecaster`]: a deterministic fake model for tests of everything around forecasting.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    error::{Error, Result},
    forecast::Forecast,
    traits::forecaster::{Fit, FitInput, Named, Predict, PredictRequest},
};

/// A model that forecasts the mean of the history, flat, with quantiles from the history's empirical
/// distribution.
///
/// It gets [`Forecaster`](crate::Forecaster) through the blanket impl, so it can stand in for any model chosen
/// from config.
///
/// # Contract
/// - `fit` ignores `NaN` (missing) values and the regressors.
/// - The point forecast is the mean of the present values at every step of the horizon.
/// - Quantile `p` is the empirical quantile of the present values with linear interpolation between order
///   statistics (R's type 7), the same at every step. Quantiles are finite and non-decreasing in the level.
/// - The forecast starts at `series.end()` and has the series' step.
///
/// # Errors
/// - `fit`: [`Error::NotEnoughData`] when the series has no present value.
/// - `predict`: [`Error::InvalidInput`] when the requested levels are not strictly increasing.
///
/// ```
/// use std::time::Duration;
/// use chrono::{TimeZone, Utc};
/// use shadow_core::{memory::MeanForecaster, *};
///
/// let t0 = Utc.timestamp_opt(0, 0).unwrap();
/// let history = TimeSeries::new(t0, Duration::from_secs(60), vec![1.0, f64::NAN, 2.0, 3.0, 4.0])?;
/// let model: Box<dyn Forecaster> = Box::new(MeanForecaster);
/// let fitted = model.fit_boxed(&FitInput::new(&history))?;
/// let levels = [Quantile::try_new(0.5)?, Quantile::try_new(0.9)?];
/// let fc = fitted.predict_boxed(&PredictRequest::new(3, &levels))?;
/// assert_eq!(fc.point(), &[2.5, 2.5, 2.5]);
/// assert!((fc.quantile(levels[1]).unwrap()[0] - 3.7).abs() < 1e-12);
/// assert_eq!(fc.start(), history.end());
/// # Ok::<_, Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeanForecaster;

impl MeanForecaster {
    /// The model's name, as [`Named::model_name`] and [`Forecaster::name`](crate::Forecaster::name) report it.
    pub const NAME: &'static str = "mean";
}

impl Named for MeanForecaster {
    fn model_name(&self) -> &str {
        Self::NAME
    }
}

impl Fit for MeanForecaster {
    type Fitted = FittedMean;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedMean> {
        let series = input.series;
        let mut sorted: Vec<f64> = series.values().iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return Err(Error::NotEnoughData { need: 1, got: 0 });
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mut mean = sorted.iter().sum::<f64>() / n;
        if !mean.is_finite() {
            // The sum overflowed; dividing first keeps every term and the total finite.
            mean = sorted.iter().map(|v| v / n).sum();
        }
        Ok(FittedMean {
            start: series.end(),
            step: series.step(),
            mean,
            sorted,
        })
    }
}

/// A fitted [`MeanForecaster`]: the mean and the sorted present values of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedMean {
    start: DateTime<Utc>,
    step: Duration,
    mean: f64,
    sorted: Vec<f64>,
}

impl FittedMean {
    /// The mean of the present values of the history.
    #[must_use]
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The empirical quantile at `p` in `[0, 1]`, with linear interpolation (R's type 7).
    #[must_use]
    pub fn empirical_quantile(&self, p: f64) -> f64 {
        let x = &self.sorted;
        let h = (x.len() - 1) as f64 * p.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(x.len() - 1);
        let w = h - lo as f64;
        // A convex combination, so it stays finite even when x[hi] - x[lo] would overflow.
        x[lo] * (1.0 - w) + x[hi] * w
    }
}

impl Predict for FittedMean {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        out.reset(self.start, self.step, request.horizon, request.levels)?;
        out.point_mut().fill(self.mean);
        let mut previous = f64::NEG_INFINITY;
        for (path, level) in out.quantile_paths_mut().iter_mut().zip(request.levels) {
            // Levels are strictly increasing (checked by reset); the running max guards against rounding.
            let value = self.empirical_quantile(level.get()).max(previous);
            previous = value;
            path.fill(value);
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{quantity::Quantile, series::TimeSeries, traits::forecaster::Forecaster};

    fn series(values: Vec<f64>) -> TimeSeries {
        TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(60), values).unwrap()
    }

    fn q(p: f64) -> Quantile {
        Quantile::try_new(p).unwrap()
    }

    #[test]
    fn all_missing_is_not_enough_data_even_through_the_boxed_twin() {
        let empty = series(vec![f64::NAN; 4]);
        let err = MeanForecaster.fit(&FitInput::new(&empty)).unwrap_err();
        assert!(matches!(err, Error::NotEnoughData { need: 1, got: 0 }));
        let err = MeanForecaster.fit_boxed(&FitInput::new(&empty)).unwrap_err();
        assert!(matches!(err, Error::NotEnoughData { .. }), "{err}");
        assert_eq!(Forecaster::name(&MeanForecaster), "mean");
    }

    #[test]
    fn quantiles_are_monotone_and_finite_at_the_extremes() {
        let fitted = MeanForecaster
            .fit(&FitInput::new(&series(vec![f64::MAX, -f64::MAX, f64::MAX])))
            .unwrap();
        assert!(fitted.mean().is_finite());
        let levels = [q(0.01), q(0.3), q(0.5), q(0.99)];
        let fc = fitted.predict(&PredictRequest::new(2, &levels)).unwrap();
        assert_eq!(fc.levels(), &levels);
        assert!(fc.quantile_paths().iter().flatten().all(|v| v.is_finite()));
        assert!(fc.quantile_paths().windows(2).all(|w| w[0][0] <= w[1][0]));

        let fitted = MeanForecaster.fit(&FitInput::new(&series(vec![7.0]))).unwrap();
        assert_eq!(fitted.empirical_quantile(0.0), 7.0);
        assert_eq!(fitted.empirical_quantile(1.0), 7.0);
        let unsorted = [q(0.9), q(0.1)];
        assert!(fitted.predict(&PredictRequest::new(1, &unsorted)).is_err());
    }

    #[test]
    fn reuses_the_output_buffers() {
        let fitted = MeanForecaster
            .fit(&FitInput::new(&series(vec![1.0, 2.0, 3.0, 4.0, 5.0])))
            .unwrap();
        let mut out = Forecast::empty();
        fitted
            .predict_inplace(&PredictRequest::new(4, &[q(0.25), q(0.75)]), &mut out)
            .unwrap();
        assert_eq!(out.quantile(q(0.25)).unwrap(), &[2.0; 4]);
        fitted
            .predict_inplace(&PredictRequest::new(1, &[]), &mut out)
            .unwrap();
        assert_eq!(out.horizon(), 1);
        assert!(out.levels().is_empty() && out.quantile_paths().is_empty());
        assert_eq!(out.point(), &[3.0]);
    }
}
