//! Fitting: data preparation, starting values (OLS + CSS) and exact maximum likelihood.

use std::cell::RefCell;

use nalgebra::{DMatrix, DVector};

use super::{
    chandrasekhar::{ArmaWorkspace, arma_end_state, filter_arma},
    css::css,
    filter::filter_full,
    kalman::{EndState, FilterStats, StateSpace},
    model::{ArimaParams, ArmaCoefs, Spec},
    optim::{BAD_COST, MinimizeOptions, minimize},
    transform::{constrain_invertible, constrain_stationary, unconstrain_invertible, unconstrain_stationary},
};
use crate::error::{Error, Result};

/// How the parameters are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Conditional sum of squares for starting values, then exact maximum likelihood (the default).
    #[default]
    CssMl,
    /// Exact maximum likelihood from zero (or warm-start) ARMA coefficients.
    Ml,
    /// Conditional sum of squares only (fast, approximate; the reported likelihood is the CSS one).
    Css,
    /// No estimation: the warm-start parameters are used as they are (for forecasting from known parameters).
    Fixed,
}

/// The data in the scaled units the optimiser works in: `y_int = (y − center) / scale`, each regressor column
/// divided by its largest absolute value.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) y: Vec<f64>,
    /// Regression columns (trend first, then exogenous), scaled.
    pub(crate) x: Vec<Vec<f64>>,
    pub(crate) x_scale: Vec<f64>,
    pub(crate) center: f64,
    pub(crate) scale: f64,
    pub(crate) has_nan: bool,
    pub(crate) n_present: usize,
}

impl Prepared {
    pub(crate) fn new(spec: &Spec, y: &[f64], exog: &[Vec<f64>]) -> Result<Self> {
        if y.iter().any(|v| v.is_infinite()) {
            return Err(Error::NonFinite("series"));
        }
        if exog.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite("regressors"));
        }
        if let Some(c) = exog.iter().find(|c| c.len() != y.len()) {
            return Err(Error::Regressors(format!(
                "a column has {} rows for {} observations",
                c.len(),
                y.len()
            )));
        }
        let n_present = y.iter().filter(|v| !v.is_nan()).count();
        let mut x = spec.trend_columns(1, y.len());
        x.extend(exog.iter().cloned());
        let x_scale: Vec<f64> = x
            .iter()
            .map(|c| {
                c.iter()
                    .fold(0.0f64, |m, v| m.max(v.abs()))
                    .max(f64::MIN_POSITIVE)
            })
            .collect();
        for (c, s) in x.iter_mut().zip(&x_scale) {
            c.iter_mut().for_each(|v| *v /= s);
        }
        let present: Vec<f64> = y.iter().copied().filter(|v| !v.is_nan()).collect();
        let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
        let has_intercept = spec.trend_names().first() == Some(&"intercept");
        let center = if spec.diffs() > 0 || has_intercept {
            mean
        } else {
            0.0
        };
        // Scale by the spread of the differenced series, so that the ARMA part is O(1).
        let w = difference(&spec.diff_coefficients(), y);
        let wp: Vec<f64> = w.iter().copied().filter(|v| !v.is_nan()).collect();
        let wm = wp.iter().sum::<f64>() / wp.len().max(1) as f64;
        let mut scale = (wp.iter().map(|v| (v - wm) * (v - wm)).sum::<f64>() / wp.len().max(1) as f64).sqrt();
        if scale.is_nan() || scale <= 1e-300 {
            scale = present.iter().fold(0.0f64, |m, v| m.max((v - center).abs()));
        }
        if scale.is_nan() || scale <= 1e-300 {
            scale = 1.0;
        }
        let has_nan = n_present < y.len();
        let y = y.iter().map(|v| (v - center) / scale).collect();
        Ok(Self {
            y,
            x,
            x_scale,
            center,
            scale,
            has_nan,
            n_present,
        })
    }
}

/// Applies `1 − Σ δ_k B^k` to `y`; the result has `len − K` values (`NaN` where an input is missing).
#[must_use]
pub fn difference(delta: &[f64], y: &[f64]) -> Vec<f64> {
    let k = delta.len();
    (k..y.len())
        .map(|t| {
            y[t] - delta
                .iter()
                .enumerate()
                .map(|(i, d)| d * y[t - 1 - i])
                .sum::<f64>()
        })
        .collect()
}

/// Ordinary least squares with a tiny ridge; rows with a `NaN` are skipped.
fn ols(y: &[f64], x: &[Vec<f64>]) -> Vec<f64> {
    let k = x.len();
    if k == 0 {
        return Vec::new();
    }
    let rows: Vec<usize> = (0..y.len())
        .filter(|&t| !y[t].is_nan() && x.iter().all(|c| !c[t].is_nan()))
        .collect();
    let mut xtx = DMatrix::<f64>::zeros(k, k);
    let mut xty = DVector::<f64>::zeros(k);
    for &t in &rows {
        for i in 0..k {
            xty[i] += x[i][t] * y[t];
            for j in 0..k {
                xtx[(i, j)] += x[i][t] * x[j][t];
            }
        }
    }
    for i in 0..k {
        xtx[(i, i)] += 1e-10 * (1.0 + xtx[(i, i)]);
    }
    xtx.lu()
        .solve(&xty)
        .map_or_else(|| vec![0.0; k], |b| b.as_slice().to_vec())
}

/// Regression coefficients in data units → internal units.
pub(crate) fn beta_to_internal(spec: &Spec, data: &Prepared, beta: &[f64]) -> Vec<f64> {
    let icpt = spec.trend_names().first() == Some(&"intercept");
    beta.iter()
        .enumerate()
        .map(|(j, b)| {
            let b = if j == 0 && icpt { b - data.center } else { *b };
            b * data.x_scale[j] / data.scale
        })
        .collect()
}

/// OLS starting values of the regression coefficients (internal units), on the differenced data.
pub(crate) fn ols_public(spec: &Spec, data: &Prepared) -> Vec<f64> {
    let delta = spec.diff_coefficients();
    let wy = difference(&delta, &data.y);
    let wx: Vec<Vec<f64>> = data.x.iter().map(|c| difference(&delta, c)).collect();
    ols(&wy, &wx)
}

/// The likelihood of one parameter vector, with reusable buffers.
#[derive(Debug)]
pub(crate) struct Likelihood<'a> {
    pub(crate) spec: Spec,
    pub(crate) data: &'a Prepared,
    delta: Vec<f64>,
    /// The differenced series and regressors (differencing is linear, so `w = Δy − Σ β Δx`).
    dy: Vec<f64>,
    dx: Vec<Vec<f64>>,
    buf: RefCell<(Vec<f64>, ArmaWorkspace, Vec<f64>)>,
}

impl<'a> Likelihood<'a> {
    pub(crate) fn new(spec: Spec, data: &'a Prepared) -> Self {
        let delta = spec.diff_coefficients();
        let dy = difference(&delta, &data.y);
        let dx = data.x.iter().map(|c| difference(&delta, c)).collect();
        Self {
            spec,
            data,
            delta,
            dy,
            dx,
            buf: RefCell::new(Default::default()),
        }
    }

    pub(crate) fn n_beta(&self) -> usize {
        self.data.x.len()
    }

    /// Unconstrained vector → (internal β, ARMA coefficients).
    pub(crate) fn unpack(&self, x: &[f64]) -> (Vec<f64>, ArmaCoefs) {
        let nb = self.n_beta();
        let (p, q, sp, sq) = (
            self.spec.order.p,
            self.spec.order.q,
            self.spec.seasonal.p,
            self.spec.seasonal.q,
        );
        let mut c = ArmaCoefs {
            ar: vec![0.0; p],
            ma: vec![0.0; q],
            sar: vec![0.0; sp],
            sma: vec![0.0; sq],
        };
        let mut o = nb;
        constrain_stationary(&x[o..o + p], &mut c.ar);
        o += p;
        constrain_invertible(&x[o..o + q], &mut c.ma);
        o += q;
        constrain_stationary(&x[o..o + sp], &mut c.sar);
        o += sp;
        constrain_invertible(&x[o..o + sq], &mut c.sma);
        (x[..nb].to_vec(), c)
    }

    /// (internal β, ARMA coefficients) → unconstrained vector.
    pub(crate) fn pack(beta: &[f64], c: &ArmaCoefs) -> Vec<f64> {
        let mut v = beta.to_vec();
        v.extend(unconstrain_stationary(&c.ar));
        v.extend(unconstrain_invertible(&c.ma));
        v.extend(unconstrain_stationary(&c.sar));
        v.extend(unconstrain_invertible(&c.sma));
        v
    }

    fn residual_series(&self, beta: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend_from_slice(&self.data.y);
        for (b, col) in beta.iter().zip(&self.data.x) {
            out.iter_mut().zip(col).for_each(|(o, c)| *o -= b * c);
        }
    }

    /// The differenced series minus the regression effect, in `w`.
    fn differenced(&self, beta: &[f64], w: &mut Vec<f64>) {
        w.clear();
        w.extend_from_slice(&self.dy);
        for (b, col) in beta.iter().zip(&self.dx) {
            w.iter_mut().zip(col).for_each(|(o, c)| *o -= b * c);
        }
    }

    /// Exact filter statistics at (internal β, ARMA coefficients). `None` when the model is not stationary.
    pub(crate) fn stats(&self, beta: &[f64], c: &ArmaCoefs) -> Option<FilterStats> {
        let (phi, theta) = c.expand(self.spec.seasonal.period);
        let mut guard = self.buf.borrow_mut();
        let (e, ws, w) = &mut *guard;
        if self.data.has_nan {
            self.residual_series(beta, e);
            let ss = StateSpace::new(&self.delta, &phi, &theta)?;
            Some(filter_full(&ss, e, false).0)
        } else if beta.is_empty() {
            filter_arma(&phi, &theta, &self.dy, ws)
        } else {
            self.differenced(beta, w);
            filter_arma(&phi, &theta, w, ws)
        }
    }

    /// CSS statistics at (internal β, ARMA coefficients).
    pub(crate) fn css_stats(&self, beta: &[f64], c: &ArmaCoefs) -> FilterStats {
        let (phi, theta) = c.expand(self.spec.seasonal.period);
        let mut guard = self.buf.borrow_mut();
        let (e, _, w) = &mut *guard;
        if beta.is_empty() {
            return css(&phi, &theta, &self.dy, e);
        }
        self.differenced(beta, w);
        css(&phi, &theta, w, e)
    }

    /// CSS residuals at (internal β, ARMA coefficients), written into `out`.
    pub(crate) fn css_residuals(&self, beta: &[f64], c: &ArmaCoefs, out: &mut Vec<f64>) -> FilterStats {
        let (phi, theta) = c.expand(self.spec.seasonal.period);
        let mut guard = self.buf.borrow_mut();
        let (_, _, w) = &mut *guard;
        if beta.is_empty() {
            return css(&phi, &theta, &self.dy, out);
        }
        self.differenced(beta, w);
        css(&phi, &theta, w, out)
    }

    /// The end state for forecasting, from the full filter.
    pub(crate) fn end_state(
        &self,
        beta: &[f64],
        c: &ArmaCoefs,
    ) -> Option<(FilterStats, EndState, StateSpace)> {
        let (phi, theta) = c.expand(self.spec.seasonal.period);
        let ss = StateSpace::new(&self.delta, &phi, &theta)?;
        let mut e = Vec::new();
        self.residual_series(beta, &mut e);
        let kd = self.delta.len();
        if !self.data.has_nan && e.len() > kd {
            // Complete data: the lagged values are known exactly, so the end state is the ARMA filter's end
            // state next to the last K residuals, at O(r²) per step instead of the full filter's O(k · nnz).
            let mut w = Vec::new();
            self.differenced(beta, &mut w);
            let (stats, a_arma, p_arma) = arma_end_state(&phi, &theta, &w)?;
            let (k, r) = (ss.k, a_arma.len());
            let mut a: Vec<f64> = e.iter().rev().take(kd).copied().collect();
            a.extend_from_slice(&a_arma);
            let mut p = vec![0.0; k * k];
            for i in 0..r {
                p[(kd + i) * k + kd..(kd + i) * k + k].copy_from_slice(&p_arma[i * r..(i + 1) * r]);
            }
            return Some((
                stats,
                EndState {
                    a,
                    p,
                    diffuse_left: false,
                },
                ss,
            ));
        }
        let (stats, end) = filter_full(&ss, &e, true);
        Some((stats, end?, ss))
    }
}

/// The raw result of a fit, in internal units.
#[derive(Debug, Clone)]
pub(crate) struct RawFit {
    pub(crate) beta_int: Vec<f64>,
    pub(crate) arma: ArmaCoefs,
    pub(crate) stats: FilterStats,
    pub(crate) llf_int: f64,
    pub(crate) css_only: bool,
}

/// Fits the model in internal units. `warm` gives starting values (in data units).
/// `css_tol` is the relative decrease of the sum of squares at which the CSS stage stops (looser during an
/// AutoARIMA search).
pub(crate) fn fit_raw(
    lik: &Likelihood<'_>,
    method: Method,
    warm: Option<&ArimaParams>,
    css_tol: f64,
) -> Result<RawFit> {
    let spec = lik.spec;
    let data = lik.data;
    let opts = MinimizeOptions {
        max_iters: 200,
        tol_grad: 1e-7,
        tol_cost: 1e-13,
        central: true,
    };
    let (beta0, arma0) = match warm {
        Some(w) if w.beta.len() == data.x.len() => (beta_to_internal(&spec, data, &w.beta), w.arma.clone()),
        Some(w) => (ols_public(&spec, data), w.arma.clone()),
        None => (
            ols_public(&spec, data),
            ArmaCoefs::from_slice(&spec, &vec![0.0; spec.n_arma()]),
        ),
    };
    let arma_x0 = Likelihood::pack(&[], &arma0);
    // CSS over the ARMA part with β fixed.
    // With `Css`, warm-start coefficients are where the CSS search starts (AutoARIMA passes its neighbour's).
    let run_css = method == Method::Css || (method == Method::CssMl && warm.is_none());
    let css_start = if run_css && spec.n_arma() > 0 {
        let resid = |x: &[f64], out: &mut Vec<f64>| {
            let mut full = beta0.clone();
            full.extend_from_slice(x);
            let (b, c) = lik.unpack(&full);
            lik.css_residuals(&b, &c, out).ssq
        };
        css_levenberg_marquardt(&resid, arma_x0, css_tol)
    } else {
        arma_x0
    };
    let mut x0 = beta0;
    x0.extend_from_slice(&css_start);
    if method == Method::Fixed {
        let (b, c) = (x0[..lik.n_beta()].to_vec(), arma0);
        let stats = lik.stats(&b, &c).ok_or(Error::NoBestParameter)?;
        return Ok(RawFit {
            beta_int: b,
            arma: c,
            llf_int: stats.concentrated_llf(),
            stats,
            css_only: false,
        });
    }
    if method == Method::Css {
        let (b, c) = lik.unpack(&x0);
        let stats = lik.css_stats(&b, &c);
        return Ok(RawFit {
            beta_int: b,
            arma: c,
            llf_int: super::css::css_llf(&stats),
            stats,
            css_only: true,
        });
    }
    let n_scale = data.n_present.max(1) as f64;
    let f = |x: &[f64]| {
        let (b, c) = lik.unpack(x);
        match lik.stats(&b, &c) {
            Some(s) if s.n_eff > 0 && s.ssq > 0.0 => -s.concentrated_llf() / n_scale,
            _ => BAD_COST,
        }
    };
    let nb = lik.n_beta();
    let mut best = minimize(&f, x0.clone(), opts)?;
    // A solution on the stationarity/invertibility boundary is often a poor local optimum reached from the CSS
    // start: retry from zero ARMA coefficients and keep the better one.
    if warm.is_none() && best.0[nb..].iter().any(|v| v.abs() > 5.0) {
        let mut z = x0[..nb].to_vec();
        z.resize(x0.len(), 0.0);
        if let Ok(other) = minimize(&f, z, opts) {
            if other.1 < best.1 {
                best = other;
            }
        }
    }
    let (b, c) = lik.unpack(&best.0);
    let stats = lik.stats(&b, &c).ok_or(Error::NoBestParameter)?;
    Ok(RawFit {
        beta_int: b,
        arma: c,
        llf_int: stats.concentrated_llf(),
        stats,
        css_only: false,
    })
}

/// Minimises the conditional sum of squares `Σ e_t(x)²` by Levenberg–Marquardt on a forward-difference Jacobian.
///
/// CSS is a nonlinear least-squares problem, so Gauss–Newton steps converge in a handful of iterations where a
/// quasi-Newton method on `ln Σ e²` needs dozens: this is the cheap criterion of the AutoARIMA search.
pub(crate) fn css_levenberg_marquardt<R>(resid: &R, mut x: Vec<f64>, rel_tol: f64) -> Vec<f64>
where
    R: Fn(&[f64], &mut Vec<f64>) -> f64,
{
    let k = x.len();
    let mut r0 = Vec::new();
    let mut r1 = Vec::new();
    let mut ssq = resid(&x, &mut r0);
    if !ssq.is_finite() {
        return x;
    }
    let mut lambda = 1e-3;
    let mut jac: Vec<Vec<f64>> = vec![Vec::new(); k];
    for _ in 0..30 {
        for (j, col) in jac.iter_mut().enumerate() {
            let h = 1e-6 * x[j].abs().max(1.0);
            let mut xh = x.clone();
            xh[j] += h;
            resid(&xh, &mut r1);
            col.clear();
            col.extend(r1.iter().zip(&r0).map(|(a, b)| (a - b) / h));
        }
        let mut jtj = DMatrix::<f64>::zeros(k, k);
        let mut jtr = DVector::<f64>::zeros(k);
        for i in 0..k {
            jtr[i] = jac[i].iter().zip(&r0).map(|(a, b)| a * b).sum();
            for j in i..k {
                let v: f64 = jac[i].iter().zip(&jac[j]).map(|(a, b)| a * b).sum();
                jtj[(i, j)] = v;
                jtj[(j, i)] = v;
            }
        }
        let mut improved = false;
        for _ in 0..8 {
            let mut a = jtj.clone();
            for i in 0..k {
                a[(i, i)] += lambda * (jtj[(i, i)] + 1e-12);
            }
            let Some(step) = a.cholesky().map(|c| c.solve(&jtr)) else {
                lambda *= 10.0;
                continue;
            };
            let xn: Vec<f64> = x.iter().zip(step.iter()).map(|(a, s)| a - s).collect();
            let sn = resid(&xn, &mut r1);
            if sn.is_finite() && sn < ssq {
                let rel = (ssq - sn) / ssq.max(f64::MIN_POSITIVE);
                x = xn;
                ssq = sn;
                std::mem::swap(&mut r0, &mut r1);
                lambda = (lambda / 10.0).max(1e-12);
                improved = rel > rel_tol;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    x
}
