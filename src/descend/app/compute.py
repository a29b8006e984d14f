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

from .. import datasets, functions, linesearch, minimize, optimizers
from ..errors import FormulaError
from ..result import Result, Status
from . import classify, worker
from .state import HYPER, data_xy

__all__ = ["LRU", "TIME_LIMIT_S", "Problem", "Run", "end_of", "full_runs", "g4", "method_of",
           "policy_of", "poly", "prefix", "problem", "runs", "slope_problem", "tangent_problem"]

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
    #: the function for people: numbers to 4 significant figures
    title: str = ""
    #: what the runs minimize, when not ``fun`` (a catalog entry's formula: the same
    #: function, lambdified, quicker per step than the entry's checked NumPy calls)
    runner: Any = None
    #: the start of every run when the function fixes it (the classification mode's
    #: zero coefficients), else None: the state's ``x0``
    start: tuple[float, ...] | None = None


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
    """One optimizer's run with its legend label: ``result`` as shown (the first ``it``
    iterations), ``full`` the whole run (None: ``result`` is whole)."""

    label: str
    result: Result
    timed_out: bool
    full: Result | None = None

    @property
    def whole(self) -> Result:
        """The whole run."""
        return self.full if self.full is not None else self.result


def _stats(x: Any, y: Any) -> list[float]:
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return [float(v) for v in (xa.size, xa.mean(), ya.mean(), xa @ xa / xa.size,
                               xa @ ya / xa.size, ya @ ya / ya.size)]


def regression_data(state: Mapping[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """``(x, y, [n, mean x, mean y, mean xx, mean xy, mean yy])`` of the data in use."""
    data = state.get("data")
    if data:
        return data_xy(data)
    x, y = _toy()
    return x, y, _stats(x, y)


@functools.lru_cache(maxsize=1)
def _toy() -> tuple[list[float], list[float]]:  # the fitting-a-line tutorial's data
    x, y = datasets.toy_line()
    return x.tolist(), y.tolist()


def _mse_text(stats: Sequence[float]) -> str:
    _, sx, sy, sxx, sxy, syy = (repr(float(v)) for v in stats)
    return (f"({syy}) - 2*({sy})*intercept - 2*({sxy})*slope + intercept**2"
            f" + 2*({sx})*intercept*slope + ({sxx})*slope**2")


def stable_lr(state: Mapping[str, Any]) -> float:
    """``1 / L`` for the line's mean squared error on the data in use: ``L`` is the
    largest eigenvalue of its Hessian ``2 [[1, mean x], [mean x, mean xx]]``; plain
    gradient descent is stable below ``2 / L``. In the classification mode, ``1 / L``
    of the mean log loss (:func:`.classify.stable_lr`)."""
    c = classify.classes(state)
    if c is not None:
        return classify.stable_lr(c)
    _, _, (_, sx, _, sxx, _, _) = regression_data(state)
    hess = 2.0 * np.array([[1.0, sx], [sx, sxx]])
    return float(1.0 / np.linalg.eigvalsh(hess)[-1])


def _from_formula(text: str, variables: tuple[str, ...] | None,
                  bounds: tuple[tuple[float, float], ...] | None, title: str = "") -> Problem:
    f = worker.formula(text, variables)
    return Problem(f, tuple(f.variables), bounds, f.latex, dict(f.partials_latex),
                   key=f"formula:{text}|{variables}", title=title or f"f = {text}")


@functools.lru_cache(maxsize=32)
def _preset(name: str) -> Problem:
    tf = functions.get(name)
    f = tf.formula
    return Problem(tf, tf.variables, tf.bounds, f.latex, dict(f.partials_latex),
                   key=f"preset:{name}", title=f"{name}: f = {tf.text}", runner=f)


def g4(v: float) -> str:
    """A number for people: 4 significant figures, no exponent unless it needs one."""
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4g}"


def _poly(terms: Sequence[tuple[float, str]], latex: bool = False) -> str:
    """``a + b*x + ...`` with 4 significant figures and signs written once (as text, or
    as LaTeX with monomials such as ``slope^{2}``)."""
    out = ""
    for coef, mono in terms:
        if coef == 0 and mono:
            continue
        sign = "-" if coef < 0 else "+"
        if latex:
            mono = mono.replace("²", "^{2}").replace("·", r"\,")
        times = r"\," if latex else "·"
        body = g4(abs(coef)) if not mono else (mono if abs(coef) == 1
                                               else f"{g4(abs(coef))}{times}{mono}")
        out += (f" {sign} " if out else ("-" if sign == "-" else "")) + body
    return out or "0"


poly = _poly  #: ``a + b·x + ...`` for people (4 significant figures)


def _quadratic(name: str, text: str, variables: tuple[str, ...],
               bounds: tuple[tuple[float, float], ...] | None,
               terms: Sequence[tuple[float, str]],
               partials: Mapping[str, Sequence[tuple[float, str]]], title: str,
               minimum: float | None = None) -> Problem:
    """A quadratic of the tutorials with its numbers for people (4 significant figures)
    in the title and the LaTeX; the formula itself keeps every digit."""
    f = worker.formula(text, variables)
    return Problem(f, variables, bounds, _poly(terms, latex=True),
                   {v: _poly(t, latex=True) for v, t in partials.items()}, minimum=minimum,
                   key=f"{name}:{text}", title=f"{title}{_poly(terms)}")


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
        c = classify.classes(state)
        if c is not None:
            return _classifier(c)
        _, _, st = regression_data(state)
        _, sx, sy, sxx, sxy, syy = st
        terms = [(syy, ""), (-2 * sy, "intercept"), (-2 * sxy, "slope"), (1.0, "intercept²"),
                 (2 * sx, "intercept·slope"), (sxx, "slope²")]
        partials = {"intercept": [(-2 * sy, ""), (2.0, "intercept"), (2 * sx, "slope")],
                    "slope": [(-2 * sxy, ""), (2 * sx, "intercept"), (2 * sxx, "slope")]}
        return _quadratic("regression", _mse_text(st), ("intercept", "slope"), None, terms,
                          partials, "mean squared error: ")
    if name == "slope":
        return slope_problem()[0]
    return _preset(name)


def _classifier(c: classify.Classes) -> Problem:
    f1, f2, t = c.names
    text = (f"p({t} = {g4(c.labels[1])}) = sigmoid(intercept + w1·z({f1}) + w2·z({f2})), "
            "z: standardized")
    return Problem(classify.objective(c), classify.VARIABLES, None,
                   r"\text{mean log loss of } \sigma(b + w_1 z_1 + w_2 z_2)",
                   {"intercept": r"\overline{p - y}", "w1": r"\overline{(p - y)\,z_1}",
                    "w2": r"\overline{(p - y)\,z_2}"},
                   key=f"classify:{c.names}", title=text, start=(0.0, 0.0, 0.0))


@functools.lru_cache(maxsize=1)
def slope_problem() -> tuple[Problem, float, float]:
    """The slope view's loss, ``mean((y - slope x)^2)`` on
    :func:`descend.datasets.slope_line`; ``(problem, L, best slope)``."""
    x, y = datasets.slope_line()
    sxx, sxy, syy = float(x @ x / x.size), float(x @ y / x.size), float(y @ y / y.size)
    best = sxy / sxx
    prob = _quadratic("slope", f"({syy!r}) - 2*({sxy!r})*slope + ({sxx!r})*slope**2",
                      ("slope",), ((best - 3.5, best + 3.5),),
                      [(syy, ""), (-2 * sxy, "slope"), (sxx, "slope²")],
                      {"slope": [(-2 * sxy, ""), (2 * sxx, "slope")]},
                      "loss over the slope: ", minimum=best)
    return prob, 2.0 * sxx, best


def tangent_problem() -> tuple[Problem, float, float]:
    """The slope view's loss (kept under its first name)."""
    return slope_problem()




def _clock(deadline: float) -> Any:
    def check(info: Any) -> None:
        if info.nit % 64 == 0 and time.monotonic() > deadline:
            raise StopIteration

    return check


#: recent whole runs by what they depend on (Steps, the iteration slider and playing
#: all show parts of the same runs); only runs that took a while and are not too long
_RUNS: LRU[tuple[Run, ...]] = LRU(128)
RUN_CACHE_POINTS = 20_000  #: runs with more path points than this in all are not kept
RUN_CACHE_MIN_S = 0.002  #: runs quicker than this are not kept
SHORT_RUNS = 6000  #: iterations in all below which runs need no time limit


def _runs_key(state: Mapping[str, Any]) -> str:
    data = state.get("data")
    keys = ("f", "formula", "variables", "x0", "methods", "lr", "policy", "cap", "gtol",
            "ftol", "xtol", *HYPER)
    c = classify.classes(state)  # the classification mode: its rows, not only their sums
    return json.dumps([[state.get(k) for k in keys], data_xy(data)[2] if data else None,
                       c.digest if c is not None else None])


def method_of(name: str, state: Mapping[str, Any]) -> Any:
    """The optimizer ``name`` with the state's hyperparameters (momentum's beta, Adam's
    betas), from :mod:`descend.optimizers`."""
    if name in ("momentum", "nesterov"):
        return getattr(optimizers, name)(float(state["beta"]))
    if name == "adam":
        return optimizers.adam(float(state["b1"]), float(state["b2"]))
    return name


def policy_of(state: Mapping[str, Any]) -> Any:
    """The step policy: a fixed lr, or backtracking (from lr, with the state's Armijo
    constant and shrink factor), Barzilai-Borwein (its Armijo constant) or auto."""
    pol = state["policy"]
    if pol == "backtracking":
        return linesearch.Backtracking(t0=float(state["lr"]), c=float(state["c"]),
                                       shrink=float(state["shrink"]))
    if pol == "bb":
        return linesearch.BarzilaiBorwein(c=float(state["c"]))
    return float(state["lr"]) if pol == "fixed" else pol


def full_runs(state: Mapping[str, Any], prob: Problem | None = None,
              deadline: float | None = None) -> list[Run]:
    """Each chosen method's whole run: to the cap, or to where it stopped.

    Runs are deterministic, so recent ones are kept (unless stopped by the time limit)
    in a small LRU; what the page shows at iteration ``it`` is a prefix (:func:`runs`).
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
    tol: dict[str, Any] = {k: state.get(k) for k in ("gtol", "ftol", "xtol")}
    prob = prob or problem(state)
    x0 = list(prob.start) if prob is not None and prob.start is not None else list(state["x0"])
    if prob is None or len(x0) != len(prob.variables):
        return []
    lr = policy_of(state)
    out = []
    # short runs go without the clock (minimize's fast loop for plain gd needs no callback):
    # their work is bounded by the cap already
    short = int(state["cap"]) * len(state["methods"]) <= SHORT_RUNS
    for m in state["methods"]:
        res = minimize(prob.runner or prob.fun, x0, method=method_of(m, state), lr=lr,
                       max_iter=int(state["cap"]),
                       callback=None if short else _clock(deadline), **tol)
        out.append(Run(m, res, res.status is Status.CALLBACK))
    return out


def prefix(result: Result, k: int) -> Result:
    """``result`` as it stood after ``k`` iterations (the same numbers as running
    :func:`descend.minimize` with ``max_iter=k``: the loop is deterministic)."""
    if k >= result.nit:
        return result
    k = max(int(k), 0)
    x = result.path[k].copy()
    obj = result.objective
    jac = obj.gradient(x) if obj is not None else np.full_like(x, np.nan)
    return dataclasses.replace(
        result, x=x, fun=float(result.values[k]), jac=jac, nit=k, success=False,
        status=Status.MAX_ITER, message=f"stopped at iteration {k} of {result.nit}",
        path=result.path[: k + 1], values=result.values[: k + 1],
        grad_norms=result.grad_norms[: k + 1], step_sizes=result.step_sizes[:k])


def runs(state: Mapping[str, Any], prob: Problem | None = None,
         deadline: float | None = None) -> list[Run]:
    """The runs as the page shows them: the first ``it`` iterations of each whole run."""
    it = int(state["it"])
    return [Run(r.label, prefix(r.result, it), r.timed_out, r.result)
            for r in full_runs(state, prob, deadline)]


def end_of(rs: Sequence[Run]) -> int:
    """The last iteration any of the runs reaches (0 with none)."""
    return max((r.whole.nit for r in rs), default=0)


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
