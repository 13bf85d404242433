"""Runs statsforecast's MSTL, AutoETS and Theta on the M4 hourly last-48 hold-out, then our models, in one run.

Usage (from the workspace root):
    /work/arima-dev/.venv/bin/python shadow-forecast/scripts/m4_peers.py [--data ../shared/data] [--limit N]
        [--peers MSTL,AutoETS,Theta] [--ours auto,mstl,theta]
    /work/arima-dev/.venv/bin/python shadow-forecast/scripts/m4_peers.py --limit 50 --peers AutoARIMA --ours auto

Any virtualenv with statsforecast, numpy and pandas works. Scoring follows M4 and our `backtest` module: sMAPE,
MASE with the in-sample seasonal-naive (lag 24) scale, OWA against Naive2 (multiplicative classical
decomposition when the 90% ACF test at lag 24 passes), each figure the mean over series. Peers run with
n_jobs=2 (this machine's cores); our figures come from `cargo run --release --example m4_hourly` in the same
run, so the times are comparable.
"""
import argparse
import os
import subprocess
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.dirname(os.path.dirname(HERE))
H, M = 48, 24


def load(path, limit):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            vals = [v.strip('"') for v in line.strip().split(",")[1:]]
            rows.append(np.array([float(v) for v in vals if v], dtype=float))
            if len(rows) >= limit:
                break
    return rows


def seasonality_test(y, m):
    n = len(y)
    if n < 3 * m:
        return False
    x = y - y.mean()
    c0 = (x * x).sum()
    acf = [(x[k:] * x[:-k]).sum() / c0 for k in range(1, m + 1)]
    limit = 1.645 * np.sqrt((1 + 2 * sum(a * a for a in acf[:-1])) / n)
    return abs(acf[m - 1]) > limit


def naive2(y, m, h):
    if seasonality_test(y, m):
        n = len(y)
        # Classical multiplicative decomposition: centred 2xm moving average.
        ma = np.convolve(y, np.r_[0.5, np.ones(m - 1), 0.5] / m, mode="valid")
        ratios = y[m // 2: m // 2 + len(ma)] / ma
        idx = np.array([np.mean(ratios[(k - m // 2) % m::m]) for k in range(m)])
        idx = idx / idx.mean()
        level = y[-1] / idx[(n - 1) % m]
        return np.array([level * idx[(n + i) % m] for i in range(h)])
    return np.repeat(y[-1], h)


def smape(a, f):
    return np.mean(200 * np.abs(a - f) / (np.abs(a) + np.abs(f)))


def mase(train, a, f, m):
    scale = np.mean(np.abs(train[m:] - train[:-m]))
    return np.mean(np.abs(a - f)) / scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(WORKSPACE, "..", "shared", "data"))
    ap.add_argument("--limit", type=int, default=10**9)
    ap.add_argument("--peers", default="MSTL,AutoETS,Theta")
    ap.add_argument("--ours", default="auto,mstl,theta,ets")
    args = ap.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta

    series = load(os.path.join(args.data, "m4", "Hourly-train.csv"), args.limit)
    train = [y[:-H] for y in series]
    test = [y[-H:] for y in series]
    n2 = [naive2(t, M, H) for t in train]
    n2_s = np.mean([smape(a, f) for a, f in zip(test, n2)])
    n2_m = np.mean([mase(t, a, f, M) for t, a, f in zip(train, test, n2)])
    print(f"M4 hourly, {len(series)} series, last {H} held out; Naive2 sMAPE {n2_s:.3f} MASE {n2_m:.3f}")
    df = pd.concat([pd.DataFrame({"unique_id": i, "ds": np.arange(len(t)), "y": t}) for i, t in enumerate(train)])
    peers = {
        "MSTL": lambda: MSTL(season_length=[24, 168], trend_forecaster=AutoETS(model="ZZN")),
        "AutoETS": lambda: AutoETS(season_length=24),
        "Theta": lambda: AutoTheta(season_length=24),
        # About 33 s per series here: compare on a fixed subset (`--limit 50 --peers AutoARIMA`).
        "AutoARIMA": lambda: AutoARIMA(season_length=24),
    }
    forecasts = {}
    print(f"{'model':28s} {'sMAPE':>8s} {'MASE':>8s} {'OWA':>7s} {'time s':>8s}")
    for name in args.peers.split(","):
        sf = StatsForecast(models=[peers[name]()], freq=1, n_jobs=2)
        t0 = time.perf_counter()
        out = sf.forecast(df=df, h=H)
        secs = time.perf_counter() - t0
        col = [c for c in out.columns if c not in ("unique_id", "ds")][0]
        fc = [out[out.unique_id == i][col].to_numpy() for i in range(len(series))]
        forecasts[name] = fc
        s = np.mean([smape(a, f) for a, f in zip(test, fc)])
        m = np.mean([mase(t, a, f, M) for t, a, f in zip(train, test, fc)])
        print(f"statsforecast {name:14s} {s:8.3f} {m:8.3f} {0.5 * (s / n2_s + m / n2_m):7.3f} {secs:8.1f}")
    if len(forecasts) >= 3:
        med = [np.median(np.stack(k), axis=0) for k in zip(*forecasts.values())]
        s = np.mean([smape(a, f) for a, f in zip(test, med)])
        m = np.mean([mase(t, a, f, M) for t, a, f in zip(train, test, med)])
        print(f"{'median of the peers':28s} {s:8.3f} {m:8.3f} {0.5 * (s / n2_s + m / n2_m):7.3f}")
    cmd = ["cargo", "run", "--release", "-q", "-p", "shadow-forecast", "--example", "m4_hourly", "--",
           "--data", args.data] + (["--limit", str(args.limit)] if args.limit < 10**9 else []) + args.ours.split(",")
    print("ours:", " ".join(cmd))
    subprocess.check_call(cmd, cwd=WORKSPACE)


if __name__ == "__main__":
    main()
