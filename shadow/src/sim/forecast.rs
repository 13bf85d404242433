//! The forecaster in the loop: refit on a cadence over a trailing window, and read off the prediction one
//! lead time ahead at every step.

use chrono::Utc;
use shadow_core::{FitInput, Forecaster, PredictRequest, Result, TimeSeries};

/// The forecasts the simulated controller had at each step.
#[derive(Debug, Clone)]
pub(crate) struct ForecastTrack {
    /// `ahead[i]`: the point forecast for step `i + lead`, from the last refit at or before step `i`.
    pub(crate) ahead: Vec<Option<f64>>,
    /// Refits that failed (the policies then run without a forecast until the next refit).
    pub(crate) failures: usize,
    /// Refits done.
    pub(crate) refits: usize,
}

/// Replays the refits of `model` over `demand`: every `refit` steps from `first` on, fit on the last `window`
/// steps and predict far enough to cover the next refit plus `lead`.
pub(crate) fn track(
    model: &dyn Forecaster,
    demand: &TimeSeries,
    first: usize,
    refit: usize,
    window: usize,
    lead: usize,
) -> Result<ForecastTrack> {
    let n = demand.len();
    let mut ahead = vec![None; n];
    let (mut failures, mut refits) = (0, 0);
    let horizon = refit + lead + 1;
    let mut at = first.max(1);
    while at < n {
        let from = at.saturating_sub(window);
        let history = TimeSeries::new(
            demand.time_at(from),
            demand.step(),
            demand.values()[from..at].to_vec(),
        )?;
        refits += 1;
        let path = model
            .fit_boxed(&FitInput::new(&history))
            .and_then(|m| m.predict_boxed(&PredictRequest::new(horizon, &[])));
        match path {
            Ok(f) => {
                // The forecast starts at the step after the history: `at`.
                let p = f.point();
                let end = (at + refit).min(n);
                for (k, slot) in ahead[at..end].iter_mut().enumerate() {
                    *slot = p.get(k + lead).copied().filter(|v| v.is_finite());
                }
            }
            Err(e) => {
                failures += 1;
                tracing::debug!(at = %demand.time_at(at).with_timezone(&Utc), error = %e, "refit failed");
            }
        }
        at += refit;
    }
    Ok(ForecastTrack {
        ahead,
        failures,
        refits,
    })
}
