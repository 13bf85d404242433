//! Seasonal periods from the sampling step, confirmed by a periodogram.
//!
//! Infrastructure metrics have a daily and a weekly cycle. [`candidates`] turns the sampling step into the
//! number of steps per day and per week (when the step divides them). [`detect`] keeps a candidate when the
//! history covers at least two of its cycles and the periodogram of the detrended series has a clear peak at
//! the candidate's fundamental frequency or one of its first harmonics: the power there must exceed
//! [`PEAK_RATIO`] times the median power of the neighbouring frequencies.

use std::time::Duration;

/// How many times the median power of the neighbouring frequencies a peak must reach.
pub const PEAK_RATIO: f64 = 6.0;

const DAY: u128 = 86_400_000;
const WEEK: u128 = 7 * DAY;

/// The daily and weekly periods in steps of `step`, ascending, for those the step divides evenly.
#[must_use]
pub fn candidates(step: Duration) -> Vec<usize> {
    let ms = step.as_millis();
    if ms == 0 {
        return Vec::new();
    }
    [DAY, WEEK]
        .into_iter()
        .filter(|p| p % ms == 0 && p / ms > 1)
        .map(|p| usize::try_from(p / ms).unwrap_or(usize::MAX))
        .collect()
}

/// The candidate periods of `step` that `y` (`NaN` = missing) covers at least twice and whose cycle shows in
/// the periodogram; see the module docs.
#[must_use]
pub fn detect(y: &[f64], step: Duration) -> Vec<usize> {
    candidates(step)
        .into_iter()
        .filter(|&m| y.len() >= 2 * m && confirmed(y, m))
        .collect()
}

/// Whether the periodogram of the detrended `y` peaks at period `m` or its 2nd/3rd harmonic.
#[must_use]
pub fn confirmed(y: &[f64], m: usize) -> bool {
    let n = y.len();
    if m < 2 || n < 2 * m {
        return false;
    }
    let x = detrended(y);
    // Frequencies as cycles per series length: period m is at k = n / m.
    let k0 = n as f64 / m as f64;
    (1..=3).any(|harmonic| {
        let k = k0 * harmonic as f64;
        if k >= n as f64 / 2.0 {
            return false;
        }
        let peak = power(&x, k);
        // Neighbours: frequencies between 0.5 and 1.5 times the harmonic, away from the peak itself.
        let lo = (k * 0.5).max(1.0);
        let hi = (k * 1.5).min(n as f64 / 2.0);
        let count = 24usize;
        let mut around: Vec<f64> = (0..count)
            .map(|i| lo + (hi - lo) * (i as f64 + 0.5) / count as f64)
            .filter(|f| (f - k).abs() > 1.0)
            .map(|f| power(&x, f))
            .collect();
        if around.is_empty() {
            return false;
        }
        around.sort_by(f64::total_cmp);
        let median = around[around.len() / 2];
        peak > PEAK_RATIO * median.max(1e-300)
    })
}

/// The series minus its least-squares line, with gaps set to 0.
fn detrended(y: &[f64]) -> Vec<f64> {
    let pts: Vec<(f64, f64)> = y
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(t, &v)| (t as f64, v))
        .collect();
    let n = pts.len().max(1) as f64;
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let mv = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let stt: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
    let slope = if stt > 0.0 {
        pts.iter().map(|p| (p.0 - mt) * (p.1 - mv)).sum::<f64>() / stt
    } else {
        0.0
    };
    y.iter()
        .enumerate()
        .map(|(t, &v)| {
            if v.is_finite() {
                v - mv - slope * (t as f64 - mt)
            } else {
                0.0
            }
        })
        .collect()
}

/// The periodogram `|Σ x_t e^{−2πi k t / n}|²` at a (possibly fractional) frequency `k`.
fn power(x: &[f64], k: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * k / x.len() as f64;
    let (c, s) = (w.cos(), w.sin());
    // Rotate a unit phasor instead of calling sin/cos per point.
    let (mut re, mut im) = (0.0, 0.0);
    let (mut pc, mut ps) = (1.0f64, 0.0f64);
    for &v in x {
        re += v * pc;
        im -= v * ps;
        let npc = pc * c - ps * s;
        ps = pc * s + ps * c;
        pc = npc;
    }
    re * re + im * im
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_the_step() {
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(candidates(min(60)), vec![24, 168]);
        assert_eq!(candidates(min(5)), vec![288, 2016]);
        assert_eq!(candidates(min(7)), vec![1440]); // 7 min divides a week but not a day
        assert_eq!(candidates(Duration::from_secs(86_400)), vec![7]);
    }

    #[test]
    fn detects_a_daily_cycle_and_rejects_noise() {
        let hour = Duration::from_secs(3600);
        let daily: Vec<f64> = (0..24 * 21)
            .map(|t| {
                10.0 + (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin()
                    + 0.3 * ((t * 7919 % 31) as f64 / 31.0)
            })
            .collect();
        assert_eq!(detect(&daily, hour), vec![24]);
        // A pseudo-random series has no cycle.
        let mut state = 12345u64;
        let noise: Vec<f64> = (0..24 * 21)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        assert!(detect(&noise, hour).is_empty());
        // Too short for the weekly cycle: only the daily one can be found.
        assert!(detect(&daily[..24 * 10], hour).iter().all(|&m| m == 24));
    }
}
