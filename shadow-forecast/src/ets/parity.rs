//! Parity with statsmodels' `ETSModel`: at the same parameters and initial states, the recursions give the
//! same one-step fitted values and the same log-likelihood. Fixtures from `scripts/make_ets_fixtures.py`.

use serde_json::Value;

use super::{
    ErrorKind, EtsSpec, SeasonKind, TrendKind,
    calc::{Smoothing, State, neg2_loglik, pass_recording},
};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
fn recursions_and_likelihood_match_statsmodels() {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../../tests/fixtures/ets_loglik.json")).expect("valid fixture");
    assert_eq!(cases.len(), 8);
    for c in &cases {
        let f = |k: &str| c[k].as_f64().unwrap_or(0.0);
        let v = |k: &str| -> Vec<f64> {
            c[k].as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        let error = match c["error"].as_str() {
            Some("mul") => ErrorKind::Multiplicative,
            _ => ErrorKind::Additive,
        };
        let trend = match (c["trend"].as_str(), c["damped"].as_bool()) {
            (Some(_), Some(true)) => TrendKind::Damped,
            (Some(_), _) => TrendKind::Additive,
            _ => TrendKind::None,
        };
        let season = match c["seasonal"].as_str() {
            Some("add") => SeasonKind::Additive,
            Some("mul") => SeasonKind::Multiplicative,
            _ => SeasonKind::None,
        };
        let period = c["period"].as_u64().unwrap_or(1) as usize;
        let spec = EtsSpec::new(error, trend, season, period);
        let y = v("y");
        let p = Smoothing {
            alpha: f("alpha"),
            beta: f("beta"),
            gamma: f("gamma"),
            phi: f("phi"),
        };
        let init = State {
            level: f("level"),
            trend: f("trend0"),
            season: if season == SeasonKind::None {
                vec![0.0]
            } else {
                v("season")
            },
        };
        let mut fitted = Vec::new();
        let pass = pass_recording(&spec, &p, &init, &y, Some(&mut fitted)).expect("finite pass");
        for (t, (a, b)) in fitted.iter().zip(v("fitted")).enumerate() {
            assert!(rel(*a, b) < 1e-9, "{spec} t={t}: {a} vs {b}");
        }
        let n = y.len() as f64;
        let llf = -0.5 * (neg2_loglik(&spec, &pass) + n * ((2.0 * std::f64::consts::PI).ln() + 1.0));
        assert!(rel(llf, f("llf")) < 1e-9, "{spec}: llf {llf} vs {}", f("llf"));
    }
}
