//! Fitting and warm-start refitting many series in parallel with rayon.

use rayon::prelude::*;
use shadow_core::{Fit, FitInput};

use super::FittedArima;
use crate::error::{Error, Result};

/// Fits `model` to every input in parallel on the rayon thread pool. The results keep the order of `inputs`; one
/// failing series does not stop the others.
///
/// ```
/// use std::time::Duration;
/// use chrono::{TimeZone, Utc};
/// use shadow_core::{FitInput, TimeSeries};
/// use shadow_forecast::arima::{batch::fit_batch, Arima, Order};
///
/// let series: Vec<TimeSeries> = (0..4)
///     .map(|k| {
///         let v = (0..100).map(|i| ((i * (k + 3)) % 7) as f64).collect();
///         TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(60), v).unwrap()
///     })
///     .collect();
/// let inputs: Vec<FitInput<'_>> = series.iter().map(FitInput::new).collect();
/// let model = Arima::builder().order(Order::new(1, 0, 0)).build().unwrap();
/// let fitted = fit_batch(&model, &inputs);
/// assert_eq!(fitted.len(), 4);
/// assert!(fitted.iter().all(Result::is_ok));
/// ```
pub fn fit_batch<M>(model: &M, inputs: &[FitInput<'_>]) -> Vec<std::result::Result<M::Fitted, M::Error>>
where
    M: Fit + Sync,
    M::Fitted: Send,
{
    inputs.par_iter().map(|input| model.fit(input)).collect()
}

/// Refits many series in parallel, each warm-started from its previous fit (`previous[i]` for `inputs[i]`).
///
/// # Errors
/// Each element carries its own error; [`Error::InvalidParameter`] when the slices differ in length.
pub fn refit_batch(previous: &[FittedArima], inputs: &[FitInput<'_>]) -> Result<Vec<Result<FittedArima>>> {
    if previous.len() != inputs.len() {
        return Err(Error::InvalidParameter {
            name: "inputs",
            message: format!("{} previous fits for {} inputs", previous.len(), inputs.len()),
        });
    }
    Ok(previous
        .par_iter()
        .zip(inputs.par_iter())
        .map(|(fit, input)| fit.refit(input))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};
    use shadow_core::TimeSeries;

    use super::*;
    use crate::arima::{Arima, Order};

    #[test]
    fn refits_in_parallel_from_previous_parameters() {
        let series: Vec<TimeSeries> = (0..6u32)
            .map(|k| {
                let v = (0..150u32)
                    .map(|i| f64::from((i * (k + 5) + i * i) % 13) + 0.05 * f64::from(i))
                    .collect();
                TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(60), v).unwrap()
            })
            .collect();
        let inputs: Vec<FitInput<'_>> = series.iter().map(FitInput::new).collect();
        let model = Arima::builder().order(Order::new(1, 1, 1)).build().unwrap();
        let first: Vec<FittedArima> = fit_batch(&model, &inputs)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let again = refit_batch(&first, &inputs).unwrap();
        for (a, b) in first.iter().zip(again) {
            let b = b.unwrap();
            assert!(b.log_likelihood() >= a.log_likelihood() - 1e-6 * a.log_likelihood().abs());
        }
        assert!(refit_batch(&first[..2], &inputs).is_err());
    }
}
