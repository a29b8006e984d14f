r"""Learning-rate sweeps: one run per step size, each judged too small, good, oscillating, diverged.

:func:`sweep` runs all the learning rates together as one ``(K, p)`` batch through the
loop (:mod:`descend._loop`), :func:`verdict` (from :mod:`descend.result`) labels each run,
and :func:`suggest_lr` proposes a safe fixed step ``1 / L`` from the local curvature.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._minimize import check_x0, problem_of, run_batch
from .errors import InvalidArgument, InvalidType
from .linesearch import Fixed, estimate_lipschitz
from .objective import as_objective
from .result import VERDICTS, Result, verdict

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["VERDICTS", "SweepResult", "suggest_lr", "sweep", "verdict"]

@dataclasses.dataclass(frozen=True, eq=False)
class SweepResult:
    """The outcome of :func:`sweep`: one run per learning rate.

    Attributes
    ----------
    lrs : ndarray (K,)
        The learning rates, in the order given.
    results : list of Result
        One :class:`~descend.result.Result` per rate, each with its whole path.
    verdicts : list of str
        :func:`verdict` of each run.
    """

    lrs: np.ndarray[Any, np.dtype[np.float64]]
    results: list[Result]
    verdicts: list[str]

    def table(self) -> list[dict[str, Any]]:
        """One row per rate: ``lr``, ``verdict``, ``status``, ``nit``, ``fun``.

        Examples
        --------
        >>> row = sweep("x**2", 3.0, [0.1, 1.1], max_iter=100).table()[0]
        >>> row["lr"], row["verdict"], row["status"], row["nit"], row["fun"] < 1e-12
        (0.1, 'good', 'gtol', 70, True)
        """
        return [
            {"lr": float(lr), "verdict": v, "status": r.status.value, "nit": r.nit,
             "fun": r.fun}
            for lr, v, r in zip(self.lrs, self.verdicts, self.results, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.results)

    def plot(self, **kw: Any) -> go.Figure:
        """Small multiples, one per learning rate, each titled with its verdict.

        Keywords go to :func:`descend.plot.auto`.
        """
        from . import _figures as _plot

        return _plot.auto(self, **kw)

    def __repr__(self) -> str:
        rows = [f"  lr={row['lr']:<10g} {row['verdict']:<12} {row['status']:<9} "
                f"nit={row['nit']:<6} f={row['fun']:.6g}" for row in self.table()]
        return "SweepResult(\n" + "\n".join(rows) + "\n)"


def _check_lrs(lrs: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    if isinstance(lrs, (str, bytes)) or not isinstance(lrs, (Sequence, np.ndarray)):
        raise InvalidType(
            f"lrs: expected a sequence of learning rates, got {type(lrs).__name__}",
            argument="lrs",
        )
    try:
        arr = np.array(lrs, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidType(f"lrs: expected numbers, got {lrs!r:.80}", argument="lrs") from None
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidArgument(
            f"lrs: expected a non-empty 1-D sequence of learning rates, got {lrs!r:.80}",
            argument="lrs",
        )
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise InvalidArgument(
            f"lrs: every learning rate must be a finite number > 0, got {arr.tolist()!r:.80}",
            argument="lrs",
        )
    return arr


def sweep(fun: Any, x0: Any, lrs: Any, **minimize_kwargs: Any) -> SweepResult:
    """Run gradient descent from ``x0`` once per learning rate and judge each run.

    Parameters
    ----------
    fun : callable, str, Formula or TestFunction
        As for :func:`descend.minimize`.
    x0 : array_like or float
        The start, shared by every run.
    lrs : sequence of float
        Fixed learning rates, each ``> 0``.
    **minimize_kwargs
        ``args``, ``grad`` (or ``jac``), ``method``, ``max_iter``, ``gtol``, ``ftol``,
        ``xtol``, ``variables`` as for :func:`descend.minimize` (not ``lr``, ``callback``
        or ``log_every``).

    Returns
    -------
    SweepResult
        ``lrs``, ``results`` (with paths), ``verdicts`` (see :func:`verdict`), ``table()``.

    Notes
    -----
    All rates advance together as one ``(K, p)`` batch through the loop with per-run
    fixed steps (:class:`descend.linesearch.Fixed`); each run's status, iterations,
    points and message are those of a :func:`descend.minimize` call with that rate
    (a callable that is not vectorized is evaluated row by row).

    Examples
    --------
    >>> s = sweep("x**2", 3.0, [0.001, 0.1, 0.9, 1.1], max_iter=100)
    >>> s.verdicts
    ['too_small', 'good', 'oscillating', 'diverged']
    """
    rates = _check_lrs(lrs)
    for bad in ("lr", "callback", "log_every"):
        if bad in minimize_kwargs:
            raise InvalidArgument(
                f"{bad}: not accepted by sweep (the rates come from lrs)", argument=bad
            )
    objective = problem_of(fun, minimize_kwargs.pop("args", ()),
                           minimize_kwargs.pop("grad", None), minimize_kwargs.pop("jac", None),
                           minimize_kwargs.pop("variables", None))
    x = check_x0(x0)
    objective = objective.with_dimension(x.shape[0]).resolve_gradient(x)
    objective.check(x)
    out = run_batch(objective, np.repeat(x[None], rates.size, axis=0), lr=Fixed(rates),
                    **minimize_kwargs)
    results = [out.result(k) for k in range(rates.size)]
    return SweepResult(rates, results, [verdict(r) for r in results])


def suggest_lr(fun: Any, x0: Any, **kw: Any) -> float:
    r"""A safe fixed learning rate, ``1 / L``, from the curvature at ``x0``.

    ``L`` is the largest Hessian eigenvalue magnitude at ``x0``, by power iteration
    on Hessian-vector products from gradient differences
    (:func:`descend.linesearch.estimate_lipschitz`). On a quadratic ``L`` is the
    gradient's Lipschitz constant: plain gradient descent converges for every fixed
    step below ``2 / L`` (the largest stable step) and diverges above it; ``1 / L``
    converges without oscillating along the stiffest direction. Elsewhere it is a
    local estimate: curvature can grow along the path.

    Parameters
    ----------
    fun : callable, str, Formula or TestFunction
        As for :func:`descend.minimize`.
    x0 : array_like or float
        Where to measure the curvature.
    **kw
        ``grad`` and ``variables``, as for :func:`descend.minimize`.

    Returns
    -------
    float
        ``1 / L``; ``1.0`` when the curvature at ``x0`` is zero.

    Examples
    --------
    For :math:`f = x^2 + 10 y^2`, ``L = 20``: the suggestion is ``1/L = 0.05`` and the
    largest stable step is ``2/L = 0.1``.

    >>> from descend import minimize
    >>> lr = suggest_lr("x**2 + 10*y**2", [1.0, 1.0])
    >>> round(lr, 8), round(2 * lr, 8)
    (0.05, 0.1)
    >>> minimize("x**2 + 10*y**2", [1.0, 1.0], lr=lr).status
    <Status.GTOL: 'gtol'>
    >>> minimize("x**2 + 10*y**2", [1.0, 1.0], lr=0.99 * 2 * lr, max_iter=5000).status
    <Status.GTOL: 'gtol'>
    >>> minimize("x**2 + 10*y**2", [1.0, 1.0], lr=1.01 * 2 * lr).status
    <Status.DIVERGED: 'diverged'>
    """
    unknown = set(kw) - {"grad", "variables"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidArgument(
            f"{name}: suggest_lr takes only grad and variables", argument=name
        )
    objective = as_objective(fun, kw.get("grad"), variables=kw.get("variables"))
    x = check_x0(x0)
    objective = objective.with_dimension(x.shape[0]).resolve_gradient(x)
    _, g = objective.check(x)
    with np.errstate(all="ignore"):
        lip, _ = estimate_lipschitz(objective.gradient, x, g)
    lip = float(lip)
    if not (math.isfinite(lip) and lip > 0.0):
        return 1.0
    return 1.0 / lip
