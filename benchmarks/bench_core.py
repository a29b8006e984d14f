"""Per-step cost of ``minimize`` against a hand-written NumPy loop, on seed 001's run.

Seed 001: 5000 steps of 0.001 on f(x, y) = x^2 + y^2 from (6, -3). Both sides run
side by side in this one process; each figure is the best of several repeats.

- ``hand (seed)``: the tutorial's loop in NumPy, keeping the path (``x -= lr * grad(x)``).
- ``hand (same record)``: the same loop recording what ``Result`` holds (path, f, |grad|).
- ``minimize``: ``descend.minimize`` with the path recorded, a callable and its gradient.
- ``minimize (formula)``: the same run from the text ``"x**2 + y**2"``.

Reproduce: ``python benchmarks/bench_core.py`` (or ``make bench``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from descend import minimize

STEPS, LR, X0 = 5000, 0.001, (6.0, -3.0)


def f(v: np.ndarray) -> float:
    return float(v @ v)


def grad(v: np.ndarray) -> np.ndarray:
    return 2 * v


def hand_seed() -> np.ndarray:
    x = np.array(X0)
    path = [x]
    for _ in range(STEPS):
        x = x - LR * grad(x)
        path.append(x)
    return np.array(path)


def hand_same_record() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array(X0)
    g = grad(x)
    path, values, norms = [x], [f(x)], [math.hypot(*g)]
    for _ in range(STEPS):
        x = x - LR * g
        g = grad(x)
        path.append(x)
        values.append(f(x))
        norms.append(math.hypot(*g.tolist()))
    return np.array(path), np.array(values), np.array(norms)


def ours() -> object:
    return minimize(f, X0, grad=grad, lr=LR, max_iter=STEPS, gtol=None)


def ours_formula() -> object:
    return minimize("x**2 + y**2", X0, lr=LR, max_iter=STEPS, gtol=None)


def best_of(fn: Callable[[], object], repeats: int = 9) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) / STEPS * 1e6


def main() -> None:
    np.testing.assert_array_equal(hand_seed()[-1], ours().x)  # type: ignore[attr-defined]
    rows = [("hand (seed)", hand_seed), ("hand (same record)", hand_same_record),
            ("minimize", ours), ("minimize (formula)", ours_formula)]
    for _ in range(2):  # warm up
        for _, fn in rows:
            fn()
    cost = {name: best_of(fn) for name, fn in rows}
    base = cost["hand (seed)"]
    same = cost["hand (same record)"]
    print(f"seed 001: {STEPS} steps, best of 9 (us per step)")
    print(f"{'loop':<22}{'us/step':>10}{'vs seed':>10}{'vs same':>10}")
    for name, us in cost.items():
        print(f"{name:<22}{us:>10.2f}{us / base:>9.2f}x{us / same:>9.2f}x")
    print("reproduce: python benchmarks/bench_core.py")


if __name__ == "__main__":
    main()
