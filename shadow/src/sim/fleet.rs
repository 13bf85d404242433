//! The simulated provisioner: instances of three purchase options that boot before they count, spot
//! interruptions from a seeded random source, and billing by the instance-minute.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};
use shadow_core::PriceTable;

/// A purchase option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    OnDemand = 0,
    Reserved = 1,
    Spot = 2,
}

/// The instances of one purchase option.
#[derive(Debug, Default, Clone)]
struct Pool {
    desired: u32,
    ready: u32,
    /// Boot completion times of instances not yet ready, oldest first.
    booting: VecDeque<DateTime<Utc>>,
}

impl Pool {
    fn running(&self) -> u32 {
        self.ready + self.booting.len() as u32
    }

    fn set(&mut self, target: u32, now: DateTime<Utc>, boot: TimeDelta) {
        if target < self.desired {
            let mut remove = self.running().saturating_sub(target);
            while remove > 0 && self.booting.pop_back().is_some() {
                remove -= 1;
            }
            self.ready -= remove.min(self.ready);
        }
        self.desired = target;
        self.replace(now, boot);
    }

    /// Launches instances until the running ones match the desired count (as an auto-scaling group does).
    fn replace(&mut self, now: DateTime<Utc>, boot: TimeDelta) {
        let missing = self.desired.saturating_sub(self.running());
        self.booting.extend((0..missing).map(|_| now + boot));
    }

    fn tick(&mut self, now: DateTime<Utc>) {
        while self.booting.front().is_some_and(|t| *t <= now) {
            self.booting.pop_front();
            self.ready += 1;
        }
    }
}

/// A tiny seeded generator (SplitMix64): the same seed gives the same interruptions.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A uniform draw in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The fleet of one policy.
#[derive(Debug, Clone)]
pub(crate) struct Fleet {
    pools: [Pool; 3],
    boot: TimeDelta,
    rng: SplitMix64,
    /// The chance that one spot instance is interrupted during one tick.
    spot_risk: f64,
    pub(crate) actions: u32,
    pub(crate) reversals: u32,
    last_direction: i8,
    pub(crate) interruptions: u32,
    /// Reserved instances paid for whether they run or not.
    commitment: u32,
}

impl Fleet {
    /// `replicas` ready on-demand instances.
    pub(crate) fn new(
        replicas: u32,
        boot: TimeDelta,
        tick: TimeDelta,
        prices: &PriceTable,
        seed: u64,
    ) -> Self {
        let mut pools: [Pool; 3] = Default::default();
        pools[Class::OnDemand as usize] = Pool {
            desired: replicas,
            ready: replicas,
            booting: VecDeque::new(),
        };
        let hours = tick.num_milliseconds() as f64 / 3_600_000.0;
        Self {
            pools,
            boot,
            rng: SplitMix64::new(seed),
            spot_risk: 1.0 - (-prices.spot_interruptions_per_hour * hours).exp(),
            actions: 0,
            reversals: 0,
            last_direction: 0,
            interruptions: 0,
            commitment: 0,
        }
    }

    /// Commits to paying for `reserved` instances from now on, whether they run or not.
    pub(crate) fn commit(&mut self, reserved: u32) {
        self.commitment = reserved;
    }

    /// All instances asked for.
    pub(crate) fn desired(&self) -> u32 {
        self.pools.iter().map(|p| p.desired).sum()
    }

    /// All booted instances: the capacity that serves demand now.
    pub(crate) fn ready(&self) -> u32 {
        self.pools.iter().map(|p| p.ready).sum()
    }

    /// Asks for `[on_demand, reserved, spot]` instances at `now` (idempotent: the same targets change nothing).
    pub(crate) fn set(&mut self, targets: [u32; 3], now: DateTime<Utc>) {
        let before = self.desired();
        for (pool, t) in self.pools.iter_mut().zip(targets) {
            if pool.desired != t {
                pool.set(t, now, self.boot);
            }
        }
        let after = self.desired();
        if after != before {
            self.actions += 1;
            let dir = if after > before { 1 } else { -1 };
            if self.last_direction != 0 && dir != self.last_direction {
                self.reversals += 1;
            }
            self.last_direction = dir;
        }
    }

    /// As [`Fleet::set`], but moving capacity between purchase options never lowers the booted capacity:
    /// a shrinking option keeps as many of its booted instances as the growing ones still have booting, up to
    /// what the new total needs. They go at a later call, once the replacements serve.
    pub(crate) fn set_make_before_break(&mut self, targets: [u32; 3], now: DateTime<Utc>) {
        let total: u32 = targets.iter().sum();
        let keep_serving = self.ready().min(total);
        let serving_after: u32 = self.pools.iter().zip(targets).map(|(p, t)| p.ready.min(t)).sum();
        let mut short = keep_serving.saturating_sub(serving_after);
        let mut adjusted = targets;
        for (k, pool) in self.pools.iter().enumerate() {
            if short == 0 {
                break;
            }
            if adjusted[k] < pool.ready {
                let keep = (pool.ready - adjusted[k]).min(short);
                adjusted[k] += keep;
                short -= keep;
            }
        }
        self.set(adjusted, now);
    }

    /// Asks for `total` on-demand instances.
    pub(crate) fn set_total(&mut self, total: u32, now: DateTime<Utc>) {
        self.set([total, 0, 0], now);
    }

    /// Advances to `now`: finishes boots, interrupts spot instances at random and replaces them.
    pub(crate) fn tick(&mut self, now: DateTime<Utc>) {
        for p in &mut self.pools {
            p.tick(now);
        }
        if self.spot_risk > 0.0 {
            let spot = &mut self.pools[Class::Spot as usize];
            let mut lost = 0;
            for _ in 0..spot.running() {
                if self.rng.next_f64() < self.spot_risk {
                    lost += 1;
                }
            }
            if lost > 0 {
                self.interruptions += lost;
                // Interrupted instances go at once, ready ones first (booting ones are rarely reclaimed).
                let from_ready = lost.min(spot.ready);
                spot.ready -= from_ready;
                for _ in from_ready..lost {
                    spot.booting.pop_back();
                }
                spot.replace(now, self.boot);
            }
        }
    }

    /// What the fleet costs per hour now: running instances (booting ones included) at their price.
    pub(crate) fn hourly_cost(&self, prices: &PriceTable) -> f64 {
        let p = &self.pools;
        f64::from(p[Class::OnDemand as usize].running()) * prices.on_demand
            + f64::from(self.commitment.max(p[Class::Reserved as usize].running())) * prices.reserved
            + f64::from(p[Class::Spot as usize].running()) * prices.spot
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn boots_before_counting_and_counts_reversals() {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let p = PriceTable::default();
        let mut f = Fleet::new(2, TimeDelta::minutes(5), TimeDelta::seconds(15), &p, 1);
        f.set_total(5, t0);
        f.tick(t0 + TimeDelta::minutes(4));
        assert_eq!((f.ready(), f.desired()), (2, 5));
        // Booting instances are billed.
        assert_eq!(f.hourly_cost(&p), 5.0);
        f.tick(t0 + TimeDelta::minutes(5));
        assert_eq!(f.ready(), 5);
        f.set_total(3, t0 + TimeDelta::minutes(6));
        f.set_total(3, t0 + TimeDelta::minutes(7));
        f.set_total(4, t0 + TimeDelta::minutes(8));
        assert_eq!((f.ready(), f.actions, f.reversals), (3, 3, 2));
    }

    #[test]
    fn moving_between_options_keeps_capacity_until_replacements_boot() {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let p = PriceTable::default();
        let mut f = Fleet::new(10, TimeDelta::minutes(5), TimeDelta::minutes(1), &p, 1);
        // Move 6 of 10 on-demand instances to reserved: the 6 on-demand stay until the reserved ones boot.
        f.set_make_before_break([4, 6, 0], t0);
        assert_eq!((f.ready(), f.desired()), (10, 16));
        f.tick(t0 + TimeDelta::minutes(5));
        f.set_make_before_break([4, 6, 0], t0 + TimeDelta::minutes(5));
        assert_eq!((f.ready(), f.desired()), (10, 10));
    }

    #[test]
    fn spot_interruptions_are_seeded_and_replaced() {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let p = PriceTable {
            spot_interruptions_per_hour: 2.0,
            ..PriceTable::default()
        };
        let run = |seed| {
            let mut f = Fleet::new(0, TimeDelta::minutes(5), TimeDelta::minutes(1), &p, seed);
            f.set([0, 0, 20], t0);
            for m in 1..=120 {
                f.tick(t0 + TimeDelta::minutes(m));
            }
            (f.interruptions, f.desired(), f.ready())
        };
        let (lost, desired, _) = run(7);
        // 20 instances × 2 h × 2 per hour ≈ 80 expected.
        assert!((40..140).contains(&lost), "{lost}");
        assert_eq!(desired, 20);
        assert_eq!(run(7), run(7));
        assert_ne!(run(7).0, run(8).0);
    }
}
