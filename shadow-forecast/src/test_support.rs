//! Helpers shared by the crate's unit tests.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use shadow_core::{Quantile, TimeSeries};

/// An hourly series starting at the Unix epoch.
pub(crate) fn hourly(values: Vec<f64>) -> TimeSeries {
    TimeSeries::new(
        Utc.timestamp_opt(0, 0).unwrap(),
        Duration::from_secs(3600),
        values,
    )
    .unwrap()
}

/// The 10 %, 50 % and 90 % quantile levels.
pub(crate) fn levels() -> Vec<Quantile> {
    [0.1, 0.5, 0.9]
        .into_iter()
        .map(|q| Quantile::try_new(q).unwrap())
        .collect()
}

/// A deterministic pseudo-random standard normal stream (Box–Muller on an LCG).
pub(crate) fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed;
    let mut u = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos())
        .collect()
}
