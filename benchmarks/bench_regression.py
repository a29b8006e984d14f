"""GDRegressor against direct and iterative least-squares solvers, side by side.

Reproduce:  PYTHONPATH=src python benchmarks/bench_regression.py [--rows 10000000] [--skip-sgd]

Time to a 1e-6 relative loss gap on n x 20 float64 (standardized features are NOT
given: columns have different means and scales), for GDRegressor() defaults, the
normal equations with Cholesky, scipy L-BFGS-B with the analytic gradient,
numpy.linalg.lstsq and sklearn SGDRegressor() defaults (on a subset of at most
--sgd-rows rows, time scaled linearly to n, as stated in the output); then one
fused Huber gradient against one read of X (``X.sum()``), and GDRegressor's peak
extra memory (tracemalloc) relative to the size of X.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc
import warnings

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize as sp_minimize
from threadpoolctl import threadpool_limits

from descend import GDRegressor
from descend.linear_model._kernels import huber_pass


def _mse(X: np.ndarray, y: np.ndarray, b: float, w: np.ndarray) -> float:
    r = y - b - X @ w
    return float(r @ r) / len(y)


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--skip-sgd", action="store_true")
    ap.add_argument("--skip-lbfgs", action="store_true",
                    help="leave out L-BFGS-B (minutes at 10,000,000 rows)")
    ap.add_argument("--sgd-rows", type=int, default=200_000)
    args = ap.parse_args()
    n, p = args.rows, args.cols
    print("command:", "PYTHONPATH=src python", " ".join(sys.argv))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 20, p) + rng.uniform(-50, 50, p)
    y = X @ rng.uniform(-2, 2, p) + 3.0 + rng.standard_normal(n)
    gb = X.nbytes / 1e9

    def normal_equations() -> tuple[float, np.ndarray]:
        mu, ybar = X.mean(axis=0), y.mean()
        G = X.T @ X - n * np.outer(mu, mu)
        c = X.T @ y - n * mu * ybar
        w = cho_solve(cho_factor(G), c)
        return float(ybar - mu @ w), w

    t_ne = _best(normal_equations)
    b_star, w_star = normal_equations()
    f_star = _mse(X, y, b_star, w_star)
    rows = []

    def gap(b: float, w: np.ndarray) -> float:
        return (_mse(X, y, b, w) - f_star) / f_star

    m = GDRegressor(tol=1e-10)
    t_gd = _best(lambda: m.fit(X, y))
    rows.append(("GDRegressor() (tol=1e-10)", t_gd, gap(m.intercept_, m.coef_),
                 f"{m.n_iter_} iterations"))
    rows.append(("normal equations + Cholesky", t_ne, gap(b_star, w_star), ""))

    def lbfgs() -> object:
        def fg(theta: np.ndarray) -> tuple[float, np.ndarray]:
            r = y - theta[0] - X @ theta[1:]
            return float(r @ r) / n, np.concatenate([[-2 * r.sum()], -2 * (X.T @ r)]) / n

        return sp_minimize(fg, np.zeros(p + 1), jac=True, method="L-BFGS-B",
                           options={"ftol": 1e-12, "gtol": 1e-10, "maxiter": 10_000})

    t_lb = math.nan
    if not args.skip_lbfgs:
        t0 = time.perf_counter()
        res = lbfgs()
        t_lb = time.perf_counter() - t0
        rows.append(("scipy L-BFGS-B, analytic gradient", t_lb, gap(res.x[0], res.x[1:]),
                     f"{res.nit} iterations"))  # type: ignore[attr-defined]

    t0 = time.perf_counter()
    A = np.column_stack([np.ones(n), X])
    sol = np.linalg.lstsq(A, y, rcond=None)[0]
    t_ls = time.perf_counter() - t0
    del A
    rows.append(("numpy.linalg.lstsq", t_ls, gap(sol[0], sol[1:]), ""))

    if not args.skip_sgd:
        from sklearn.linear_model import SGDRegressor

        k = min(n, args.sgd_rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            sgd = SGDRegressor().fit(X[:k], y[:k])
            t_sgd = (time.perf_counter() - t0) * n / k
        note = f"fit on {k:,} rows, time scaled x{n / k:g}" if k < n else ""
        rows.append(("sklearn SGDRegressor() defaults", t_sgd,
                     gap(float(sgd.intercept_[0]), sgd.coef_), note))

    print(f"\nleast squares, {n:,} x {p} float64 (X = {gb:.2f} GB); relative gap = "
          "(mse - mse*) / mse*\n")
    print("| solver | time (s) | relative gap | ratio to GDRegressor | note |")
    print("|---|---|---|---|---|")
    for name, t, g, note in rows:
        print(f"| {name} | {t:.3f} | {g:.1e} | {t / t_gd:.2f} | {note} |")

    w = rng.standard_normal(p)
    with threadpool_limits(1, user_api="blas"):
        huber_pass(X[:1000], y[:1000], w, 0.0, 1.35)  # compile / load cache
        t_h = _best(lambda: huber_pass(X, y, w, 0.0, 1.35), 5)
    t_sum = _best(lambda: X.sum(), 5)
    print(f"\none fused huber gradient {t_h * 1e3:.1f} ms vs one read of X (X.sum()) "
          f"{t_sum * 1e3:.1f} ms: ratio {t_h / t_sum:.2f} (target <= 1.5)")

    tracemalloc.start()
    GDRegressor().fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"GDRegressor().fit peak extra memory {peak / 1e6:.1f} MB = "
          f"{100 * peak / X.nbytes:.1f} % of X (target <= 10 %)")
    print(f"targets: <= 1.2x normal equations: {t_gd / t_ne:.2f}x; >= 5x faster than "
          "L-BFGS-B: "
          + ("skipped" if args.skip_lbfgs else f"{t_lb / t_gd:.1f}x")
          + "; >= 50x faster than SGDRegressor: "
          + ("skipped" if args.skip_sgd else f"{rows[-1][1] / t_gd:.1f}x"))


if __name__ == "__main__":
    main()
