//! The model specification: orders, trend, parameter layout and polynomial expansion.

use crate::error::{Error, Result};

/// The non-seasonal order `(p, d, q)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Order {
    /// Autoregressive order.
    pub p: usize,
    /// Number of ordinary differences.
    pub d: usize,
    /// Moving-average order.
    pub q: usize,
}

impl Order {
    /// The order `(p, d, q)`.
    #[must_use]
    pub const fn new(p: usize, d: usize, q: usize) -> Self {
        Self { p, d, q }
    }

    /// Parses `p,d,q` (the `--order` flag).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the text is three comma-separated integers.
    pub fn parse(s: &str) -> Result<Self> {
        let v = parse_list::<3>("order", s)?;
        Ok(Self::new(v[0], v[1], v[2]))
    }
}

fn parse_list<const N: usize>(name: &'static str, s: &str) -> Result<[usize; N]> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let bad = || Error::InvalidParameter {
        name,
        message: format!("`{s}` is not {N} comma-separated integers"),
    };
    if parts.len() != N {
        return Err(bad());
    }
    let mut out = [0; N];
    for (o, p) in out.iter_mut().zip(parts) {
        *o = p.parse().map_err(|_| bad())?;
    }
    Ok(out)
}

/// The seasonal order `(P, D, Q)m`. `period` 0 or 1 means no seasonal part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeasonalOrder {
    /// Seasonal autoregressive order.
    pub p: usize,
    /// Number of seasonal differences.
    pub d: usize,
    /// Seasonal moving-average order.
    pub q: usize,
    /// Season length in steps.
    pub period: usize,
}

impl SeasonalOrder {
    /// The seasonal order `(P, D, Q)m`.
    #[must_use]
    pub const fn new(p: usize, d: usize, q: usize, period: usize) -> Self {
        Self { p, d, q, period }
    }

    /// Parses `P,D,Q,m` (the `--seasonal-order` flag).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the text is four comma-separated integers.
    pub fn parse(s: &str) -> Result<Self> {
        let v = parse_list::<4>("seasonal_order", s)?;
        Ok(Self::new(v[0], v[1], v[2], v[3]))
    }

    /// No seasonal part.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            p: 0,
            d: 0,
            q: 0,
            period: 0,
        }
    }

    /// Whether the seasonal part has any term.
    #[must_use]
    pub const fn is_active(&self) -> bool {
        self.period > 1 && (self.p + self.d + self.q) > 0
    }
}

/// The deterministic part of the regression with ARMA errors.
///
/// As in R's `forecast::Arima`, both are regressors (`1` and `t = 1..n`), not an intercept inside the ARMA
/// recursion: `Constant` is the mean of a stationary model, `Drift` the slope of a model with one difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Trend {
    /// No deterministic term.
    #[default]
    None,
    /// A constant mean. Only meaningful without differencing; dropped (and reported) otherwise.
    Constant,
    /// A linear time trend (plus a mean when there is no differencing). Dropped (and reported) when the total
    /// number of differences `d + D` is 2 or more.
    Drift,
}

impl Trend {
    /// Parses `none`, `constant` or `drift`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] on any other name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "none" | "n" => Ok(Self::None),
            "constant" | "c" | "mean" => Ok(Self::Constant),
            "drift" | "t" => Ok(Self::Drift),
            other => Err(Error::InvalidParameter {
                name: "trend",
                message: format!("unknown trend `{other}`; known: none, constant, drift"),
            }),
        }
    }
}

/// Largest total AR or MA lag accepted (for example `(2,0,2)(2,0,2)168` has lag 338).
pub const MAX_LAG: usize = 400;

/// A validated model specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spec {
    /// Non-seasonal order.
    pub order: Order,
    /// Seasonal order (normalised: no terms when the period is 0 or 1).
    pub seasonal: SeasonalOrder,
    /// The trend that is actually estimated, after dropping terms that differencing removes.
    pub trend: Trend,
}

impl Spec {
    /// Validates orders and resolves the trend. Returns the spec and, when the requested trend was changed, why.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when an order is absurd (lags above [`MAX_LAG`], more than 2 differences, more
    /// than one seasonal difference).
    pub fn new(order: Order, seasonal: SeasonalOrder, trend: Trend) -> Result<(Self, Option<String>)> {
        let seasonal = if seasonal.period <= 1 {
            if seasonal.p + seasonal.d + seasonal.q > 0 {
                return Err(Error::InvalidParameter {
                    name: "seasonal_order",
                    message: format!(
                        "seasonal terms need a period of at least 2, got {}",
                        seasonal.period
                    ),
                });
            }
            SeasonalOrder::none()
        } else {
            seasonal
        };
        if order.d > 2 {
            return Err(Error::InvalidParameter {
                name: "order",
                message: format!("d = {} > 2", order.d),
            });
        }
        if seasonal.d > 1 {
            return Err(Error::InvalidParameter {
                name: "seasonal_order",
                message: format!("D = {} > 1", seasonal.d),
            });
        }
        let ar_lag = order.p + seasonal.p * seasonal.period;
        let ma_lag = order.q + seasonal.q * seasonal.period;
        if ar_lag > MAX_LAG || ma_lag > MAX_LAG || seasonal.period > MAX_LAG {
            return Err(Error::InvalidParameter {
                name: "order",
                message: format!("total lags AR {ar_lag}, MA {ma_lag} exceed {MAX_LAG}"),
            });
        }
        if order.p > 0 && seasonal.period > 1 && order.p >= seasonal.period && seasonal.p > 0 {
            return Err(Error::InvalidParameter {
                name: "order",
                message: format!(
                    "p = {} overlaps the seasonal AR lags of period {}",
                    order.p, seasonal.period
                ),
            });
        }
        if order.q > 0 && seasonal.period > 1 && order.q >= seasonal.period && seasonal.q > 0 {
            return Err(Error::InvalidParameter {
                name: "order",
                message: format!(
                    "q = {} overlaps the seasonal MA lags of period {}",
                    order.q, seasonal.period
                ),
            });
        }
        let diffs = order.d + seasonal.d;
        let (trend, note) = match (trend, diffs) {
            (Trend::Constant, n) if n > 0 => (
                Trend::None,
                Some(format!("constant dropped: {n} difference(s) remove it")),
            ),
            (Trend::Drift, n) if n > 1 => (
                Trend::None,
                Some(format!("drift dropped: {n} differences remove it")),
            ),
            (t, _) => (t, None),
        };
        Ok((
            Self {
                order,
                seasonal,
                trend,
            },
            note,
        ))
    }

    /// Total number of differences `d + D`.
    #[must_use]
    pub fn diffs(&self) -> usize {
        self.order.d + self.seasonal.d
    }

    /// Number of ARMA coefficients (without regression terms and variance).
    #[must_use]
    pub fn n_arma(&self) -> usize {
        self.order.p + self.order.q + self.seasonal.p + self.seasonal.q
    }

    /// The names of the trend regressors, in the order of their columns.
    #[must_use]
    pub fn trend_names(&self) -> Vec<&'static str> {
        match (self.trend, self.diffs()) {
            (Trend::None, _) => vec![],
            (Trend::Constant, _) => vec!["intercept"],
            (Trend::Drift, 0) => vec!["intercept", "drift"],
            (Trend::Drift, _) => vec!["drift"],
        }
    }

    /// The trend columns for time indices `start..start + len` (time starts at 1 on the first observation).
    #[must_use]
    pub fn trend_columns(&self, start: usize, len: usize) -> Vec<Vec<f64>> {
        self.trend_names()
            .into_iter()
            .map(|name| match name {
                "intercept" => vec![1.0; len],
                _ => (start..start + len).map(|t| t as f64).collect(),
            })
            .collect()
    }

    /// The differencing polynomial `(1-B)^d (1-B^m)^D = 1 - Σ δ_k B^k`, returned as `δ_1..δ_K`.
    #[must_use]
    pub fn diff_coefficients(&self) -> Vec<f64> {
        let mut poly = vec![1.0];
        for _ in 0..self.order.d {
            poly = poly_mul(&poly, &[1.0, -1.0]);
        }
        for _ in 0..self.seasonal.d {
            let mut s = vec![0.0; self.seasonal.period + 1];
            s[0] = 1.0;
            s[self.seasonal.period] = -1.0;
            poly = poly_mul(&poly, &s);
        }
        poly[1..].iter().map(|c| -c).collect()
    }
}

/// Multiplies two polynomials given by coefficients in increasing powers.
#[must_use]
pub fn poly_mul(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        if *x == 0.0 {
            continue;
        }
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// ARMA coefficients of a model, in the sign convention of statsmodels and R:
/// `(1 - Σ ar_i B^i)(1 - Σ sar_i B^{im}) w_t = (1 + Σ ma_i B^i)(1 + Σ sma_i B^{im}) e_t`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArmaCoefs {
    /// Non-seasonal AR coefficients.
    pub ar: Vec<f64>,
    /// Non-seasonal MA coefficients.
    pub ma: Vec<f64>,
    /// Seasonal AR coefficients.
    pub sar: Vec<f64>,
    /// Seasonal MA coefficients.
    pub sma: Vec<f64>,
}

impl ArmaCoefs {
    /// Expands the seasonal products into `(phi, theta)` with `w_t = Σ phi_i w_{t-i} + e_t + Σ theta_j e_{t-j}`
    /// (index 0 holds lag 1).
    #[must_use]
    pub fn expand(&self, period: usize) -> (Vec<f64>, Vec<f64>) {
        let mut a = vec![1.0];
        a.extend(self.ar.iter().map(|c| -c));
        let mut sa = vec![0.0; self.sar.len() * period + 1];
        sa[0] = 1.0;
        for (i, c) in self.sar.iter().enumerate() {
            sa[(i + 1) * period] = -c;
        }
        let phi: Vec<f64> = poly_mul(&a, &sa)[1..].iter().map(|c| -c).collect();
        let mut b = vec![1.0];
        b.extend_from_slice(&self.ma);
        let mut sb = vec![0.0; self.sma.len() * period + 1];
        sb[0] = 1.0;
        for (i, c) in self.sma.iter().enumerate() {
            sb[(i + 1) * period] = *c;
        }
        let theta = poly_mul(&b, &sb)[1..].to_vec();
        (phi, theta)
    }

    /// All coefficients in the order ar, ma, sar, sma.
    #[must_use]
    pub fn to_vec(&self) -> Vec<f64> {
        [&self.ar[..], &self.ma, &self.sar, &self.sma].concat()
    }

    /// Splits a flat vector in the order ar, ma, sar, sma.
    #[must_use]
    pub fn from_slice(spec: &Spec, v: &[f64]) -> Self {
        let (p, q, sp, sq) = (spec.order.p, spec.order.q, spec.seasonal.p, spec.seasonal.q);
        Self {
            ar: v[..p].to_vec(),
            ma: v[p..p + q].to_vec(),
            sar: v[p + q..p + q + sp].to_vec(),
            sma: v[p + q + sp..p + q + sp + sq].to_vec(),
        }
    }
}

/// The parameters of a fitted model, in the units of the data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArimaParams {
    /// Regression coefficients: the trend terms first (see [`Spec::trend_names`]), then the exogenous columns.
    pub beta: Vec<f64>,
    /// ARMA coefficients.
    pub arma: ArmaCoefs,
    /// Innovation variance.
    pub sigma2: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_seasonal_products() {
        let c = ArmaCoefs {
            ar: vec![0.5],
            ma: vec![0.2],
            sar: vec![0.3],
            sma: vec![-0.4],
        };
        let (phi, theta) = c.expand(4);
        assert_eq!(phi.len(), 5);
        assert!((phi[0] - 0.5).abs() < 1e-15 && (phi[3] - 0.3).abs() < 1e-15);
        assert!((phi[4] + 0.15).abs() < 1e-15);
        assert!((theta[0] - 0.2).abs() < 1e-15 && (theta[3] + 0.4).abs() < 1e-15);
        assert!((theta[4] + 0.08).abs() < 1e-15);
    }

    #[test]
    fn differencing_polynomial() {
        let (s, _) = Spec::new(Order::new(0, 1, 0), SeasonalOrder::new(0, 1, 0, 4), Trend::None).unwrap();
        assert_eq!(s.diff_coefficients(), vec![1.0, 0.0, 0.0, 1.0, -1.0]);
        let (s, _) = Spec::new(Order::new(0, 2, 0), SeasonalOrder::none(), Trend::None).unwrap();
        assert_eq!(s.diff_coefficients(), vec![2.0, -1.0]);
    }

    #[test]
    fn parses_command_line_orders() {
        assert_eq!(Order::parse("2, 1,1").unwrap(), Order::new(2, 1, 1));
        assert_eq!(
            SeasonalOrder::parse("1,1,1,24").unwrap(),
            SeasonalOrder::new(1, 1, 1, 24)
        );
        assert!(Order::parse("2,1").is_err() && Order::parse("a,b,c").is_err());
        assert_eq!(Trend::parse("drift").unwrap(), Trend::Drift);
        assert!(Trend::parse("quadratic").is_err());
    }

    #[test]
    fn drops_trends_that_differencing_removes() {
        let (s, note) = Spec::new(Order::new(0, 1, 1), SeasonalOrder::none(), Trend::Constant).unwrap();
        assert_eq!(s.trend, Trend::None);
        assert!(note.unwrap().contains("constant dropped"));
        let (s, note) = Spec::new(Order::new(0, 1, 1), SeasonalOrder::none(), Trend::Drift).unwrap();
        assert_eq!(s.trend_names(), vec!["drift"]);
        assert!(note.is_none());
        assert!(Spec::new(Order::new(0, 3, 0), SeasonalOrder::none(), Trend::None).is_err());
        assert!(Spec::new(Order::new(1, 0, 0), SeasonalOrder::new(1, 0, 0, 1), Trend::None).is_err());
    }
}
