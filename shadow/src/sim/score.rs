//! Scoring one policy's run: shortfall, slack, cost, actions, reversals and ramps met ahead of time.

use serde::Serialize;

/// The score of one policy over the scored part of the trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyScore {
    /// `hpa`, `aws-predictive`, `proactive`, `cost-optimised` or `oracle`.
    pub name: String,
    /// Minutes where demand exceeded the booted capacity (the SLO violation).
    pub under_provisioned_minutes: f64,
    /// Instance-minutes of demand above the booted capacity.
    pub under_provisioned_area: f64,
    /// Relative slack, as in Google's Autopilot paper: unused capacity over capacity, `Σ max(c − d, 0) / Σ c`.
    pub slack: f64,
    /// What the run cost: billed instance-hours (booting included) times the price table's prices.
    pub cost: f64,
    /// Changes of the asked-for capacity.
    pub actions: u32,
    /// Actions in the opposite direction of the previous one.
    pub reversals: u32,
    /// Demand ramps: steps whose demand rose by at least 10 % and one instance above the largest demand of
    /// the preceding boot time.
    pub ramps: u32,
    /// Ramps whose demand the booted capacity covered the moment they arrived: capacity asked for at least one
    /// boot time ahead (anything asked for later is still booting).
    pub ramps_ready: u32,
    /// Spot instances interrupted (cost-optimised only).
    pub spot_interruptions: u32,
    /// Booted capacity at the start of each step, in instances (for charts).
    #[serde(skip)]
    pub capacity: Vec<f64>,
}

/// Accumulates a score tick by tick.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) under_minutes: f64,
    pub(crate) under_area: f64,
    pub(crate) capacity_minutes: f64,
    pub(crate) slack_minutes: f64,
    pub(crate) cost: f64,
}

impl Tally {
    /// One scored tick of `minutes` with `demand` (NaN: not scored) against `ready` instances, at `hourly`
    /// cost.
    pub(crate) fn tick(&mut self, minutes: f64, demand: f64, ready: u32, hourly: f64) {
        self.cost += hourly * minutes / 60.0;
        if demand.is_nan() {
            return;
        }
        let c = f64::from(ready);
        if demand > c + 1e-9 {
            self.under_minutes += minutes;
            self.under_area += (demand - c) * minutes;
        }
        self.capacity_minutes += c * minutes;
        self.slack_minutes += (c - demand).max(0.0) * minutes;
    }
}

/// Counts the ramps of `demand` (per step) from step `from`, and those the capacity met ahead of time.
///
/// `ready` is the booted capacity per tick (`ticks` per step) and `boot_steps` the boot delay in whole steps
/// (at least 1).
pub(crate) fn ramps(
    demand: &[f64],
    from: usize,
    ready: &[u32],
    ticks: usize,
    boot_steps: usize,
) -> (u32, u32) {
    let (mut ramps, mut met) = (0, 0);
    for i in from.max(boot_steps)..demand.len() {
        let d = demand[i];
        let window = &demand[i - boot_steps..i];
        if d.is_nan() || window.iter().any(|v| v.is_nan()) {
            continue;
        }
        let base = window.iter().copied().fold(0.0, f64::max);
        if d > 1.1 * base && d - base >= 1.0 {
            ramps += 1;
            if ready.get(i * ticks).is_some_and(|&r| f64::from(r) >= d) {
                met += 1;
            }
        }
    }
    (ramps, met)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_by_hand() {
        let mut t = Tally::default();
        t.tick(1.0, 5.0, 4, 4.0); // 1 instance short for a minute
        t.tick(1.0, 2.0, 4, 4.0); // 2 spare of 4
        t.tick(1.0, f64::NAN, 4, 4.0); // not scored, still billed
        assert_eq!((t.under_minutes, t.under_area), (1.0, 1.0));
        assert!((t.slack_minutes / t.capacity_minutes - 2.0 / 8.0).abs() < 1e-12);
        assert!((t.cost - 0.2).abs() < 1e-12);
    }

    #[test]
    fn ramps_by_hand() {
        // One tick per step, boot = 1 step. Ramps at steps 2 (2 -> 5) and 4 (5 -> 9).
        let demand = [2.0, 2.0, 5.0, 5.0, 9.0, 9.0];
        let ready = [6, 6, 6, 6, 6, 9];
        assert_eq!(ramps(&demand, 0, &ready, 1, 1), (2, 1));
    }
}
