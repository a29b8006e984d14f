"""Gradient evaluations and time to ||grad|| < 1e-5, descend's methods and policies beside scipy.

Run:  PYTHONPATH=src python benchmarks/bench_optimizers.py
Also: the seed 002 least-squares check for lr="bb", and multi-start cost per point-step
(``descend.multistart`` time / (K * steps)) for 10,000 starts on the paraboloid and on
Rosenbrock, compiled (descend._compiled) and through the NumPy loop (DESCEND_NO_COMPILE=1).
Those lines alone (about 10 s):

    PYTHONPATH=src:benchmarks python -c "import bench_optimizers as b; b.multistart_figures()"
"""

from __future__ import annotations

import os
import time
from unittest import mock

import numpy as np
import scipy.optimize as so

from descend import _compiled, datasets, functions, minimize, multistart
from descend.objective import as_objective

GTOL = 1e-5
MAX_ITER = 5000
D = np.logspace(0, 4, 100)  # quadratic, condition number 1e4


def quad(v):
    return 0.5 * float(v @ (D * v))


def quad_grad(v):
    return D * v


PROBLEMS = {  # name: (fun, grad, x0, fixed lr tuned per problem)
    "rosenbrock": (functions.get("rosenbrock"), None, np.array([-1.2, 1.0]), 1e-3),
    "beale": (functions.get("beale"), None, np.array([1.0, 1.0]), 1e-2),
    "himmelblau": (functions.get("himmelblau"), None, np.array([0.0, 0.0]), 1e-2),
    "quad100": (quad, quad_grad, np.ones(100), 1e-4),
}
METHODS = ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
ADAPTIVE_LR = {"adagrad": 0.5, "rmsprop": 1e-3, "adam": 1e-2}
POLICIES = ["fixed", "backtracking", "bb", "auto"]


def _time(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def table() -> list[tuple]:
    rows = []
    for pname, (fun, grad, x0, lr_fixed) in PROBLEMS.items():
        for method in METHODS:
            for policy in POLICIES:
                lr = (ADAPTIVE_LR.get(method, lr_fixed) if policy == "fixed" else policy)
                if policy == "fixed" and method in ("momentum", "nesterov"):
                    lr = lr_fixed * 0.5
                res, secs = _time(minimize, fun, x0, grad=grad, method=method, lr=lr,
                                  gtol=GTOL, max_iter=MAX_ITER)
                rows.append((pname, f"{method}/{policy}", res.njev, res.nfev, res.nit,
                             res.status.value, secs))
        obj = as_objective(fun, grad)
        for sm in ("CG", "L-BFGS-B"):
            opts = {"gtol": GTOL, "maxiter": MAX_ITER}
            r, secs = _time(so.minimize, obj.value, x0, jac=obj.gradient, method=sm,
                            options=opts)
            gn = float(np.linalg.norm(obj.gradient(r.x)))
            rows.append((pname, f"scipy {sm}", r.njev, r.nfev, r.nit,
                         "gtol" if gn < GTOL else f"|g|={gn:.1e}", secs))
    return rows


def seed002_bb() -> tuple[int, float]:
    x, y = datasets.toy_line()

    def loss(p):
        return np.mean((y - (p[0] + p[1] * x)) ** 2)

    def grad(p):
        r = y - (p[0] + p[1] * x)
        return np.array([np.mean(-2 * r), np.mean(-2 * x * r)])

    exact = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    res = minimize(loss, [0.0, 0.0], grad=grad, lr="bb", gtol=1e-10, max_iter=50)
    return res.nit, float(np.max(np.abs(res.x - exact)))


def _multistart_seconds(f, x0, lr, steps, repeats=5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        ms = multistart(f, x0, lr=lr, max_iter=steps, gtol=None)
        times.append(time.perf_counter() - t)
    assert int(ms.nit.max()) == steps
    return float(np.median(times))


def per_point_step(
    name: str, lr: float, steps: int = 200, k: int = 10_000
) -> tuple[float, float, float]:
    """``descend.multistart`` time / (K * steps) in ns, compiled and NumPy loop, and the
    seconds the compile took (numba starting up included for the first one)."""
    f = functions.get(name)
    x0 = np.random.default_rng(0).uniform(-1.0, 1.0, size=(k, 2))
    t = time.perf_counter()
    compiled = _compiled.prepare(f)  # what a first call with K * max_iter >= THRESHOLD does
    compile_s = time.perf_counter() - t
    assert compiled is not None
    multistart(f, x0, lr=lr, max_iter=steps, gtol=None)  # warm up
    fast = _multistart_seconds(f, x0, lr, steps)
    with mock.patch.dict(os.environ, {_compiled.ENV: "1"}):  # the NumPy loop
        multistart(f, x0, lr=lr, max_iter=5, gtol=None)
        slow = _multistart_seconds(f, x0, lr, steps)
    scale = 1e9 / (k * steps)
    return fast * scale, slow * scale, compile_s


def multistart_figures() -> None:
    """The multi-start lines of the benchmark alone (about 10 s)."""
    for name, lr, target in [("paraboloid", 0.01, 2.0), ("rosenbrock", 1e-4, 10.0)]:
        fast, slow, compile_s = per_point_step(name, lr)
        print(f"multi-start {name}, 10,000 starts x 200 steps, gd fixed lr: compiled "
              f"{fast:.2f} ns per point-step (target {target:g}: "
              f"{'met' if fast <= target else 'missed'}), NumPy loop {slow:.2f} ns "
              f"({slow / fast:.1f}x), compile {compile_s:.2f} s")


def main() -> None:
    t0 = time.perf_counter()
    rows = table()
    print(f"{'problem':<11} {'method/policy':<22} {'njev':>6} {'nfev':>6} {'nit':>6} "
          f"{'status':<10} {'ms':>8}")
    for p, m, nj, nf, nit, st, s in rows:
        print(f"{p:<11} {m:<22} {nj:>6} {nf:>6} {nit:>6} {st:<10} {s * 1e3:>8.2f}")
    print()
    for p in PROBLEMS:
        ok = [(r[2], r[1]) for r in rows
              if r[0] == p and r[5] == "gtol" and not r[1].startswith("scipy")]
        best = min(ok) if ok else None
        print(f"best descend method on {p}: {best[1]} with {best[0]} gradient evaluations"
              if best else f"no descend method reached gtol on {p}")
    nit, err = seed002_bb()
    print(f"\nseed 002 least squares, lr='bb' from (0, 0): {nit} iterations, "
          f"max |x - lstsq| = {err:.1e}")
    multistart_figures()
    print(f"\ntotal {time.perf_counter() - t0:.1f} s; reproduce: "
          "PYTHONPATH=src python benchmarks/bench_optimizers.py")


if __name__ == "__main__":
    main()
