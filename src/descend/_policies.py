"""The step policies that search: Armijo backtracking, Barzilai-Borwein and the automatic
``1 / L``, with their building blocks (see :mod:`descend.linesearch` for the protocol).

Everything here works on one point ``(p,)`` or on the rows of a batch ``(K, p)``; a state
holds numbers and arrays only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ._types import Array
from .errors import InvalidArgument, InvalidType

__all__ = [
    "Auto", "Backtracking", "BarzilaiBorwein", "Evaluator", "check_step", "estimate_lipschitz",
    "rowdot", "scale",
]

StepOut = tuple[Any, Array, Any, Any]

_SQRT_EPS = float(np.sqrt(np.finfo(np.float64).eps))
_MAX = float(np.finfo(np.float64).max)


class Evaluator(Protocol):
    """What a policy may evaluate: f and its gradient at a point or at the rows of a batch.

    A point is ``(p,)``, a batch ``(n, p)``. ``rows`` (a boolean mask or indices into the
    batch of the current step) says which runs a partial batch belongs to, for the
    evaluation counts.
    """

    def value(self, x: Array, rows: Any = None) -> Any:
        """The value of f at ``x``, counted as one evaluation per run.

        Parameters
        ----------
        x : ndarray (p,) or (n, p)
            The point, or one point per run.
        rows : bool mask or int indices, optional
            The runs of the current batch that the rows of ``x`` belong to (all of them
            when None).

        Returns
        -------
        float or ndarray (n,)
            The values.
        """
        ...

    def gradient(self, x: Array, rows: Any = None) -> Array:
        """The gradient at ``x``, counted as one evaluation per run.

        Parameters
        ----------
        x : ndarray (p,) or (n, p)
            The point, or one point per run.
        rows : bool mask or int indices, optional
            The runs of the current batch that the rows of ``x`` belong to (all of them
            when None).

        Returns
        -------
        ndarray (p,) or (n, p)
            The gradients.
        """
        ...


def rowdot(a: Array, b: Array) -> Any:
    """``<a, b>`` per run: a float for ``(p,)``, ``(K,)`` for ``(K, p)``.

    Parameters
    ----------
    a, b : ndarray (p,) or (K, p)
        The vectors, one row per run.

    Returns
    -------
    float or ndarray (K,)
        The inner products.
    """
    if a.ndim == 1:
        return float(a @ b)
    return np.einsum("ij,ij->i", a, b)


def scale(t: Any, d: Array) -> Array:
    """``t * d`` with one step per run, in ``d``'s dtype.

    A float32 run multiplies by its steps rounded to float32, as NumPy does with a Python
    number.

    Parameters
    ----------
    t : float or ndarray (K,)
        The step, or one step per run.
    d : ndarray (p,) or (K, p)
        The direction, one row per run.

    Returns
    -------
    ndarray
        The scaled direction, shaped and typed as ``d``.
    """
    if d.ndim == 2 and np.ndim(t) == 1:
        return np.asarray(t).astype(d.dtype, copy=False)[:, None] * d
    return t * d  # type: ignore[no-any-return]


def check_step(value: Any, what: str) -> float:
    """A step given as a number: finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidType(f"lr: {what} must be a number > 0, got {type(value).__name__}",
                          argument="lr")
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise InvalidArgument(f"lr: {what} must be a finite number > 0, got {value!r}",
                              argument="lr")
    return v


def _armijo(
    ev: Evaluator, x: Array, f: Any, d: Array, slope: Any, t: Any, f_ref: Any,
    c: float = 1e-4, shrink: float = 0.5, max_halvings: int = 60,
) -> tuple[Any, Array, Any]:
    """Shrink ``t`` until ``f(x - t d) <= f_ref - c t slope``; ``t = 0`` where none works.

    A slope that overflowed (``|g| > 1e154``) counts as the largest float, so that a tiny
    step can still pass."""
    slope = float(min(slope, _MAX)) if x.ndim == 1 else np.minimum(slope, _MAX)
    if x.ndim == 1:
        for _ in range(max_halvings):
            xn = x - t * d
            fn = float(ev.value(xn))
            if fn <= f_ref - c * t * slope:  # False for nan
                return t, xn, fn
            t *= shrink
        return 0.0, x.copy(), f
    ts: Array = np.array(t, dtype=np.float64, copy=True)
    xn = x - scale(ts, d)
    fs: Array = np.asarray(ev.value(xn), dtype=np.float64)
    bad = ~(fs <= f_ref - c * ts * slope)
    for _ in range(max_halvings):
        if not bad.any():
            break
        ts[bad] *= shrink
        xn[bad] = x[bad] - scale(ts[bad], d[bad])
        fs[bad] = ev.value(xn[bad], rows=bad)
        bad &= ~(fs <= f_ref - c * ts * slope)
    if bad.any():
        ts[bad] = 0.0
        xn[bad] = x[bad]
        fs[bad] = f[bad]
    return ts, xn, fs


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

    The first step tried is at most ``t_max``.

    Parameters
    ----------
    t0 : float, default 1.0
        The first step tried (> 0).
    c : float, default 1e-4
        Armijo's constant: a step ``t`` is accepted when
        ``f(x - t d) <= f(x) - c t <g, d>``.
    shrink : float, default 0.5
        The factor a refused step is multiplied by.
    t_max : float, optional
        The largest step tried: Newton's steps take ``t_max=1`` (their natural step is 1,
        and a step of 2 would cost a refused evaluation each time). None: no limit.
    flat : bool or float, default False
        At the resolution of ``f`` (the decrease the first step promises, ``t <g, d>``, is
        within ``f``'s rounding, :data:`FLAT` ``max(|f|, flat)``), Armijo's test compares
        rounding errors and may refuse every step: accept the first step instead when ``f``
        stays within that rounding and the gradient's norm falls (one gradient at the trial
        point; single runs only). A number is the size of the terms ``f`` sums, when it is
        what is left after they cancel (the Poisson loss). The linear models' Newton steps
        use it.
    """

    name = "backtracking"

    def __init__(self, t0: float = 1.0, c: float = 1e-4, shrink: float = 0.5,
                 t_max: float | None = None, flat: bool | float = False) -> None:
        self.t0 = check_step(t0, "t0")
        self.c, self.shrink = c, shrink
        self.t_max = None if t_max is None else check_step(t_max, "t_max")
        if isinstance(flat, bool) or flat is None:
            self.flat, self.flat_scale = bool(flat), 0.0
        else:
            self.flat, self.flat_scale = True, abs(float(flat))

    def init(self, ev: Evaluator, x: Array, f: Any, g: Array) -> Any:
        return self.t0 / 2.0 if x.ndim == 1 else np.full(x.shape[0], self.t0 / 2.0)

    def step(self, k: int, state: Any, ev: Evaluator, x: Array, f: Any, g: Array,
             d: Array) -> StepOut:
        t_last = self.t0 / 2.0 if state is None else state  # None: the state of another policy
        d, slope = _descent(g, d)
        start = t_last * 2.0 if self.t_max is None else np.minimum(t_last * 2.0, self.t_max)
        if self.flat and x.ndim == 1:
            noise = FLAT * max(abs(float(f)), self.flat_scale)
            if 0.0 < float(start) * float(slope) <= noise:
                xn = x - start * d
                fn = float(ev.value(xn))
                if fn <= f - self.c * start * slope or (
                        abs(fn - float(f)) <= noise
                        and float(np.linalg.norm(ev.gradient(xn))) < float(np.linalg.norm(g))):
                    return start, xn, fn, start
                start = start * self.shrink  # refused: Armijo goes on from the next step
        t, xn, fn = _armijo(ev, x, f, d, slope, start, f, self.c, self.shrink)
        t_next = np.where(t > 0, t, t_last) if np.ndim(t) else (t if t > 0 else t_last)
        return t, xn, fn, t_next


#: the relative rounding of ``f`` that :class:`Backtracking`'s ``flat`` option allows (sums of
#: millions of terms round by up to about this much)
FLAT = 1e-12


def _hvp_step(ev: Evaluator, x: Array, g: Array, v: Array) -> Array:
    """Hessian times ``v`` by a forward difference of gradients."""
    vn = np.sqrt(np.maximum(rowdot(v, v), 1e-300))
    xn = np.sqrt(rowdot(x, x))
    h = _SQRT_EPS * (1.0 + xn) / vn
    gv = np.asarray(ev.gradient(x + scale(h, v)), dtype=np.float64)
    return scale(1.0 / h, gv - g)


class _Grad:
    """An :class:`Evaluator` over a bare gradient function (for :func:`estimate_lipschitz`)."""

    def __init__(self, grad: Callable[[Array], Any]) -> None:
        self.grad, self.calls = grad, 0

    def value(self, x: Array, rows: Any = None) -> Any:  # pragma: no cover - never asked
        raise NotImplementedError

    def gradient(self, x: Array, rows: Any = None) -> Array:
        self.calls += 1
        return np.asarray(self.grad(x), dtype=np.float64)


def estimate_lipschitz(
    evalg: Callable[[Array], Any] | Evaluator, x: Array, g: Array | None = None, *,
    iters: int = 30, rtol: float = 1e-6,
) -> tuple[Any, int]:
    """Largest Hessian eigenvalue magnitude at ``x`` by power iteration.

    Uses Hessian-vector products from gradient differences. Exact (to rounding) for
    quadratics, where it is the gradient's Lipschitz constant.

    Parameters
    ----------
    evalg : callable or Evaluator
        A gradient function ``x -> grad f(x)``, or an :class:`Evaluator`.
    x : ndarray (p,) or (K, p)
        The point, or one point per run.
    g : ndarray, optional
        The gradient at ``x``, when it is known (saves one evaluation).
    iters : int, default 30
        The most power iterations.
    rtol : float, default 1e-6
        Stop when the estimate changes by at most this, relatively.

    Returns
    -------
    L : float or ndarray (K,)
        The estimate.
    n_grad : int
        The gradient evaluations it took.
    """
    ev: Any = evalg if hasattr(evalg, "gradient") else _Grad(evalg)
    n = 0
    if g is None:
        g = np.asarray(ev.gradient(x), dtype=np.float64)
        n += 1
    rng = np.random.default_rng(0)
    gnorm = np.sqrt(np.maximum(rowdot(g, g), 1e-300))
    v = g + 1e-3 * scale(gnorm, rng.standard_normal(x.shape))
    lam: Any = 0.0
    for _ in range(iters):
        norm = np.sqrt(np.maximum(rowdot(v, v), 1e-300))
        v = scale(1.0 / norm, v)
        hv = _hvp_step(ev, x, g, v)
        n += 1
        new = np.abs(rowdot(v, hv))
        done = np.all(np.abs(new - lam) <= rtol * np.maximum(new, 1e-300))
        lam, v = new, hv
        if done:
            break
    return lam, n


class Auto:
    """``t = 1 / L`` from a running estimate of the local Lipschitz constant ``L``.

    Parameters
    ----------
    lipschitz : float, optional
        A known bound on the gradient's Lipschitz constant (a model's loss knows one):
        then nothing is estimated and the step is ``1 / (lipschitz * (1 + decay * k))``,
        never backed off.
    decay : float, default 0.0
        With ``lipschitz``: the decay of the step with the step number ``k`` (for
        mini-batches, whose gradients are noisy).
    """

    name = "auto"

    def __init__(self, lipschitz: float | None = None, decay: float = 0.0) -> None:
        self.lipschitz = None if lipschitz is None else check_step(lipschitz, "lipschitz")
        d = float(decay)
        if not (math.isfinite(d) and d >= 0.0):
            raise InvalidArgument(f"decay: must be a finite number >= 0, got {decay!r}",
                                  argument="decay")
        self.decay = d

    def init(self, ev: Evaluator, x: Array, f: Any, g: Array) -> Any:
        if self.lipschitz is not None:
            return None
        lip, _ = estimate_lipschitz(ev, x, g)
        ok = np.isfinite(lip) & (lip > 0)
        lip = np.where(ok, lip, 1.0) if np.ndim(lip) else (lip if ok else 1.0)
        # provisional: the next secant replaces the estimate rather than raising it (the
        # power iteration differences gradients over a tiny step, which noise, as finite
        # differences', can inflate a thousandfold)
        return (lip, None, None, np.ones(np.shape(lip), dtype=bool) if np.ndim(lip) else True)

    def step(self, k: int, state: Any, ev: Evaluator, x: Array, f: Any, g: Array,
             d: Array) -> StepOut:
        if state is None:
            t = 1.0 / (self.lipschitz * (1.0 + self.decay * k))  # type: ignore[operator]
            return t, x - t * d, None, None
        lip, x_prev, g_prev, provisional = state[0], state[1], state[2], state[3]
        if x_prev is not None:
            s, y = x - x_prev, g - g_prev
            ss = rowdot(s, s)
            with np.errstate(all="ignore"):
                secant = np.sqrt(rowdot(y, y) / np.where(ss > 0, ss, np.inf))
            seen = np.isfinite(secant) & (secant > 0)
            raised = np.maximum(lip, secant)
            lip = np.where(seen, np.where(provisional, secant, raised), lip)
            provisional = provisional & ~seen
            if x.ndim == 1:
                lip, provisional = float(lip), bool(provisional)
        t = 1.0 / lip
        xn = x - scale(t, d)
        fn = ev.value(xn)
        # a rise by rounding (a few ulps of f) is no evidence of curvature: only a real one
        # makes the step back off
        fa = np.asarray(f, dtype=np.float64)
        slack = 8.0 * np.finfo(np.float64).eps * np.abs(fa)
        rise = ~(np.asarray(fn) <= fa + slack)
        if np.any(rise):  # never let f increase: back off as Armijo with c = 0
            d2, slope = _descent(g, d)
            if x.ndim == 1:
                t2, xn2, fn2 = _armijo(ev, x, f + float(slack), d2, slope, t, f + float(slack),
                                       0.0)
                t, xn, fn = t2, xn2, (fn2 if t2 > 0 else f)
                if t2 > 0:  # the back-off is provisional too: the next secant decides
                    lip, provisional = 1.0 / t2, True
            else:
                sub = np.flatnonzero(rise)
                fs = f[sub] + slack[sub]
                t2, xn2, fn2 = _armijo(_Rows(ev, sub), x[sub], fs, d2[sub], slope[sub],
                                       t[sub], fs, 0.0)
                fn2 = np.where(t2 > 0, fn2, f[sub])
                t, xn, fn = t.copy(), xn.copy(), np.array(fn, dtype=np.float64)
                t[sub], xn[sub], fn[sub] = t2, xn2, fn2
                lip, provisional = lip.copy(), provisional.copy()
                backed = t2 > 0
                lip[sub] = np.where(backed, 1.0 / np.where(backed, t2, 1.0), lip[sub])
                provisional[sub] = provisional[sub] | backed
        return t, xn, fn, (lip, x, g, provisional)


class _Rows:
    """An evaluator restricted to some rows of the batch (for the counts)."""

    def __init__(self, ev: Evaluator, rows: Any) -> None:
        self.ev, self.rows = ev, rows

    def value(self, x: Array, rows: Any = None) -> Any:
        return self.ev.value(x, rows=self.rows if rows is None else self.rows[rows])

    def gradient(self, x: Array, rows: Any = None) -> Array:
        return self.ev.gradient(x, rows=self.rows if rows is None else self.rows[rows])


class BarzilaiBorwein:
    """Barzilai-Borwein steps with a non-monotone Armijo safeguard (memory ``m``).

    Parameters
    ----------
    m : int, default 10
        How many past values the Armijo test compares with (the largest of them).
    c : float, default 1e-4
        Armijo's constant.
    """

    name = "bb"

    def __init__(self, m: int = 10, c: float = 1e-4) -> None:
        self.m, self.c = m, c

    def init(self, ev: Evaluator, x: Array, f: Any, g: Array) -> Any:
        # First step: the exact line-search step along -g of the local quadratic model.
        # Along the unit vector u = g / |g|: t0 = 1 / <u, H u> (= <g, g> / <g, H g>, whose
        # factors overflow where |g| > 1e154, as exp(x) at x = 700).
        gn = np.sqrt(np.maximum(rowdot(g, g), 1e-300))
        u = scale(1.0 / gn, g)
        hu = _hvp_step(ev, x, g, u)
        curv = rowdot(u, hu)
        # Negative curvature: no model minimum; take 1/|curvature| and let Armijo check it.
        hh = rowdot(hu, hu)
        flat = np.where(hh > 0, 1.0 / np.sqrt(np.where(hh > 0, hh, 1.0)), 1e-3 / gn)
        t0 = np.where(curv > 0, 1.0 / np.where(curv > 0, curv, 1.0), flat)
        t0 = np.where(np.isfinite(t0) & (t0 > 0), t0, 1e-3 / gn)
        return (float(t0) if x.ndim == 1 else t0, None, None, [f])

    def step(self, k: int, state: Any, ev: Evaluator, x: Array, f: Any, g: Array,
             d: Array) -> StepOut:
        t, x_prev, g_prev, hist = state
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
        t, xn, fn = _armijo(ev, x, f, d, slope, t, f_ref, self.c)
        hist = [*hist[-(self.m - 1):], fn]
        return t, xn, fn, (t, x, g, hist)
