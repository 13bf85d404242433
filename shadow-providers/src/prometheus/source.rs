//! [`PrometheusSource`]: a [`MetricSource`] over `GET /api/v1/query_range`.

use std::{collections::BTreeMap, fmt, time::Duration};

use async_trait::async_trait;
use shadow_core::{Error, MetricQuery, MetricSource, ResourceKind, Result, TimeSeries};

use super::{
    KIND,
    config::redacted_url,
    response::{Envelope, RangeData, api_error, generic, labels, parse_value},
    templates::{Template, Vars, selector},
};
use crate::http::client::{HttpClient, HttpRequest};

/// A [`MetricSource`] that reads Prometheus's `query_range` API. Build it with
/// [`PrometheusBuilder`](super::PrometheusBuilder).
///
/// See the [module docs](super) for the templates, chunking and gap semantics.
#[derive(Clone)]
pub struct PrometheusSource {
    pub(crate) client: HttpClient,
    pub(crate) base_url: String,
    pub(crate) templates: BTreeMap<ResourceKind, Template>,
    pub(crate) rate_window: Duration,
    pub(crate) max_points: usize,
    pub(crate) service_label: String,
    pub(crate) environment_label: String,
    pub(crate) check_service_exists: bool,
}

impl fmt::Debug for PrometheusSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let templates: BTreeMap<&str, &str> = self
            .templates
            .iter()
            .map(|(k, t)| (k.as_str(), t.source()))
            .collect();
        f.debug_struct("PrometheusSource")
            .field("url", &redacted_url(&self.base_url))
            .field("client", &self.client)
            .field("templates", &templates)
            .field("rate_window", &self.rate_window)
            .field("max_points", &self.max_points)
            .field("service_label", &self.service_label)
            .field("environment_label", &self.environment_label)
            .field("check_service_exists", &self.check_service_exists)
            .finish_non_exhaustive()
    }
}

impl PrometheusSource {
    /// The PromQL that [`fetch`](MetricSource::fetch) sends for `query`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no template is configured for the query's resource kind.
    pub fn promql(&self, query: &MetricQuery) -> Result<String> {
        let template = self
            .templates
            .get(&query.resource)
            .ok_or_else(|| Error::NotFound {
                provider: KIND,
                what: format!(
                    "resource `{}`: no query template is configured for it (add `queries.{}` to the config)",
                    query.resource, query.resource
                ),
            })?;
        Ok(template.render(&self.vars(query)))
    }

    fn vars<'a>(&'a self, query: &'a MetricQuery) -> Vars<'a> {
        Vars {
            service: &query.service,
            environment: query.environment,
            rate_window: self.rate_window,
            service_label: &self.service_label,
            environment_label: &self.environment_label,
        }
    }

    /// Fetches the grid points `first..first + len` into `values`; returns whether a series answered.
    async fn fetch_chunk(
        &self,
        promql: &str,
        query: &MetricQuery,
        (first, len): (usize, usize),
        values: &mut [f64],
    ) -> Result<bool> {
        let step_ms = query.step.as_millis() as i64;
        let range_start = query.range.start.timestamp_millis();
        let start = range_start + first as i64 * step_ms;
        let end = start + (len as i64 - 1) * step_ms;
        let request = HttpRequest::get(format!("{}/api/v1/query_range", self.base_url))
            .query("query", promql)
            .query("start", seconds(start))
            .query("end", seconds(end))
            .query("step", seconds(step_ms));
        let envelope: Envelope<RangeData> = self.client.send_json(&request).await?;
        let data = envelope.into_data()?;
        if data.result_type != "matrix" {
            return Err(generic(format!(
                "query_range answered a `{}`, not a matrix",
                data.result_type
            )));
        }
        let series = match data.result.as_slice() {
            [] => return Ok(false),
            [one] => one,
            [a, b, ..] => {
                return Err(Error::invalid(
                    "query",
                    format!(
                        "{KIND}: the query of `{}` for service `{}` answered {} series ({}, {}, ...), but a \
                         template must aggregate to one series, for example with sum(...): {promql}",
                        query.resource,
                        query.service,
                        data.result.len(),
                        labels(&a.metric),
                        labels(&b.metric)
                    ),
                ));
            }
        };
        for (ts, value) in &series.values {
            let ms = (ts * 1000.0).round() as i64;
            let offset = ms - range_start;
            if offset % step_ms != 0 {
                tracing::debug!(provider = KIND, ts, "dropping a sample off the grid");
                continue;
            }
            let i = offset / step_ms;
            if i < first as i64 || i >= (first + len) as i64 {
                continue;
            }
            values[i as usize] = parse_value(value)?;
        }
        Ok(true)
    }

    /// Answers [`Error::NotFound`] when the server holds no series of the query's service at all.
    async fn ensure_service_exists(&self, query: &MetricQuery) -> Result<()> {
        let mut vars = self.vars(query);
        vars.environment_label = "";
        let request = HttpRequest::get(format!("{}/api/v1/series", self.base_url))
            .query("match[]", format!("{{{}}}", selector(&vars)));
        let envelope: Envelope<Vec<BTreeMap<String, String>>> = self.client.send_json(&request).await?;
        if envelope.into_data()?.is_empty() {
            return Err(Error::NotFound {
                provider: KIND,
                what: format!(
                    "service `{}`: no series has {}=\"{}\"",
                    query.service, self.service_label, query.service
                ),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl MetricSource for PrometheusSource {
    fn name(&self) -> &str {
        KIND
    }

    #[tracing::instrument(skip(self, query), fields(
        provider = KIND,
        service = %query.service,
        environment = %query.environment,
        resource = %query.resource,
    ))]
    async fn fetch(&self, query: &MetricQuery) -> Result<TimeSeries> {
        let promql = self.promql(query)?;
        let points = query.points();
        let mut values = vec![f64::NAN; points];
        let mut answered = false;
        for chunk in chunks(points, self.max_points) {
            answered |= self.fetch_chunk(&promql, query, chunk, &mut values).await?;
        }
        if !answered && self.check_service_exists {
            self.ensure_service_exists(query).await?;
        }
        tracing::debug!(
            provider = KIND,
            points,
            missing = values.iter().filter(|v| v.is_nan()).count(),
            "fetched"
        );
        TimeSeries::new(query.range.start, query.step, values)
            .map_err(|e| api_error("internal", &e.to_string()))
    }
}

/// Splits `points` grid points into `(first, len)` chunks of at most `max` points.
pub(crate) fn chunks(points: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let max = max.max(1);
    (0..points)
        .step_by(max)
        .map(move |first| (first, max.min(points - first)))
}

/// Unix milliseconds as decimal seconds: `1700000000`, `1700000000.5`, `-0.25`.
pub(crate) fn seconds(ms: i64) -> String {
    let (s, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 {
        return s.to_string();
    }
    let (sign, whole, frac) = if ms < 0 {
        ("-", (-ms) / 1000, (-ms) % 1000)
    } else {
        ("", s, frac)
    };
    let digits = format!("{frac:03}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn splits_into_chunks_and_formats_seconds() {
        assert_eq!(chunks(5, 2).collect::<Vec<_>>(), [(0, 2), (2, 2), (4, 1)]);
        assert_eq!(chunks(4, 11_000).collect::<Vec<_>>(), [(0, 4)]);
        assert_eq!(chunks(0, 3).count(), 0);
        assert_eq!(seconds(1_700_000_000_000), "1700000000");
        assert_eq!(seconds(1_700_000_000_500), "1700000000.5");
        assert_eq!(seconds(1_250), "1.25");
        assert_eq!(seconds(-250), "-0.25");
        assert_eq!(seconds(-1_000), "-1");
    }
}
