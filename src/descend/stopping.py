r"""Stopping rules: gtol, ftol, xtol, max_iter and divergence, in one form for every backend.

After every step ``x_k -> x_{k+1}`` with step size ``t``, in this order of precedence:

1. diverged: ``f(x_{k+1})`` not finite; ``f(x_{k+1}) > f(x0) + DIVERGENCE_FACTOR *
   max(1, |f(x0)|)``; the gradient not finite. The run then stays at ``x_k``.
2. ``gtol``: ``||grad f(x_{k+1})|| <= gtol`` (also tested at ``x0``, so a start at a
   minimum takes no step);
3. the step size is 0 for a policy whose zero step means "no steps left" (a schedule at
   its end): :data:`~descend.result.Reason.SCHEDULE_END`;
4. ``ftol``: ``|f(x_k) - f(x_{k+1})| < ftol``;
5. ``xtol``: ``||x_{k+1} - x_k|| <= xtol``.

``max_iter`` ends the runs whose steps ran out. When a run ends without diverging, its
last point is checked once more: ``||x|| > RUNAWAY_FACTOR * max(scale, ||x0||)`` (or ``x``
not finite) means x ran away while f kept falling, and the run counts as diverged
(``exp(x)`` from 700 jumps to -1e303, where f and its gradient are 0).

The rules are written once, in :func:`step_code`, :func:`point_code` and :func:`end_code`,
with operators that mean the same on NumPy arrays (all runs of a block at once), on
Python floats and inside numba-compiled code, which compiles these same functions.
A disabled test gets the cut ``-1`` (no norm or change is ever below it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._types import Array
from .errors import InvalidArgument, InvalidType
from .result import Reason

__all__ = [
    "DIVERGENCE_FACTOR", "GTOL", "RUNAWAY_FACTOR", "Criteria", "default_gtol",
    "divergence_bound", "end_code", "norms", "point_code", "projected", "quiet",
    "runaway_bound", "stable_step", "step_code", "sumsq",
]

#: A run diverges when f rises this many times ``max(1, |f(x0)|)`` above ``f(x0)``.
DIVERGENCE_FACTOR = 1e10

#: A run that ends this many times max(scale, ||x0||) away from the origin ran away.
RUNAWAY_FACTOR = 1e15

INF = math.inf

#: ``gtol``'s default for float64; other dtypes scale it (:func:`default_gtol`).
GTOL = 1e-6
_EPS64 = float(np.finfo(np.float64).eps)


def default_gtol(dtype: Any = np.float64) -> float:
    """``gtol``'s default for runs in ``dtype``.

    1e-6 for float64, scaled by the cube root of the ratio of the machine epsilons (8.1e-4
    for float32, whose rounding alone keeps gradients near 1e-6 from being resolved).

    Parameters
    ----------
    dtype : dtype-like, default float64
        The floating type the run computes in.

    Returns
    -------
    float
        The default ``gtol``.

    Examples
    --------
    >>> default_gtol(np.float64), round(default_gtol(np.float32), 6)
    (1e-06, 0.000813)
    """
    eps = float(np.finfo(dtype).eps)
    return GTOL if eps == _EPS64 else GTOL * (eps / _EPS64) ** (1.0 / 3.0)

# The codes as plain ints, so that numba freezes them as constants.
_GTOL, _FTOL, _XTOL = int(Reason.GTOL), int(Reason.FTOL), int(Reason.XTOL)
_SCHEDULE_END, _LAST_QUIET = int(Reason.SCHEDULE_END), int(Reason.SCHEDULE_END)
_F0, _G0 = int(Reason.F0_NONFINITE), int(Reason.G0_NONFINITE)
_F_NONFINITE, _F_BOUND = int(Reason.F_NONFINITE), int(Reason.F_BOUND)
_G_NONFINITE, _X_RUNAWAY = int(Reason.G_NONFINITE), int(Reason.X_RUNAWAY)


def check_tol(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidType(
            f"{name}: expected a number >= 0 or None, got {type(value).__name__}", argument=name
        )
    v = float(value)
    if not (v >= 0.0) or math.isinf(v):
        raise InvalidArgument(
            f"{name}: must be a finite number >= 0 or None, got {value!r}", argument=name
        )
    return v


def check_steps(value: Any, name: str = "max_iter") -> int:
    """An iteration budget: an integer >= 0 (an integral float is accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidType(f"{name}: expected an integer >= 0, got {value!r}", argument=name)
    if value < 0:
        raise InvalidArgument(f"{name}: must be >= 0, got {value}", argument=name)
    return int(value)


@dataclass(frozen=True)
class Criteria:
    """Validated stopping settings; ``None`` disables a test.

    Parameters
    ----------
    max_iter : int
        The iteration budget.
    gtol, ftol, xtol : float or None
        The gradient-norm, f-change and step-length tolerances (see the module).
    """

    max_iter: int
    gtol: float | None = 1e-6
    ftol: float | None = None
    xtol: float | None = None

    @classmethod
    def make(cls, max_iter: Any, gtol: Any, ftol: Any, xtol: Any) -> Criteria:
        """Check the settings as the user gave them and build the criteria.

        Parameters
        ----------
        max_iter : int
            An integer >= 0 (an integral float is accepted).
        gtol, ftol, xtol : float or None
            Each a finite number >= 0, or None to disable the test.

        Returns
        -------
        Criteria
            The validated settings.

        Raises
        ------
        InvalidType, InvalidArgument
            A setting of the wrong type or out of range, named in the message.
        """
        return cls(check_steps(max_iter), check_tol("gtol", gtol), check_tol("ftol", ftol),
                   check_tol("xtol", xtol))

    @property
    def cuts(self) -> tuple[float, float, float]:
        """``(gcut, fcut, xcut)`` for :func:`step_code`: the tolerances, -1 where disabled."""
        return tuple(-1.0 if v is None else v for v in (self.gtol, self.ftol, self.xtol))  # type: ignore[return-value]


def divergence_bound(f0: Any) -> Any:
    """The value of f past which a run counts as diverged (for a number or an array).

    Parameters
    ----------
    f0 : float or ndarray
        f at the start (of each run).

    Returns
    -------
    float or ndarray
        ``f0 + DIVERGENCE_FACTOR * max(1, |f0|)``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return f0 + DIVERGENCE_FACTOR * np.maximum(1.0, np.abs(f0))


def runaway_bound(x0norm: Any, scale: float = 1.0) -> Any:
    """The norm of x past which a run that ends counts as having run away.

    Parameters
    ----------
    x0norm : float or ndarray
        The norm of the start (of each run).
    scale : float, default 1.0
        The smallest norm the bound is measured from.

    Returns
    -------
    float or ndarray
        ``RUNAWAY_FACTOR * max(scale, x0norm)``.
    """
    return RUNAWAY_FACTOR * np.maximum(scale, x0norm)


def step_code(f: Any, fn: Any, gn: Any, dx: Any, t: Any, fb: Any, gcut: float, fcut: float,
              xcut: float, zcut: float) -> Any:
    """The rules after one step: 0 to go on, else the :class:`~descend.result.Reason`.

    Later lines take precedence. Works elementwise on arrays and on numbers alike (the loop
    calls it under ``np.errstate(all="ignore")``: ``inf - inf`` is only a failed test).

    Parameters
    ----------
    f, fn : float or ndarray
        f before and after the step.
    gn : float or ndarray
        The gradient norm after the step.
    dx : float or ndarray
        The step length.
    t : float or ndarray
        The step size.
    fb : float or ndarray
        The divergence bound (:func:`divergence_bound`).
    gcut, fcut, xcut : float
        The cuts of :attr:`Criteria.cuts` (-1 where a test is disabled).
    zcut : float
        0 when a zero step ends the run (a schedule at its end), else -1.

    Returns
    -------
    int or ndarray of int
        0 to go on, else the code of the :class:`~descend.result.Reason` the run ends with.

    Examples
    --------
    >>> int(step_code(1.0, 0.5, 1e-7, 0.1, 0.1, 1e10, 1e-6, -1.0, -1.0, -1.0))
    1
    >>> step_code(1.0, np.array([0.5, np.nan]), 0.5, 0.1, 0.1, 1e10, 1e-6, -1.0, -1.0, -1.0)
    array([0, 9])
    """
    c = _XTOL * (dx <= xcut)
    c = c + (_FTOL - c) * (abs(f - fn) < fcut)
    c = c + (_SCHEDULE_END - c) * (t <= zcut)
    c = c + (_GTOL - c) * (gn <= gcut)
    c = c + (_G_NONFINITE - c) * (1 - (gn < INF))
    c = c + (_F_BOUND - c) * (fn > fb)
    c = c + (_F_NONFINITE - c) * (1 - ((fn > -INF) & (fn < INF)))
    return c


def quiet(f: Any, fn: Any, gn: Any, dx: Any, t: Any, fb: Any, gcut: float, fcut: float,
          xcut: float, zcut: float) -> Any:
    """A screen for :func:`step_code`, cheaper than it: True only where no rule can fire.

    Where it is True, ``step_code`` is 0; where it is False, ``step_code`` decides. The
    compiled loop runs it on every step (branch-free comparisons that vectorize) and the
    rules only on the runs it flags; ``tests/test_stopping.py`` checks that it never hides
    a stop.

    Parameters
    ----------
    f, fn, gn, dx, t, fb : float or ndarray
        As for :func:`step_code`.
    gcut, fcut, xcut, zcut : float
        As for :func:`step_code`.

    Returns
    -------
    bool or ndarray of bool
        True where the run goes on for certain.
    """
    return ((fn > -INF) & (fn < INF) & (fn <= fb) & (gn < INF) & (gn > gcut) & (t > zcut)
            & ((fcut < 0.0) | (abs(f - fn) >= fcut)) & ((xcut < 0.0) | (dx > xcut)))


def point_code(f: Any, gn: Any, gcut: float) -> Any:
    """The rules at a point reached without a step (``x0``, or a resumed run re-evaluated).

    f or the gradient not finite (diverged), or ``gtol``.

    Parameters
    ----------
    f : float or ndarray
        f at the point.
    gn : float or ndarray
        The gradient norm there.
    gcut : float
        ``gtol``, or -1 when it is disabled.

    Returns
    -------
    int or ndarray of int
        0 to go on, else the code of the :class:`~descend.result.Reason`.
    """
    c = _GTOL * (gn <= gcut)
    c = c + (_G0 - c) * (1 - (gn < INF))
    c = c + (_F0 - c) * (1 - ((f > -INF) & (f < INF)))
    return c


def end_code(c: Any, xnorm: Any, xb: Any) -> Any:
    """The code of a run that ended, with the runaway rule applied.

    A run that ended (or is still going) without diverging, at ``||x|| = xnorm``: if x ran
    past the bound ``xb`` (or is not finite), x ran away.

    Parameters
    ----------
    c : int or ndarray of int
        The code so far (0 for a run still going).
    xnorm : float or ndarray
        The norm of the last point.
    xb : float or ndarray
        The runaway bound (:func:`runaway_bound`).

    Returns
    -------
    int or ndarray of int
        ``c``, or the code of ``Reason.X_RUNAWAY``.
    """
    return c + (_X_RUNAWAY - c) * ((c <= _LAST_QUIET) * (1 - (xnorm <= xb)))


def sumsq(g: Array) -> Array:
    """Sum of squares along the last axis.

    In column order for up to 8 columns (the order of the compiled loop), by ``einsum``
    beyond.

    Parameters
    ----------
    g : ndarray (..., p)
        The vectors.

    Returns
    -------
    ndarray (...)
        Their sums of squares.
    """
    p = g.shape[-1]
    if p > 8:
        return np.einsum("...i,...i->...", g, g)  # type: ignore[no-any-return]
    sq = g * g  # one pass over contiguous memory, then the columns added in order
    s = sq[..., 0]
    for j in range(1, p):
        s = s + sq[..., j]
    return s if p > 1 else s.copy()


_TINY, _HUGE = 2.0**-500, 2.0**500


def norms(g: Array) -> Array:
    """Euclidean norms along the last axis.

    Exact where the plain sum of squares would overflow or underflow (a finite gradient
    never has norm inf, nor a nonzero one 0).

    Parameters
    ----------
    g : ndarray (p,) or (..., p)
        The vectors.

    Returns
    -------
    float64 or ndarray (...)
        Their norms.
    """
    g = np.asarray(g)
    if g.ndim == 1:
        return norms(g[None])[0]  # type: ignore[no-any-return]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s = np.asarray(sumsq(g), dtype=np.float64)
    out = np.sqrt(s)
    odd = ~((s > _TINY) & (s < _HUGE))
    if odd.any():
        rows = g[odd]
        with np.errstate(all="ignore"):
            big = np.max(np.abs(rows), axis=-1)
            ok = (big > 0) & (big < INF)
            scaled = rows[ok] / big[ok, None]
            fixed = out[odd]
            fixed[ok] = big[ok] * np.sqrt(sumsq(scaled))
        out[odd] = fixed
    return out


def projected(g: Any, x: Any, lower: Any, upper: Any) -> Any:
    """The gradient projected on the box: components that point out of it at a bound are 0.

    A descent step along such a component would leave the box ``[lower, upper]``; the
    norm of the projected gradient is what ``gtol`` tests when a run has bounds.

    Parameters
    ----------
    g : ndarray (p,) or (K, p)
        The gradient.
    x : ndarray (p,) or (K, p)
        The point.
    lower, upper : ndarray (p,)
        The box, ``-inf``/``inf`` where a side is free.

    Returns
    -------
    ndarray
        ``g`` with the blocked components set to 0, in ``g``'s dtype.
    """
    blocked = ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
    return np.where(blocked, 0.0, g).astype(np.asarray(g).dtype, copy=False)


def stable_step(x: Array, g: Array, xn: Array, gn: Array) -> Array:
    """The largest stable fixed step along the refused step from ``x`` to ``xn``.

    ``2 / c`` with ``c = <g(xn) - g(x), s> / <s, s>`` the curvature along ``s = xn - x``;
    nan where it is not a positive finite number.

    Parameters
    ----------
    x, xn : ndarray (K, p)
        The points before and after the step, one row per run.
    g, gn : ndarray (K, p)
        The gradients there.

    Returns
    -------
    ndarray (K,)
        The step sizes (nan where there is none).
    """
    with np.errstate(all="ignore"):
        s = xn - x
        ss = np.einsum("ij,ij->i", s, s)
        curv = np.einsum("ij,ij->i", gn - g, s) / np.where(ss > 0, ss, np.inf)
        ok = (curv > 0) & np.isfinite(curv)
        return np.where(ok, 2.0 / np.where(ok, curv, 1.0), np.nan)
