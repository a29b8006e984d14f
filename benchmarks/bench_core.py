"""The loop against the same arithmetic written by hand, side by side in one process.

1. Seed 001 (``minimize``, one run, the path recorded): 5000 steps of 0.001 on
   f(x, y) = x^2 + y^2 from (6, -3), per step, best of several repeats:

   - ``hand (seed)``: the tutorial's loop in NumPy, keeping the path (``x -= lr * grad(x)``).
   - ``hand (same record)``: the same loop recording what ``Result`` holds (path, f, |grad|).
   - ``minimize``: ``descend.minimize`` with the path recorded, a callable and its gradient.
   - ``minimize (formula)``: the same run from the text ``"x**2 + y**2"``.

2. Multi-start with the NumPy backend, cold (each figure from a fresh process, the first
   call there): 10,000 starts x 1,000 steps of 0.001 on the catalog paraboloid, nothing
   recorded, per point-step, beside the same arithmetic by hand in that process: the step
   ``x - lr * g`` and the catalog's own ``f`` and gradient (``hand``), and that plus the
   gradient norm and the tests a careful hand would add each step (``hand + tests``).

3. The crossover between the NumPy and the compiled backend (``--crossover``, minutes):
   compile time, NumPy and compiled cost per point-step on the paraboloid, and, for work
   from 1e6 to 1e9 point-steps, the time of ``multistart`` as it chooses by itself against
   the faster of always-NumPy and compile-then-run, each in a fresh process.

Reproduce: ``python benchmarks/bench_core.py`` (add ``--crossover`` for part 3;
``--multistart`` runs part 2 alone, ``--steady-heap`` fixes glibc's heap thresholds in
part 2's processes, see :data:`STEADY_HEAP`).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
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


def best_of(rows: list[tuple[str, Callable[[], object]]], repeats: int) -> dict[str, float]:
    """The best time per step of each row, the rows taking turns (a busy neighbour slows
    them alike, and the best of many turns is what the code costs)."""
    times: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _ in range(repeats):
        for name, fn in rows:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: min(t) / STEPS * 1e6 for name, t in times.items()}


def seed001(repeats: int = 25) -> None:
    np.testing.assert_array_equal(hand_seed()[-1], ours().x)  # type: ignore[attr-defined]
    rows = [("hand (seed)", hand_seed), ("hand (same record)", hand_same_record),
            ("minimize", ours), ("minimize (formula)", ours_formula)]
    for _ in range(2):  # warm up
        for _, fn in rows:
            fn()
    cost = best_of(rows, repeats)
    base = cost["hand (seed)"]
    same = cost["hand (same record)"]
    print(f"1. seed 001: {STEPS} steps, best of {repeats} in turns (us per step)")
    print(f"{'loop':<22}{'us/step':>10}{'vs seed':>10}{'vs same':>10}")
    for name, us in cost.items():
        print(f"{name:<22}{us:>10.2f}{us / base:>9.2f}x{us / same:>9.2f}x")


# --- 2. multi-start, NumPy backend, cold ------------------------------------------------

COLD = r"""
import json, os, sys, time
import numpy as np
K, STEPS, LR, GTOL, MODE = int(sys.argv[1]), int(sys.argv[2]), 1e-3, sys.argv[3], sys.argv[4]
if MODE != "auto":
    os.environ["DESCEND_NO_COMPILE"] = "1"
from descend import _catalog as c, functions, multistart
gtol = None if GTOL == "none" else float(GTOL)
x0 = np.random.default_rng(0).uniform(-1.0, 1.0, (K, 2))
out = {}
if MODE == "compiled":
    os.environ.pop("DESCEND_NO_COMPILE")
    from descend import _compiled
    t = time.perf_counter()
    _compiled.prepare(functions.get("paraboloid"))
    out["compile"] = time.perf_counter() - t
def hand(tests):
    x = x0.copy(); g = c.paraboloid_grad(x); fb = c.paraboloid(x) + 1e10
    done = np.zeros(K, bool)
    for _ in range(STEPS):
        x = x - LR * g
        fx = c.paraboloid(x)
        g = c.paraboloid_grad(x)
        if tests:
            s = g[:, 0] * g[:, 0] + g[:, 1] * g[:, 1]
            done |= (s <= 1e-12) | ~(fx <= fb)
    return x
t = time.perf_counter()
if MODE.startswith("hand"):
    hand(MODE == "hand+tests")
else:
    ms = multistart(functions.get("paraboloid"), x0, lr=LR, max_iter=STEPS, gtol=gtol)
    assert int(ms.nit.max()) == STEPS
out[MODE] = time.perf_counter() - t
print(json.dumps(out))
"""


#: ``--steady-heap``: glibc's trim and mmap thresholds fixed in every fresh process. By
#: default glibc adapts them, and whether a loop's (K, p) temporaries make it return the
#: top of the heap to the system and fault it back in every few steps (a third of a step's
#: time or more) depends on where the imports left the heap: the hand loop's figure moves
#: between 5 and 13 ns from one build of the package to the next. Fixed thresholds time
#: the arithmetic alone, the same for every mode.
STEADY_HEAP = "--steady-heap" in sys.argv


def fresh(k: int, steps: int, gtol: str, mode: str) -> dict[str, float]:
    """One cold measurement (the first call in a new process): ``mode`` is ``numpy``
    (multistart, the compiled loop off), ``compiled`` (compiled first, timed apart),
    ``auto`` (multistart as it chooses), ``hand`` or ``hand+tests``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if STEADY_HEAP:
        env.update(MALLOC_TRIM_THRESHOLD_=str(2**28), MALLOC_MMAP_THRESHOLD_=str(2**25))
    out = subprocess.run([sys.executable, "-c", COLD, str(k), str(steps), gtol, mode],
                         capture_output=True, text=True, check=True, env=env)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def multistart_cold(runs: int = 5) -> None:
    k, steps = 10_000, 1000
    scale = 1e9 / (k * steps)
    print(f"\n2. multistart, NumPy backend, cold: {k} starts x {steps} steps, paraboloid "
          f"(ns per point-step; each figure the first call in a fresh process, the four "
          f"taking turns; median of {runs}"
          f"{'; glibc heap thresholds fixed' if STEADY_HEAP else ''})")
    modes = [("hand", "none"), ("hand+tests", "none"), ("numpy", "none"), ("numpy", "1e-12")]
    got: dict[tuple[str, str], list[float]] = {m: [] for m in modes}
    for _ in range(runs):
        for mode, gtol in modes:
            got[(mode, gtol)].append(fresh(k, steps, gtol, mode)[mode])
    med = {m: statistics.median(v) for m, v in got.items()}
    h, ht = med[("hand", "none")], med[("hand+tests", "none")]
    print(f"  hand {h * scale:.2f}, hand + tests {ht * scale:.2f}")
    for gtol in ("none", "1e-12"):
        d = med[("numpy", gtol)]
        ratios = [a / b for a, b in zip(got[("numpy", gtol)], got[("hand", "none")],
                                        strict=True)]
        print(f"  descend, gtol={gtol:<6} {d * scale:.2f}: {d / h:.2f}x hand (turn by turn "
              f"{min(ratios):.2f}-{max(ratios):.2f}), {d / ht:.2f}x hand + tests")


# --- 3. the crossover ---------------------------------------------------------------------

def crossover(runs: int = 3) -> None:
    k = 10_000
    print(f"\n3. crossover (paraboloid, {k} starts, gtol=None; seconds, median of {runs} "
          "fresh processes each)")
    per: dict[str, list[float]] = {"numpy": [], "compiled": [], "compile": []}
    for _ in range(runs):
        a = fresh(k, 1000, "none", "numpy")
        b = fresh(k, 3000, "none", "compiled")
        per["numpy"].append(a["numpy"] / (k * 1000))
        per["compiled"].append(b["compiled"] / (k * 3000))
        per["compile"].append(b["compile"])
    a_np, b_c, c_s = (statistics.median(per[n]) for n in ("numpy", "compiled", "compile"))
    star = c_s / (a_np - b_c)
    print(f"  NumPy {a_np * 1e9:.2f} ns, compiled {b_c * 1e9:.2f} ns per point-step "
          f"({a_np / b_c:.1f}x); compile {c_s:.2f} s (numba and SymPy starting up included): "
          f"crossover {star:.2g} point-steps")
    print(f"  {'point-steps':>12} {'auto':>8} {'numpy':>8} {'compiled':>9} {'auto/best':>10}"
          "   (numpy measured, compiled = compile + its rate)")
    for work in (1e6, 1e7, 1e8, 3e8, 1e9):
        steps = int(work / k)
        autos, numpys = [], []
        for _ in range(runs):  # the two take turns, each in a fresh process
            autos.append(fresh(k, steps, "none", "auto")["auto"])
            numpys.append(fresh(k, steps, "none", "numpy")["numpy"])
        auto, numpy = statistics.median(autos), statistics.median(numpys)
        compiled = c_s + b_c * work
        print(f"  {work:>12.0e} {auto:>8.2f} {numpy:>8.2f} {compiled:>9.2f} "
              f"{auto / min(numpy, compiled):>9.2f}x")


def main() -> None:
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    if "--multistart" not in sys.argv:
        seed001()
    multistart_cold()
    if "--crossover" in sys.argv:
        crossover()
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")
    print("reproduce: python benchmarks/bench_core.py [--multistart] [--steady-heap] [--crossover]")


if __name__ == "__main__":
    main()
