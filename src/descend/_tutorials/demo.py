"""The four tutorials, replayed with descend's public API (``descend demo``).

Each section computes what its tutorial computes by hand and prints what it prints.
``descend demo --out DIR`` also writes the figures, through :func:`descend.plot.gallery`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import datasets, functions
from .._minimize import minimize

Echo = Callable[[str], None]


def seed000(echo: Echo = print) -> None:
    """Seed 000: the update rule, stopping when f changes by less than 0.001, step sizes."""
    echo("== 000 Intuition: x <- x - lr * df/dx, stop when f changes less than 0.001")
    res = minimize("x**2 + y**2", [6.0, -3.0], lr=0.1, gtol=None, ftol=0.001)
    echo(f"paraboloid from (6, -3), lr=0.1: {res.message}; x = {res.x.round(4).tolist()}")
    for lr, word in ((0.001, "too small"), (0.1, "good"), (0.95, "too large (bounces)"),
                     (1.5, "much too large")):
        r = minimize("x**2", [3.0], lr=lr, max_iter=100, gtol=1e-6)
        echo(f"  f = x^2 from 3, lr={lr:<5g} {word:<20} -> {r.status.value:>8} after "
             f"{r.nit:3d} steps, x = {r.x[0]:.4g}")
    echo("  several starts on f = x^4 - 3x^2 + x find the local and the global minimum:")
    for start in (-2.0, 2.0):
        r = minimize("x**4 - 3*x**2 + x", [start], lr=0.01, max_iter=2000)
        echo(f"    start {start:+.1f} -> x = {r.x[0]:.6f}, f = {r.fun:.6f}")


def seed001(echo: Echo = print) -> None:
    """Seed 001: 5000 epochs at 0.001 on the paraboloid from (6, -3), every 500th printed."""
    echo("== 001 The paraboloid f(x, y) = x^2 + y^2")
    f = functions.get("paraboloid")
    res = minimize(f, [6, -3], lr=0.001, max_iter=5000, gtol=None, log_every=500)
    echo(f"Best guess for a minimum: {res.x.tolist()}")


def seed002(echo: Echo = print) -> None:
    """Seed 002: a line fitted to toy data by gradient descent on the mean squared error."""
    echo("== 002 Linear regression F(x) = alpha + beta x, MSE loss")
    x, y = datasets.toy_line()

    def gradient_of_loss(p: np.ndarray) -> np.ndarray:
        r = y - (p[0] + p[1] * x)
        return np.array([np.mean(-2 * r), np.mean(-2 * x * r)])

    def loss(p: np.ndarray) -> float:
        return float(np.mean((y - (p[0] + p[1] * x)) ** 2))

    res = minimize(loss, [0.0, 0.0], grad=gradient_of_loss, lr=0.02, max_iter=500, gtol=None)
    echo(f"500 iterations at 0.02 from (0, 0): {np.array2string(res.x, precision=8)}")


def seed003(echo: Echo = print) -> None:
    """Seed 003: slope-only regression; Step at three step sizes."""
    echo("== 003 Slope only (intercept 0): the loss over the slope, one step at a time")
    x, y = datasets.slope_line()
    n = float(len(x))
    sxx, sxy, syy = float(x @ x) / n, float(x @ y) / n, float(y @ y) / n
    loss = f"{sxx!r}*m**2 - 2*{sxy!r}*m + {syy!r}"
    best = sxy / sxx
    echo(f"loss(m) = mean((y - m x)^2); best slope {best:.6f}; largest stable step "
         f"{1.0 / sxx:.5f}")
    for label, lr in (("too small", 0.1 / (2 * sxx)), ("good", 0.35 / sxx),
                      ("too large", 1.9 / (2 * sxx))):
        r = minimize(loss, [0.0], variables="m", lr=lr, max_iter=5, gtol=None)
        steps = ", ".join(f"{m:.4f}" for m in r.path[:, 0])
        echo(f"  step size {lr:.5f} ({label}): slope {steps}")


def run(echo: Echo = print) -> None:
    """All four, in order."""
    for section in (seed000, seed001, seed002, seed003):
        section(echo)
        echo("")
