"""From a state, the runs (through :func:`descend.minimize`, the one loop) and the figures.

Nothing here keeps anything between calls but caches (parsed formulas, and small
bounded :class:`LRU` caches of what depends only on the function, per worker process;
never anything per user); the same state always gives the same runs, so a URL restores a
view exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from .. import datasets, functions, minimize, verdict
from ..errors import FormulaError
from ..result import Result, Status
from . import worker

__all__ = ["LRU", "TIME_LIMIT_S", "Problem", "Run", "problem", "runs", "status_text",
           "tangent_problem"]

TIME_LIMIT_S = 5.0
SAMPLE = 2000  #: most data points kept (and drawn) for the regression view


@dataclasses.dataclass(frozen=True)
class Problem:
    """What to minimize: a catalog entry or a Formula, its variables and plot domain."""

    fun: Any
    variables: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...] | None
    latex: str
    partials: dict[str, str]
    minimum: float | None = None
    #: what identifies the function (with ``bounds``) for caches: preset name or formula text
    key: str = ""


_V = TypeVar("_V")


class LRU(Generic[_V]):
    """A small thread-safe least-recently-used cache (per process, bounded)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, _V] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> _V | None:
        """The value for ``key`` (now the most recent), or None."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: Hashable, value: _V) -> None:
        """Keep ``value`` for ``key``, forgetting the least recent past ``size``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def get(self, key: Hashable, make: Callable[[], _V]) -> _V:
        """The value for ``key``, made (outside the lock) and kept when missing."""
        hit = self.peek(key)
        if hit is not None:
            return hit
        value = make()
        self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._data)


@dataclasses.dataclass(frozen=True)
class Run:
    """One optimizer's run with its legend label."""

    label: str
    result: Result
    timed_out: bool


def _stats(x: Any, y: Any) -> list[float]:
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return [float(v) for v in (xa.size, xa.mean(), ya.mean(), xa @ xa / xa.size,
                               xa @ ya / xa.size, ya @ ya / ya.size)]


def regression_data(state: Mapping[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """``(x, y, [n, mean x, mean y, mean xx, mean xy, mean yy])`` of the data in use."""
    data = state.get("data")
    if data:
        return list(data["x"]), list(data["y"]), list(data["stats"])
    x, y = _toy()
    return x, y, _stats(x, y)


@functools.lru_cache(maxsize=1)
def _toy() -> tuple[list[float], list[float]]:
    x, y = datasets.toy_line()
    return x.tolist(), y.tolist()


def _mse_text(stats: Sequence[float]) -> str:
    _, sx, sy, sxx, sxy, syy = (repr(float(v)) for v in stats)
    return (f"({syy}) - 2*({sy})*intercept - 2*({sxy})*slope + intercept**2"
            f" + 2*({sx})*intercept*slope + ({sxx})*slope**2")


def _from_formula(text: str, variables: tuple[str, ...] | None,
                  bounds: tuple[tuple[float, float], ...] | None) -> Problem:
    f = worker.formula(text, variables)
    return Problem(f, tuple(f.variables), bounds, f.latex, dict(f.partials_latex),
                   key=f"formula:{text}|{variables}")


@functools.lru_cache(maxsize=32)
def _preset(name: str) -> Problem:
    tf = functions.get(name)
    f = tf.formula
    return Problem(tf, tf.variables, tf.bounds, f.latex, dict(f.partials_latex),
                   key=f"preset:{name}")


def problem(state: Mapping[str, Any]) -> Problem | None:
    """The state's function, or None while the typed formula has an error (or the
    sandboxed worker has not accepted the text: nothing is parsed here before it does)."""
    try:
        return _problem(state)
    except FormulaError:
        return None


def _problem(state: Mapping[str, Any]) -> Problem | None:
    name = state["f"]
    if name == "custom":
        if state.get("error") or not state.get("formula"):
            return None
        x0 = [abs(float(v)) for v in state.get("x0") or [0.0]]
        r = max(3.0, 1.5 * max(x0, default=0.0))
        p = len(state.get("variables") or ())
        return _from_formula(state["formula"], None, ((-r, r),) * p)
    if name == "regression":
        _, _, stats = regression_data(state)
        return _from_formula(_mse_text(stats), ("intercept", "slope"), None)
    return _preset(name)


@functools.lru_cache(maxsize=1)
def tangent_problem() -> tuple[Problem, float, float]:
    """Seed 003's slope-only loss on :func:`descend.datasets.slope_line`; ``(problem, L, w*)``."""
    x, y = datasets.slope_line()
    sxx, sxy, syy = float(x @ x / x.size), float(x @ y / x.size), float(y @ y / y.size)
    f = worker.formula(f"({syy!r}) - 2*({sxy!r})*slope + ({sxx!r})*slope**2", ("slope",))
    best = sxy / sxx
    return (Problem(f, ("slope",), ((best - 3.5, best + 3.5),), f.latex,
                    dict(f.partials_latex), minimum=best), 2.0 * sxx, best)


TANGENT_START = -1.0


def _clock(deadline: float) -> Any:
    def check(info: Any) -> None:
        if info.nit % 64 == 0 and time.monotonic() > deadline:
            raise StopIteration

    return check


#: recent runs by what they depend on (a Step after a Run asks for the same runs again);
#: only runs that took a while (quick ones are made again) and are not too long
_RUNS: LRU[tuple[Run, ...]] = LRU(64)
RUN_CACHE_POINTS = 20_000  #: runs with more path points than this in all are not kept
RUN_CACHE_MIN_S = 0.002  #: runs quicker than this are not kept


def _runs_key(state: Mapping[str, Any]) -> str:
    data = state.get("data")
    keys = ("view", "f", "formula", "variables", "x0", "methods", "lr", "policy", "it",
            "gtol", "ftol", "xtol", "p1d")
    return json.dumps([[state.get(k) for k in keys], data["stats"] if data else None])


def runs(state: Mapping[str, Any], prob: Problem | None = None,
         deadline: float | None = None) -> list[Run]:
    """The runs the state asks for: ``it`` iterations of each chosen method.

    The tangent view runs plain gradient descent on the 1-D problem with the step of
    its preset; the regression view runs the regression loss. Runs are deterministic,
    so recent ones are kept (unless stopped by the time limit) in a small LRU.
    """
    key = _runs_key(state)
    hit = _RUNS.peek(key)
    if hit is not None:
        return list(hit)
    t0 = time.perf_counter()
    out = _runs(state, prob, deadline)
    if (time.perf_counter() - t0 >= RUN_CACHE_MIN_S and not any(r.timed_out for r in out)
            and sum(len(r.result.path) for r in out) <= RUN_CACHE_POINTS):
        _RUNS.put(key, tuple(out))
    return out


def _runs(state: Mapping[str, Any], prob: Problem | None,
          deadline: float | None) -> list[Run]:
    deadline = time.monotonic() + TIME_LIMIT_S if deadline is None else deadline
    view = state["view"]
    tol: dict[str, Any] = {k: state.get(k) for k in ("gtol", "ftol", "xtol")}
    it = int(state["it"])
    if view == "tangent":
        from .state import PRESETS_1D

        tp, lip, _ = tangent_problem()
        step = PRESETS_1D[state["p1d"]] * 2.0 / lip
        res = minimize(tp.fun, [TANGENT_START], lr=step, max_iter=it,
                       callback=_clock(deadline), **tol)
        return [Run(f"lr = {step:.3g}", res, res.status is Status.CALLBACK)]
    if view == "regression" and state["f"] != "regression":
        prob = problem({**state, "f": "regression"})
        x0: list[float] = [0.0, 0.0]
    else:
        prob = prob or problem(state)
        x0 = list(state["x0"])
    if prob is None or len(x0) != len(prob.variables):
        return []
    lr: Any = float(state["lr"]) if state["policy"] == "fixed" else state["policy"]
    out = []
    for m in state["methods"]:
        res = minimize(prob.fun, x0, method=m, lr=lr, max_iter=it, callback=_clock(deadline),
                       **tol)
        out.append(Run(m, res, res.status is Status.CALLBACK))
    return out


def _num(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else str(v)


def status_line(run: Run, state: Mapping[str, Any]) -> str:
    """One run in words and numbers: iteration, x, f, gradient norm, status, verdict."""
    r = run.result
    x = ", ".join(_num(float(v)) for v in r.x)
    head = (f"{run.label}: iteration: {r.nit}, x = ({x}), f = {_num(r.fun)}, "
            f"gradient norm = {_num(float(r.grad_norms[-1]))}")
    if run.timed_out:
        return f"{head}; stopped: time limit of {TIME_LIMIT_S:g} s reached"
    if r.status is Status.MAX_ITER and r.nit < int(state["cap"]):
        return f"{head}; status: stepping (Run goes on to {state['cap']} iterations)"
    return f"{head}; status: {r.status.value}, verdict: {verdict(r)}; {r.message}"


def status_text(state: Mapping[str, Any], rs: Sequence[Run]) -> str:
    """The status of every run, one per line (and the 1-D view's overshoot)."""
    if state.get("error"):
        return f"iteration: 0; {state['error']}"
    if not rs:
        return "iteration: 0; nothing to run: check the function and the start"
    lines = [status_line(r, state) for r in rs]
    if state["view"] == "tangent":
        _, lip, best = tangent_problem()
        path = rs[0].result.path[:, 0]
        crossed = bool(np.any(np.diff(np.sign(path - best)) != 0))
        lines.append(f"minimum at slope = {best:.4g}; step = {state_lr_1d(state):.3g} = "
                     f"{_frac(state):g} × 2/L (2/L = {2 / lip:.3g}); "
                     + ("overshot: the point crossed the minimum" if crossed
                        else "the point has not crossed the minimum"))
    return "\n".join(lines)


def _frac(state: Mapping[str, Any]) -> float:
    from .state import PRESETS_1D

    return PRESETS_1D[state["p1d"]]


def state_lr_1d(state: Mapping[str, Any]) -> float:
    """The 1-D view's step size for the state's preset."""
    return _frac(state) * 2.0 / tangent_problem()[1]


def path_csv(rs: Sequence[Run]) -> str:
    """Every run's path as CSV: method, iteration, coordinates, f, gradient norm."""
    if not rs:
        return "method,iteration\n"
    names = list(rs[0].result.variables)
    lines = [",".join(["method", "iteration", *names, "f", "grad_norm"])]
    for run in rs:
        r = run.result
        for k in range(len(r.path)):
            coords = ",".join(repr(float(v)) for v in r.path[k])
            lines.append(f"{run.label},{k},{coords},{float(r.values[k])!r},"
                         f"{float(r.grad_norms[k])!r}")
    return "\n".join(lines) + "\n"
