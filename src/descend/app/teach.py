"""What the explorer shows to explain a run: the forces at the current point, the race's
legend, the basins of a grid of starts, and a 2-D slice of a function of more variables.

Everything here reads Results (from :func:`descend.minimize`, through
:mod:`descend.app.compute`) or calls the public API (:func:`descend.multistart`); nothing
iterates an optimizer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import multistart, verdict
from .._text import count
from ..objective import as_objective
from ..result import Status
from . import classify, compute
from .compute import LRU, Problem, Run, g4, method_of, policy_of

__all__ = ["Basins", "Forces", "basins", "classify_line", "forces", "forces_text",
           "race_label", "slice_grid", "status_line", "status_text"]

MOMENTUM = ("momentum", "nesterov")
ADAPTIVE = ("adagrad", "rmsprop", "adam")


@dataclasses.dataclass(frozen=True)
class Forces:
    """At the point shown (iteration ``k``): the gradient there, the next step the run
    takes from it (``x_{k+1} - x_k``) and its step size; for momentum methods the
    velocity's share of that step; for adaptive methods the factor by which each
    coordinate of the plain gradient step ``-t g`` is scaled."""

    x: np.ndarray[Any, Any]
    grad: np.ndarray[Any, Any]
    step: np.ndarray[Any, Any] | None
    t: float | None
    velocity: np.ndarray[Any, Any] | None
    scaling: np.ndarray[Any, Any] | None


def forces(run: Run) -> Forces | None:
    """The forces at the run's current point (None without a finite gradient)."""
    whole, k = run.whole, run.result.nit
    if whole.objective is None or k >= len(whole.path):
        return None
    x = whole.path[k]
    grad = np.asarray(whole.objective.gradient(x), dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(grad))):
        return None
    step = t = velocity = scaling = None
    if k < whole.nit:
        step = whole.path[k + 1] - x
        t = float(whole.step_sizes[k])
        if not np.all(np.isfinite(step)) or not t > 0:
            step, t = None, None
    if step is not None and t is not None:
        d = -step / t  # the direction the optimizer chose, in gradient units
        if whole.method in MOMENTUM:
            velocity = -t * (d - grad)  # the part of the step the velocity carries
        elif whole.method in ADAPTIVE:
            with np.errstate(divide="ignore", invalid="ignore"):
                scaling = np.where(np.abs(grad) > 1e-300, d / grad, np.nan)
    return Forces(x, grad, step, t, velocity, scaling)


def forces_text(run: Run) -> str:
    """The forces in words: the momentum's share, or the per-coordinate scaling."""
    fo = forces(run)
    if fo is None:
        return ""
    if fo.velocity is not None:
        return f"velocity carries {g4(float(np.linalg.norm(fo.velocity)))} of the next step"
    if fo.scaling is not None:
        names = run.whole.variables or tuple(f"x{i + 1}" for i in range(len(fo.scaling)))
        parts = ", ".join(f"{n} ×{g4(float(v))}" for n, v in zip(names, fo.scaling,
                                                                  strict=False))
        return f"per-coordinate scaling of the gradient step: {parts}"
    return ""


def race_label(run: Run) -> str:
    """The legend entry of a racing run: its name and how many iterations it took."""
    r = run.whole
    if run.timed_out:
        return f"{run.label}: stopped by the time limit at {r.nit}"
    if r.success:
        return f"{run.label}: converged in {count(r.nit, 'iteration')}"
    if r.status is Status.DIVERGED:
        return f"{run.label}: diverged at iteration {r.nit}"
    return f"{run.label}: not converged in {r.nit}"


@dataclasses.dataclass(frozen=True)
class Basins:
    """A grid of starts coloured by the minimum each reached (index into ``minima``;
    -1 did not converge, -2 diverged)."""

    xs: np.ndarray[Any, Any]
    ys: np.ndarray[Any, Any]
    label: np.ndarray[Any, Any]  # (len(ys), len(xs))
    minima: list[tuple[np.ndarray[Any, Any], float, int]]
    max_iter: int
    method: str


_BASINS: LRU[Basins] = LRU(16)
BASINS_MAX_ITER = 2000  #: most iterations per start in the basins view


def basins(prob: Problem, state: Mapping[str, Any],
           box: Sequence[tuple[float, float]]) -> Basins:
    """Run a ``grid x grid`` lattice of starts over ``box`` with the first chosen method
    (:func:`descend.multistart`, all starts as one batch) and label each start."""
    n = int(state["grid"])
    method = state["methods"][0]
    max_iter = min(int(state["cap"]), BASINS_MAX_ITER)
    key = (prob.key, tuple(map(tuple, box)), n, method, max_iter, state["lr"], state["policy"],
           *(state[k] for k in ("beta", "b1", "b2", "c", "shrink", "gtol", "ftol", "xtol")))

    def make() -> Basins:
        xs = np.linspace(box[0][0], box[0][1], n)
        ys = np.linspace(box[1][0], box[1][1], n)
        gx, gy = np.meshgrid(xs, ys)
        starts = np.column_stack([gx.ravel(), gy.ravel()])
        ms = multistart(prob.fun, starts, method=method_of(method, state),
                        lr=policy_of(state), max_iter=max_iter,
                        **{k: state.get(k) for k in ("gtol", "ftol", "xtol")})
        minima = [(np.asarray(m.x), float(m.fun), int(m.count)) for m in ms.minima[:12]]
        label = np.full(len(starts), -1, dtype=int)
        label[np.asarray(ms.status) == Status.DIVERGED.value] = -2
        ok = np.asarray(ms.converged, dtype=bool)
        if minima and ok.any():
            centres = np.array([m[0] for m in minima])
            d = np.linalg.norm(np.asarray(ms.x)[ok][:, None, :] - centres[None], axis=2)
            label[ok] = np.argmin(d, axis=1)
        return Basins(xs, ys, label.reshape(n, n), minima, max_iter, method)

    return _BASINS.get(key, make)


def slice_grid(prob: Problem, centre: Any, i: int, j: int,
               box: Sequence[tuple[float, float]], n: int = 81
               ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """f over variables ``i`` and ``j`` with the others held at ``centre``: ``(xs, ys, z)``
    with ``z[row, col] = f`` at ``(xs[col], ys[row])``."""
    obj = as_objective(prob.fun).with_dimension(len(centre))
    xs = np.linspace(box[0][0], box[0][1], n)
    ys = np.linspace(box[1][0], box[1][1], n)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.tile(np.asarray(centre, dtype=np.float64), (gx.size, 1))
    pts[:, i], pts[:, j] = gx.ravel(), gy.ravel()
    with np.errstate(all="ignore"):
        z = np.asarray(obj.values(pts), dtype=np.float64).reshape(gx.shape)
    return xs, ys, z


def status_line(run: Run, state: Mapping[str, Any]) -> str:
    """One run in words and numbers: iteration, x, f, gradient norm, the step taken and
    its size, the forces at the point; at the end the status and the verdict."""
    r, whole = run.result, run.whole
    x = ", ".join(g4(float(v)) for v in r.x)
    head = (f"{run.label}: iteration: {r.nit} of {whole.nit}, x = ({x}), f = {g4(r.fun)}, "
            f"gradient norm = {g4(float(r.grad_norms[-1]))}")
    if r.nit >= 1:
        step = float(np.linalg.norm(r.path[-1] - r.path[-2]))
        head += f"; step taken {g4(step)} with step size {g4(float(r.step_sizes[-1]))}"
    more = forces_text(run)
    if more:
        head += f"; {more}"
    if run.timed_out and r.nit >= whole.nit:
        return f"{head}; stopped: time limit of {compute.TIME_LIMIT_S:g} s reached"
    if r.nit < whole.nit:
        return (f"{head}; the run goes on to iteration {whole.nit} "
                f"({whole.status.value})")
    return f"{head}; status: {whole.status.value}, verdict: {verdict(whole)}; {whole.message}"


def classify_line(run: Run, c: classify.Classes) -> str:
    """One run of the classification mode in words and numbers: iteration, log loss,
    accuracy, the boundary in the features' units; at the end the status."""
    r, whole = run.result, run.whole
    right = classify.accuracy(c, r.x)
    b, (a1, a2) = classify.to_original(c, r.x)
    f1, f2, _ = c.names
    line = compute.poly([(float(a1), f1), (float(a2), f2), (b, "")]) + " = 0"
    head = (f"{run.label}: iteration: {r.nit} of {whole.nit}, log loss = {g4(r.fun)}, "
            f"accuracy = {g4(100 * right)}% ({round(right * len(c.y))} of {len(c.y)} rows), "
            f"decision boundary (p = 0.5): "
            + (line if a1 or a2 else "none yet (all coefficients are zero: p = 0.5 "
               "everywhere)"))
    if r.nit >= 1:
        head += f"; step size {g4(float(r.step_sizes[-1]))}"
    if r.nit < whole.nit:
        return f"{head}; the run goes on to iteration {whole.nit} ({whole.status.value})"
    end = f"{head}; status: {whole.status.value}, verdict: {verdict(whole)}; {whole.message}"
    if not whole.success and right == 1.0:
        end += ("; the classes are separable: the log loss has no minimum, so the "
                "coefficients grow without bound as the run goes on")
    return end


def status_text(state: Mapping[str, Any], rs: Sequence[Run]) -> str:
    """The status of every run, one per line (and, on the slope loss, the overshoot)."""
    if state.get("error"):
        return f"iteration: 0; {state['error']}"
    if not rs:
        return "iteration: 0; nothing to run: check the function and the start"
    c = classify.classes(state)
    if c is not None:
        return "\n".join(classify_line(r, c) for r in rs)
    lines = [status_line(r, state) for r in rs]
    if state["f"] == "slope":
        _, lip, best = compute.slope_problem()
        path = rs[0].result.path[:, 0]
        crossed = bool(np.any(np.diff(np.sign(path - best)) != 0))
        lines.append(f"minimum at slope = {g4(best)}; step size {g4(float(state['lr']))} = "
                     f"{g4(float(state['lr']) * lip / 2)} × 2/L (2/L = {g4(2 / lip)}); "
                     + ("overshot: the point crossed the minimum" if crossed
                        else "the point has not crossed the minimum"))
    return "\n".join(lines)
