"""What a run returns: :class:`Status`, :class:`Result`, and the one message table.

Every sentence descend shows about how a run ended is built here, from
:data:`MESSAGES`, so the library, the command line and the explorer say the same
thing in the same words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._types import Array

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["GRAD_NOTES", "MESSAGES", "Intermediate", "Result", "Status", "describe"]


class Status(enum.StrEnum):
    """How a run ended. A ``str`` enum, so ``res.status == "max_iter"`` holds."""

    GTOL = "gtol"
    FTOL = "ftol"
    XTOL = "xtol"
    MAX_ITER = "max_iter"
    DIVERGED = "diverged"
    CALLBACK = "callback"

    @property
    def success(self) -> bool:
        """True for the three convergence tests, False otherwise."""
        return self in (Status.GTOL, Status.FTOL, Status.XTOL)


#: The one table of messages. Each entry is formatted with the keys documented
#: in :func:`describe`.
MESSAGES: dict[Status, str] = {
    Status.GTOL: "converged: gradient norm {gnorm:.3g} <= gtol={gtol:g} after {nit} iterations",
    Status.FTOL: "converged: f changed by {df:.3g} < ftol={ftol:g} at iteration {nit}",
    Status.XTOL: "converged: step length {dx:.3g} <= xtol={xtol:g} at iteration {nit}",
    Status.MAX_ITER: (
        "stopped: reached max_iter={nit} iterations with gradient norm {gnorm:.3g}"
        " (not converged: raise max_iter or the learning rate)"
    ),
    Status.DIVERGED: "diverged at iteration {nit}: {why}; {advice}",
    Status.CALLBACK: "stopped by the callback at iteration {nit}",
}

FD_NOTE = (
    "gradient by central finite differences (h_i = cbrt(machine eps) * max(1, |x_i|))"
)

#: The note each gradient source adds to a message (``Result.grad_method`` names
#: the source); a formula's or the user's own gradient adds none.
GRAD_NOTES: dict[str, str] = {
    "finite-differences": FD_NOTE,
    "jax": "exact gradient by JAX",
    "torch": "exact gradient by PyTorch",
}


def describe(status: Status, **info: Any) -> str:
    """Render the message for ``status`` from :data:`MESSAGES`.

    Keys: ``nit``, ``gnorm``, ``gtol``, ``df``, ``ftol``, ``dx``, ``xtol`` for the
    convergence and limit messages; ``why`` and ``advice`` (built by
    :func:`divergence_advice`) for divergence; ``fd=True`` appends the finite
    differences note; ``grad_method`` (see :data:`GRAD_NOTES`) appends the note of
    that gradient source, with ``grad_note`` (how, or why a JAX or PyTorch function
    fell back to finite differences) in parentheses.
    """
    fd = bool(info.pop("fd", False))
    method = info.pop("grad_method", None)
    detail = info.pop("grad_note", "")
    text = MESSAGES[Status(status)].format(**info)
    if fd and method is None:
        method = "finite-differences"
    note = GRAD_NOTES.get(method or "")
    if note is not None:
        if detail and method == "finite-differences":
            note += f" because {detail}"
        elif detail:
            note = f"{note} ({detail})"
        text += "; " + note
    return text


def divergence_advice(lr: float | None, lr_max: float | None) -> str:
    """The second half of a divergence message: what to try instead."""
    if lr_max is not None and np.isfinite(lr_max) and lr_max > 0:
        return f"try lr <= {_round_down(lr_max)} (about 2 / the local curvature)"
    if lr is not None:
        return f"try a smaller lr than {lr:g}"
    return "try a smaller learning rate"


def _round_down(value: float) -> str:
    """Two significant digits, never rounded up past ``value``."""
    exp = int(np.floor(np.log10(value))) - 1
    scaled = np.floor(value / 10.0**exp)
    out = scaled * 10.0**exp
    return f"{out:.{max(0, -exp)}f}" if exp < 0 else f"{out:g}"


@dataclass(frozen=True)
class Intermediate:
    """What a callback receives after each step.

    For a single run ``x`` is ``(p,)`` and ``fun`` a float; for a batch of K runs
    ``x`` is ``(K, p)`` and ``fun`` is ``(K,)``.
    """

    x: Array
    fun: Any
    nit: int
    grad_norm: Any
    step_size: Any


@dataclass(frozen=True, eq=False)
class Result:
    """The outcome of :func:`descend.minimize`, with the whole recorded path.

    The names follow :class:`scipy.optimize.OptimizeResult`.

    Attributes
    ----------
    x : ndarray (p,)
        The last point.
    fun : float
        ``f(x)``.
    jac : ndarray (p,)
        The gradient at ``x``.
    nit : int
        Steps taken.
    nfev, njev : int
        Function and gradient evaluations (finite differences count in ``nfev``).
    success : bool
        True when a convergence test (gtol, ftol, xtol) ended the run.
    status : Status
    message : str
    path : ndarray (nit + 1, p)
        Every point visited, ``x0`` first.
    values : ndarray (nit + 1,)
        ``f`` along the path.
    grad_norms : ndarray (nit + 1,)
        Euclidean norm of the gradient along the path.
    step_sizes : ndarray (nit,)
        The step size taken at each iteration.
    method : str
        The optimizer's name.
    lr_max : float or None
        For a diverged run, the estimate of the largest stable fixed step.
    variables : tuple of str
        Names of the coordinates (from a formula, else ``x1..xp``).
    grad_method : str
        Where the gradient came from: ``"formula"`` (a formula's or catalog
        function's exact gradient), ``"user"`` (the ``grad`` given), ``"jax"`` or
        ``"torch"`` (automatic differentiation of a callable written with that
        library) or ``"finite-differences"``.
    """

    x: Array
    fun: float
    jac: Array
    nit: int
    nfev: int
    njev: int
    success: bool
    status: Status
    message: str
    path: Array
    values: Array
    grad_norms: Array
    step_sizes: Array
    method: str = "gd"
    lr_max: float | None = None
    variables: tuple[str, ...] = field(default=())
    grad_method: str = "user"
    objective: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        x = np.array2string(self.x, precision=6, separator=", ")
        return (
            f"Result(status={self.status.value!r}, x={x}, fun={self.fun:.6g}, "
            f"nit={self.nit}, nfev={self.nfev}, njev={self.njev}, message={self.message!r})"
        )

    def plot(self, **kw: Any) -> go.Figure:
        """The figure that suits this run: see :func:`descend.plot.auto`.

        One variable gives the tangent view, two the contour with the path, more
        the loss curve. Keywords go to the chosen function.

        Examples
        --------
        >>> from descend import minimize
        >>> fig = minimize("x**2", [3.0], lr=0.1).plot()
        >>> fig.data[0].name
        'f'
        """
        from . import _figures as _plot

        return _plot.auto(self, **kw)

    def __getitem__(self, key: str) -> Any:
        """Dictionary-style access, as with scipy's ``OptimizeResult``."""
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None
