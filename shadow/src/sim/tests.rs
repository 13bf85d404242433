use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;

/// A working-day square wave: demand triples at 09:00 and drops back at 17:00.
fn trace(days: usize) -> TimeSeries {
    let values = (0..days * 288)
        .map(|i| if (108..204).contains(&(i % 288)) { 9.0 } else { 3.0 })
        .collect();
    TimeSeries::new(
        Utc.timestamp_opt(1_700_006_400, 0).unwrap(),
        Duration::from_secs(300),
        values,
    )
    .unwrap()
}

#[test]
fn proactive_beats_reactive_on_a_periodic_trace() {
    let opts = SimOptions {
        warm_up: Duration::from_secs(4 * 86_400),
        ..SimOptions::default()
    };
    let r = simulate(&trace(7), &opts).unwrap();
    let mean: f64 = r.demand.values().iter().sum::<f64>() / r.demand.len() as f64;
    assert!((mean - 7.0).abs() < 1e-9, "scaled mean {mean}");
    assert_eq!(r.scored_minutes, 3.0 * 1440.0);
    let get = |k| r.policy(k).unwrap();
    let (hpa, pro, oracle) = (
        get(PolicyKind::Hpa),
        get(PolicyKind::Proactive),
        get(PolicyKind::Oracle),
    );
    // The mean 5 becomes 7: 12.6 at peak, 4.2 off-peak. The HPA (6 instances) sees each morning jump only
    // after it happened: +100 % to 12 at once, to 18 one 15-second sync later (the rate limit), each booting
    // for 5 minutes: 5 minutes short on 6 and 15 seconds on 12, every day.
    let minutes = |p: &PolicyScore| p.under_provisioned_minutes;
    assert_eq!(minutes(hpa), 3.0 * 5.25);
    assert_eq!(minutes(oracle), 0.0);
    // The proactive policy, sizing headroom by expected cost, accepts the one daily jump (a ramp it prices as
    // 2 steps in 576) rather than hold headroom all day: it is short no longer than the HPA, and cheaper.
    assert!(minutes(pro) <= minutes(hpa), "{}", minutes(pro));
    assert!(pro.ramps >= 3);
    assert!(pro.cost < 0.85 * hpa.cost, "{} vs {}", pro.cost, hpa.cost);
    // With a fixed high quantile, the forecast's perfect record wins and it boots ahead of every jump.
    let mut q = opts.clone();
    q.proactive.level = Some(0.99);
    q.policies = vec![PolicyKind::Proactive];
    let rq = simulate(&trace(7), &q).unwrap();
    let pq = rq.policy(PolicyKind::Proactive).unwrap();
    assert_eq!(minutes(pq), 0.0);
    assert_eq!(pq.ramps_ready, pq.ramps);
    // The oracle is the cheapest.
    assert!(oracle.cost < hpa.cost);
    // The oracle runs exactly ceil(demand) outside the boots: 13 for 8 hours, 5 for 16 hours.
    let cost_floor = (13.0 * 8.0 + 5.0 * 16.0) * 3.0;
    assert!(
        oracle.cost >= cost_floor && oracle.cost < cost_floor * 1.01,
        "{}",
        oracle.cost
    );
    // Deterministic.
    assert_eq!(simulate(&trace(7), &opts).unwrap(), r);
}

#[test]
fn bad_input_is_a_clear_error() {
    let opts = SimOptions::default();
    assert!(matches!(
        simulate(&trace(1), &opts),
        Err(Error::NotEnoughData { .. })
    ));
    let t0 = Utc.timestamp_opt(0, 0).unwrap();
    let step = Duration::from_secs(300);
    let mut v: Vec<f64> = trace(3).values().to_vec();
    v[400] = -1.0;
    let err = simulate(&TimeSeries::new(t0, step, v.clone()).unwrap(), &opts).unwrap_err();
    assert!(err.to_string().contains("value -1 at"), "{err}");
    v[400] = 1.0;
    for x in v.iter_mut().take(300) {
        *x = f64::NAN;
    }
    let err = simulate(&TimeSeries::new(t0, step, v).unwrap(), &opts).unwrap_err();
    assert!(err.to_string().contains("steps are missing"), "{err}");
    let zeros = TimeSeries::new(t0, step, vec![0.0; 600]).unwrap();
    assert!(
        simulate(&zeros, &opts)
            .unwrap_err()
            .to_string()
            .contains("mean demand is zero")
    );
    let bad = SimOptions {
        min_replicas: 5,
        max_replicas: 2,
        ..SimOptions::default()
    };
    assert!(
        simulate(&trace(3), &bad)
            .unwrap_err()
            .to_string()
            .contains("min_replicas")
    );
    let zero_cap = SimOptions {
        mean_instances: 0.0,
        ..SimOptions::default()
    };
    assert!(simulate(&trace(3), &zero_cap).is_err());
    let model = SimOptions {
        model: "prophet".into(),
        ..SimOptions::default()
    };
    assert!(
        simulate(&trace(3), &model)
            .unwrap_err()
            .to_string()
            .contains("seasonal-naive")
    );
}

#[test]
fn gaps_are_not_scored_and_do_not_scale_in() {
    let mut v = trace(4).values().to_vec();
    for x in &mut v[700..720] {
        *x = f64::NAN;
    }
    let t = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(300), v).unwrap();
    let r = simulate(&t, &SimOptions::default()).unwrap();
    assert_eq!(r.missing, 20);
    assert_eq!(r.scored_minutes, (3.0 * 288.0 - 20.0) * 5.0);
}

#[test]
fn a_headroom_budget_cuts_the_cost_of_chasing_noise() {
    // Pure noise around a flat level: a seeded generator, so the forecast has no skill.
    let mut state = 11u64;
    let values: Vec<f64> = (0..6 * 288)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Mostly 10 ± 3, with a burst to 3x on about 3 % of the steps.
            if u < 0.03 { 30.0 } else { 7.0 + 6.0 * u }
        })
        .collect();
    let noisy = TimeSeries::new(
        Utc.timestamp_opt(1_700_006_400, 0).unwrap(),
        Duration::from_secs(300),
        values,
    )
    .unwrap();
    let mut free = SimOptions {
        policies: vec![PolicyKind::Proactive, PolicyKind::Oracle],
        ..SimOptions::default()
    };
    free.proactive.online.max_cost_over_oracle = f64::INFINITY;
    let mut budget = free.clone();
    budget.proactive.online.max_headroom = 0.25;
    let (a, b) = (
        simulate(&noisy, &free).unwrap(),
        simulate(&noisy, &budget).unwrap(),
    );
    let cost = |r: &SimReport| r.policy(PolicyKind::Proactive).unwrap().cost;
    assert!(cost(&b) < cost(&a), "budget {} vs none {}", cost(&b), cost(&a));
    let mut bad = free.clone();
    bad.proactive.online.max_headroom = -1.0;
    assert!(simulate(&noisy, &bad).is_err());

    // The budget against perfect foresight: sparse counts (mostly 0 or 1, sometimes a burst of 4) cost a
    // policy that covers the bursts about four times the oracle; held to 1.5 times, it spends less and
    // stays near the budget.
    let counts: Vec<f64> = (0..8 * 288)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            if u < 0.04 {
                4.0
            } else if u < 0.5 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let counts = TimeSeries::new(
        Utc.timestamp_opt(1_700_006_400, 0).unwrap(),
        Duration::from_secs(300),
        counts,
    )
    .unwrap();
    let mut held = free.clone();
    held.proactive.online.max_cost_over_oracle = 1.5;
    let (a, b) = (
        simulate(&counts, &free).unwrap(),
        simulate(&counts, &held).unwrap(),
    );
    let over = |r: &SimReport| cost(r) / r.policy(PolicyKind::Oracle).unwrap().cost;
    assert!(over(&b) < over(&a), "budget {} vs none {}", over(&b), over(&a));
    assert!(over(&b) < 1.7, "{}", over(&b));
    for v in [0.0, -1.0, f64::NAN] {
        let mut bad = free.clone();
        bad.proactive.online.max_cost_over_oracle = v;
        assert!(simulate(&counts, &bad).is_err());
    }
}

#[test]
fn bursts_that_grow_are_covered_after_their_first_step() {
    // A quiet load of 2 with bursts at random times (about one in 70 steps) that go 2 → 12 → 40 → 2: the
    // first step of a burst cannot be foreseen, its second can, once the policy has seen that a burst's
    // first step is followed by a bigger one. Calibrating the step after a miss on its own errors covers it.
    let mut state = 7u64;
    let mut values = Vec::new();
    while values.len() < 10 * 288 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (state >> 11) as f64 / (1u64 << 53) as f64;
        if u < 1.0 / 70.0 {
            values.extend([12.0, 40.0]);
        } else {
            values.push(2.0);
        }
    }
    let bursty = TimeSeries::new(
        Utc.timestamp_opt(1_700_006_400, 0).unwrap(),
        Duration::from_secs(300),
        values,
    )
    .unwrap();
    let on = SimOptions {
        policies: vec![PolicyKind::Hpa, PolicyKind::Proactive, PolicyKind::Oracle],
        warm_up: Duration::from_secs(3 * 86_400),
        ..SimOptions::default()
    };
    let mut off = on.clone();
    off.proactive.online.after_miss = false;
    let (a, b) = (simulate(&bursty, &on).unwrap(), simulate(&bursty, &off).unwrap());
    let pro = |r: &SimReport| r.policy(PolicyKind::Proactive).unwrap().clone();
    let bursts = bursty.values()[3 * 288..].iter().filter(|v| **v == 12.0).count() as f64;
    // Without the regime, both steps of nearly every burst are short; with it, about only the first.
    assert!(
        pro(&b).under_provisioned_minutes > 1.8 * 5.0 * bursts,
        "off: {} min for {bursts} bursts",
        pro(&b).under_provisioned_minutes
    );
    assert!(
        pro(&a).under_provisioned_minutes < 1.2 * 5.0 * bursts,
        "on: {} min for {bursts} bursts",
        pro(&a).under_provisioned_minutes
    );
    // The headroom is bought only after misses: it costs little against holding it all the time (the HPA).
    let hpa = a.policy(PolicyKind::Hpa).unwrap();
    assert!(pro(&a).cost < hpa.cost, "{} vs {}", pro(&a).cost, hpa.cost);
}
