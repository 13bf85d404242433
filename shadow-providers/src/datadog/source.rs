//! [`DatadogSource`]: the [`MetricSource`] over Datadog's v1 timeseries query API.

use std::{fmt, ops::Range, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use shadow_core::{Error, MetricQuery, MetricSource, Result, TimeSeries};

use super::{KIND, config::DatadogConfig, error};
use crate::http::{
    client::{HttpClient, HttpRequest},
    config::Secret,
};

/// A [`MetricSource`] that reads Datadog through `GET /api/v1/query`. Build it with
/// [`DatadogBuilder`](super::DatadogBuilder); see the [module docs](super) for the mapping onto the grid.
#[derive(Clone)]
pub struct DatadogSource {
    config: DatadogConfig,
    base_url: String,
    client: HttpClient,
    api_key: Secret,
    app_key: Secret,
}

impl fmt::Debug for DatadogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatadogSource")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// The answer of `GET /api/v1/query` (only the fields used).
#[derive(Debug, Deserialize)]
struct QueryResponse {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    series: Vec<Series>,
}

/// One series of the answer.
#[derive(Debug, Deserialize)]
struct Series {
    /// `[[milliseconds since the epoch, value or null], …]`.
    #[serde(default)]
    pointlist: Vec<(f64, Option<f64>)>,
    #[serde(default)]
    scope: Option<String>,
}

impl DatadogSource {
    pub(crate) fn new(
        config: DatadogConfig,
        base_url: String,
        client: HttpClient,
        api_key: Secret,
        app_key: Secret,
    ) -> Self {
        Self {
            config,
            base_url,
            client,
            api_key,
            app_key,
        }
    }

    /// The query sent for `query`, with its placeholders filled for a rollup of `step_seconds`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no template covers the resource.
    pub fn render_query(&self, query: &MetricQuery, step_seconds: u64) -> Result<String> {
        let template = self
            .config
            .query_template(&query.resource)
            .ok_or_else(|| Error::NotFound {
                provider: KIND,
                what: format!(
                    "no query for resource `{0}`; set `queries.{0}` in the datadog options",
                    query.resource
                ),
            })?;
        Ok(template
            .replace("{service}", query.service.as_str())
            .replace("{environment}", self.config.environment_tag(query.environment))
            .replace("{step_seconds}", &step_seconds.to_string()))
    }

    /// One request over `[from, to)`, both whole seconds.
    async fn query(&self, query: &str, from: i64, to: i64) -> Result<Vec<Series>> {
        let request = HttpRequest::get(format!("{}/api/v1/query", self.base_url))
            .query("from", from.to_string())
            .query("to", to.to_string())
            .query("query", query)
            .header("DD-API-KEY", self.api_key.expose())
            .header("DD-APPLICATION-KEY", self.app_key.expose());
        tracing::debug!(provider = KIND, from, to, query, "datadog query");
        let response: QueryResponse = self.client.send_json(&request).await.map_err(error::refine)?;
        if response.status.as_deref() == Some("error") {
            return Err(error::status_error(response.error.as_deref()));
        }
        if response.series.len() > 1 {
            let scopes: Vec<_> = response
                .series
                .iter()
                .filter_map(|s| s.scope.as_deref())
                .collect();
            return Err(Error::invalid(
                "query",
                format!(
                    "{KIND}: `{query}` returned {} series ({}); the template must aggregate them into one \
                     (a space aggregator such as `avg:` and no `by {{…}}`)",
                    response.series.len(),
                    scopes.join(", ")
                ),
            ));
        }
        Ok(response.series)
    }

    /// Tells a gap from an unknown series: looks for any value within `not_found_lookback` of the range.
    async fn check_exists(
        &self,
        query: &MetricQuery,
        step_seconds: u64,
        grid_end: DateTime<Utc>,
    ) -> Result<()> {
        let lookback = TimeDelta::seconds(self.config.not_found_lookback.as_secs() as i64);
        let from = (query.range.start - lookback).timestamp();
        let to = (grid_end + lookback).timestamp();
        let max_points = u64::from(self.config.max_points_per_request);
        let span = (to - from).max(1) as u64;
        let probe_step = step_seconds.max(span.div_ceil(max_points));
        let rendered = self.render_query(query, probe_step)?;
        let series = self.query(&rendered, from, to).await?;
        if series
            .iter()
            .any(|s| s.pointlist.iter().any(|(_, v)| v.is_some()))
        {
            return Ok(());
        }
        Err(Error::NotFound {
            provider: KIND,
            what: format!(
                "no data for `{rendered}` within {:?} of the range",
                self.config.not_found_lookback
            ),
        })
    }
}

/// The query's step in whole seconds, as rollups take it.
pub(crate) fn step_seconds(step: Duration) -> Result<u64> {
    if step.subsec_nanos() != 0 || step.is_zero() {
        return Err(Error::invalid(
            "step",
            format!("{KIND}: rollups take whole seconds, not {step:?}"),
        ));
    }
    Ok(step.as_secs())
}

/// Splits `0..points` into windows of at most `per` points.
pub(crate) fn windows(points: usize, per: usize) -> impl Iterator<Item = Range<usize>> {
    (0..points)
        .step_by(per.max(1))
        .map(move |w| w..(w + per).min(points))
}

/// Puts the points of `series` whose timestamp is grid point `i` of `query`, for `i` in `window`, into `values`.
/// Points off the grid or outside the window are dropped; `null` stays `NaN`.
fn place(values: &mut [f64], query: &MetricQuery, window: &Range<usize>, series: &Series) -> usize {
    let start_ms = query.range.start.timestamp_millis();
    let step_ms = query.step.as_millis() as i64;
    let mut dropped = 0;
    for &(ts, value) in &series.pointlist {
        let offset = ts.round() as i64 - start_ms;
        let on_grid = offset >= 0 && offset % step_ms == 0;
        let i = (offset / step_ms.max(1)) as usize;
        match value {
            Some(v) if on_grid && window.contains(&i) && v.is_finite() => values[i] = v,
            None if on_grid && window.contains(&i) => {}
            _ => dropped += 1,
        }
    }
    dropped
}

#[async_trait]
impl MetricSource for DatadogSource {
    fn name(&self) -> &str {
        KIND
    }

    #[tracing::instrument(skip(self, query), fields(
        provider = KIND,
        service = %query.service,
        resource = %query.resource,
        environment = %query.environment,
    ))]
    async fn fetch(&self, query: &MetricQuery) -> Result<TimeSeries> {
        let step = step_seconds(query.step)?;
        let rendered = self.render_query(query, step)?;
        let points = query.points();
        let step_delta = TimeDelta::seconds(step as i64);
        let grid = |i: usize| query.range.start + step_delta * i as i32;
        let mut values = vec![f64::NAN; points];
        let mut any_series = false;
        let mut dropped = 0;
        for window in windows(points, self.config.max_points_per_request as usize) {
            let (from, to) = (grid(window.start), grid(window.end));
            let series = self.query(&rendered, from.timestamp(), to.timestamp()).await?;
            for s in &series {
                any_series = true;
                dropped += place(&mut values, query, &window, s);
            }
        }
        if dropped > 0 {
            tracing::debug!(
                provider = KIND,
                dropped,
                "dropped points off the grid or outside the range"
            );
        }
        if !any_series && !self.config.not_found_lookback.is_zero() {
            self.check_exists(query, step, grid(points)).await?;
        }
        TimeSeries::new(query.range.start, query.step, values)
    }
}
