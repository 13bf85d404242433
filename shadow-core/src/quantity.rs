//! Validated quantities used at the public API: replicas, traffic weights, quantile and confidence levels,
//! request rates.
//!
//! Each type rejects invalid values in `try_new` and in deserialisation, so a value of the type is always valid.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// A number of instances (replicas) of a service. Any `u32` is valid; `0` means scaled to zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Replicas(pub u32);

impl Replicas {
    /// The number of replicas as `u32`.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Replicas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The share of traffic sent to one side, in basis points (`0..=10_000`, where `10_000` is 100 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct TrafficWeight(u16);

impl TrafficWeight {
    /// No traffic.
    pub const ZERO: TrafficWeight = TrafficWeight(0);
    /// All traffic.
    pub const FULL: TrafficWeight = TrafficWeight(10_000);

    /// Creates a weight from basis points.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `basis_points > 10_000`.
    pub fn try_new(basis_points: u16) -> Result<Self> {
        if basis_points > 10_000 {
            return Err(Error::invalid(
                "traffic weight",
                format!("{basis_points} basis points is above 10000"),
            ));
        }
        Ok(Self(basis_points))
    }

    /// Creates a weight from a percentage such as `25.0` or `0.5`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the percentage is not finite or outside `0..=100`.
    pub fn from_percent(percent: f64) -> Result<Self> {
        if !percent.is_finite() || !(0.0..=100.0).contains(&percent) {
            return Err(Error::invalid(
                "traffic weight",
                format!("{percent}% is outside 0..=100"),
            ));
        }
        Ok(Self((percent * 100.0).round() as u16))
    }

    /// The weight in basis points.
    #[must_use]
    pub const fn basis_points(self) -> u16 {
        self.0
    }

    /// The weight as a percentage.
    #[must_use]
    pub fn percent(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// The weight as a fraction in `0..=1`.
    #[must_use]
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// The rest of the traffic: `100 % - self`.
    #[must_use]
    pub const fn complement(self) -> Self {
        Self(10_000 - self.0)
    }
}

impl fmt::Display for TrafficWeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.percent())
    }
}

impl<'de> Deserialize<'de> for TrafficWeight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bp = u16::deserialize(d)?;
        Self::try_new(bp).map_err(serde::de::Error::custom)
    }
}

macro_rules! open_unit_interval {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Serialize)]
        #[serde(transparent)]
        pub struct $name(f64);

        impl $name {
            /// Creates the value.
            ///
            /// # Errors
            /// [`Error::InvalidInput`] unless `0 < value < 1`.
            pub fn try_new(value: f64) -> Result<Self> {
                if value.is_finite() && value > 0.0 && value < 1.0 {
                    Ok(Self(value))
                } else {
                    Err(Error::invalid($what, format!("{value} is not strictly between 0 and 1")))
                }
            }

            /// The value as `f64`.
            #[must_use]
            pub const fn get(self) -> f64 {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let v = f64::deserialize(d)?;
                Self::try_new(v).map_err(serde::de::Error::custom)
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                // Both values are finite, so total_cmp is the usual order.
                self.0.total_cmp(&other.0)
            }
        }
    };
}

open_unit_interval!(
    /// A probability level of a quantile, strictly between 0 and 1 (`0.5` is the median).
    Quantile,
    "quantile"
);

open_unit_interval!(
    /// The coverage of a central prediction interval, strictly between 0 and 1 (`0.8` is an 80 % interval).
    ConfidenceLevel,
    "confidence level"
);

impl Quantile {
    /// The median.
    pub const MEDIAN: Quantile = Quantile(0.5);

    /// The column label used in CSV output: `p` followed by the percentage, for example `p50`, `p99.9`.
    #[must_use]
    pub fn label(self) -> String {
        let pct = self.0 * 100.0;
        // Print at most 6 decimals and trim trailing zeros, so 0.999 -> "p99.9", 0.5 -> "p50".
        let mut s = format!("{pct:.6}");
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
        format!("p{s}")
    }
}

impl fmt::Display for Quantile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ConfidenceLevel {
    /// The lower and upper quantiles of the central interval with this coverage.
    #[must_use]
    pub fn bounds(self) -> (Quantile, Quantile) {
        let tail = (1.0 - self.0) / 2.0;
        (Quantile(tail), Quantile(1.0 - tail))
    }
}

/// A request rate in requests per second: finite and non-negative.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize)]
#[serde(transparent)]
pub struct RequestRate(f64);

impl RequestRate {
    /// Creates a request rate.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the rate is negative or not finite.
    pub fn try_new(per_second: f64) -> Result<Self> {
        if per_second.is_finite() && per_second >= 0.0 {
            Ok(Self(per_second))
        } else {
            Err(Error::invalid(
                "request rate",
                format!("{per_second} is not a finite, non-negative rate"),
            ))
        }
    }

    /// Requests per second.
    #[must_use]
    pub const fn per_second(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for RequestRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Self::try_new(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_labels_follow_the_csv_contract() {
        let label = |q: f64| Quantile::try_new(q).unwrap().label();
        assert_eq!(label(0.5), "p50");
        assert_eq!(label(0.9), "p90");
        assert_eq!(label(0.99), "p99");
        assert_eq!(label(0.999), "p99.9");
        assert_eq!(label(0.025), "p2.5");
        assert_eq!(label(0.01), "p1");
    }

    #[test]
    fn invalid_values_are_rejected() {
        assert!(Quantile::try_new(0.0).is_err());
        assert!(Quantile::try_new(1.0).is_err());
        assert!(Quantile::try_new(f64::NAN).is_err());
        assert!(ConfidenceLevel::try_new(1.5).is_err());
        assert!(TrafficWeight::try_new(10_001).is_err());
        assert!(TrafficWeight::from_percent(-1.0).is_err());
        assert!(RequestRate::try_new(-0.1).is_err());
        assert!(RequestRate::try_new(f64::INFINITY).is_err());
        assert!(serde_json_like("1.5").is_err());
    }

    fn serde_json_like(s: &str) -> Result<Quantile, toml::de::Error> {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct W {
            q: Quantile,
        }
        toml::from_str::<W>(&format!("q = {s}")).map(|w| w.q)
    }

    #[test]
    fn weights_convert() {
        let w = TrafficWeight::from_percent(25.0).unwrap();
        assert_eq!(w.basis_points(), 2500);
        assert_eq!(w.complement().percent(), 75.0);
        assert_eq!(w.to_string(), "25%");
        let (lo, hi) = ConfidenceLevel::try_new(0.8).unwrap().bounds();
        assert!((lo.get() - 0.1).abs() < 1e-12 && (hi.get() - 0.9).abs() < 1e-12);
    }
}
