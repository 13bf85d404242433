//! The price of capacity: choosing a mix of reserved, on-demand and spot instances, and the quantile that
//! balances the price of headroom against the cost of a shortfall.

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    scaling::PriceTable,
};

/// How many instances of each purchase option to run, and what that costs per hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CapacityMix {
    /// Reserved (committed) instances: cover the forecast's steady base.
    pub reserved: u32,
    /// On-demand instances: cover the predictable peaks.
    pub on_demand: u32,
    /// Spot instances: cover the rest (the uncertainty headroom), within the interruption-risk cap.
    pub spot: u32,
    /// What the mix costs per hour at the price table's prices.
    pub hourly_cost: f64,
}

impl CapacityMix {
    /// All instances of the mix.
    #[must_use]
    pub fn total(&self) -> u32 {
        self.reserved + self.on_demand + self.spot
    }
}

/// Splits `total` instances into a mix: `reserved` (the committed base) first, then on-demand up to
/// `predictable` (the instances the point forecast needs), then spot for the rest, but never more spot than
/// `max_spot_share × total` (rounded down); spot above the cap becomes on-demand.
///
/// ```
/// use shadow_core::{planner::cost::mix, scaling::PriceTable};
///
/// let prices = PriceTable::default(); // on-demand 1.0, reserved 0.6, spot 0.35 per hour, spot cap 30 %
/// let m = mix(20, 8, 15, &prices);
/// assert_eq!((m.reserved, m.on_demand, m.spot), (8, 7, 5));
/// assert!((m.hourly_cost - (8.0 * 0.6 + 7.0 * 1.0 + 5.0 * 0.35)).abs() < 1e-9);
/// ```
#[must_use]
pub fn mix(total: u32, reserved: u32, predictable: u32, prices: &PriceTable) -> CapacityMix {
    let reserved = reserved.min(total);
    let mut on_demand = predictable.saturating_sub(reserved).min(total - reserved);
    let mut spot = total - reserved - on_demand;
    let cap = (prices.max_spot_share * f64::from(total)).floor() as u32;
    if spot > cap {
        on_demand += spot - cap;
        spot = cap;
    }
    CapacityMix {
        reserved,
        on_demand,
        spot,
        hourly_cost: f64::from(reserved) * prices.reserved
            + f64::from(on_demand) * prices.on_demand
            + f64::from(spot) * prices.spot,
    }
}

/// The reserved base for a history of needed instances: the largest `k` such that at least a share
/// `reserved / on_demand` of the time needs `k` or more. A reserved instance is paid all the time, so it is
/// worth it exactly when it would be busy more often than its price ratio (the break-even utilisation).
///
/// # Errors
/// [`Error::InvalidInput`] when `needs` is empty or holds a non-finite value.
pub fn reserved_base(needs: &[f64], prices: &PriceTable) -> Result<u32> {
    if needs.is_empty() {
        return Err(Error::NotEnoughData { need: 1, got: 0 });
    }
    if needs.iter().any(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "reserved base needs",
        });
    }
    let mut sorted: Vec<f64> = needs.iter().map(|v| v.max(0.0).ceil()).collect();
    sorted.sort_by(f64::total_cmp);
    let busy = (prices.reserved / prices.on_demand).clamp(0.0, 1.0);
    // The (1 − busy) quantile: a share `busy` of the needs is at or above it.
    let idx = (((1.0 - busy) * sorted.len() as f64).floor() as usize).min(sorted.len() - 1);
    Ok(sorted[idx].min(f64::from(u32::MAX)) as u32)
}

/// The newsvendor quantile `penalty / (penalty + price)`: plan for the demand quantile at which one more
/// instance of headroom costs as much as the shortfall it is expected to prevent.
///
/// ```
/// use shadow_core::planner::cost::critical_ratio;
/// assert!((critical_ratio(1.0, 99.0).unwrap() - 0.99).abs() < 1e-12);
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] unless both are finite and positive.
pub fn critical_ratio(price: f64, penalty: f64) -> Result<f64> {
    if !(price.is_finite() && price > 0.0 && penalty.is_finite() && penalty > 0.0) {
        return Err(Error::invalid(
            "critical ratio",
            "price and penalty must be positive numbers",
        ));
    }
    Ok(penalty / (penalty + price))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_is_capped_and_spills_to_on_demand() {
        let p = PriceTable::default();
        // 10 total, nothing reserved, point forecast needs 2: 8 would be spot, but the cap is 3.
        let m = mix(10, 0, 2, &p);
        assert_eq!((m.reserved, m.on_demand, m.spot), (0, 7, 3));
        // Reserved above the total is cut to the total.
        let m = mix(4, 9, 9, &p);
        assert_eq!((m.reserved, m.on_demand, m.spot, m.total()), (4, 0, 0, 4));
    }

    #[test]
    fn reserved_base_is_the_break_even_quantile() {
        let p = PriceTable::default(); // busy share 0.6
        // Needs 1..=10: 60 % of the time we need >= 5 (5,6,...,10 is 6 of 10).
        let needs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(reserved_base(&needs, &p).unwrap(), 5);
        assert!(reserved_base(&[], &p).is_err());
        assert!(reserved_base(&[f64::NAN], &p).is_err());
        assert!(critical_ratio(0.0, 1.0).is_err());
    }
}
