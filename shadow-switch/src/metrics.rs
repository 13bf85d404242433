//! [`SwitchMetrics`]: switchover phase changes as Prometheus metrics.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use shadow_core::{ServiceId, SwitchPhase, TrafficSplit};

#[derive(Debug, Default)]
struct Inner {
    /// Per service: current phase, current shadow share, transitions per phase name, rollbacks.
    services: BTreeMap<ServiceId, ServiceMetrics>,
}

#[derive(Debug, Default, Clone)]
struct ServiceMetrics {
    phase: Option<SwitchPhase>,
    shadow_bp: u16,
    transitions: BTreeMap<&'static str, u64>,
    rollbacks: u64,
}

/// Counts switchover phase changes and exposes them in the Prometheus text format.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `shadow_switch_phase` | gauge | `service`, `phase` (1 for the current phase) |
/// | `shadow_switch_shadow_weight_ratio` | gauge | `service` (0..1, the last confirmed shadow share) |
/// | `shadow_switch_transitions_total` | counter | `service`, `phase` (entered) |
/// | `shadow_switch_rollbacks_total` | counter | `service` |
///
/// With [`SwitchMetrics::with_textfile`] every change also rewrites a file in the format of the node
/// exporter's textfile collector (atomically, by rename). A clone shares the counters.
#[derive(Debug, Clone, Default)]
pub struct SwitchMetrics {
    inner: Arc<Mutex<Inner>>,
    textfile: Option<PathBuf>,
}

const PHASES: [&str; 6] = [
    "preparing",
    "verifying",
    "shifting",
    "promoted",
    "rolling-back",
    "rolled-back",
];

fn phase_name(p: SwitchPhase) -> &'static str {
    PHASES[usize::from(p.code()) - 1]
}

impl SwitchMetrics {
    /// Empty metrics.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also writes the text format to `path` after every change.
    #[must_use]
    pub fn with_textfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.textfile = Some(path.into());
        self
    }

    /// Records that `service` entered `phase` (or confirmed a split in it).
    pub fn record(&self, service: &ServiceId, phase: SwitchPhase, split: TrafficSplit, entered: bool) {
        {
            let mut inner = self
                .inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let m = inner.services.entry(service.clone()).or_default();
            if entered {
                *m.transitions.entry(phase_name(phase)).or_default() += 1;
                if phase == SwitchPhase::RollingBack && m.phase != Some(SwitchPhase::RollingBack) {
                    m.rollbacks += 1;
                }
            }
            m.phase = Some(phase);
            m.shadow_bp = split.shadow.basis_points();
        }
        if let Some(path) = &self.textfile {
            let tmp = path.with_extension("prom.tmp");
            let res = std::fs::write(&tmp, self.render()).and_then(|()| std::fs::rename(&tmp, path));
            if let Err(e) = res {
                tracing::warn!(path = %path.display(), error = %e, "cannot write switch metrics");
            }
        }
    }

    /// The total transitions into `phase` recorded for `service`.
    #[must_use]
    pub fn transitions(&self, service: &ServiceId, phase: SwitchPhase) -> u64 {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner
            .services
            .get(service)
            .and_then(|m| m.transitions.get(phase_name(phase)).copied())
            .unwrap_or(0)
    }

    /// The metrics in the Prometheus text exposition format.
    #[must_use]
    pub fn render(&self) -> String {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP shadow_switch_phase The switchover's current phase (1 = in it)."
        );
        let _ = writeln!(out, "# TYPE shadow_switch_phase gauge");
        for (svc, m) in &inner.services {
            for name in PHASES {
                let v = u8::from(m.phase.map(phase_name) == Some(name));
                let _ = writeln!(
                    out,
                    "shadow_switch_phase{{service=\"{svc}\",phase=\"{name}\"}} {v}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP shadow_switch_shadow_weight_ratio The last confirmed shadow share."
        );
        let _ = writeln!(out, "# TYPE shadow_switch_shadow_weight_ratio gauge");
        for (svc, m) in &inner.services {
            let _ = writeln!(
                out,
                "shadow_switch_shadow_weight_ratio{{service=\"{svc}\"}} {}",
                f64::from(m.shadow_bp) / 10_000.0
            );
        }
        let _ = writeln!(out, "# HELP shadow_switch_transitions_total Phases entered.");
        let _ = writeln!(out, "# TYPE shadow_switch_transitions_total counter");
        for (svc, m) in &inner.services {
            for (name, n) in &m.transitions {
                let _ = writeln!(
                    out,
                    "shadow_switch_transitions_total{{service=\"{svc}\",phase=\"{name}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP shadow_switch_rollbacks_total Rollbacks started.");
        let _ = writeln!(out, "# TYPE shadow_switch_rollbacks_total counter");
        for (svc, m) in &inner.services {
            let _ = writeln!(
                out,
                "shadow_switch_rollbacks_total{{service=\"{svc}\"}} {}",
                m.rollbacks
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let dir = std::env::temp_dir().join(format!("shadow-switch-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("switch.prom");
        let m = SwitchMetrics::new().with_textfile(&file);
        let svc = ServiceId::new("checkout").unwrap();
        m.record(
            &svc,
            SwitchPhase::Shifting { step: 0 },
            TrafficSplit::ALL_LIVE,
            true,
        );
        m.record(&svc, SwitchPhase::RollingBack, TrafficSplit::ALL_LIVE, true);
        m.record(&svc, SwitchPhase::RollingBack, TrafficSplit::ALL_LIVE, false);
        let text = m.render();
        assert!(
            text.contains("shadow_switch_phase{service=\"checkout\",phase=\"rolling-back\"} 1"),
            "{text}"
        );
        assert!(text.contains("shadow_switch_phase{service=\"checkout\",phase=\"shifting\"} 0"));
        assert!(text.contains("shadow_switch_rollbacks_total{service=\"checkout\"} 1"));
        assert_eq!(m.transitions(&svc, SwitchPhase::RollingBack), 1);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
