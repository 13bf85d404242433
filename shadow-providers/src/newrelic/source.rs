//! [`NewRelicSource`]: the [`MetricSource`] over NRQL `TIMESERIES` queries sent through NerdGraph.

use std::{fmt, ops::Range, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shadow_core::{Error, MetricQuery, MetricSource, Result, TimeSeries};

use super::{
    KIND,
    config::NewRelicConfig,
    error::{GraphQlError, graphql_error},
};
use crate::http::{
    client::{HttpClient, HttpRequest},
    config::Secret,
};

/// The GraphQL document sent; the NRQL travels as a variable, so it needs no GraphQL escaping.
pub(crate) const GRAPHQL: &str = "query ShadowNrql($accountId: Int!, $nrql: Nrql!) { actor { \
     account(id: $accountId) { nrql(query: $nrql) { results } } } }";

/// A [`MetricSource`] that runs NRQL `TIMESERIES` queries through NerdGraph. Build it with
/// [`NewRelicBuilder`](super::NewRelicBuilder); see the [module docs](super) for the mapping onto the grid.
#[derive(Clone)]
pub struct NewRelicSource {
    config: NewRelicConfig,
    account_id: u64,
    endpoint: String,
    client: HttpClient,
    api_key: Secret,
}

impl fmt::Debug for NewRelicSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewRelicSource")
            .field("endpoint", &self.endpoint)
            .field("account_id", &self.account_id)
            .field("config", &self.config)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// A NerdGraph answer: `{"data": {"actor": {"account": {"nrql": {"results": [...]}}}}, "errors": [...]}`.
#[derive(Debug, Deserialize)]
struct GraphQlResponse {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<GraphQlError>>,
}

/// Escapes a value for a single-quoted NRQL string literal: `\` → `\\`, `'` → `\'`.
#[must_use]
pub fn nrql_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

impl NewRelicSource {
    pub(crate) fn new(
        config: NewRelicConfig,
        account_id: u64,
        endpoint: String,
        client: HttpClient,
        api_key: Secret,
    ) -> Self {
        Self {
            config,
            account_id,
            endpoint,
            client,
            api_key,
        }
    }

    /// The NRQL sent for `query` over `[start, end)` with buckets of `step_seconds`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no template covers the resource.
    pub fn render_query(
        &self,
        query: &MetricQuery,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step_seconds: u64,
    ) -> Result<String> {
        let template = self
            .config
            .query_template(&query.resource)
            .ok_or_else(|| Error::NotFound {
                provider: KIND,
                what: format!(
                    "no NRQL for resource `{0}`; set `queries.{0}` in the newrelic options",
                    query.resource
                ),
            })?;
        Ok(template
            .replace("{service}", &nrql_escape(query.service.as_str()))
            .replace(
                "{environment}",
                &nrql_escape(self.config.environment_value(query.environment)),
            )
            .replace("{start}", &start.timestamp_millis().to_string())
            .replace("{end}", &end.timestamp_millis().to_string())
            .replace("{step_seconds}", &step_seconds.to_string()))
    }

    /// Runs one NRQL query, retrying GraphQL errors that are retryable, and returns its `results`.
    async fn run(&self, nrql: &str) -> Result<Vec<Map<String, Value>>> {
        let body = json!({
            "query": GRAPHQL,
            "variables": { "accountId": self.account_id, "nrql": nrql },
        });
        let request = HttpRequest::post_json(&self.endpoint, body).header("API-Key", self.api_key.expose());
        let retry = &self.config.retry;
        let mut attempt = 1;
        loop {
            tracing::debug!(provider = KIND, attempt, nrql, "nerdgraph query");
            let response: GraphQlResponse = self.client.send_json(&request).await?;
            let errors = response.errors.unwrap_or_default();
            if errors.is_empty() {
                return results(response.data);
            }
            let err = graphql_error(&errors, self.config.timeout);
            if !err.is_retryable() {
                return Err(err);
            }
            if attempt >= retry.max_attempts {
                return Err(if attempt > 1 {
                    Error::RetriesExhausted {
                        attempts: attempt,
                        source: Box::new(err),
                    }
                } else {
                    err
                });
            }
            let wait = retry.backoff(attempt);
            tracing::info!(
                provider = KIND,
                attempt,
                max = retry.max_attempts,
                backoff_ms = wait.as_millis() as u64,
                error = %err,
                "retry {attempt} of {}", retry.max_attempts - 1
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The value of one result bucket: `value_key`, else the one key besides the bucket times.
    fn value_of(&self, bucket: &Map<String, Value>) -> Result<f64> {
        let value = match &self.config.value_key {
            Some(key) => bucket.get(key),
            None => {
                let mut keys = bucket
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "beginTimeSeconds" | "endTimeSeconds"));
                match (keys.next(), keys.next()) {
                    (Some((_, v)), None) => Some(v),
                    (None, _) => None,
                    (Some(_), Some(_)) => {
                        let names: Vec<_> = bucket.keys().map(String::as_str).collect();
                        return Err(Error::invalid(
                            "query",
                            format!(
                                "{KIND}: result buckets have several values ({names:?}); set `value_key`"
                            ),
                        ));
                    }
                }
            }
        };
        match value {
            None | Some(Value::Null) => Ok(f64::NAN),
            Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::NAN)),
            Some(other) => Err(Error::invalid(
                "query",
                format!(
                    "{KIND}: the bucket value {other} is not a number; use a scalar aggregate or `value_key`"
                ),
            )),
        }
    }

    /// Tells a gap from an unknown series: looks for any value within `not_found_lookback` of the range.
    async fn check_exists(
        &self,
        query: &MetricQuery,
        step_seconds: u64,
        grid_end: DateTime<Utc>,
    ) -> Result<()> {
        let lookback = TimeDelta::seconds(self.config.not_found_lookback.as_secs() as i64);
        let (from, to) = (query.range.start - lookback, grid_end + lookback);
        let span = (to - from).num_seconds().max(1) as u64;
        let probe_step = step_seconds.max(span.div_ceil(u64::from(self.config.max_buckets)));
        let nrql = self.render_query(query, from, to, probe_step)?;
        for bucket in self.run(&nrql).await? {
            if !self.value_of(&bucket)?.is_nan() {
                return Ok(());
            }
        }
        Err(Error::NotFound {
            provider: KIND,
            what: format!(
                "no data for `{nrql}` within {:?} of the range",
                self.config.not_found_lookback
            ),
        })
    }
}

/// `data.actor.account.nrql.results`.
fn results(data: Option<Value>) -> Result<Vec<Map<String, Value>>> {
    let results = data
        .as_ref()
        .and_then(|d| d.pointer("/actor/account/nrql/results"))
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Generic {
            provider: KIND,
            source: "the answer has no data.actor.account.nrql.results".into(),
        })?;
    Ok(results.iter().filter_map(|r| r.as_object().cloned()).collect())
}

/// The query's step in whole seconds, as `TIMESERIES` takes it.
fn step_seconds(step: Duration) -> Result<u64> {
    if step.subsec_nanos() != 0 || step.is_zero() {
        return Err(Error::invalid(
            "step",
            format!("{KIND}: TIMESERIES buckets take whole seconds, not {step:?}"),
        ));
    }
    Ok(step.as_secs())
}

/// Splits `0..points` into windows of at most `per` points.
fn windows(points: usize, per: usize) -> impl Iterator<Item = Range<usize>> {
    (0..points)
        .step_by(per.max(1))
        .map(move |w| w..(w + per).min(points))
}

#[async_trait]
impl MetricSource for NewRelicSource {
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
        // Fail before any request when the resource has no template.
        self.render_query(query, query.range.start, query.range.end, step)?;
        let points = query.points();
        let step_delta = TimeDelta::seconds(step as i64);
        let grid = |i: usize| query.range.start + step_delta * i as i32;
        let start_s = query.range.start.timestamp();
        let mut values = vec![f64::NAN; points];
        let mut any_value = false;
        for window in windows(points, self.config.max_buckets as usize) {
            let nrql = self.render_query(query, grid(window.start), grid(window.end), step)?;
            for bucket in self.run(&nrql).await? {
                let Some(begin) = bucket.get("beginTimeSeconds").and_then(Value::as_f64) else {
                    continue;
                };
                let offset = begin.round() as i64 - start_s;
                let i = (offset / step as i64) as usize;
                if offset < 0 || offset % step as i64 != 0 || !window.contains(&i) {
                    continue;
                }
                let v = self.value_of(&bucket)?;
                if v.is_finite() {
                    values[i] = v;
                    any_value = true;
                }
            }
        }
        if !any_value && !self.config.not_found_lookback.is_zero() {
            self.check_exists(query, step, grid(points)).await?;
        }
        TimeSeries::new(query.range.start, query.step, values)
    }
}
