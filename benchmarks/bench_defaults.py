"""Defaults, first contact (issue 15): what a user gets without choosing anything.

For every catalog function from its standard start (``functions.get(name).x0``):
``descend.minimize(name, x0)`` with its defaults beside ``scipy.optimize.minimize`` with its
defaults (BFGS), each with its status, iterations, gradient evaluations and the digits of
the answer (``-log10`` of the distance to the nearest listed minimum, relative to
``max(1, |x*|)``; ``-`` when the run ended at a stationary point that is not listed, a local
minimum of rastrigin or ackley, say: both methods are local). Then, for the NIST StRD
linear regression sets, ``GDRegressor()`` with its defaults beside
``numpy.linalg.lstsq``: the certified digits each reaches (the lowest over the
coefficients).

Run: ``python benchmarks/bench_defaults.py`` (about 20 s).
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.optimize

from descend import functions, minimize
from descend.linear_model import GDRegressor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _nist import CERTIFIED  # the tests' reader of tests/data/nist
from _nist import load as load_nist


def _digits_to_minimum(x: np.ndarray, minima: np.ndarray) -> str:
    if minima.size == 0:
        return "-"
    d = np.linalg.norm(minima - x, axis=1) / np.maximum(1.0, np.linalg.norm(minima, axis=1))
    err = float(np.min(d))
    if err > 1e-2:
        return "-"
    return "16+" if err == 0 else f"{min(16.0, -math.log10(err)):.1f}"


def catalog() -> None:
    print("Catalog functions from functions.get(name).x0, defaults "
          "(descend: lr='bb', max_iter=1000, gtol=1e-6; scipy: BFGS, gtol=1e-5)")
    head = (f"{'function':<17} {'descend':<9} {'nit':>5} {'ngrad':>6} {'digits':>6}   "
            f"{'scipy BFGS':<10} {'nit':>5} {'ngrad':>6} {'digits':>6}")
    print(head)
    print("-" * len(head))
    for name in functions.names():
        tf = functions.get(name)
        minima = np.asarray(tf.minima, dtype=float).reshape(-1, len(tf.x0))
        res = minimize(name, tf.x0)
        sp = scipy.optimize.minimize(tf.fun, tf.x0, jac=tf.grad)
        print(f"{name:<17} {res.status.value:<9} {res.nit:>5} {res.njev:>6} "
              f"{_digits_to_minimum(res.x, minima):>6}   "
              f"{'success' if sp.success else 'failed':<10} {sp.nit:>5} {sp.njev:>6} "
              f"{_digits_to_minimum(sp.x, minima):>6}")


def _digits(got: np.ndarray, beta: np.ndarray) -> float:
    err = float(np.max(np.abs(got - beta) / np.abs(beta)))
    return 16.0 if err == 0 else min(16.0, -math.log10(err))


def nist() -> None:
    print()
    print("NIST StRD linear regression, certified digits (lowest over the coefficients)")
    head = (f"{'set':<9} {'GDRegressor()':>13} {'iterations':>10} {'converged':>9} "
            f"{'warned':>6}   {'lstsq':>5}")
    print(head)
    print("-" * len(head))
    for name in CERTIFIED:
        X, y, intercept, beta = load_nist(name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = GDRegressor(fit_intercept=intercept).fit(X, y)
        got = np.concatenate([[m.intercept_], m.coef_]) if intercept else m.coef_
        A = np.column_stack([np.ones(len(y)), X]) if intercept else X
        ls = np.linalg.lstsq(A, y, rcond=None)[0]
        print(f"{name:<9} {_digits(got, beta):>13.1f} {m.n_iter_:>10} "
              f"{'yes' if m.converged_ else 'no':>9} {'yes' if caught else 'no':>6}   "
              f"{_digits(ls, beta):>5.1f}")


if __name__ == "__main__":
    catalog()
    nist()
    print("\ncommand: python benchmarks/bench_defaults.py")
