//! A thin layer over `argmin`: L-BFGS with a backtracking (Armijo) line search on a central-difference gradient, with a
//! Nelder–Mead fallback when the line search gives up.

use argmin::{
    core::{CostFunction, Executor, Gradient, State},
    solver::{
        linesearch::{BacktrackingLineSearch, MoreThuenteLineSearch, condition::ArmijoCondition},
        neldermead::NelderMead,
        quasinewton::LBFGS,
    },
};

use crate::error::{Error, Result};

/// Cost returned for parameters where the objective is undefined; large but finite so line searches back off.
pub(crate) const BAD_COST: f64 = 1e10;

/// Options of one minimisation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MinimizeOptions {
    pub(crate) max_iters: u64,
    pub(crate) tol_grad: f64,
    pub(crate) tol_cost: f64,
    /// Central differences (accurate near the optimum); forward differences cost half as many evaluations.
    pub(crate) central: bool,
}

struct Problem<'a, F> {
    f: &'a F,
    central: bool,
}

impl<F: Fn(&[f64]) -> f64> Problem<'_, F> {
    fn eval(&self, x: &[f64]) -> f64 {
        let v = (self.f)(x);
        if v.is_finite() { v } else { BAD_COST }
    }
}

impl<F: Fn(&[f64]) -> f64> CostFunction for Problem<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(x))
    }
}

impl<F: Fn(&[f64]) -> f64> Gradient for Problem<'_, F> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, x: &Self::Param) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        let mut xh = x.clone();
        let mut g = vec![0.0; x.len()];
        let f0 = if self.central { 0.0 } else { self.eval(x) };
        for i in 0..x.len() {
            let h = if self.central { 1e-6 } else { 1e-7 } * x[i].abs().max(1.0);
            xh[i] = x[i] + h;
            let up = self.eval(&xh);
            if self.central {
                xh[i] = x[i] - h;
                let down = self.eval(&xh);
                g[i] = (up - down) / (2.0 * h);
            } else {
                g[i] = (up - f0) / h;
            }
            xh[i] = x[i];
        }
        Ok(g)
    }
}

/// Minimises `f` from `x0`. Returns the best parameter and its cost.
///
/// # Errors
/// [`Error::NoBestParameter`] when neither solver produced a finite cost.
pub(crate) fn minimize<F: Fn(&[f64]) -> f64>(
    f: &F,
    x0: Vec<f64>,
    opts: MinimizeOptions,
) -> Result<(Vec<f64>, f64)> {
    let problem = Problem {
        f,
        central: opts.central,
    };
    let start_cost = problem.eval(&x0);
    if x0.is_empty() {
        return Ok((x0, start_cost));
    }
    // Backtracking (Armijo) needs only costs at trial points; L-BFGS' unit step is accepted almost always.
    let linesearch = BacktrackingLineSearch::new(ArmijoCondition::new(1e-4)?).rho(0.5)?;
    let solver = LBFGS::new(linesearch, 7)
        .with_tolerance_grad(opts.tol_grad)?
        .with_tolerance_cost(opts.tol_cost)?;
    let lbfgs = Executor::new(
        Problem {
            f,
            central: opts.central,
        },
        solver,
    )
    .configure(|s| s.param(x0.clone()).max_iters(opts.max_iters))
    .run();
    let mut best = (x0.clone(), start_cost);
    let mut polish = lbfgs.is_err();
    if let Ok(res) = &lbfgs {
        let state = res.state();
        if let Some(p) = state.get_best_param() {
            if state.get_best_cost() <= best.1 {
                best = (p.clone(), state.get_best_cost());
            }
        }
        // Backtracking stalls in curved valleys (near-unit roots): finish with Wolfe line searches when the
        // run did not end at a small gradient.
        let grad_norm = state
            .get_gradient()
            .map_or(f64::INFINITY, |g| g.iter().map(|v| v * v).sum::<f64>().sqrt());
        polish |= opts.central && grad_norm > 10.0 * opts.tol_grad;
    }
    if polish {
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
            .with_tolerance_grad(opts.tol_grad)?
            .with_tolerance_cost(opts.tol_cost)?;
        let start = best.0.clone();
        if let Ok(res) = Executor::new(
            Problem {
                f,
                central: opts.central,
            },
            solver,
        )
        .configure(|s| s.param(start).max_iters(opts.max_iters))
        .run()
        {
            let state = res.state();
            if let Some(p) = state.get_best_param() {
                if state.get_best_cost() <= best.1 {
                    best = (p.clone(), state.get_best_cost());
                }
            }
        }
    }
    if lbfgs.is_err() {
        // The line search failed (typically on a flat or kinked surface): polish with Nelder–Mead.
        let n = best.0.len();
        let mut simplex = vec![best.0.clone()];
        for i in 0..n {
            let mut v = best.0.clone();
            v[i] += 0.1 * v[i].abs().max(1.0);
            simplex.push(v);
        }
        let nm = NelderMead::new(simplex).with_sd_tolerance(1e-12)?;
        if let Ok(res) = Executor::new(
            Problem {
                f,
                central: opts.central,
            },
            nm,
        )
        .configure(|s| s.max_iters(opts.max_iters * 20))
        .run()
        {
            let state = res.state();
            if let Some(p) = state.get_best_param() {
                if state.get_best_cost() < best.1 {
                    best = (p.clone(), state.get_best_cost());
                }
            }
        }
    }
    if best.1.is_finite() && best.1 < BAD_COST {
        Ok(best)
    } else {
        Err(Error::NoBestParameter)
    }
}
