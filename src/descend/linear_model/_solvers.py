"""The optimizers of the linear models' ``method="auto"``: FISTA with adaptive restart in a
majorization's metric (:func:`accelerated`) and conjugate gradients on a quadratic
(:func:`conjugate`). Both are optimizers of the loop (:mod:`descend.optimizers`'
``(init, update)`` contract): the loop's rules stop them, as any other method.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import optimizers
from .._types import Array

__all__ = ["accelerated", "conjugate", "newton_cg"]


def accelerated(pre: Any, lr: float, momentum: bool) -> optimizers.Optimizer:
    """FISTA with gradient restart as an optimizer of the loop.

    The loop's point is FISTA's extrapolated point ``y``; ``pre(g, y)`` is the step of the
    majorization at ``y`` (``x = y - lr pre(g)``), or without momentum any preconditioned
    step (the GLMs' Newton step ``H(y)^+ g``); the state keeps the last ``x``. The
    direction returned moves the loop from ``y`` to the next ``y = x + beta (x - x_prev)``,
    ``beta = k / (k + 3)``, and ``k`` restarts at 0 when the momentum points uphill
    (O'Donoghue and Candes). ``momentum=False``: the majorization steps alone.
    """

    def init(x: Array) -> tuple[Any, ...]:
        return (np.array(x, dtype=np.float64, copy=True), np.zeros(1))

    def update(g: Array, state: tuple[Any, ...], y: Array) -> tuple[Array, tuple[Any, ...]]:
        prev, k = state
        u = np.asarray(pre(np.asarray(g, dtype=np.float64).ravel(),
                           np.asarray(y, dtype=np.float64).ravel()), dtype=np.float64)
        u = u.reshape(np.shape(y))
        if not momentum:
            return u, (prev, k)
        x = y - lr * u
        kk = float(k[0])
        if float(np.vdot(y - x, x - prev)) > 0.0:
            kk = 0.0
        beta = kk / (kk + 3.0)
        y_next = x + beta * (x - prev)
        return (y - y_next) / lr, (x, np.array([kk + 1.0]))

    return optimizers.Optimizer(init, update, "auto")


def conjugate(hess: Array) -> optimizers.Optimizer:
    """Conjugate gradients on a quadratic with Hessian ``hess`` as an optimizer of the loop.

    Gradient descent with momentum whose step and momentum are the optimal ones for a
    quadratic: the direction is ``d = g + beta d_prev`` with ``beta = |g|^2 / |g_prev|^2``
    (Fletcher-Reeves), restarted at ``d = g`` whenever it does not point downhill, and the
    step is the exact line minimum ``(g . d) / (d' hess d)`` along it. The loop's policy
    must be the fixed step 1 (the direction returned carries the step). In exact
    arithmetic it ends on the minimum in at most ``len(x)`` steps.
    """
    H = np.asarray(hess, dtype=np.float64)

    def init(x: Array) -> tuple[Any, ...]:
        return (np.zeros(np.size(x)), np.zeros(1))

    def update(g: Array, state: tuple[Any, ...], x: Array) -> tuple[Array, tuple[Any, ...]]:
        d_prev, gg_prev = state
        gv = np.asarray(g, dtype=np.float64).ravel()
        gg = float(gv @ gv)
        d = gv + (gg / float(gg_prev[0])) * d_prev if gg_prev[0] > 0 else gv
        if not float(gv @ d) > 0.0:  # adaptive restart: momentum pointing uphill
            d = gv
        curv = float(d @ (H @ d))
        a = float(gv @ d) / curv if curv > 0.0 else 0.0
        return (a * d).reshape(np.shape(x)), (d, np.array([gg]))

    return optimizers.Optimizer(init, update, "cg")


#: how far conjugate gradients solve a Newton system: the residual this fraction of the
#: gradient (an inexact Newton step: linear convergence at about this rate), at most
#: _CG_MAX products
_CG_RTOL, _CG_MAX = 0.1, 50


def newton_cg(hv: Any, g: Array) -> Array:
    """``d`` with ``|H d - g| <= 0.1 |g|`` by conjugate gradients from 0 (``hv(v) = H v``, ``H``
    positive semidefinite, ``g`` in its range): a descent direction at every iteration."""
    g = np.asarray(g, dtype=np.float64)
    d = np.zeros_like(g)
    r = g.copy()
    q = r.copy()
    rr = float(r @ r)
    stop = (_CG_RTOL ** 2) * rr
    for _ in range(_CG_MAX):
        if rr <= stop:
            break
        Hq = np.asarray(hv(q), dtype=np.float64)
        curv = float(q @ Hq)
        if not curv > 0.0:  # no curvature left along q (or not finite)
            break
        a = rr / curv
        d += a * q
        r -= a * Hq
        rr_new = float(r @ r)
        q = r + (rr_new / rr) * q
        rr = rr_new
    if not np.any(d):  # not one product had curvature: the gradient step
        return g.copy()
    return d
