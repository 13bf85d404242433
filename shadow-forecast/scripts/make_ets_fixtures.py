"""Writes ETS parity fixtures: statsmodels' ETSModel log-likelihood at fixed parameters and initial states.

Usage (from the workspace root):
    /work/arima-dev/.venv/bin/python shadow-forecast/scripts/make_ets_fixtures.py
(any virtualenv with statsmodels and numpy; see compare.py). Writes shadow-forecast/tests/fixtures/ets_loglik.json,
which the test `ets_parity` reads: for each case, our recursions at the same parameters must give the same
log-likelihood and the same one-step fitted values.
"""
import json
import os

import numpy as np
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "tests", "fixtures", "ets_loglik.json")


def series(seed, n, m):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = 10 * np.sin(2 * np.pi * t / m) if m > 1 else 0
    return 100 + 0.2 * t + season + rng.normal(0, 2, n)


CASES = [
    # (error, trend, damped, seasonal, m, params dict, seed)
    ("add", None, False, None, 1, dict(smoothing_level=0.3), 1),
    ("add", "add", False, None, 1, dict(smoothing_level=0.4, smoothing_trend=0.1), 2),
    ("add", "add", True, None, 1, dict(smoothing_level=0.5, smoothing_trend=0.05, damping_trend=0.9), 3),
    ("mul", None, False, None, 1, dict(smoothing_level=0.3), 4),
    ("mul", "add", True, None, 1, dict(smoothing_level=0.6, smoothing_trend=0.2, damping_trend=0.85), 5),
    ("add", None, False, "add", 12, dict(smoothing_level=0.3, smoothing_seasonal=0.1), 6),
    ("add", "add", True, "add", 12, dict(smoothing_level=0.3, smoothing_trend=0.05, smoothing_seasonal=0.1,
                                         damping_trend=0.95), 7),
    ("mul", "add", True, "add", 12, dict(smoothing_level=0.2, smoothing_trend=0.02, smoothing_seasonal=0.1,
                                         damping_trend=0.9), 8),
]
# No multiplicative season: statsmodels updates it as g*(y_t / l_t) + (1 - g)*s_{t-m}, with the new level l_t,
# while we (like R's forecast::ets and Hyndman et al. 2008) use y_t / (l_{t-1} + phi*b_{t-1}); the two differ.


def main():
    out = []
    for error, trend, damped, seasonal, m, params, seed in CASES:
        y = series(seed, 120, m)
        # Initial states: level and trend by hand; seasonal indices normalised, in statsmodels' order.
        init_season = None
        if seasonal == "add":
            init_season = 10 * np.sin(2 * np.pi * np.arange(m) / m)
        elif seasonal == "mul":
            init_season = 1 + 0.1 * np.sin(2 * np.pi * np.arange(m) / m)
        model = ETSModel(y, error=error, trend=trend, damped_trend=damped, seasonal=seasonal,
                         seasonal_periods=m if seasonal else None, initialization_method="known",
                         initial_level=99.0, initial_trend=0.3 if trend else None,
                         initial_seasonal=init_season)
        with model.fix_params(params):
            res = model.fit(disp=False)
        out.append(dict(
            error=error, trend=trend, damped=damped, seasonal=seasonal, period=m, y=y.tolist(),
            alpha=params.get("smoothing_level"), beta=params.get("smoothing_trend", 0.0),
            gamma=params.get("smoothing_seasonal", 0.0), phi=params.get("damping_trend", 1.0),
            level=99.0, trend0=0.3 if trend else 0.0,
            season=[] if init_season is None else init_season.tolist(),
            llf=float(res.llf), fitted=res.fittedvalues.tolist(),
        ))
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {len(out)} cases to {OUT}")


if __name__ == "__main__":
    main()
