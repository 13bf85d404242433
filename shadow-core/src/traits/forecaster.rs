//! The forecasting traits: a typestate pair [`Fit`]/[`Predict`] for generic code, and the object-safe
//! [`Forecaster`]/[`FittedModel`] pair for models chosen from config.
//!
//! Forecasting is CPU-bound and synchronous. Async callers run it under `tokio::task::spawn_blocking`.

use std::fmt::Debug;

use crate::{
    error::{BoxError, Error, Result},
    forecast::{Forecast, Regressors},
    quantity::Quantile,
    series::TimeSeries,
};

/// What a model is fitted on: the history and, optionally, regressors aligned with it.
#[derive(Debug, Clone, Copy)]
pub struct FitInput<'a> {
    /// The history. `NaN` marks a missing observation.
    pub series: &'a TimeSeries,
    /// Regressors with one row per grid point of `series`, or empty.
    pub regressors: &'a Regressors,
}

impl<'a> FitInput<'a> {
    /// A fit input with no regressors.
    #[must_use]
    pub fn new(series: &'a TimeSeries) -> Self {
        static EMPTY: Regressors = Regressors::empty_const();
        Self {
            series,
            regressors: &EMPTY,
        }
    }

    /// Adds regressors.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the regressors do not have one row per grid point.
    pub fn with_regressors(mut self, regressors: &'a Regressors) -> Result<Self> {
        if !regressors.is_empty() && regressors.rows() != self.series.len() {
            return Err(Error::invalid(
                "regressors",
                format!(
                    "{} rows for a series of {} points",
                    regressors.rows(),
                    self.series.len()
                ),
            ));
        }
        self.regressors = regressors;
        Ok(self)
    }
}

/// What to predict: how many steps, which quantiles, and the future values of the regressors.
#[derive(Debug, Clone, Copy)]
pub struct PredictRequest<'a> {
    /// Number of steps after the end of the history.
    pub horizon: usize,
    /// Quantile levels to produce. May be empty.
    pub levels: &'a [Quantile],
    /// Future regressors with `horizon` rows and the same columns as at fit time, or empty.
    pub regressors: &'a Regressors,
}

impl<'a> PredictRequest<'a> {
    /// A request with no regressors.
    #[must_use]
    pub fn new(horizon: usize, levels: &'a [Quantile]) -> Self {
        static EMPTY: Regressors = Regressors::empty_const();
        Self {
            horizon,
            levels,
            regressors: &EMPTY,
        }
    }

    /// Adds future regressors.
    #[must_use]
    pub fn with_regressors(mut self, regressors: &'a Regressors) -> Self {
        self.regressors = regressors;
        self
    }
}

/// A model specification that can be fitted to data.
///
/// # Contract
/// `fit` never panics on bad input: too-short series, gaps and non-finite values give a typed error or a
/// documented fallback.
pub trait Fit {
    /// The fitted model.
    type Fitted: Predict;
    /// The model's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Fits the model.
    ///
    /// # Errors
    /// Model-specific: not enough data, a failed optimisation, inconsistent regressors.
    fn fit(&self, input: &FitInput<'_>) -> Result<Self::Fitted, Self::Error>;
}

/// A fitted model that produces forecasts.
pub trait Predict {
    /// The model's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Writes the forecast for `request` into `out`, reusing its buffers.
    ///
    /// # Errors
    /// Model-specific, for example regressors missing for the horizon.
    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<(), Self::Error>;

    /// Returns the forecast for `request`.
    ///
    /// # Errors
    /// As [`Predict::predict_inplace`].
    fn predict(&self, request: &PredictRequest<'_>) -> Result<Forecast, Self::Error> {
        let mut out = Forecast::empty();
        self.predict_inplace(request, &mut out)?;
        Ok(out)
    }
}

/// An object-safe forecaster, so the model can be chosen from config at run time.
///
/// Every [`Fit`] whose fitted model is `Send + Sync` implements it through a blanket impl.
pub trait Forecaster: Debug + Send + Sync {
    /// A short name of the model, for reports and errors.
    fn name(&self) -> &str;

    /// Fits the model and returns the fitted model behind a box.
    ///
    /// # Errors
    /// [`Error::Model`] wrapping the model's own error.
    fn fit_boxed(&self, input: &FitInput<'_>) -> Result<Box<dyn FittedModel>>;
}

/// An object-safe fitted model.
pub trait FittedModel: Debug + Send + Sync {
    /// Forecasts `request.horizon` steps ahead.
    ///
    /// # Errors
    /// [`Error::Model`] wrapping the model's own error.
    fn predict_boxed(&self, request: &PredictRequest<'_>) -> Result<Forecast>;
}

/// A model that has a name, for the blanket [`Forecaster`] impl.
pub trait Named {
    /// The model's name.
    fn model_name(&self) -> &str;
}

impl<T> Forecaster for T
where
    T: Fit + Named + Debug + Send + Sync,
    T::Fitted: Debug + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.model_name()
    }

    fn fit_boxed(&self, input: &FitInput<'_>) -> Result<Box<dyn FittedModel>> {
        let fitted = self.fit(input).map_err(|e| model_error(self.model_name(), e))?;
        Ok(Box::new(Named2 {
            name: self.model_name().to_string(),
            inner: fitted,
        }))
    }
}

/// Pairs a fitted model with its name so that errors can say which model failed.
#[derive(Debug)]
struct Named2<F> {
    name: String,
    inner: F,
}

impl<F> FittedModel for Named2<F>
where
    F: Predict + Debug + Send + Sync,
{
    fn predict_boxed(&self, request: &PredictRequest<'_>) -> Result<Forecast> {
        self.inner
            .predict(request)
            .map_err(|e| model_error(&self.name, e))
    }
}

impl<T: FittedModel + ?Sized> FittedModel for Box<T> {
    fn predict_boxed(&self, request: &PredictRequest<'_>) -> Result<Forecast> {
        (**self).predict_boxed(request)
    }
}

fn model_error(name: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    // Keep typed core errors typed (a model may return shadow_core::Error directly).
    let boxed: BoxError = Box::new(e);
    match boxed.downcast::<Error>() {
        Ok(core) => *core,
        Err(source) => Error::Model {
            model: name.to_string(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Forecaster, _: Box<dyn FittedModel>) {}

    #[allow(dead_code)]
    fn assert_send_sync<T: Send + Sync>() {}

    #[allow(dead_code)]
    fn _send() {
        assert_send_sync::<Box<dyn Forecaster>>();
        assert_send_sync::<Box<dyn FittedModel>>();
    }
}
