//! Golden tests against statsmodels' SARIMAX (fixtures made by `scripts/make_fixtures.py`).
//!
//! Tolerances, all relative (`|a − b| ≤ tol · max(|b|, floor)`), with the worst value measured in brackets:
//! - the log-likelihood *at statsmodels' parameters*: 1e-7 [1.8e-8]. This checks the filter alone.
//! - the maximised log-likelihood: 1e-7 [1.8e-8]; coefficients 1e-4 with a floor of 0.05 [3.9e-6]; σ² 1e-5
//!   [1.8e-7].
//! - forecasts at statsmodels' parameters: means within 1e-8 of the one-step standard deviation and variances
//!   within 1e-8 relative [about 1e-9]; 2e-2 on the M4 series (below).
//!
//! **The one explained difference.** statsmodels' default SARIMAX start puts a variance of 1e6 on the
//! differencing states and burns the first `d + D·m` points; ours is the exact diffuse start, whose likelihood is
//! that of the differenced data. The two agree to 1e-8 on simulated series, but on the two M4 series, whose
//! level (about 800) is not small next to √1e6, the approximation moves statsmodels' likelihood by 5e-4 relative
//! and its end state by 1e-2 standard deviations. For every differenced series without missing values the
//! fixture therefore also holds statsmodels' `simple_differencing=True` fit (exact there), and the likelihood
//! and coefficient checks use it; against the default the likelihood still agrees to 1e-3.

use serde_json::Value;

use super::*;

pub(crate) fn rel_close(a: f64, b: f64, tol: f64, floor: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(floor)
}

pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) y: Vec<f64>,
    pub(crate) exog: Vec<Vec<f64>>,
    pub(crate) exog_future: Vec<Vec<f64>>,
    pub(crate) model: Arima,
    pub(crate) params: ArimaParams,
    pub(crate) llf: f64,
    pub(crate) loglike_at_params: f64,
    pub(crate) mean: Vec<f64>,
    pub(crate) var: Vec<f64>,
    /// statsmodels with `simple_differencing=True` (exact on complete data), when the model differences.
    pub(crate) exact: Option<(ArimaParams, f64, f64)>,
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

pub(crate) fn cases() -> Vec<Case> {
    let root: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sarimax_reference.json"
    )))
    .unwrap();
    root["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let o: Vec<usize> = c["order"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let s: Vec<usize> = c["seasonal_order"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let trend = Trend::parse(c["trend"].as_str().unwrap()).unwrap();
            let model = Arima::builder()
                .order(Order::new(o[0], o[1], o[2]))
                .seasonal(SeasonalOrder::new(s[0], s[1], s[2], s[3]))
                .trend(trend)
                .build()
                .unwrap();
            let p = floats(&c["params"]);
            let nb = c["reg_names"].as_array().unwrap().len();
            let spec = *model.spec();
            let arma = ArmaCoefs::from_slice(&spec, &p[nb..p.len() - 1]);
            let exog = if c["exog"].is_null() {
                vec![]
            } else {
                vec![floats(&c["exog"])]
            };
            let exog_future = if c["exog"].is_null() {
                vec![]
            } else {
                vec![floats(&c["exog_future"])]
            };
            let exact = (!c["exact"].is_null()).then(|| {
                let e = &c["exact"];
                let p = floats(&e["params"]);
                let arma = ArmaCoefs::from_slice(&spec, &p[nb..p.len() - 1]);
                let params = ArimaParams {
                    beta: p[..nb].to_vec(),
                    arma,
                    sigma2: p[p.len() - 1],
                };
                (
                    params,
                    e["llf"].as_f64().unwrap(),
                    e["loglike_at_params"].as_f64().unwrap(),
                )
            });
            Case {
                exact,
                name: c["name"].as_str().unwrap().to_string(),
                y: floats(&c["y"]),
                exog,
                exog_future,
                model,
                params: ArimaParams {
                    beta: p[..nb].to_vec(),
                    arma,
                    sigma2: p[p.len() - 1],
                },
                llf: c["llf"].as_f64().unwrap(),
                loglike_at_params: c["loglike_at_params"].as_f64().unwrap(),
                mean: floats(&c["forecast_mean"]),
                var: floats(&c["forecast_var"]),
            }
        })
        .collect()
}

fn names(c: &Case) -> Vec<String> {
    (0..c.exog.len()).map(|i| format!("x{i}")).collect()
}

#[test]
fn fixtures_cover_the_issue() {
    let cs = cases();
    assert!(cs.len() >= 20);
    assert!(cs.iter().filter(|c| c.y.iter().any(|v| v.is_nan())).count() >= 3);
    assert!(cs.iter().filter(|c| c.model.spec().seasonal.period > 1).count() >= 4);
    assert!(cs.iter().filter(|c| !c.exog.is_empty()).count() >= 2);
}

#[test]
fn loglike_at_reference_params_matches_statsmodels() {
    let mut worst = (0.0, String::new());
    for c in cases() {
        let ours = c.model.log_likelihood(&c.y, &c.exog, &c.params).unwrap();
        // Against the approximate-diffuse default: close, but not exact on series with a large level.
        let rel_default = (ours - c.loglike_at_params).abs() / c.loglike_at_params.abs();
        assert!(
            rel_default < 1e-3,
            "{}: {ours} vs {}",
            c.name,
            c.loglike_at_params
        );
        let reference = c.exact.as_ref().map_or(c.loglike_at_params, |e| e.2);
        let rel = (ours - reference).abs() / reference.abs();
        eprintln!(
            "{:28} ours {ours:.6} statsmodels {reference:.6} rel {rel:.2e} (default {rel_default:.1e})",
            c.name
        );
        if rel > worst.0 {
            worst = (rel, c.name.clone());
        }
    }
    assert!(worst.0 < 1e-7, "worst {worst:?}");
}

#[test]
fn fit_matches_statsmodels() {
    let mut failures = Vec::new();
    let (mut worst_coef, mut worst_s2, mut worst_llf) = (0.0f64, 0.0f64, 0.0f64);
    for mut c in cases() {
        if let Some((params, llf, _)) = c.exact.take() {
            (c.params, c.llf) = (params, llf);
        }
        let f = c.model.fit_values(&c.y, &c.exog, &names(&c)).unwrap();
        let ours = f.params();
        let dllf = (f.log_likelihood() - c.llf) / c.llf.abs();
        eprintln!(
            "{:28} llf ours {:.6} sm {:.6} (rel {:+.1e}) coefs ours {:?} sm {:?} s2 {:.5} vs {:.5}",
            c.name,
            f.log_likelihood(),
            c.llf,
            dllf,
            ours.arma
                .to_vec()
                .iter()
                .chain(&ours.beta)
                .map(|v| (v * 1e4).round() / 1e4)
                .collect::<Vec<_>>(),
            c.params
                .arma
                .to_vec()
                .iter()
                .chain(&c.params.beta)
                .map(|v| (v * 1e4).round() / 1e4)
                .collect::<Vec<_>>(),
            ours.sigma2,
            c.params.sigma2
        );
        if dllf < -1e-7 {
            failures.push(format!("{}: llf {} < {}", c.name, f.log_likelihood(), c.llf));
        }
        if dllf > 1e-7 {
            failures.push(format!(
                "{}: llf {} > {} (reference not at optimum?)",
                c.name,
                f.log_likelihood(),
                c.llf
            ));
        }
        let pairs = ours
            .arma
            .to_vec()
            .into_iter()
            .zip(c.params.arma.to_vec())
            .chain(ours.beta.iter().copied().zip(c.params.beta.iter().copied()));
        for (a, b) in pairs {
            worst_coef = worst_coef.max((a - b).abs() / b.abs().max(0.05));
            if !rel_close(a, b, 1e-4, 0.05) {
                failures.push(format!("{}: coefficient {a} vs {b}", c.name));
            }
        }
        worst_s2 = worst_s2.max((ours.sigma2 - c.params.sigma2).abs() / c.params.sigma2);
        worst_llf = worst_llf.max(dllf.abs());
        if !rel_close(ours.sigma2, c.params.sigma2, 1e-5, 0.0) {
            failures.push(format!(
                "{}: sigma2 {} vs {}",
                c.name, ours.sigma2, c.params.sigma2
            ));
        }
    }
    eprintln!(
        "worst relative differences: llf {worst_llf:.1e}, coefficient {worst_coef:.1e}, sigma2 {worst_s2:.1e}"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn forecasts_match_statsmodels_at_its_parameters() {
    for c in cases() {
        let model = Arima::builder()
            .order(c.model.spec().order)
            .seasonal(c.model.spec().seasonal)
            .trend(c.model.spec().trend)
            .warm_start(c.params.clone())
            .method(Method::Fixed)
            .build()
            .unwrap();
        let f = model.fit_values(&c.y, &c.exog, &names(&c)).unwrap();
        let (mean, var) = f.forecast_moments(c.mean.len(), &c.exog_future).unwrap();
        let spread = c.var[0].sqrt();
        // statsmodels' forecasts of differenced models carry its approximate diffuse start (see the module
        // docs); stationary models have none.
        let approx_visible = c
            .exact
            .as_ref()
            .is_some_and(|e| (e.2 - c.loglike_at_params).abs() > 1e-6 * e.2.abs());
        let tol = if approx_visible { 2e-2 } else { 1e-8 };
        let mut worst = (0.0f64, 0.0f64);
        for h in 0..c.mean.len() {
            worst.0 = worst.0.max((mean[h] - c.mean[h]).abs() / spread);
            worst.1 = worst.1.max((var[h] - c.var[h]).abs() / c.var[h]);
        }
        eprintln!(
            "{:28} forecast: mean off by {:.1e} sd, variance by {:.1e} (relative)",
            c.name, worst.0, worst.1
        );
        assert!(worst.0 < tol && worst.1 < tol, "{}: {worst:?}", c.name);
    }
}

/// AutoARIMA against statsforecast's choices (`scripts/make_auto_fixtures.py`). Both run Hyndman–Khandakar, but
/// the seasonal test differs (classical decomposition here, STL there) and the CSS ranking and tie-breaking
/// differ in detail, so the test asserts agreement on most series rather than on all, and compares the fit
/// quality (AICc) where the orders differ.
#[test]
fn auto_arima_agrees_with_statsforecast_on_most_series() {
    let root: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/auto_reference.json"
    )))
    .unwrap();
    let mut same_d = 0;
    let mut same_order = 0;
    let cases = root["cases"].as_array().unwrap();
    for c in cases {
        let y = floats(&c["y"]);
        let m = c["period"].as_u64().unwrap() as usize;
        let want: Vec<usize> = c["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let want_s: Vec<usize> = c["seasonal_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let f = AutoArima::builder()
            .period(m)
            .build()
            .unwrap()
            .fit_values(&y)
            .unwrap();
        let (o, s) = (f.spec().order, f.spec().seasonal);
        let got = [o.p, o.d, o.q];
        let got_s = if s.period > 1 { [s.p, s.d, s.q] } else { [0, 0, 0] };
        eprintln!(
            "{:16} ours {:?}{:?} aicc {:.2}   statsforecast {:?}{:?} aicc {:.2}",
            c["name"].as_str().unwrap(),
            got,
            got_s,
            f.aicc(),
            want,
            want_s,
            c["aicc"].as_f64().unwrap()
        );
        same_d += usize::from(got[1] == want[1] && got_s[1] == want_s[1]);
        same_order += usize::from(got[..] == want[..] && got_s[..] == want_s[..]);
    }
    assert!(
        same_d >= cases.len() - 2,
        "differencing agrees on {same_d} of {}",
        cases.len()
    );
    assert!(
        same_order >= cases.len() / 2,
        "orders agree on {same_order} of {}",
        cases.len()
    );
}
