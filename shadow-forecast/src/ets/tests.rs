use chrono::TimeZone;
use shadow_core::{Event, Regressors, TimeRange};

use super::*;
use crate::test_support::{hourly, levels, noise};

#[test]
fn auto_finds_the_daily_season_and_forecasts_it() {
    let e = noise(1, 24 * 20);
    let y: Vec<f64> = (0..24 * 20)
        .map(|t| 200.0 + 30.0 * (2.0 * std::f64::consts::PI * (t % 24) as f64 / 24.0).sin() + e[t])
        .collect();
    let fitted = Ets::auto().fit(&FitInput::new(&hourly(y))).unwrap();
    assert_ne!(fitted.spec().season, SeasonKind::None, "{}", fitted.spec());
    assert!(fitted.fallback().is_none());
    let f = fitted.predict(&PredictRequest::new(24, &levels())).unwrap();
    for h in 0..24 {
        let truth = 200.0 + 30.0 * (2.0 * std::f64::consts::PI * h as f64 / 24.0).sin();
        assert!(
            (f.point()[h] - truth).abs() < 3.0,
            "h={h}: {} vs {truth}",
            f.point()[h]
        );
        assert!(f.quantile_paths()[0][h] < f.point()[h] && f.point()[h] < f.quantile_paths()[2][h]);
    }
}

#[test]
fn holt_follows_a_linear_trend() {
    let e = noise(2, 200);
    let y: Vec<f64> = (0..200).map(|t| 10.0 + 0.5 * t as f64 + 0.1 * e[t]).collect();
    let model = Ets::fixed(EtsSpec::new(
        ErrorKind::Additive,
        TrendKind::Additive,
        SeasonKind::None,
        1,
    ));
    let fitted = model.fit_values(&y).unwrap();
    let (point, sd) = fitted.moments(10);
    assert!((point[9] - (10.0 + 0.5 * 209.0)).abs() < 1.0, "{point:?}");
    assert!(sd.windows(2).all(|w| w[1] >= w[0]));
}

#[test]
fn short_series_falls_back_to_no_season_and_says_so() {
    let y: Vec<f64> = (0..30).map(|t| 5.0 + (t % 24) as f64).collect();
    let fitted = Ets::auto().fit(&FitInput::new(&hourly(y))).unwrap();
    assert_eq!(fitted.spec().season, SeasonKind::None);
    assert!(fitted.fallback().unwrap().contains("without a season"));
}

#[test]
fn rejects_multiplicative_models_on_non_positive_data_and_tiny_series() {
    let y: Vec<f64> = (0..100).map(|t| (t as f64 * 0.3).sin()).collect();
    let spec = EtsSpec::new(ErrorKind::Multiplicative, TrendKind::None, SeasonKind::None, 1);
    let e = Ets::fixed(spec).fit_values(&y).unwrap_err().to_string();
    assert!(e.contains("strictly positive"), "{e}");
    // AutoETS quietly restricts itself to additive models on such data.
    let fitted = Ets::auto().fit_values(&y).unwrap();
    assert_eq!(fitted.spec().error, ErrorKind::Additive);
    assert!(matches!(
        Ets::auto().fit_values(&[1.0, f64::NAN, 2.0]),
        Err(Error::NotEnoughData { need: 4, got: 2 })
    ));
}

#[test]
fn an_announced_event_lifts_point_and_quantiles_by_its_learned_effect() {
    let t = |h: i64| Utc.timestamp_opt(h * 3600, 0).unwrap();
    let e = noise(3, 24 * 14);
    let mut y: Vec<f64> = (0..24 * 14)
        .map(|i| 100.0 + 10.0 * (2.0 * std::f64::consts::PI * (i % 24) as f64 / 24.0).cos() + e[i])
        .collect();
    for v in &mut y[200..206] {
        *v += 40.0;
    }
    let series = hourly(y);
    let events = [
        Event::new("launch", TimeRange::new(t(200), t(206)).unwrap()).unwrap(),
        Event::new("launch", TimeRange::new(t(24 * 14 + 5), t(24 * 14 + 8)).unwrap()).unwrap(),
    ];
    let x = Regressors::from_events(&events, series.start(), series.step(), series.len()).unwrap();
    let x_new = Regressors::from_events(&events, series.end(), series.step(), 24).unwrap();
    let fitted = Ets::auto()
        .fit(&FitInput::new(&series).with_regressors(&x).unwrap())
        .unwrap();
    let effect = fitted.effects()[0].1;
    assert!((effect - 40.0).abs() < 3.0, "{effect}");
    let lv = levels();
    let with = fitted
        .predict(&PredictRequest::new(24, &lv).with_regressors(&x_new))
        .unwrap();
    let without = fitted.predict(&PredictRequest::new(24, &lv)).unwrap();
    for h in 0..24 {
        let lift = if (5..8).contains(&h) { effect } else { 0.0 };
        assert!((with.point()[h] - without.point()[h] - lift).abs() < 1e-9);
        assert!((with.quantile_paths()[2][h] - without.quantile_paths()[2][h] - lift).abs() < 1e-9);
    }
    // The wrong columns at predict time are an error, not a silent zero.
    let mut other = Regressors::empty();
    other.push("campaign", vec![0.0; 24]).unwrap();
    assert!(matches!(
        fitted.predict(&PredictRequest::new(24, &lv).with_regressors(&other)),
        Err(Error::Regressors(_))
    ));
}
