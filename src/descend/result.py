"""What a run returns: :class:`Status`, :class:`Result`, and the one table of outcomes.

Every sentence descend shows about how a run ended is built here: the loop ends each
run with a :class:`Reason` (an integer code, so that a batch of runs keeps them in one
array), :data:`REASONS` maps each to its :class:`Status` and message template, and
:func:`describe` renders it. The library, the command line and the explorer say the
same thing in the same words. :func:`verdict` (too small, good, oscillating, diverged)
lives here too.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ._text import count
from ._types import Array

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "ABOVE_BEST", "BOUNCE_RATIO", "BOUNCE_SHARE", "GRAD_NOTES", "MESSAGES", "ON_BOUND",
    "REASONS", "VERDICTS", "Intermediate", "Reason", "Result", "Status", "above", "bounces",
    "classify", "describe", "divergence_advice", "fixed_step", "not_converged_hint", "verdict",
]


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


class Reason(enum.IntEnum):
    """Why one run ended, finer than :class:`Status`: the codes the loop keeps per run.

    ``RUNNING`` (0) means the run has not ended (its steps ran out in a resumable call).
    Every code from ``F0_NONFINITE`` on is a divergence; the loop relies on that order.
    """

    RUNNING = 0
    GTOL = 1
    FTOL = 2
    XTOL = 3
    MAX_ITER = 4
    SCHEDULE_END = 5
    CALLBACK = 6
    F0_NONFINITE = 7
    G0_NONFINITE = 8
    F_NONFINITE = 9
    F_BOUND = 10
    G_NONFINITE = 11
    X_RUNAWAY = 12

    @property
    def status(self) -> Status:
        """The :class:`Status` a user sees for this reason."""
        return REASONS[self][0]

    @property
    def diverged(self) -> bool:
        return self >= Reason.F0_NONFINITE


#: The first divergence code: ``code >= FIRST_DIVERGENCE`` means the run diverged.
FIRST_DIVERGENCE = int(Reason.F0_NONFINITE)

_KEPT = "x is the last point where f and the gradient were finite"

#: The one table: for each :class:`Reason`, its :class:`Status` and message template.
#: Keys (see :func:`describe`): ``nit`` (and ``iterations``, "1 iteration" or "70 iterations"),
#: ``gnorm``, ``gtol``, ``df``, ``ftol``, ``dx``, ``xtol``, ``fun`` (f at the end), ``bad``
#: (the value that failed), ``fbound``, ``xnorm``, ``xbound``, ``advice``.
REASONS: dict[Reason, tuple[Status, str]] = {
    Reason.GTOL: (Status.GTOL,
                  "converged: {gname} {gnorm:.3g} <= gtol={gtol:g} after {iterations}"),
    Reason.FTOL: (Status.FTOL,
                  "converged: f changed by {df:.3g} < ftol={ftol:g} at iteration {nit}"),
    Reason.XTOL: (Status.XTOL,
                  "converged: step length {dx:.3g} <= xtol={xtol:g} at iteration {nit}"),
    Reason.MAX_ITER: (Status.MAX_ITER, (
        "stopped: reached max_iter={nit} with {gname} {gnorm:.3g}"
        " (not converged: {hint})")),
    Reason.SCHEDULE_END: (Status.MAX_ITER, (
        "stopped: the lr schedule reached 0 at iteration {nit} with {gname} {gnorm:.3g}"
        " (not converged: give the schedule more steps or a final step > 0)")),
    Reason.CALLBACK: (Status.CALLBACK, "stopped by the callback at iteration {nit}"),
    Reason.F0_NONFINITE: (Status.DIVERGED,
                          "diverged at iteration 0: f(x0) = {fun:.3g} is not finite"
                          " (x0 outside the domain?)"),
    Reason.G0_NONFINITE: (Status.DIVERGED,
                          "diverged at iteration 0: the gradient at x0 is not finite"
                          " (x0 outside the domain or at a singularity?)"),
    Reason.F_NONFINITE: (Status.DIVERGED,
                         "diverged at iteration {nit}: the next step made f non-finite"
                         f" (f = {{bad:.3g}}); {_KEPT}; {{advice}}"),
    Reason.F_BOUND: (Status.DIVERGED,
                     "diverged at iteration {nit}: the next step took f to {bad:.3g}, past"
                     " {fbound:.3g} = f(x0) + 1e10 max(1, |f(x0)|); {advice}"),
    Reason.G_NONFINITE: (Status.DIVERGED,
                         "diverged at iteration {nit}: the next step made the gradient"
                         f" non-finite; {_KEPT}; {{advice}}"),
    Reason.X_RUNAWAY: (Status.DIVERGED, (
        "diverged at iteration {nit}: x ran away to |x| = {xnorm:.3g}, past {xbound:.3g}"
        " (1e15 times the scale of x0), while f fell to {fun:.3g}: f seems to have no minimum"
        " that way (it falls without bound, or flattens out towards infinity)")),
}

#: Messages by :class:`Status` (the commonest reason of each), for :func:`describe`.
MESSAGES: dict[Status, str] = {
    Status.GTOL: REASONS[Reason.GTOL][1],
    Status.FTOL: REASONS[Reason.FTOL][1],
    Status.XTOL: REASONS[Reason.XTOL][1],
    Status.MAX_ITER: REASONS[Reason.MAX_ITER][1],
    Status.DIVERGED: "diverged at iteration {nit}: {why}; {advice}",
    Status.CALLBACK: REASONS[Reason.CALLBACK][1],
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

#: Appended when the run ends with coordinates on a bound (``on_bound``: "x = 1 (upper)").
ON_BOUND = "on bound: {on_bound}"

#: Appended when the run ended above the lowest f it visited.
ABOVE_BEST = "ended above its best: f = {fun_best:.3g} at iteration {nit_best}"

_DEFAULTS: dict[str, Any] = {
    "nit": 0, "gnorm": math.nan, "gtol": 0.0, "df": math.nan, "ftol": 0.0, "dx": math.nan,
    "xtol": 0.0, "fun": math.nan, "bad": math.nan, "fbound": math.nan, "xnorm": math.nan,
    "xbound": math.nan, "why": "", "advice": "try a smaller learning rate",
    "gname": "gradient norm",
    "hint": "not enough iterations, or a step too small or too large: raise max_iter or tune lr",
}


def describe(status: Status | Reason, **info: Any) -> str:
    """Render the message for a :class:`Reason` (or a :class:`Status`) from the tables.

    Keys: ``nit``, ``gnorm`` (``gname`` says which norm: "projected gradient norm" with
    bounds), ``gtol``, ``df``, ``ftol``, ``dx``, ``xtol`` for the convergence and limit
    messages; ``fun``, ``bad``, ``fbound``, ``xnorm``, ``xbound`` and ``advice`` (built by
    :func:`divergence_advice`) for divergence (``why`` with a bare ``Status.DIVERGED``).
    Appended: :data:`ON_BOUND` when ``on_bound`` is given, :data:`ABOVE_BEST` when
    ``fun_best`` (with ``nit_best``) is given, then the note of the gradient source
    ``grad_method`` (see :data:`GRAD_NOTES`; ``fd=True`` is ``"finite-differences"``),
    with ``grad_note`` (how, or why a JAX or PyTorch function fell back to finite
    differences). Missing keys read as nan.

    Examples
    --------
    >>> describe(Reason.GTOL, nit=70, gnorm=8.1e-7, gtol=1e-6)
    'converged: gradient norm 8.1e-07 <= gtol=1e-06 after 70 iterations'
    >>> describe(Reason.GTOL, nit=1, gnorm=0.0, gtol=1e-6)
    'converged: gradient norm 0 <= gtol=1e-06 after 1 iteration'
    >>> describe(Status.MAX_ITER, nit=5, gnorm=0.5)[:45]
    'stopped: reached max_iter=5 with gradient nor'
    """
    fd = bool(info.pop("fd", False))
    method = info.pop("grad_method", None)
    detail = info.pop("grad_note", "")
    on_bound = info.pop("on_bound", "")
    fun_best, nit_best = info.pop("fun_best", None), info.pop("nit_best", 0)
    template = (REASONS[status][1] if isinstance(status, Reason)
                else MESSAGES[Status(status)])
    values = {**_DEFAULTS, **info}
    values["iterations"] = count(values["nit"], "iteration")
    text = template.format(**values)
    if on_bound:
        text += "; " + ON_BOUND.format(on_bound=on_bound)
    if fun_best is not None:
        text += "; " + ABOVE_BEST.format(fun_best=fun_best, nit_best=nit_best)
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


def above(fun: float, best: float) -> bool:
    """Whether ``fun`` is above ``best`` by more than rounding (:data:`RISE_RTOL`)."""
    return bool(fun > best + RISE_RTOL * max(1.0, abs(best)))


def divergence_advice(lr: float | None, lr_max: float | None) -> str:
    """The second half of a divergence message: what to try instead."""
    if lr_max is not None and np.isfinite(lr_max) and lr_max > 0:
        return f"try lr <= {_round_down(lr_max)} (about 2 / the local curvature)"
    if lr is not None:
        return f"try a smaller lr than {lr:g}"
    return "try a smaller learning rate"


def _round_down(value: float) -> str:
    """Two significant digits, never rounded up past ``value`` by more than the error of
    its estimate (power iteration on gradient differences: 1e-6 relative; 2 / 2.0000001 is
    "1.0", not "0.99")."""
    value *= 1.0 + 1e-6
    exp = int(np.floor(np.log10(value))) - 1
    scaled = np.floor(value / 10.0**exp)
    out = scaled * 10.0**exp
    return f"{out:.{max(0, -exp)}f}" if exp < 0 else f"{out:g}"


#: The four verdicts of :func:`verdict`, from the smallest step to the largest.
VERDICTS = ("too_small", "good", "oscillating", "diverged")

#: ``f`` counts as increasing when it grows by more than this times ``max(1, |f|)``.
RISE_RTOL = 1e-12


#: A run *bounces* when at least this share of the steps in the second half of its path
#: turn back (:math:`\langle s_k, s_{k+1} \rangle < 0`, ``s_k = x_{k+1} - x_k``) ...
BOUNCE_SHARE = 0.5
#: ... and those turns shrink the step by less than this (median of
#: :math:`\|s_{k+1}\| / \|s_k\|`): gradient descent with a fixed step ``t`` on a quadratic
#: bounces this way when ``t * lambda_max >= 1.75``, where a step near ``1 / lambda_max``
#: would remove that direction in one step.
BOUNCE_RATIO = 0.75


def bounces(path: Array) -> bool:
    """Whether the path bounces (:data:`BOUNCE_SHARE`, :data:`BOUNCE_RATIO`)."""
    steps = np.diff(np.asarray(path, dtype=np.float64), axis=0)
    n = steps.shape[0]
    if n < 3:
        return False
    with np.errstate(all="ignore"):
        dots = np.einsum("ij,ij->i", steps[:-1], steps[1:])
        lens = np.sqrt(np.einsum("ij,ij->i", steps, steps))
        half = (n - 1) // 2
        turns = dots[half:] < 0.0
        if not turns.size or turns.mean() < BOUNCE_SHARE:
            return False
        ratio = lens[half + 1:][turns] / lens[half:-1][turns]
    ratio = ratio[np.isfinite(ratio)]
    return bool(ratio.size) and float(np.median(ratio)) >= BOUNCE_RATIO


def fixed_step(step_sizes: Array) -> bool:
    """Whether every step of the run had the same size (a fixed ``lr``)."""
    t = np.asarray(step_sizes)
    return bool(t.size) and bool(np.all(t == t[0]))


def classify(status: Status, values: Array, path: Array, step_sizes: Array) -> str:
    """:func:`verdict` on the pieces of a run (its status and recorded path)."""
    if status is Status.DIVERGED:
        return "diverged"
    values = np.asarray(values, dtype=np.float64)
    bounce = bounces(path)
    if status.success:
        return "oscillating" if bounce and fixed_step(step_sizes) else "good"
    if bounce or (values.size and above(float(values[-1]), float(values[0]))):
        return "oscillating"
    return "too_small"


def verdict(result: Result) -> str:
    r"""Label a run ``"too_small"``, ``"good"``, ``"oscillating"`` or ``"diverged"``.

    The one definition, used by :func:`descend.sweep`, the command line, the explorer and
    the messages of runs that did not converge. With ``s_k = x_{k+1} - x_k`` the steps of
    the recorded path, the run *bounces* when, over the second half of its steps, at least
    half turn back (:math:`\langle s_k, s_{k+1}
angle < 0`) and the median of
    :math:`\|s_{k+1}\| / \|s_k\|` over those turns is at least 0.75 (gradient descent with a
    fixed step ``t`` on a quadratic does when ``t \lambda_{max} \geq 1.75``). Then, in
    order:

    1. ``"diverged"``: the status is ``"diverged"``.
    2. A run that converged (gtol, ftol or xtol) is ``"good"``, including momentum methods
       that overshoot on the way and line searches that zigzag; unless it took one fixed
       step throughout and bounces: then it is ``"oscillating"`` (it converges far slower
       than a smaller step would, which would remove the bouncing direction at once).
    3. A run that did not converge (``max_iter``, a schedule's end, a callback) is
       ``"oscillating"`` when it bounces or ended above ``f(x0)`` (by more than
       rounding, :data:`RISE_RTOL`): a smaller step would do better.
    4. Otherwise ``"too_small"``: steady but slow, it did not converge in the budget.

    Examples
    --------
    >>> from descend import minimize
    >>> [verdict(minimize("x**2", 3.0, lr=lr, max_iter=100)) for lr in (0.001, 0.1, 0.9, 1.1)]
    ['too_small', 'good', 'oscillating', 'diverged']
    """
    return classify(result.status, result.values, result.path, result.step_sizes)


def not_converged_hint(kind: str, lr: float | None, lip: float | None) -> str:
    """The reason a run that stopped without converging gives, from its :func:`verdict`
    ``kind`` (``"too_small"`` or ``"oscillating"``, ``""`` when the path is unknown), its
    fixed step ``lr`` (None for other policies) and the curvature ``lip`` (the largest
    Hessian eigenvalue magnitude) at its last stable point, when known."""
    lam = lip if lip is not None and math.isfinite(lip) and lip > 0 else None
    if kind == "oscillating" and lr is None:  # a policy or a schedule chose the steps
        return "not enough iterations (the path oscillates): raise max_iter"
    if kind == "oscillating":
        if lam is not None:
            return (f"step too large / oscillating: try lr <= {_round_down(1.0 / lam)}"
                    " (about 1 / the local curvature)")
        if lr is not None:
            return f"step too large / oscillating: try a smaller lr than {lr:g}"
        return "step too large / oscillating: try a smaller learning rate"
    if kind == "too_small" and lr is not None and lam is not None and lr * lam < 0.5:
        return (f"step too small: try lr = {_round_down(1.0 / lam)}"
                " (about 1 / the local curvature) or raise max_iter")
    if kind == "too_small":
        return "not enough iterations: raise max_iter"
    return "not enough iterations, or a step too small or too large: raise max_iter or tune lr"


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
    reason : Reason
        Why the run ended, finer than ``status`` (for example ``SCHEDULE_END``, a
        ``max_iter`` status).
    x_best, fun_best : ndarray (p,), float
        The point with the lowest f the run visited (its path), and that f; the message
        says when the run ended above it.
    on_bound : tuple of str
        With ``bounds``: the coordinates that end on a bound, as ``"x = 1 (upper)"``.

    A ``Result`` also reads as a mapping, as scipy's ``OptimizeResult``: ``res["x"]``,
    ``res.keys()``, ``res.items()``, ``res.get("nit")``, ``dict(res)`` (``res.values`` is
    the attribute, f along the path).
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
    reason: Reason = Reason.MAX_ITER
    x_best: Any = None
    fun_best: float = math.nan
    on_bound: tuple[str, ...] = field(default=())

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

    def keys(self) -> list[str]:
        """The names a mapping would have: scipy's first (``x, fun, jac, nit, nfev, njev,
        success, status, message``), then descend's."""
        return [f.name for f in fields(self) if f.name != "objective"]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` for each of :meth:`keys`."""
        return [(k, getattr(self, k)) for k in self.keys()]

    def get(self, key: str, default: Any = None) -> Any:
        """``res[key]``, or ``default`` for a name that is not a key."""
        return getattr(self, key) if key in self.keys() else default

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __getitem__(self, key: str) -> Any:
        """Dictionary-style access, as with scipy's ``OptimizeResult``."""
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)
