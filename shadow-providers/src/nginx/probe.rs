//! [`NginxHealthProbe`]: HTTP health checks of every backend of one side, straight to the backend.

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use shadow_core::{Environment, Error, HealthProbe, HealthStatus, Result, ServiceId};
use tokio::time::Instant;

use super::{KIND, http, render::Upstream};

/// Checks one side of a service by sending `GET <health_path>` to each of its backends (not through nginx,
/// so the answer is about that side only).
///
/// # Contract
/// The side is healthy when every backend answers a 2xx status within the request timeout. The detail names
/// each failing backend and what it answered.
///
/// # Errors
/// [`Error::NotFound`] for a service that is not configured. An unreachable backend is not an error but an
/// unhealthy status.
#[derive(Debug, Clone)]
pub struct NginxHealthProbe {
    upstreams: BTreeMap<ServiceId, Upstream>,
    timeout: Duration,
}

impl NginxHealthProbe {
    pub(crate) fn new(upstreams: BTreeMap<ServiceId, Upstream>, timeout: Duration) -> Self {
        Self { upstreams, timeout }
    }
}

#[async_trait]
impl HealthProbe for NginxHealthProbe {
    fn name(&self) -> &str {
        KIND
    }

    #[tracing::instrument(level = "debug", skip(self), fields(provider = KIND, service = %service, environment = %environment))]
    async fn check(&self, service: &ServiceId, environment: Environment) -> Result<HealthStatus> {
        let up = self.upstreams.get(service).ok_or_else(|| Error::NotFound {
            provider: KIND,
            what: format!("service `{service}`"),
        })?;
        let backends = match environment {
            Environment::Live => &up.live,
            Environment::Shadow => &up.shadow,
        };
        let started = Instant::now();
        let mut failures = Vec::new();
        for addr in backends {
            match http::get(*addr, &up.health_path, self.timeout).await {
                Ok((status, _)) if (200..300).contains(&status) => {}
                Ok((status, _)) => failures.push(format!("{addr}{} answered {status}", up.health_path)),
                Err(e) => failures.push(format!("{addr}{}: {e}", up.health_path)),
            }
        }
        let latency = started.elapsed();
        Ok(if failures.is_empty() {
            HealthStatus::healthy(latency, format!("{} backend(s) answered 2xx", backends.len()))
        } else {
            HealthStatus::unhealthy(latency, failures.join("; "))
        })
    }
}
