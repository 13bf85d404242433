//! A small Nelder–Mead minimiser for the low-dimensional smoothing-parameter fits of ETS and Theta.
//!
//! Bounds are handled by the objective (it returns `+∞` outside the admissible region), which is what the
//! simplex method tolerates best. The minimiser stops when the spread of the simplex values falls below
//! `tol` (relative) or after `max_iter` iterations.

/// Minimises `f` from `x0` with initial simplex steps `steps`; returns the best point and its value.
pub(crate) fn minimize<F>(mut f: F, x0: &[f64], steps: &[f64], tol: f64, max_iter: usize) -> (Vec<f64>, f64)
where
    F: FnMut(&[f64]) -> f64,
{
    let k = x0.len();
    if k == 0 {
        let v = f(x0);
        return (Vec::new(), v);
    }
    let mut simplex: Vec<Vec<f64>> = Vec::with_capacity(k + 1);
    simplex.push(x0.to_vec());
    for i in 0..k {
        let mut x = x0.to_vec();
        x[i] += steps[i];
        simplex.push(x);
    }
    let mut values: Vec<f64> = simplex.iter().map(|x| f(x)).collect();
    let mut centroid = vec![0.0; k];
    let mut trial = vec![0.0; k];
    let mut trial2 = vec![0.0; k];
    for _ in 0..max_iter {
        // Order: best first.
        let mut idx: Vec<usize> = (0..=k).collect();
        idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        simplex = idx.iter().map(|&i| simplex[i].clone()).collect();
        values = idx.iter().map(|&i| values[i]).collect();
        let (best, worst) = (values[0], values[k]);
        if best.is_finite() && (worst - best).abs() <= tol * (best.abs() + tol) {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for x in &simplex[..k] {
            for (c, v) in centroid.iter_mut().zip(x) {
                *c += v / k as f64;
            }
        }
        let point = |coef: f64, out: &mut Vec<f64>, worst: &[f64]| {
            for ((o, c), w) in out.iter_mut().zip(&centroid).zip(worst) {
                *o = c + coef * (w - c);
            }
        };
        point(-1.0, &mut trial, &simplex[k]);
        let fr = f(&trial);
        if fr < values[0] {
            point(-2.0, &mut trial2, &simplex[k]);
            let fe = f(&trial2);
            if fe < fr {
                simplex[k].clone_from(&trial2);
                values[k] = fe;
            } else {
                simplex[k].clone_from(&trial);
                values[k] = fr;
            }
        } else if fr < values[k - 1] {
            simplex[k].clone_from(&trial);
            values[k] = fr;
        } else {
            // Contraction: outside if the reflection improved on the worst, inside otherwise.
            let coef = if fr < values[k] { -0.5 } else { 0.5 };
            point(coef, &mut trial2, &simplex[k]);
            let fc = f(&trial2);
            if fc < values[k].min(fr) {
                simplex[k].clone_from(&trial2);
                values[k] = fc;
            } else {
                // Shrink towards the best.
                let best = simplex[0].clone();
                for i in 1..=k {
                    for (x, b) in simplex[i].iter_mut().zip(&best) {
                        *x = b + 0.5 * (*x - b);
                    }
                    values[i] = f(&simplex[i]);
                }
            }
        }
    }
    let (i, v) = values
        .iter()
        .copied()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f64::INFINITY));
    (simplex[i].clone(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_bounded_quadratic() {
        let f = |x: &[f64]| {
            if x[0] < 0.0 {
                return f64::INFINITY;
            }
            (x[0] - 0.3).powi(2) + 10.0 * (x[1] + 2.0).powi(2)
        };
        let (x, v) = minimize(f, &[0.5, 0.0], &[0.1, 0.5], 1e-12, 2000);
        assert!((x[0] - 0.3).abs() < 1e-4 && (x[1] + 2.0).abs() < 1e-4, "{x:?}");
        assert!(v < 1e-7);
    }
}
