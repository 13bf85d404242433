"""Times statsforecast, statsmodels and our ARIMA on the same series in one run and prints each ratio.

Usage (from the workspace root; the script finds its paths from its own location):
    python3 shadow-forecast/scripts/compare.py

The script creates a virtualenv and pip-installs statsforecast, statsmodels, numpy and pandas into it if they
are missing, then re-executes itself inside it. By hand, that is:
    python3 -m venv shadow-forecast/.venv
    shadow-forecast/.venv/bin/pip install statsforecast statsmodels numpy pandas
The venv is `shadow-forecast/.venv` (git-ignored), or the directory in the environment variable `SHADOW_VENV`
(for example an existing one, to skip the install). Our timings come from
`cargo run --release -p shadow-forecast --example timing`, built by this script.

The series are seeded simulations of the sizes in issue 3: ARIMA(2,1,1) with n = 2000, and an hourly
SARIMA(1,0,1)(1,1,1)24 with n = 1344 (eight weeks). Each timing is a median of repeated fits in one process
(after a warm-up fit, so numba compilation in statsforecast is excluded).
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # shadow-forecast/
WORKSPACE = os.path.dirname(ROOT)
VENV = os.environ.get("SHADOW_VENV") or os.path.join(ROOT, ".venv")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(WORKSPACE, "target")


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    try:
        subprocess.check_call([py, "-c", "import statsforecast, statsmodels, numpy, pandas"],
                              stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        subprocess.check_call([py, "-m", "pip", "install", "-q", "statsforecast", "statsmodels", "numpy", "pandas"])
    # The venv's python is usually a symlink to this same interpreter, so compare prefixes, not executables.
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        os.execv(py, [py] + sys.argv)


def median_ms(f, repeats):
    f()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    # Our fits are single-threaded; keep numpy's BLAS single-threaded too, so that statsmodels is not slowed
    # by thread oversubscription on a 2-core machine.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    ensure_venv()
    import warnings
    import numpy as np
    warnings.filterwarnings("ignore")
    from statsmodels.tsa.arima_process import ArmaProcess
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    from statsforecast.models import ARIMA as SfArima, AutoARIMA as SfAuto

    rng = np.random.default_rng(3)
    w = ArmaProcess([1, -0.4, -0.2], [1, -0.5]).generate_sample(2000, distrvs=rng.standard_normal)
    y211 = np.cumsum(w)
    base = ArmaProcess([1, -0.6], [1, 0.2]).generate_sample(1344, distrvs=rng.standard_normal)
    t = np.arange(1344)
    y24 = base + 5 * np.sin(t / 24 * 2 * np.pi) + 0.001 * t
    path = os.path.join(TARGET, "compare_series.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"arima211": list(map(float, y211)), "sarima24": list(map(float, y24))}, f)

    res = {}
    res["sf_fit211"] = median_ms(lambda: SfArima(order=(2, 1, 1)).fit(y211), 5)
    res["sm_fit211"] = median_ms(lambda: SARIMAX(y211, order=(2, 1, 1)).fit(disp=False), 5)
    res["sf_auto"] = median_ms(lambda: SfAuto().fit(y211), 3)
    res["sf_fit24"] = median_ms(lambda: SfArima(order=(1, 0, 1), seasonal_order=(1, 1, 1), season_length=24).fit(y24), 3)
    t0 = time.perf_counter()
    sm24 = SARIMAX(y24, order=(1, 0, 1), seasonal_order=(1, 1, 1, 24)).fit(disp=False)
    res["sm_fit24"] = (time.perf_counter() - t0) * 1e3
    sm24_sd = SARIMAX(y24, order=(1, 0, 1), seasonal_order=(1, 1, 1, 24), simple_differencing=True).fit(disp=False)
    sf_auto = SfAuto().fit(y211)
    p, q, P, Q, m, d, D = sf_auto.model_["arma"]
    sm211 = SARIMAX(y211, order=(2, 1, 1)).fit(disp=False)
    sm211_sd = SARIMAX(y211, order=(2, 1, 1), simple_differencing=True).fit(disp=False)

    subprocess.check_call(["cargo", "build", "--release", "-p", "shadow-forecast", "--example", "timing", "-q"],
                          cwd=WORKSPACE)
    exe = os.path.join(TARGET, "release", "examples", "timing")
    ours = json.loads(subprocess.check_output([exe, path, "7"], cwd=ROOT))

    print(f"{'what':44s} {'statsforecast':>14s} {'statsmodels':>12s} {'ours':>10s} {'sf/ours':>8s} {'sm/ours':>8s}")
    rows = [
        ("ARIMA(2,1,1) fit, n=2000 (ms)", res["sf_fit211"], res["sm_fit211"], ours["fit211_ms"]),
        ("non-seasonal AutoARIMA, n=2000 (ms)", res["sf_auto"], float("nan"), ours["auto_ms"]),
        ("SARIMA(1,0,1)(1,1,1)24 fit, n=1344 (ms)", res["sf_fit24"], res["sm_fit24"], ours["fit24_ms"]),
    ]
    for name, sf, sm, us in rows:
        print(f"{name:44s} {sf:14.2f} {sm:12.2f} {us:10.3f} {sf / us:8.1f} {sm / us:8.1f}")
    print(f"one exact log-likelihood evaluation, ARIMA(2,1,1), n=2000: {ours['ns_per_obs']:.2f} ns per observation")
    print(f"llf ARIMA(2,1,1): ours {ours['llf211']:.4f}, statsmodels default {sm211.llf:.4f}, "
          f"statsmodels simple_differencing {sm211_sd.llf:.4f}")
    print(f"llf SARIMA(1,0,1)(1,1,1)24: ours {ours['llf24']:.4f}, statsmodels default {sm24.llf:.4f}, "
          f"statsmodels simple_differencing {sm24_sd.llf:.4f}")
    print(f"AutoARIMA chose: ours {ours['auto_order']}, statsforecast ({p},{d},{q})")


if __name__ == "__main__":
    main()
