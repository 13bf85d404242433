"""Records statsforecast's AutoARIMA choices on seeded simulations, for the AutoARIMA agreement test.

Run: shadow-forecast/.venv/bin/python shadow-forecast/scripts/make_auto_fixtures.py
     (writes shadow-forecast/tests/fixtures/auto_reference.json; the venv is made as compare.py says)
"""
import json
import os
import sys
import warnings

import numpy as np
from statsforecast.models import AutoARIMA

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import simulate  # noqa: E402

warnings.filterwarnings("ignore")


def main():
    rng = np.random.default_rng(777)
    specs = [
        ("ar1_level", dict(n=300, ar=[0.7]), 1, 10.0),
        ("ma1_level", dict(n=300, ma=[0.6]), 1, 5.0),
        ("arma21", dict(n=500, ar=[0.5, 0.3], ma=[-0.4]), 1, 0.0),
        ("rw", dict(n=300, d=1), 1, 0.0),
        ("arima011", dict(n=400, ma=[-0.6], d=1), 1, 0.0),
        ("arima211", dict(n=2000, ar=[0.4, 0.2], ma=[-0.5], d=1), 1, 0.0),
        ("arima110_long", dict(n=1000, ar=[0.6], d=1), 1, 0.0),
        ("airline12", dict(n=240, ma=[-0.4], sma=[-0.6], m=12, d=1, D=1), 12, 0.0),
        ("sar12", dict(n=360, ar=[0.5], sar=[0.7], m=12), 12, 20.0),
        ("seasonal_ma24", dict(n=480, ma=[0.3], sma=[-0.5], m=24, D=1), 24, 0.0),
    ]
    cases = []
    for name, kw, m, level in specs:
        y = simulate(rng, **kw) + level
        model = AutoARIMA(season_length=m).fit(y)
        p, q, P, Q, mm, d, D = model.model_["arma"]
        cases.append({"name": name, "y": [float(v) for v in y], "period": m,
                      "order": [int(p), int(d), int(q)], "seasonal_order": [int(P), int(D), int(Q)],
                      "aicc": float(model.model_["aicc"])})
        print(name, (p, d, q), (P, D, Q), m)
    with open(os.path.join(os.path.dirname(HERE), "tests", "fixtures", "auto_reference.json"), "w") as f:
        json.dump({"generator": "shadow-forecast/scripts/make_auto_fixtures.py",
                   "statsforecast_version": __import__("statsforecast").__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
