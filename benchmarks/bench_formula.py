"""Formula evaluation against hand-written NumPy.

Times, in one run, the value and gradient of Rosenbrock on 10,000 random points through
:class:`descend.formula.Formula` and through the same expressions written by hand on
column views, and the per-point cost of ``f(x)`` and ``f.grad(x)`` for the paraboloid.

Reproduce with::

    python benchmarks/bench_formula.py
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from descend.formula import parse

N_POINTS = 10_000
REPEATS = 300
SINGLE_CALLS = 2_000


def median_time(fn: Callable[[], Any], repeats: int, inner: int = 1) -> float:
    """Median over ``repeats`` of the time of ``inner`` calls, divided by ``inner``."""
    fn()  # warm up: compile, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def rosenbrock_by_hand(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = pts[..., 0], pts[..., 1]
    value = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    gx = -2 * (1 - x) - 400 * x * (y - x**2)
    gy = 200 * (y - x**2)
    return value, np.stack([gx, gy], axis=-1)


def paraboloid_value(p: np.ndarray) -> float:
    return float(p[0] ** 2 + p[1] ** 2)


def paraboloid_grad(p: np.ndarray) -> np.ndarray:
    return np.array([2 * p[0], 2 * p[1]])


def main() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(-2.0, 2.0, size=(N_POINTS, 2))
    rosen = parse("(1-x)^2 + 100*(y-x^2)^2")

    v_hand, g_hand = rosenbrock_by_hand(pts)
    np.testing.assert_allclose(rosen(pts), v_hand, rtol=1e-12)
    np.testing.assert_allclose(rosen.grad(pts), g_hand, rtol=1e-12, atol=1e-9)

    rows = [
        ("value", lambda: rosen(pts), lambda: (1 - pts[:, 0]) ** 2
         + 100 * (pts[:, 1] - pts[:, 0] ** 2) ** 2),
        ("gradient", lambda: rosen.grad(pts), lambda: rosenbrock_by_hand(pts)[1]),
        ("value + gradient", lambda: (rosen(pts), rosen.grad(pts)),
         lambda: rosenbrock_by_hand(pts)),
    ]  # fmt: skip
    print(f"descend.formula benchmark — numpy {np.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()}")  # fmt: skip
    print(f"Rosenbrock (1-x)^2 + 100*(y-x^2)^2 on {N_POINTS:,} points, median of {REPEATS}")
    print(f"{'':<18}{'Formula':>12}{'by hand':>12}{'ratio':>8}")
    for name, ours, hand in rows:
        t_ours, t_hand = median_time(ours, REPEATS), median_time(hand, REPEATS)
        print(f"{name:<18}{t_ours * 1e6:>9.1f} µs{t_hand * 1e6:>9.1f} µs{t_ours / t_hand:>7.2f}x")

    para = parse("x**2 + y**2")
    point = np.array([6.0, -3.0])
    assert para(point) == paraboloid_value(point) == 45.0
    print(f"\nParaboloid x**2 + y**2 at one point, median of {REPEATS} x {SINGLE_CALLS} calls")
    print(f"{'':<18}{'Formula':>12}{'by hand':>12}{'ratio':>8}")
    for name, ours, hand in [
        ("f(x)", lambda: para(point), lambda: paraboloid_value(point)),
        ("f.grad(x)", lambda: para.grad(point), lambda: paraboloid_grad(point)),
    ]:
        t_ours = median_time(ours, REPEATS // 3, SINGLE_CALLS)
        t_hand = median_time(hand, REPEATS // 3, SINGLE_CALLS)
        print(f"{name:<18}{t_ours * 1e6:>9.2f} µs{t_hand * 1e6:>9.2f} µs{t_ours / t_hand:>7.2f}x")
    print("\nReproduce: python benchmarks/bench_formula.py")


if __name__ == "__main__":
    main()
