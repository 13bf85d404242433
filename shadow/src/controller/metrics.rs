//! [`Metrics`]: what the controller exports on `/metrics`, in the Prometheus text exposition format 0.0.4.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `shadow_forecast_demand` | gauge | `service`, `resource`, `quantile`, `at` (`next` or `peak`) |
//! | `shadow_planned_replicas` | gauge | `service` |
//! | `shadow_applied_replicas` | gauge | `service` |
//! | `shadow_current_replicas` | gauge | `service` |
//! | `shadow_data_staleness_seconds` | gauge | `service`, `resource` |
//! | `shadow_decisions_total` | counter | `service`, `action` (`scale_out`, `scale_in`, `none`, `fallback`) |
//! | `shadow_errors_total` | counter | `service`, `stage` (`fetch`, `forecast`, `plan`, `apply`, `reload`), `kind` |
//! | `shadow_apply_retries_total` | counter | `service` |
//! | `shadow_model_refits_total` | counter | — |
//! | `shadow_model_reuses_total` | counter | — |
//! | `shadow_reloads_total` | counter | `result` (`ok`, `error`) |
//! | `shadow_cycle_seconds` | histogram | — |
//! | `shadow_cycle_last_seconds` | gauge | — |
//! | `shadow_last_cycle_timestamp_seconds` | gauge | — |
//!
//! `kind` is [`shadow_core::Error::kind`]. Reload errors carry an empty `service` label. Gauges of a service
//! are replaced as a whole after each of its cycles, so a resource that left the config leaves the output.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};

use super::Decision;

/// The failing step of a cycle, the `stage` label of `shadow_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Fetching observations from the metric source.
    Fetch,
    /// Fitting or predicting.
    Forecast,
    /// Describing the live allocation and planning.
    Plan,
    /// Applying a request through the provisioner.
    Apply,
    /// Reloading the config file.
    Reload,
}

impl Stage {
    /// The label value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::Forecast => "forecast",
            Stage::Plan => "plan",
            Stage::Apply => "apply",
            Stage::Reload => "reload",
        }
    }
}

/// Upper bounds of the `shadow_cycle_seconds` buckets.
const BUCKETS: [f64; 12] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// The controller's metrics registry. Cheap to share behind an `Arc`; it outlives config reloads.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    services: BTreeMap<String, ServiceGauges>,
    decisions: BTreeMap<(String, &'static str), u64>,
    errors: BTreeMap<(String, Stage, &'static str), u64>,
    retries: BTreeMap<String, u64>,
    refits: u64,
    reuses: u64,
    reloads: BTreeMap<&'static str, u64>,
    cycle_buckets: [u64; BUCKETS.len()],
    cycle_count: u64,
    cycle_sum: f64,
    cycle_last: Option<f64>,
    last_cycle_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct ServiceGauges {
    /// (resource, quantile label, at, value).
    forecast: Vec<(String, String, &'static str, f64)>,
    planned: Option<u32>,
    applied: Option<u32>,
    current: Option<u32>,
    staleness: Vec<(String, f64)>,
}

impl Metrics {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a finished decision: replaces the service's gauges and counts the action.
    pub fn record_decision(&self, d: &Decision) {
        let mut gauges = ServiceGauges::default();
        for f in &d.forecasts {
            let q = f.quantile.to_string();
            gauges
                .forecast
                .push((f.resource.to_string(), q.clone(), "next", f.next));
            gauges.forecast.push((f.resource.to_string(), q, "peak", f.peak));
        }
        gauges.planned = d.planned;
        gauges.applied = d.applied_replicas;
        gauges.current = d.applied_replicas.map(|_| d.current);
        for (kind, sample) in &d.observed {
            let age = (d.at - sample.at).num_milliseconds() as f64 / 1000.0;
            gauges.staleness.push((kind.to_string(), age.max(0.0)));
        }
        let mut inner = self.lock();
        inner.services.insert(d.service.clone(), gauges);
        *inner
            .decisions
            .entry((d.service.clone(), d.action.as_str()))
            .or_default() += 1;
    }

    /// Counts one failure of `stage` for `service` (empty for failures outside any service).
    pub fn record_error(&self, service: &str, stage: Stage, kind: &'static str) {
        *self
            .lock()
            .errors
            .entry((service.to_string(), stage, kind))
            .or_default() += 1;
    }

    /// Counts one retried provisioner call.
    pub(super) fn record_retry(&self, service: &str) {
        *self.lock().retries.entry(service.to_string()).or_default() += 1;
    }

    /// Counts model refits and reuses.
    pub(super) fn record_models(&self, refits: u64, reuses: u64) {
        let mut inner = self.lock();
        inner.refits += refits;
        inner.reuses += reuses;
    }

    /// Counts a config reload.
    pub fn record_reload(&self, ok: bool) {
        *self
            .lock()
            .reloads
            .entry(if ok { "ok" } else { "error" })
            .or_default() += 1;
    }

    /// Records the duration of a whole cycle, finished at `at`.
    pub fn record_cycle(&self, elapsed: Duration, at: DateTime<Utc>) {
        let secs = elapsed.as_secs_f64();
        let mut inner = self.lock();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                inner.cycle_buckets[i] += 1;
            }
        }
        inner.cycle_count += 1;
        inner.cycle_sum += secs;
        inner.cycle_last = Some(secs);
        inner.last_cycle_at = Some(at);
    }

    /// Forgets the gauges of services that are not in `keep` (after a reload removed them).
    pub(super) fn retain_services(&self, keep: &[String]) {
        self.lock().services.retain(|s, _| keep.contains(s));
    }

    /// Renders every metric in the Prometheus text exposition format 0.0.4.
    #[must_use]
    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::with_capacity(256 + inner.services.len() * 512);
        header(
            &mut out,
            "shadow_forecast_demand",
            "gauge",
            "Forecast demand quantile for the next step and the horizon peak.",
        );
        for (svc, g) in &inner.services {
            for (res, q, at, v) in &g.forecast {
                sample(
                    &mut out,
                    "shadow_forecast_demand",
                    &[("service", svc), ("resource", res), ("quantile", q), ("at", at)],
                    *v,
                );
            }
        }
        type Pick = fn(&ServiceGauges) -> Option<u32>;
        let replicas: [(&str, &str, Pick); 3] = [
            (
                "shadow_planned_replicas",
                "Replicas the controller planned for the coming window.",
                |g| g.planned,
            ),
            (
                "shadow_applied_replicas",
                "Replicas of the live allocation after this cycle.",
                |g| g.applied,
            ),
            (
                "shadow_current_replicas",
                "Replicas of the live allocation before this cycle.",
                |g| g.current,
            ),
        ];
        for (name, help, pick) in replicas {
            header(&mut out, name, "gauge", help);
            for (svc, g) in &inner.services {
                if let Some(v) = pick(g) {
                    sample(&mut out, name, &[("service", svc)], f64::from(v));
                }
            }
        }
        header(
            &mut out,
            "shadow_data_staleness_seconds",
            "gauge",
            "Age of the newest observation at the last cycle.",
        );
        for (svc, g) in &inner.services {
            for (res, age) in &g.staleness {
                sample(
                    &mut out,
                    "shadow_data_staleness_seconds",
                    &[("service", svc), ("resource", res)],
                    *age,
                );
            }
        }
        header(
            &mut out,
            "shadow_decisions_total",
            "counter",
            "Decisions by action.",
        );
        for ((svc, action), n) in &inner.decisions {
            sample(
                &mut out,
                "shadow_decisions_total",
                &[("service", svc), ("action", action)],
                *n as f64,
            );
        }
        header(
            &mut out,
            "shadow_errors_total",
            "counter",
            "Failures by stage and error kind.",
        );
        for ((svc, stage, kind), n) in &inner.errors {
            let labels = [
                ("service", svc.as_str()),
                ("stage", stage.as_str()),
                ("kind", kind),
            ];
            sample(&mut out, "shadow_errors_total", &labels, *n as f64);
        }
        header(
            &mut out,
            "shadow_apply_retries_total",
            "counter",
            "Provisioner calls retried after a retryable failure.",
        );
        for (svc, n) in &inner.retries {
            sample(
                &mut out,
                "shadow_apply_retries_total",
                &[("service", svc)],
                *n as f64,
            );
        }
        header(
            &mut out,
            "shadow_model_refits_total",
            "counter",
            "Series whose model was fully refitted.",
        );
        sample(&mut out, "shadow_model_refits_total", &[], inner.refits as f64);
        header(
            &mut out,
            "shadow_model_reuses_total",
            "counter",
            "Series forecast from a stored fitted model.",
        );
        sample(&mut out, "shadow_model_reuses_total", &[], inner.reuses as f64);
        header(
            &mut out,
            "shadow_reloads_total",
            "counter",
            "Config reloads by result.",
        );
        for (result, n) in &inner.reloads {
            sample(&mut out, "shadow_reloads_total", &[("result", result)], *n as f64);
        }
        header(
            &mut out,
            "shadow_cycle_seconds",
            "histogram",
            "Duration of a whole controller cycle.",
        );
        for (le, n) in BUCKETS.iter().zip(inner.cycle_buckets) {
            sample(
                &mut out,
                "shadow_cycle_seconds_bucket",
                &[("le", &le.to_string())],
                n as f64,
            );
        }
        let count = inner.cycle_count as f64;
        sample(&mut out, "shadow_cycle_seconds_bucket", &[("le", "+Inf")], count);
        sample(&mut out, "shadow_cycle_seconds_sum", &[], inner.cycle_sum);
        sample(&mut out, "shadow_cycle_seconds_count", &[], count);
        if let Some(last) = inner.cycle_last {
            header(
                &mut out,
                "shadow_cycle_last_seconds",
                "gauge",
                "Duration of the last controller cycle.",
            );
            sample(&mut out, "shadow_cycle_last_seconds", &[], last);
        }
        if let Some(at) = inner.last_cycle_at {
            header(
                &mut out,
                "shadow_last_cycle_timestamp_seconds",
                "gauge",
                "When the last cycle finished (controller clock).",
            );
            sample(
                &mut out,
                "shadow_last_cycle_timestamp_seconds",
                &[],
                at.timestamp_millis() as f64 / 1000.0,
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    format_value(out, value);
    out.push('\n');
}

/// Escapes a label value per the text format: backslash, double quote and line feed.
fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn format_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        let mut out = String::new();
        sample(&mut out, "m", &[("a", "x\"y\\z\nw")], 1.5);
        assert_eq!(out, "m{a=\"x\\\"y\\\\z\\nw\"} 1.5\n");
        let mut out = String::new();
        sample(&mut out, "m", &[], f64::NAN);
        format_value(&mut out, f64::NEG_INFINITY);
        assert_eq!(out, "m NaN\n-Inf");
    }

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::new();
        m.record_cycle(Duration::from_millis(30), DateTime::<Utc>::UNIX_EPOCH);
        m.record_cycle(Duration::from_secs(2), DateTime::<Utc>::UNIX_EPOCH);
        let text = m.render();
        assert!(
            text.contains("shadow_cycle_seconds_bucket{le=\"0.05\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("shadow_cycle_seconds_bucket{le=\"2.5\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("shadow_cycle_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("shadow_cycle_seconds_count 2\n"), "{text}");
        assert!(text.contains("shadow_cycle_last_seconds 2\n"), "{text}");
    }
}
