//! The generated workload of the demo: CPU demand of `checkout` with daily and weekly cycles, a gentle trend,
//! seeded noise and campaign events.

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Timelike, Utc, Weekday};
use shadow_core::{Event, Result, TimeRange, TimeSeries};

/// The grid step of the workload.
pub const STEP: Duration = Duration::from_secs(300);

/// A tiny deterministic PRNG: SplitMix64, with Box–Muller for normal draws.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
    spare: Option<f64>,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed,
            spare: None,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in `(0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        // 53 random bits, shifted off zero.
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller, caching the second value).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

/// The generated workload: 21 days of history, the true next 24 hours, and the events.
#[derive(Debug, Clone)]
pub struct Workload {
    /// CPU demand in cores over the history, ending at [`Workload::now`].
    pub history: TimeSeries,
    /// What demand actually does over the next 24 hours (the forecast is scored against it).
    pub truth: TimeSeries,
    /// The past campaign, inside the history.
    pub past_campaign: Event,
    /// The announced campaign, inside the next 24 hours.
    pub future_campaign: Event,
}

/// The extra CPU a campaign brings, in cores.
pub const CAMPAIGN_LIFT: f64 = 18.0;

impl Workload {
    /// The end of the history: the moment the demo runs, 2026-11-23T00:00:00Z (a Monday).
    #[must_use]
    pub fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    /// Generates the workload. The same seed gives the same values.
    ///
    /// # Errors
    /// Only if the fixed timestamps were invalid, which they are not.
    pub fn generate(seed: u64) -> Result<Self> {
        let now = Self::now();
        let start = now - TimeDelta::days(21);
        let hours = |h| TimeDelta::hours(h);
        let past = Event::new(
            "campaign",
            TimeRange::new(
                now - TimeDelta::days(3) + hours(12),
                now - TimeDelta::days(3) + hours(16),
            )?,
        )?;
        let future = Event::new("campaign", TimeRange::new(now + hours(13), now + hours(17))?)?;
        let events = [past.clone(), future.clone()];
        let mut rng = SplitMix64::new(seed);
        let per_day = 86_400 / STEP.as_secs() as i64;
        let mut values = |from: DateTime<Utc>, n: i64| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    let t = from + TimeDelta::seconds(i * STEP.as_secs() as i64);
                    let days = (t - start).num_seconds() as f64 / 86_400.0;
                    let base = demand(t, days);
                    let lift = if events.iter().any(|e| e.window.contains(t)) {
                        CAMPAIGN_LIFT
                    } else {
                        0.0
                    };
                    (base + lift + rng.normal() * (0.6 + 0.03 * base)).max(0.0)
                })
                .collect()
        };
        let history = values(start, 21 * per_day);
        let truth = values(now, per_day);
        Ok(Self {
            history: TimeSeries::new(start, STEP, history)?,
            truth: TimeSeries::new(now, STEP, truth)?,
            past_campaign: past,
            future_campaign: future,
        })
    }

    /// The events, past then future.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        vec![self.past_campaign.clone(), self.future_campaign.clone()]
    }
}

/// The noise-free demand at `t`, `days` after the start of the history.
fn demand(t: DateTime<Utc>, days: f64) -> f64 {
    let hour = f64::from(t.hour()) + f64::from(t.minute()) / 60.0;
    // 0 at 03:00, 1 at 15:00.
    let daily = 0.5 - 0.5 * (std::f64::consts::TAU * (hour - 3.0) / 24.0).cos();
    let weekly = match t.weekday() {
        Weekday::Sat => 0.72,
        Weekday::Sun => 0.66,
        _ => 1.0,
    };
    let trend = 1.0 + 0.005 * days;
    40.0 * trend * weekly * (0.3 + 0.7 * daily.powf(1.3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_is_deterministic_and_roughly_normal() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let draws: Vec<f64> = (0..20_000).map(|_| a.normal()).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
    }

    #[test]
    fn workload_has_the_promised_shape() {
        let w = Workload::generate(7).unwrap();
        assert_eq!(w.history.len(), 21 * 288);
        assert_eq!(w.history.end(), Workload::now());
        assert_eq!(w.truth.len(), 288);
        assert_eq!(Workload::generate(7).unwrap().history, w.history);
        // Campaign hours are clearly above the same hours a week earlier.
        let at = |t: DateTime<Utc>| {
            w.history
                .get(((t - w.history.start()).num_seconds() / 300) as usize)
                .unwrap()
        };
        let peak = w.past_campaign.window.start + TimeDelta::hours(2);
        assert!(at(peak) - at(peak - TimeDelta::days(7)) > 10.0);
    }
}
