"""Stopping rules: gtol, ftol, xtol, max_iter and divergence, for one run or per run of a batch.

Tests are applied after every step, in this order: divergence (f, x or the
gradient not finite, or ``f > f(x0) + DIVERGENCE_FACTOR * max(1, |f(x0)|)``), then
``gtol`` (``||grad f(x_{k+1})|| <= gtol``), ``ftol`` (``|f(x_k) - f(x_{k+1})| <
ftol``) and ``xtol`` (``||x_{k+1} - x_k|| <= xtol``); ``max_iter`` when steps run
out. ``gtol`` is also tested at ``x0``, so a start at a minimum takes no step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._types import Array
from .errors import InvalidArgument, InvalidType
from .result import Status

__all__ = ["CODES", "DIVERGENCE_FACTOR", "Criteria", "batch_codes", "single_status"]

#: A run diverges when f rises this many times ``max(1, |f(x0)|)`` above ``f(x0)``.
DIVERGENCE_FACTOR = 1e10

#: Integer codes used in per-run arrays; 0 means still running.
CODES: tuple[Status | None, ...] = (
    None, Status.DIVERGED, Status.GTOL, Status.FTOL, Status.XTOL, Status.CALLBACK,
    Status.MAX_ITER,
)


def _tol(name: str, value: Any) -> float | None:
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


@dataclass(frozen=True)
class Criteria:
    """Validated stopping settings.

    Attributes
    ----------
    max_iter : int
        Most steps.
    gtol, ftol, xtol : float or None
        The tolerances of :func:`descend.minimize` (None: that test is off).
    """

    max_iter: int
    gtol: float | None = 1e-6
    ftol: float | None = None
    xtol: float | None = None

    @classmethod
    def make(cls, max_iter: Any, gtol: Any, ftol: Any, xtol: Any) -> Criteria:
        """Check the user's settings and build the criteria.

        Parameters
        ----------
        max_iter : int
            Most steps, >= 0.
        gtol, ftol, xtol : float or None
            Tolerances, each finite and >= 0, or None.

        Returns
        -------
        Criteria
            The validated settings.

        Raises
        ------
        InvalidArgument, InvalidType
            A setting out of range or of the wrong type, named.
        """
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
            if isinstance(max_iter, float) and max_iter.is_integer():
                max_iter = int(max_iter)
            else:
                raise InvalidType(
                    f"max_iter: expected an integer >= 0, got {max_iter!r}", argument="max_iter"
                )
        if max_iter < 0:
            raise InvalidArgument(
                f"max_iter: must be >= 0, got {max_iter}", argument="max_iter"
            )
        return cls(int(max_iter), _tol("gtol", gtol), _tol("ftol", ftol), _tol("xtol", xtol))


def divergence_bound(f0: Any) -> Any:
    """The value of f past which a run counts as diverged."""
    return f0 + DIVERGENCE_FACTOR * np.maximum(1.0, np.abs(f0))


def single_status(
    c: Criteria, f: float, fn: float, gn: float, x: Array, xn: Array, fbound: float
) -> Status | None:
    """The status after one step of a single run, or None to go on.

    Parameters
    ----------
    c : Criteria
        The stopping settings.
    f, fn : float
        f before and after the step.
    gn : float
        The gradient norm after the step.
    x, xn : ndarray (p,)
        The points before and after the step.
    fbound : float
        The divergence bound.

    Returns
    -------
    Status or None
        How the run ends, or None.
    """
    if not (math.isfinite(fn) and math.isfinite(gn)) or fn > fbound:
        return Status.DIVERGED
    if c.gtol is not None and gn <= c.gtol:
        return Status.GTOL
    if c.ftol is not None and abs(f - fn) < c.ftol:
        return Status.FTOL
    if c.xtol is not None:
        dx = xn - x
        if math.sqrt(float(dx @ dx)) <= c.xtol:
            return Status.XTOL
    return None


def batch_codes(
    c: Criteria, F: Array, Fn: Array, GN: Array, X: Array, Xn: Array, fbound: Array
) -> Any:
    """Per-run status codes (indices into :data:`CODES`) after one step; 0 to go on.

    Parameters
    ----------
    c : Criteria
        The stopping settings.
    F, Fn : ndarray (K,)
        f before and after the step.
    GN : ndarray (K,)
        The gradient norms after the step.
    X, Xn : ndarray (K, p)
        The points before and after the step.
    fbound : ndarray (K,)
        The divergence bound of each run.

    Returns
    -------
    ndarray of int (K,)
        The codes.
    """
    codes = np.zeros(F.shape[0], dtype=np.int8)
    diverged = ~(np.isfinite(Fn) & np.isfinite(GN) & (Fn <= fbound))
    tests: list[tuple[int, Any]] = []
    if c.gtol is not None:
        tests.append((2, GN <= c.gtol))
    if c.ftol is not None:
        tests.append((3, np.abs(F - Fn) < c.ftol))
    if c.xtol is not None:
        dx = Xn - X
        tests.append((4, np.sqrt(np.einsum("ij,ij->i", dx, dx)) <= c.xtol))
    for code, hit in reversed(tests):  # earlier tests win
        codes[hit] = code
    codes[diverged] = 1
    return codes
