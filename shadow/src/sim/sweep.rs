//! `shadow simulate --sweep`: each policy's cost-against-shortfall frontier on one trace.
//!
//! HPA sweeps its target utilisation over 0.5, 0.6, 0.7, 0.8, 0.9; ours sweeps the planning quantile (0.5 to
//! 0.995) and an extra headroom, plus our default expected-cost decision. The demand's scale (capacity per instance) stays the one of the base options throughout,
//! so every point prices the same workload.

use serde::Serialize;
use shadow_core::{Result, TimeSeries};

use super::{PolicyKind, SimOptions, policy::Prepared, prepare};

/// HPA target utilisations of the sweep.
pub const HPA_TARGETS: [f64; 5] = [0.5, 0.6, 0.7, 0.8, 0.9];
/// Planning quantiles of our sweep: from the median (as cheap as HPA's loosest target) to the 99.5th.
pub const LEVELS: [f64; 8] = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995];
/// Extra headroom shares of our sweep.
pub const HEADROOMS: [f64; 3] = [0.0, 0.1, 0.25];

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    /// `hpa` or `proactive`.
    pub policy: String,
    /// The knob's setting, e.g. `target=0.7` or `q=0.99,headroom=0.1`.
    pub setting: String,
    /// Cost at the price table's prices.
    pub cost: f64,
    /// Under-provisioned minutes.
    pub under_provisioned_minutes: f64,
}

/// Both frontiers of one trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// Every HPA run.
    pub hpa: Vec<SweepPoint>,
    /// Every run of ours.
    pub proactive: Vec<SweepPoint>,
    /// Whether every HPA point is matched or beaten on both cost and shortfall by one of ours.
    pub dominates: bool,
}

/// Runs the sweep on `trace` around the base options `opts`.
///
/// # Errors
/// As [`super::simulate`].
pub fn sweep(trace: &TimeSeries, opts: &SimOptions) -> Result<Sweep> {
    opts.validate()?;
    let (demand, scale) = prepare(trace, opts)?;
    let model = shadow_forecast::by_name(&opts.model, opts.season)?;
    let prepared = Prepared::new(&demand, scale, opts, model.as_ref(), true)?;
    let mut hpa = Vec::new();
    for t in HPA_TARGETS {
        let o = SimOptions {
            hpa_target: t,
            ..opts.clone()
        };
        let s = prepared.run(PolicyKind::Hpa, &o, None)?;
        hpa.push(SweepPoint {
            policy: "hpa".into(),
            setting: format!("target={t}"),
            cost: s.cost,
            under_provisioned_minutes: s.under_provisioned_minutes,
        });
    }
    // Our default decision (the expected-cost headroom of the price table) is a point of our frontier too.
    let base = prepared.run(PolicyKind::Proactive, opts, None)?;
    let mut ours = vec![SweepPoint {
        policy: "proactive".into(),
        setting: match opts.proactive.level {
            Some(q) => format!("q={q},headroom={}", opts.proactive.online.headroom),
            None => format!("expected-cost,headroom={}", opts.proactive.online.headroom),
        },
        cost: base.cost,
        under_provisioned_minutes: base.under_provisioned_minutes,
    }];
    for q in LEVELS {
        for h in HEADROOMS {
            let mut o = opts.clone();
            o.proactive.level = Some(q);
            o.proactive.online.headroom = h;
            let s = prepared.run(PolicyKind::Proactive, &o, None)?;
            ours.push(SweepPoint {
                policy: "proactive".into(),
                setting: format!("q={q},headroom={h}"),
                cost: s.cost,
                under_provisioned_minutes: s.under_provisioned_minutes,
            });
        }
    }
    let dominates = dominates(&ours, &hpa);
    Ok(Sweep {
        hpa,
        proactive: ours,
        dominates,
    })
}

/// Whether every point of `theirs` is weakly dominated (cost and shortfall both no higher) by a point of
/// `ours`.
#[must_use]
pub fn dominates(ours: &[SweepPoint], theirs: &[SweepPoint]) -> bool {
    theirs.iter().all(|t| {
        ours.iter().any(|o| {
            o.cost <= t.cost * (1.0 + 1e-9)
                && o.under_provisioned_minutes <= t.under_provisioned_minutes + 1e-9
        })
    })
}

/// The Pareto-efficient points of `points`, by increasing cost.
#[must_use]
pub fn frontier(points: &[SweepPoint]) -> Vec<SweepPoint> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| {
        a.cost.total_cmp(&b.cost).then(
            a.under_provisioned_minutes
                .total_cmp(&b.under_provisioned_minutes),
        )
    });
    let mut out: Vec<SweepPoint> = Vec::new();
    for p in sorted {
        if out
            .last()
            .is_none_or(|l| p.under_provisioned_minutes < l.under_provisioned_minutes)
        {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(cost: f64, minutes: f64) -> SweepPoint {
        SweepPoint {
            policy: "x".into(),
            setting: String::new(),
            cost,
            under_provisioned_minutes: minutes,
        }
    }

    #[test]
    fn frontier_and_dominance_by_hand() {
        let pts = [p(3.0, 10.0), p(1.0, 50.0), p(2.0, 60.0), p(4.0, 0.0)];
        let f = frontier(&pts);
        assert_eq!(f.iter().map(|p| p.cost).collect::<Vec<_>>(), vec![1.0, 3.0, 4.0]);
        assert!(dominates(&[p(1.0, 5.0)], &[p(1.0, 5.0), p(2.0, 9.0)]));
        assert!(!dominates(&[p(1.0, 5.0)], &[p(0.5, 50.0)]));
    }
}
