r"""Step-size policies: how far to move along the optimizer's direction.

A policy turns ``lr`` into the step ``t_k`` of ``x_{k+1} = x_k - t_k d_k``:

``Fixed``
    a float, or a schedule ``k -> t_k`` (:mod:`descend.schedules`)
``Backtracking``
    Armijo: start from twice the last accepted step, halve until
    ``f(x - t d) <= f(x) - c t <g, d>``; f never increases
``BarzilaiBorwein``
    ``t = <s, s> / <s, y>`` from the last step ``s`` and gradient change ``y``,
    safeguarded by a non-monotone Armijo test against the largest of the last 10 values
    (Grippo-Lampariello-Lucidi)
``Auto``
    ``t = 1 / L`` with ``L`` the local Lipschitz constant of the gradient: power iteration
    on Hessian-vector products (gradient differences) at the start, raised by secant
    estimates along the way, halved steps if f ever increases; exactly ``1/L`` on quadratics

Every policy works on one point ``(p,)`` or a batch ``(K, p)`` of independent runs
(then ``t`` is ``(K,)``). ``policy.step`` returns ``(t, x_next, f_next or None,
n_fun, n_grad, state)``; ``f_next`` is ``None`` when the loop must evaluate it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ._types import Array, StepSize
from .errors import InvalidArgument, InvalidType

__all__ = [
    "Auto",
    "Backtracking",
    "BarzilaiBorwein",
    "Fixed",
    "StepPolicy",
    "estimate_lipschitz",
    "get",
    "names",
]

Eval = Callable[[Array], Any]
StepOut = tuple[Any, Array, Any, int, int, Any]

_SQRT_EPS = float(np.sqrt(np.finfo(np.float64).eps))


def rowdot(a: Array, b: Array) -> Any:
    """``<a, b>`` per run: a float for ``(p,)``, ``(K,)`` for ``(K, p)``."""
    if a.ndim == 1:
        return float(a @ b)
    return np.einsum("ij,ij->i", a, b)


def scale(t: Any, d: Array) -> Array:
    """``t * d`` with one step per run."""
    if d.ndim == 2 and np.ndim(t) == 1:
        return np.asarray(t)[:, None] * d
    return t * d  # type: ignore[no-any-return]


class StepPolicy(Protocol):
    """What the loop needs from a step-size policy."""

    name: str

    def init(self, evalf: Eval, evalg: Eval, x: Array, f: Any, g: Array) -> tuple[Any, int]:
        """State before the first step, and the gradient evaluations it used.

        Parameters
        ----------
        evalf, evalg : callable
            f and its gradient at a point (each call counted by the loop).
        x : ndarray
            The start, ``(p,)`` or a batch ``(K, p)``.
        f : float or ndarray
            f at ``x``.
        g : ndarray
            The gradient at ``x``.

        Returns
        -------
        state : object
            The policy's state for :meth:`step`.
        n_grad : int
            Gradient evaluations used.
        """

    def step(self, k: int, state: Any, x: Array, f: Any, g: Array, d: Array) -> StepOut:
        """Choose ``t`` and move.

        Parameters
        ----------
        k : int
            The iteration number, from 0.
        state : object
            The state from :meth:`init` or the previous step.
        x : ndarray
            The current point(s).
        f : float or ndarray
            f at ``x``.
        g : ndarray
            The gradient at ``x``.
        d : ndarray
            The optimizer's direction; the move is ``x - t d``.

        Returns
        -------
        tuple
            ``(t, x_next, f_next or None, g_next or None, state, nfev, njev)``: the step taken, the
            new point, f and the gradient there when the policy computed them, its new state and
            the evaluations it used.
        """


class Fixed:
    """A fixed step, a schedule ``k -> t_k``, or one fixed step per run of a batch.

    Parameters
    ----------
    lr : float, callable or array_like of shape (K,)
        A step ``> 0``; a schedule; or ``K`` steps ``> 0``, run ``i`` of a batch
        ``(K, p)`` moving by ``lr[i]`` (a learning-rate sweep in one loop).

    Examples
    --------
    >>> import numpy as np
    >>> t, xn, *_ = Fixed([0.1, 0.5]).step(0, None, np.ones((2, 2)), None, None, np.ones((2, 2)))
    >>> t.tolist(), xn.tolist()
    ([0.1, 0.5], [[0.9, 0.9], [0.5, 0.5]])
    """

    name = "fixed"

    def __init__(self, lr: float | Callable[[int], float] | Any) -> None:
        self.lr = lr
        self._const: Any = None
        if callable(lr):
            return
        if np.ndim(lr) == 0:
            self._const = float(lr)
            return
        steps = np.array(lr, dtype=np.float64)
        if steps.ndim != 1 or steps.size == 0 or not np.all(np.isfinite(steps) & (steps > 0)):
            raise InvalidArgument(
                f"lr: per-run steps must be a non-empty 1-D array of finite numbers > 0, "
                f"got {lr!r:.80}",
                argument="lr",
            )
        steps.flags.writeable = False
        self._const = steps

    def init(self, evalf: Eval, evalg: Eval, x: Array, f: Any, g: Array) -> tuple[Any, int]:
        if np.ndim(self._const) == 1 and (x.ndim != 2 or x.shape[0] != self._const.shape[0]):
            raise InvalidArgument(
                f"lr: {self._const.shape[0]} per-run steps need a batch of as many runs, "
                f"got x0 of shape {x.shape}",
                argument="lr",
            )
        return None, 0

    def step(self, k: int, state: Any, x: Array, f: Any, g: Array, d: Array) -> StepOut:
        t = self._const
        if t is None:
            t = _schedule_value(self.lr, k)
        return t, x - scale(t, d), None, 0, 0, state


def _schedule_value(schedule: Any, k: int) -> float:
    t = schedule(k)
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise InvalidType(
            f"lr: the schedule must return a number, got {type(t).__name__} at k={k}",
            argument="lr",
        ) from None
    if not (np.isfinite(value) and value > 0.0):
        raise InvalidArgument(
            f"lr: the schedule must return a finite step > 0, got {t!r} at k={k}",
            argument="lr",
        )
    return value


def _armijo(
    evalf: Eval, x: Array, f: Any, d: Array, slope: Any, t: Any, f_ref: Any,
    c: float = 1e-4, shrink: float = 0.5, max_halvings: int = 60,
) -> tuple[Any, Array, Any, int]:
    """Shrink ``t`` until ``f(x - t d) <= f_ref - c t slope``; ``t = 0`` where none works."""
    nfev = 0
    if x.ndim == 1:
        for _ in range(max_halvings):
            xn = x - t * d
            fn = float(evalf(xn))
            nfev += 1
            if fn <= f_ref - c * t * slope:  # False for nan
                return t, xn, fn, nfev
            t *= shrink
        return 0.0, x.copy(), f, nfev
    ts: Array = np.array(t, dtype=np.float64, copy=True)
    xn = x - ts[:, None] * d
    fs: Array = np.asarray(evalf(xn), dtype=np.float64)
    nfev += x.shape[0]
    bad = ~(fs <= f_ref - c * ts * slope)
    for _ in range(max_halvings):
        if not bad.any():
            break
        ts[bad] *= shrink
        xn[bad] = x[bad] - ts[bad, None] * d[bad]
        fs[bad] = evalf(xn[bad])
        nfev += int(bad.sum())
        bad &= ~(fs <= f_ref - c * ts * slope)
    if bad.any():
        ts[bad] = 0.0
        xn[bad] = x[bad]
        fs[bad] = f[bad]
    return ts, xn, fs, nfev


def _descent(g: Array, d: Array) -> tuple[Array, Any]:
    """``d`` and ``<g, d>``, with ``d`` replaced by ``g`` where it is not a descent direction."""
    slope = rowdot(g, d)
    if d.ndim == 1:
        if not slope > 0.0:
            return g, rowdot(g, g)
        return d, slope
    bad = ~(slope > 0.0)
    if bad.any():
        d = d.copy()
        d[bad] = g[bad]
        slope = np.where(bad, rowdot(g, g), slope)
    return d, slope


class Backtracking:
    """Armijo backtracking; each step starts from twice the last accepted one.

    Parameters
    ----------
    t0 : float, default 1.0
        The first trial step.
    c : float, default 1e-4
        The Armijo constant: a step is accepted when ``f(x - t d) <= f(x) - c t <g, d>``.
    shrink : float, default 0.5
        The factor applied to a rejected step, in ``(0, 1)``.
    """

    name = "backtracking"

    def __init__(self, t0: float = 1.0, c: float = 1e-4, shrink: float = 0.5) -> None:
        self.t0, self.c, self.shrink = t0, c, shrink

    def init(self, evalf: Eval, evalg: Eval, x: Array, f: Any, g: Array) -> tuple[Any, int]:
        t = self.t0 if x.ndim == 1 else np.full(x.shape[0], self.t0)
        return (evalf, t / 2.0), 0

    def step(self, k: int, state: Any, x: Array, f: Any, g: Array, d: Array) -> StepOut:
        evalf, t_last = state
        d, slope = _descent(g, d)
        t, xn, fn, nfev = _armijo(evalf, x, f, d, slope, t_last * 2.0, f, self.c, self.shrink)
        t_next = np.where(t > 0, t, t_last) if np.ndim(t) else (t if t > 0 else t_last)
        return t, xn, fn, nfev, 0, (evalf, t_next)


def _hvp_step(evalg: Eval, x: Array, g: Array, v: Array) -> Array:
    """Hessian times ``v`` by a forward difference of gradients."""
    vn = np.sqrt(np.maximum(rowdot(v, v), 1e-300))
    xn = np.sqrt(rowdot(x, x))
    h = _SQRT_EPS * (1.0 + xn) / vn
    gv = np.asarray(evalg(x + scale(h, v)), dtype=np.float64)
    return scale(1.0 / h, gv - g)


def estimate_lipschitz(
    evalg: Eval, x: Array, g: Array | None = None, *, iters: int = 30, rtol: float = 1e-6
) -> tuple[Any, int]:
    """Largest Hessian eigenvalue magnitude at ``x`` by power iteration.

    Uses Hessian-vector products from gradient differences; returns ``(L, n_grad)``.
    Exact (to rounding) for quadratics, where it is the gradient's Lipschitz constant.

    Parameters
    ----------
    evalg : callable
        The gradient at a point.
    x : ndarray
        The point, ``(p,)``.
    g : ndarray, optional
        The gradient at ``x``, if known (saves an evaluation).
    iters : int, default 30
        Most power iterations.
    rtol : float, default 1e-6
        Stop when the estimate changes by less than this, relatively.

    Returns
    -------
    L : float
        The estimate.
    n_grad : int
        Gradient evaluations used.
    """
    n = 0
    if g is None:
        g = np.asarray(evalg(x), dtype=np.float64)
        n += 1
    rng = np.random.default_rng(0)
    gnorm = np.sqrt(np.maximum(rowdot(g, g), 1e-300))
    v = g + 1e-3 * scale(gnorm, rng.standard_normal(x.shape))
    lam: Any = 0.0
    for _ in range(iters):
        norm = np.sqrt(np.maximum(rowdot(v, v), 1e-300))
        v = scale(1.0 / norm, v)
        hv = _hvp_step(evalg, x, g, v)
        n += 1
        new = np.abs(rowdot(v, hv))
        done = np.all(np.abs(new - lam) <= rtol * np.maximum(new, 1e-300))
        lam, v = new, hv
        if done:
            break
    return lam, n


class Auto:
    """``t = 1 / L`` from a running estimate of the local Lipschitz constant."""

    name = "auto"

    def init(self, evalf: Eval, evalg: Eval, x: Array, f: Any, g: Array) -> tuple[Any, int]:
        lip, n = estimate_lipschitz(evalg, x, g)
        lip = np.where(lip > 0, lip, 1.0) if np.ndim(lip) else (lip if lip > 0 else 1.0)
        return (evalf, lip, None, None), n

    def step(self, k: int, state: Any, x: Array, f: Any, g: Array, d: Array) -> StepOut:
        evalf, lip, x_prev, g_prev = state
        if x_prev is not None:
            s, y = x - x_prev, g - g_prev
            ss = rowdot(s, s)
            secant = np.sqrt(rowdot(y, y) / np.where(ss > 0, ss, np.inf))
            lip = np.maximum(lip, secant)
        t = 1.0 / lip
        xn = x - scale(t, d)
        fn = evalf(xn)
        nfev = 1 if x.ndim == 1 else x.shape[0]
        rise = ~(np.asarray(fn) <= np.asarray(f))
        if np.any(rise):  # never let f increase: back off as Armijo with c = 0
            d2, slope = _descent(g, d)
            t2, xn2, fn2, n2 = _armijo(evalf, x, f, d2, slope, t, f, 0.0)
            nfev += n2
            if x.ndim == 1:
                t, xn, fn = t2, xn2, fn2
                lip = 1.0 / t2 if t2 > 0 else lip
            else:
                t = np.where(rise, t2, t)
                xn = np.where(rise[:, None], xn2, xn)
                fn = np.where(rise, fn2, fn)
                lip = np.where(rise & (t2 > 0), 1.0 / np.where(t2 > 0, t2, 1.0), lip)
        return t, xn, fn, nfev, 0, (evalf, lip, x, g)


class BarzilaiBorwein:
    """Barzilai-Borwein steps with a non-monotone Armijo safeguard (memory ``m``).

    Parameters
    ----------
    m : int, default 10
        How many past values of f the non-monotone test compares against.
    c : float, default 1e-4
        The Armijo constant of the safeguard.
    """

    name = "bb"

    def __init__(self, m: int = 10, c: float = 1e-4) -> None:
        self.m, self.c = m, c

    def init(self, evalf: Eval, evalg: Eval, x: Array, f: Any, g: Array) -> tuple[Any, int]:
        # First step: the exact line-search step along -g of the local quadratic model.
        hg = _hvp_step(evalg, x, g, g)
        curv = rowdot(g, hg)
        gg = rowdot(g, g)
        # Negative curvature: no model minimum; take 1/|curvature| and let Armijo check it.
        hh = rowdot(hg, hg)
        flat = np.where(hh > 0, np.sqrt(gg / np.where(hh > 0, hh, 1.0)),
                        1e-3 / np.sqrt(np.maximum(gg, 1e-300)))
        t0 = np.where(curv > 0, gg / np.where(curv > 0, curv, 1.0), flat)
        t0 = float(t0) if x.ndim == 1 else t0
        return (evalf, t0, None, None, [f]), 1

    def step(self, k: int, state: Any, x: Array, f: Any, g: Array, d: Array) -> StepOut:
        evalf, t, x_prev, g_prev, hist = state
        if x_prev is not None:
            s, y = x - x_prev, g - g_prev
            sy, ss, yy = rowdot(s, y), rowdot(s, s), rowdot(y, y)
            ok = sy > 0
            bb = ss / np.where(ok, sy, 1.0)
            # <s, y> <= 0 (negative curvature): keeping the last step could stall at a tiny
            # one for ever; use |s| / |y| (1/|curvature|), or double the step where y = 0.
            alt = np.where(yy > 0, np.sqrt(ss / np.where(yy > 0, yy, 1.0)), 2.0 * t)
            t = np.clip(np.where(ok, bb, alt), 1e-12, 1e12)
            t = float(t) if x.ndim == 1 else t
        f_ref = np.max(np.stack(hist), axis=0) if len(hist) > 1 else hist[0]
        d, slope = _descent(g, d)
        t, xn, fn, nfev = _armijo(evalf, x, f, d, slope, t, f_ref, self.c)
        hist = [*hist[-(self.m - 1):], fn]
        return t, xn, fn, nfev, 0, (evalf, t, x, g, hist)


_POLICIES: dict[str, Callable[[], StepPolicy]] = {
    "backtracking": Backtracking,
    "bb": BarzilaiBorwein,
    "auto": Auto,
}


def names() -> list[str]:
    """Policy names accepted as ``lr``.

    Returns
    -------
    list of str
        ``backtracking, bb, auto``.
    """
    return list(_POLICIES)


def get(lr: StepSize | StepPolicy) -> StepPolicy:
    """The policy for what a user passed as ``lr``.

    Parameters
    ----------
    lr : float, callable, str or StepPolicy
        A step ``> 0``, a schedule ``k -> t_k``, one of :func:`names`, or a policy object.

    Returns
    -------
    StepPolicy
        The policy the loop uses.
    """
    if isinstance(lr, (Fixed, Backtracking, BarzilaiBorwein, Auto)):
        return lr
    if isinstance(lr, str):
        key = lr.strip().lower()
        if key in _POLICIES:
            return _POLICIES[key]()
        raise InvalidArgument(
            f"lr: unknown step policy {lr!r}; expected a number > 0, a schedule, "
            f"or one of {', '.join(_POLICIES)}",
            argument="lr",
        )
    if isinstance(lr, bool):
        raise InvalidType("lr: expected a number > 0, got a bool", argument="lr")
    if isinstance(lr, (int, float, np.integer, np.floating)):
        v = float(lr)
        if not (np.isfinite(v) and v > 0.0):
            raise InvalidArgument(
                f"lr: must be a finite number > 0, got {lr!r}", argument="lr"
            )
        return Fixed(v)
    if callable(lr):
        return Fixed(lr)
    raise InvalidType(
        f"lr: expected a number > 0, a schedule k -> step, or one of {', '.join(_POLICIES)}, "
        f"got {type(lr).__name__}",
        argument="lr",
    )
