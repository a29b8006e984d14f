"""Generalized linear models: descend's fused passes beside the peers, in one run.

Phase 1 of issue 17 (the estimators come with the new loop): prints, side by side,

* one read of X (``X.sum()``), the floor of any full-batch gradient;
* one fused pass of each descend loss (value + gradient, ``_glm_kernels``) and the
  first pass (weighted moments), as a ratio to that read (target <= 1.5x), with the
  memory a pass allocates beyond X (tracemalloc: NumPy's allocations);
* the peers to the same tolerance: scikit-learn ``LogisticRegression(lbfgs)``,
  ``PoissonRegressor(lbfgs)``, ``Lasso`` (coordinate descent), and the stochastic
  ones in bounded time: ``SGDClassifier`` / ``SGDRegressor(penalty="l1")`` run
  ``--sgd-epochs`` epochs (``tol=None``); the time per epoch and the loss gap they
  leave are printed, never an extrapolated finish;
* ``dask_ml.linear_model.LogisticRegression`` (dask-glm) on a local cluster of
  ``--workers`` x 1 thread, when dask-ml is installed.

Data: 2,000,000 x 20 float64 (``--rows``, ``--features``); the multinomial kernel
on 1,000,000 x 100 with 10 classes (``--mrows``, ``--mfeatures``, ``--classes``).
Times are medians of ``--repeat`` runs (peers: ``--peer-repeat``).

Run: ``PYTHONPATH=src python benchmarks/bench_glm.py`` (quick: ``--rows 200000 --mrows 100000``).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out = fn()  # warm-up (and compile)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def peak_beyond(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return int(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def logistic_data(n: int, p: int, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    X = rng.standard_normal((n, p))
    w = rng.standard_normal(p) / np.sqrt(p) * 2
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(np.float64)
    return X, y, w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--mrows", type=int, default=1_000_000)
    ap.add_argument("--mfeatures", type=int, default=100)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--peer-repeat", type=int, default=3)
    ap.add_argument("--sgd-epochs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-peers", action="store_true")
    a = ap.parse_args()
    print("reproduce:", "PYTHONPATH=src", sys.executable, *sys.argv)

    from descend.linear_model._glm_losses import (
        LogisticLoss,
        PoissonLoss,
        SoftmaxLoss,
        SquaredLoss,
        one_blas_thread,
    )

    rng = np.random.default_rng(0)
    n, p = a.rows, a.features
    X, y, w_true = logistic_data(n, p, rng)
    counts = rng.poisson(np.exp(0.2 * X @ w_true)).astype(np.float64)
    yreg = X @ w_true + rng.standard_normal(n)
    mb = X.nbytes / 2**20
    rows: list[tuple[str, float, float, float]] = []  # name, seconds, x read, MiB beyond X

    with one_blas_thread():
        read, _ = median_time(lambda: X.sum(), a.repeat)
        rows.append(("one read of X (X.sum())", read, 1.0, 0.0))
        losses = {
            "logistic": LogisticLoss.local(X, y),
            "poisson": PoissonLoss.local(X, counts),
        }
        t_first, _ = median_time(lambda: LogisticLoss.local(X, y), 3)
        rows.append(("first pass: moments + scaling (X'X)", t_first, t_first / read,
                     peak_beyond(lambda: LogisticLoss.local(X, y)) / 2**20))
        for name, loss in losses.items():
            theta = np.zeros(loss.n_theta)
            theta[1:] = 0.1
            t, _ = median_time(lambda loss=loss, theta=theta: loss.value_grad(theta), a.repeat)
            mem = peak_beyond(lambda loss=loss, theta=theta: loss.value_grad(theta)) / 2**20
            rows.append((f"{name}: one fused pass (value + gradient)", t, t / read, mem))
        sq = SquaredLoss.local(X, yreg)
        t, _ = median_time(lambda: sq.value_grad(np.full(sq.n_theta, 0.1)), a.repeat)
        rows.append(("squared (+L1): one step on the moments", t, t / read, 0.0))
        wt = np.full(p, 0.1)
        g_np, _ = median_time(lambda: _numpy_logistic(X, y, wt), a.peer_repeat)
        rows.append(("logistic gradient in NumPy (X@w, sigmoid, X.T@r)", g_np, g_np / read, 0.0))

    print(f"\n== passes at {n:,} x {p} float64 (X is {mb:.0f} MiB); medians of {a.repeat}")
    for name, t, ratio, mem in rows:
        print(f"{name:<55} {t * 1e3:9.1f} ms {ratio:6.2f}x read  {mem:7.1f} MiB beyond X "
              f"({mem / mb:.1%})")

    Xm = rng.standard_normal((a.mrows, a.mfeatures))
    Wm = rng.standard_normal((a.classes, a.mfeatures)) / np.sqrt(a.mfeatures)
    ym = np.argmax(Xm @ Wm.T + rng.gumbel(size=(a.mrows, a.classes)), axis=1)
    with one_blas_thread():
        mread, _ = median_time(lambda: Xm.sum(), a.repeat)
        soft = SoftmaxLoss.local(Xm, ym, a.classes)
        th = np.full(soft.n_theta, 0.01)
        ts, _ = median_time(lambda: soft.value_grad(th), a.repeat)
        msoft = peak_beyond(lambda: soft.value_grad(th)) / 2**20
    print(f"\n== multinomial at {a.mrows:,} x {a.mfeatures}, {a.classes} classes "
          f"(X is {Xm.nbytes / 2**20:.0f} MiB)")
    print(f"{'one read of X':<55} {mread * 1e3:9.1f} ms")
    print(f"{'softmax: one fused pass (value + gradient)':<55} {ts * 1e3:9.1f} ms "
          f"{ts / mread:6.2f}x read  {msoft:7.1f} MiB beyond X")
    if a.skip_peers:
        return
    peers(a, X, y, counts, yreg, read)


def _numpy_logistic(X: Any, y: Any, w: Any) -> Any:
    eta = X @ w
    r = 1 / (1 + np.exp(-eta)) - y
    return X.T @ r


def peers(a: Any, X: Any, y: Any, counts: Any, yreg: Any, read: float) -> None:
    from sklearn.linear_model import (
        Lasso,
        LogisticRegression,
        PoissonRegressor,
        SGDClassifier,
        SGDRegressor,
    )
    from sklearn.metrics import log_loss

    out: list[tuple[str, float, str]] = []

    def fit(name: str, make: Callable[[], Any], *args: Any, note: Callable[[Any], str]) -> Any:
        times, est = [], None
        for _ in range(a.peer_repeat):
            est = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                est.fit(*args)
                times.append(time.perf_counter() - t)
        out.append((name, float(np.median(times)), note(est)))
        print(f"  {name}: {np.median(times):.2f} s ({note(est)})", flush=True)
        return est

    print(f"\n== peers at {X.shape[0]:,} x {X.shape[1]} (medians of {a.peer_repeat})")
    lr = fit("LogisticRegression(lbfgs, C=inf, tol=1e-6)",
             lambda: LogisticRegression(C=np.inf, tol=1e-6, max_iter=1000), X, y,
             note=lambda e: f"{int(e.n_iter_[0])} iterations")
    best = log_loss(y, lr.predict_proba(X)[:, 1])
    fit(f"SGDClassifier(log_loss), {a.sgd_epochs} epochs",
        lambda: SGDClassifier(loss="log_loss", max_iter=a.sgd_epochs, tol=None,
                              random_state=0), X, y,
        note=lambda e: f"log-loss gap after {a.sgd_epochs} epochs "
                       f"{log_loss(y, e.predict_proba(X)[:, 1]) - best:.2e} (lbfgs {best:.6f})")
    fit("PoissonRegressor(lbfgs, alpha=0, tol=1e-6)",
        lambda: PoissonRegressor(alpha=0.0, tol=1e-6, max_iter=1000), X, counts,
        note=lambda e: f"{e.n_iter_} iterations")
    las = fit("Lasso(alpha=0.01, tol=1e-6)", lambda: Lasso(alpha=0.01, tol=1e-6), X, yreg,
              note=lambda e: f"{e.n_iter_} iterations")

    def lasso_obj(e: Any) -> float:
        r = yreg - X @ e.coef_ - e.intercept_
        return float(r @ r / (2 * len(r)) + 0.01 * np.abs(e.coef_).sum())

    fit(f"SGDRegressor(penalty='l1', alpha=0.01), {a.sgd_epochs} epochs",
        lambda: SGDRegressor(penalty="l1", alpha=0.01, max_iter=a.sgd_epochs, tol=None,
                             random_state=0), X, yreg,
        note=lambda e: f"objective gap after {a.sgd_epochs} epochs "
                       f"{lasso_obj(e) - lasso_obj(las):.2e}")
    print(f"  (one read of X: {read * 1e3:.1f} ms; ratios to it: "
          + ", ".join(f"{name.split('(')[0]} {t / read:.0f}x" for name, t, _ in out) + ")")
    dask_ml_peer(a, X, y)


def dask_ml_peer(a: Any, X: Any, y: Any) -> None:
    try:
        import dask.array as da
        from dask_ml.linear_model import LogisticRegression as DaskLR
        from distributed import Client, LocalCluster
    except ImportError:
        print("  dask-ml: not installed (pip install dask-ml)")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1,
                               dashboard_address=":0")
        with cluster, Client(cluster):
            Xd = da.from_array(X, chunks=(250_000, X.shape[1])).persist()
            yd = da.from_array(y, chunks=250_000).persist()
            t = time.perf_counter()
            est = DaskLR(C=1e12, solver="lbfgs", tol=1e-6, max_iter=1000).fit(Xd, yd)
            took = time.perf_counter() - t
    print(f"  dask_ml LogisticRegression(lbfgs, tol=1e-6) on {a.workers} workers x 1 thread, "
          f"X persisted: {took:.2f} s (coef[0] {float(est.coef_[0]):.6f})")


if __name__ == "__main__":
    main()
