//! What the controller keeps between cycles per service, and the forecasting work of one service: a full
//! refit or a cheap update from the stored fitted model (see [`super::Controller`], "Cheap updates").

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use shadow_core::{
    Error, Event, FitInput, FittedModel, Forecast, Forecaster, PredictRequest, Quantile, Regressors,
    ResourceKind, Result, Sample, TimeSeries, planner::online::OnlinePolicy, series::to_delta,
};

/// What the controller remembers about one service between cycles.
#[derive(Debug, Clone, Default)]
pub(super) struct ServiceMemory {
    /// The fitted model per resource.
    pub(super) models: BTreeMap<ResourceKind, FitState>,
    /// The newest present observation per resource.
    pub(super) observed: BTreeMap<ResourceKind, Sample>,
    /// The last plan that was computed from a good forecast: (step time, required replicas).
    pub(super) last_plan: Option<Vec<(DateTime<Utc>, u32)>>,
    /// The newest present observations per resource (at most a day of steps): what the calibrated policy
    /// steps through when cycles are further apart than the step.
    pub(super) fresh: BTreeMap<ResourceKind, Vec<Sample>>,
    /// The calibrated policy's state (services in `mode = "calibrated"`).
    pub(super) online: Option<OnlineState>,
}

/// The calibrated policy of one service between cycles.
#[derive(Debug, Clone)]
pub(super) struct OnlineState {
    pub(super) policy: OnlinePolicy,
    /// The newest grid point stepped through.
    pub(super) last: Option<DateTime<Utc>>,
    /// The previous cycle's point forecast per resource: (its first step, the path).
    pub(super) curve: BTreeMap<ResourceKind, (DateTime<Utc>, Vec<f64>)>,
}

/// A fitted model and where its history ended.
#[derive(Debug, Clone)]
pub(super) struct FitState {
    model: Arc<dyn FittedModel>,
    /// The end of the fit-time history, which is where its forecasts start.
    end: DateTime<Utc>,
    /// When (controller clock) it was fitted.
    fitted_at: DateTime<Utc>,
}

impl FitState {
    /// How many steps the grid moved since the fit, when the model may be reused for a window ending at
    /// `end`: not older than `refit_interval`, and moved forward by at most `max_shift` whole steps.
    pub(super) fn reusable(
        &self,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
        step: Duration,
        refit_interval: Duration,
        max_shift: usize,
    ) -> Option<usize> {
        let age = (now - self.fitted_at).to_std().ok()?;
        if age >= refit_interval {
            return None;
        }
        let moved = (end - self.end).num_milliseconds();
        let step_ms = step.as_millis() as i64;
        if moved < 0 || moved % step_ms != 0 {
            return None;
        }
        let shift = (moved / step_ms) as usize;
        (shift <= max_shift).then_some(shift)
    }
}

/// The forecasting work for one series.
#[derive(Debug)]
pub(super) enum Job {
    /// Fit on the whole window, then predict.
    Refit(TimeSeries),
    /// Predict from a stored model whose history ended `shift` steps before the window end.
    Reuse(FitState, usize),
}

/// What every job of a service shares.
#[derive(Debug, Clone)]
pub(super) struct JobContext {
    pub(super) forecaster: Arc<dyn Forecaster>,
    pub(super) events: Vec<Event>,
    pub(super) horizon: usize,
    pub(super) levels: Vec<Quantile>,
    pub(super) step: Duration,
    pub(super) now: DateTime<Utc>,
}

/// Runs one job: the forecast of `horizon` steps from the window end, and the new model state after a refit.
///
/// # Errors
/// The model's errors, and [`Error::InvalidInput`] when regressors or the forecast grid cannot be built.
pub(super) fn run_job(ctx: &JobContext, job: Job) -> Result<(Forecast, Option<FitState>)> {
    match job {
        Job::Refit(history) => {
            let x_fit = Regressors::from_events(&ctx.events, history.start(), ctx.step, history.len())?;
            let fitted = ctx
                .forecaster
                .fit_boxed(&FitInput::new(&history).with_regressors(&x_fit)?)?;
            let x_new = Regressors::from_events(&ctx.events, history.end(), ctx.step, ctx.horizon)?;
            let forecast = fitted
                .predict_boxed(&PredictRequest::new(ctx.horizon, &ctx.levels).with_regressors(&x_new))?;
            let state = FitState {
                model: Arc::from(fitted),
                end: history.end(),
                fitted_at: ctx.now,
            };
            Ok((forecast, Some(state)))
        }
        Job::Reuse(state, shift) => {
            let steps = ctx.horizon + shift;
            let x_new = Regressors::from_events(&ctx.events, state.end, ctx.step, steps)?;
            let full = state
                .model
                .predict_boxed(&PredictRequest::new(steps, &ctx.levels).with_regressors(&x_new))?;
            Ok((drop_first(&full, shift)?, None))
        }
    }
}

/// The forecast without its first `k` steps.
fn drop_first(f: &Forecast, k: usize) -> Result<Forecast> {
    if k == 0 {
        return Ok(f.clone());
    }
    if k >= f.horizon() {
        return Err(Error::invalid(
            "forecast",
            format!("cannot drop {k} of {} steps", f.horizon()),
        ));
    }
    let start = f.start() + to_delta(f.step())? * k as i32;
    Forecast::new(
        start,
        f.step(),
        f.point()[k..].to_vec(),
        f.levels().to_vec(),
        f.quantile_paths().iter().map(|p| p[k..].to_vec()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    #[test]
    fn reuse_until_due_or_moved_too_far() {
        let series = TimeSeries::new(t(0), Duration::from_secs(300), vec![1.0; 10]).unwrap();
        let model = shadow_forecast::by_name("seasonal-naive", None)
            .unwrap()
            .fit_boxed(&FitInput::new(&series))
            .unwrap();
        let state = FitState {
            model: Arc::from(model),
            end: t(3000),
            fitted_at: t(3000),
        };
        let step = Duration::from_secs(300);
        let hour = Duration::from_secs(3600);
        assert_eq!(state.reusable(t(3000), t(3000), step, hour, 12), Some(0));
        assert_eq!(state.reusable(t(3600), t(3650), step, hour, 12), Some(2));
        assert_eq!(
            state.reusable(t(3650), t(3650), step, hour, 12),
            None,
            "off the grid"
        );
        assert_eq!(
            state.reusable(t(2700), t(3650), step, hour, 12),
            None,
            "moved back"
        );
        assert_eq!(
            state.reusable(t(6600), t(6600), step, hour, 12),
            None,
            "refit due"
        );
        assert_eq!(
            state.reusable(t(6600), t(3000), step, Duration::from_secs(9000), 11),
            None
        );
    }

    #[test]
    fn a_cheap_update_equals_the_tail_of_a_longer_forecast() {
        let q = vec![Quantile::try_new(0.9).unwrap()];
        let series =
            TimeSeries::new(t(0), Duration::from_secs(60), (0..50).map(f64::from).collect()).unwrap();
        let ctx = JobContext {
            forecaster: Arc::from(shadow_forecast::by_name("seasonal-naive", None).unwrap()),
            events: Vec::new(),
            horizon: 5,
            levels: q,
            step: Duration::from_secs(60),
            now: t(3000),
        };
        let (first, state) = run_job(&ctx, Job::Refit(series)).unwrap();
        let (moved, none) = run_job(&ctx, Job::Reuse(state.unwrap(), 2)).unwrap();
        assert!(none.is_none());
        assert_eq!(moved.start(), first.time_at(2));
        assert_eq!(moved.horizon(), 5);
        assert_eq!(&moved.point()[..3], &first.point()[2..]);
    }
}
