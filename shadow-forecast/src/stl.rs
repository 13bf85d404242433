//! STL (Cleveland et al. 1990): seasonal-trend decomposition by loess, the building block of MSTL.
//!
//! This is the inner loop of STL without the robustness iterations: cycle-subseries smoothing, a low-pass
//! filter of the smoothed cycles, then a loess trend. Every loess is local-linear with a tricube kernel and
//! is evaluated every `jump` points (a tenth of its window) with linear interpolation in between, so one pass
//! costs about `10·n` kernel evaluations whatever the windows are.

/// Windows of one STL decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StlParams {
    /// Season length in steps (at least 2).
    pub period: usize,
    /// Seasonal smoother window (odd, at least 7 is usual).
    pub seasonal: usize,
    /// Trend window (odd).
    pub trend: usize,
    /// Low-pass window (odd, at least the period).
    pub low_pass: usize,
    /// Inner iterations.
    pub inner: usize,
    /// Whether the seasonal smoother is locally linear (otherwise locally constant, the original default).
    pub seasonal_linear: bool,
}

impl StlParams {
    /// The default windows of Cleveland et al. for a period and a seasonal window: the trend window is the
    /// smallest odd integer at least `1.5·period / (1 − 1.5/seasonal)`, the low-pass window the smallest odd
    /// integer at least the period, two inner iterations.
    #[must_use]
    pub fn new(period: usize, seasonal: usize) -> Self {
        let seasonal = odd(seasonal.max(3));
        let trend = odd((1.5 * period as f64 / (1.0 - 1.5 / seasonal as f64)).ceil() as usize);
        Self {
            period,
            seasonal,
            trend,
            low_pass: odd(period),
            inner: 2,
            seasonal_linear: true,
        }
    }
}

fn odd(v: usize) -> usize {
    if v % 2 == 0 { v + 1 } else { v }
}

/// The components of a decomposition, each as long as the series.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// The seasonal component.
    pub seasonal: Vec<f64>,
    /// The trend.
    pub trend: Vec<f64>,
}

/// Decomposes `y` (finite values, at least two periods) into a seasonal component and a trend; the remainder
/// is `y − seasonal − trend`.
#[must_use]
pub fn decompose(y: &[f64], p: &StlParams) -> Decomposition {
    let n = y.len();
    let np = p.period.max(2);
    let mut seasonal = vec![0.0; n];
    let mut trend = vec![0.0; n];
    let mut work = vec![0.0; n];
    let mut cycle = vec![0.0; n + 2 * np];
    let mut sub_y = Vec::new();
    let mut sub_out = Vec::new();
    let mut ma = vec![0.0; n + 2 * np];
    let mut ma2 = vec![0.0; n + 2 * np];
    let mut low = vec![0.0; n];
    for _ in 0..p.inner.max(1) {
        for (w, (v, t)) in work.iter_mut().zip(y.iter().zip(&trend)) {
            *w = v - t;
        }
        // Cycle-subseries smoothing, extended one cycle at each end.
        for j in 0..np {
            sub_y.clear();
            sub_y.extend(work.iter().skip(j).step_by(np).copied());
            let k = sub_y.len();
            if k == 0 {
                continue;
            }
            sub_out.clear();
            sub_out.resize(k + 2, 0.0);
            smooth(
                &sub_y,
                p.seasonal,
                1 + p.seasonal / 10,
                p.seasonal_linear,
                &mut sub_out[1..=k],
            );
            let q = p.seasonal.min(k);
            sub_out[0] = loess_at(&sub_y, 0.0, 1, q, p.seasonal, p.seasonal_linear).unwrap_or(sub_out[1]);
            sub_out[k + 1] = loess_at(
                &sub_y,
                (k + 1) as f64,
                k + 1 - q,
                k,
                p.seasonal,
                p.seasonal_linear,
            )
            .unwrap_or(sub_out[k]);
            for (i, v) in sub_out.iter().enumerate() {
                let idx = j + i * np;
                if idx < cycle.len() {
                    cycle[idx] = *v;
                }
            }
        }
        // Low-pass: moving averages of np, np and 3, then a loess.
        let len = n + 2 * np;
        moving_average(&cycle[..len], np, &mut ma);
        moving_average(&ma[..len - np + 1], np, &mut ma2);
        moving_average(&ma2[..len - 2 * np + 2], 3, &mut ma);
        smooth(&ma[..n], p.low_pass, 1 + p.low_pass / 10, true, &mut low);
        for i in 0..n {
            seasonal[i] = cycle[np + i] - low[i];
            work[i] = y[i] - seasonal[i];
        }
        smooth(&work, p.trend, 1 + p.trend / 10, true, &mut trend);
    }
    Decomposition { seasonal, trend }
}

/// Running mean of window `w` over `x`, written to `out[..x.len() − w + 1]`.
fn moving_average(x: &[f64], w: usize, out: &mut [f64]) {
    if x.len() < w || w == 0 {
        return;
    }
    let mut sum: f64 = x[..w].iter().sum();
    out[0] = sum / w as f64;
    for i in w..x.len() {
        sum += x[i] - x[i - w];
        out[i - w + 1] = sum / w as f64;
    }
}

/// Local-linear loess with window `q`, evaluated every `jump` points and interpolated in between.
fn smooth(y: &[f64], q: usize, jump: usize, linear: bool, out: &mut [f64]) {
    let n = y.len();
    if n < 2 {
        out[..n].copy_from_slice(y);
        return;
    }
    let jump = jump.clamp(1, n - 1);
    let window = |i: usize| -> (usize, usize) {
        // 1-based positions, as in the original.
        if q >= n {
            (1, n)
        } else {
            let half = q.div_ceil(2);
            if i < half {
                (1, q)
            } else if i > n - half {
                (n - q + 1, n)
            } else {
                (i - half + 1, q + i - half)
            }
        }
    };
    let mut evaluated = Vec::with_capacity(n / jump + 2);
    let mut i = 1;
    loop {
        let (l, r) = window(i);
        let v = loess_at(y, i as f64, l, r, q, linear).unwrap_or(y[i - 1]);
        out[i - 1] = v;
        evaluated.push(i);
        if i == n {
            break;
        }
        i = (i + jump).min(n);
    }
    for w in evaluated.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (va, vb) = (out[a - 1], out[b - 1]);
        for k in a + 1..b {
            let f = (k - a) as f64 / (b - a) as f64;
            out[k - 1] = va + f * (vb - va);
        }
    }
}

/// The loess value at 1-based position `x` from the points `left..=right` (1-based) with nominal window
/// `q`; `None` when every weight is zero.
fn loess_at(y: &[f64], x: f64, left: usize, right: usize, q: usize, linear: bool) -> Option<f64> {
    let n = y.len();
    let mut h = (x - left as f64).max(right as f64 - x);
    if q > n {
        h += ((q - n) / 2) as f64;
    }
    let (h9, h1) = (0.999 * h, 0.001 * h);
    let (mut sw, mut swx, mut swy, mut swxx, mut swxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for j in left..=right {
        let d = (j as f64 - x).abs();
        let w = if d <= h1 {
            1.0
        } else if d <= h9 {
            let r = d / h;
            let c = 1.0 - r * r * r;
            c * c * c
        } else {
            0.0
        };
        if w > 0.0 {
            let jf = j as f64;
            let v = y[j - 1];
            sw += w;
            swx += w * jf;
            swy += w * v;
            swxx += w * jf * jf;
            swxy += w * jf * v;
        }
    }
    if sw <= 0.0 {
        return None;
    }
    let a = swx / sw;
    let mean = swy / sw;
    let c = swxx / sw - a * a;
    let range = (n - 1) as f64;
    if linear && h > 0.0 && c.sqrt() > 0.001 * range {
        let slope = (swxy / sw - a * mean) / c;
        Some(mean + slope * (x - a))
    } else {
        Some(mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_a_sine_season_from_a_line() {
        let n = 24 * 20;
        let y: Vec<f64> = (0..n)
            .map(|t| 0.05 * t as f64 + 3.0 * (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin())
            .collect();
        let d = decompose(&y, &StlParams::new(24, 11));
        for t in 48..n - 48 {
            let s = 3.0 * (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin();
            assert!(
                (d.seasonal[t] - s).abs() < 0.05,
                "t={t}: {} vs {s}",
                d.seasonal[t]
            );
            assert!((d.trend[t] - 0.05 * t as f64).abs() < 0.05);
        }
    }

    #[test]
    fn loess_reproduces_a_line_exactly() {
        let y: Vec<f64> = (0..50).map(|t| 2.0 + 0.5 * t as f64).collect();
        let mut out = vec![0.0; 50];
        smooth(&y, 7, 2, true, &mut out);
        for (a, b) in out.iter().zip(&y) {
            assert!((a - b).abs() < 1e-9);
        }
    }
}
