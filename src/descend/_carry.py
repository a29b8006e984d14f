"""The carry of the loop: the state of K runs between calls, and how stopped runs are written.

:class:`Carry` is what :func:`descend._loop.run` continues; :func:`settle` writes out the
runs that stopped (every backend calls it with its stopping runs); :func:`take` keeps the
rows of an optimizer's or a policy's state that belong to the runs still going.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._types import AnyArray, Array
from .result import FIRST_DIVERGENCE
from .stopping import norms, projected, stable_step

__all__ = ["Carry", "settle", "take"]


@dataclass
class Carry:
    """The state of K runs between calls of :func:`run`; arrays are per run.

    Attributes
    ----------
    x, f, g : (K, p), (K,), (K, p)
        Each run's current point (the last accepted one), f and the gradient there.
    code : (K,) int8
        0 while the run goes on, else its :class:`~descend.result.Reason`.
    nit, nfev, njev : (K,) int64
        Accepted steps, function and gradient evaluations.
    fbound, xbound : (K,)
        The divergence bound on f and the runaway bound on ``||x||``.
    detail : (K,)
        The number behind the reason: the f that failed, the change in f (ftol), the step
        length (xtol), ``||x||`` (runaway).
    lr_max, t_last : (K,)
        For a diverged run, the largest stable fixed step along the refused step, and the
        step size that was refused.
    k : int
        Steps the loop has taken (the step number that schedules see).
    opt_state, policy_state :
        For the runs still going, in order (rows of batch arrays); for one run, its own.
    fresh : bool
        ``f`` and ``g`` are those of the problem at ``x`` (false after a mini-batch epoch, or
        when the data changes: the next call evaluates first).
    lower, upper : (p,) or None
        Bounds on x: each step is projected onto the box, and ``gtol`` tests the projected
        gradient (:func:`descend.stopping.projected`).

    ``x``, ``f`` and ``g`` have the runs' dtype (float32 runs stay float32).
    """

    x: Array
    f: Array
    g: Array
    code: AnyArray
    nit: AnyArray
    nfev: AnyArray
    njev: AnyArray
    fbound: Array
    xbound: Array
    detail: Array
    lr_max: Array
    t_last: Array
    k: int = 0
    opt_state: Any = None
    policy_state: Any = None
    fresh: bool = True
    lower: Array | None = None
    upper: Array | None = None

    @property
    def running(self) -> AnyArray:
        """Indices of the runs still going."""
        return np.flatnonzero(self.code == 0)

    @property
    def single(self) -> bool:
        return int(self.x.shape[0]) == 1

    @property
    def bounded(self) -> bool:
        return self.lower is not None

    def project(self, x: Any) -> Any:
        """``x`` clipped to the box (itself without bounds), in the runs' dtype."""
        if self.lower is None or self.upper is None:
            return x
        return np.minimum(np.maximum(x, self.lower), self.upper).astype(self.x.dtype,
                                                                          copy=False)

    def gradient_norms(self, x: Array, g: Array) -> Any:
        """The norms ``gtol`` tests: of ``g``, projected onto the box when there is one."""
        if self.lower is not None:
            g = projected(g, x, self.lower, self.upper)
        return norms(g)


def settle(
    carry: Carry, idx: AnyArray, code: AnyArray, accepted: AnyArray, evaluated: AnyArray,
    x: Array,
    f: Array, g: Array, detail: Array, t: Array, refused: tuple[Array, Array] | None = None,
    *, fd: int = 0, looked: Any = None,
) -> None:
    """Write out runs ``idx`` that stopped: their reason, counters and final point, and for
    the refused steps (divergence) the stable-step estimate from ``refused = (x', g')``.
    ``evaluated``: gradients the loop evaluated; ``looked``: values it evaluated (default
    as many; a line search evaluates its own); ``fd``: calls of f behind one gradient."""
    carry.code[idx] = code
    carry.nit[idx] += accepted
    carry.njev[idx] += evaluated
    carry.nfev[idx] += (evaluated if looked is None else looked) + evaluated * fd
    carry.x[idx], carry.f[idx], carry.g[idx] = x, f, g
    carry.detail[idx] = detail
    carry.t_last[idx] = t
    if refused is not None:
        div = code >= FIRST_DIVERGENCE
        if div.any():
            carry.lr_max[idx[div]] = stable_step(x[div], g[div], refused[0][div],
                                                 refused[1][div])


def take(tree: Any, keep: AnyArray, n: int) -> Any:
    """The rows ``keep`` (a mask over ``n`` runs) of every array in a state whose first axis
    has length ``n``; numbers and other arrays as they are."""
    if isinstance(tree, np.ndarray):
        return tree[keep] if tree.ndim >= 1 and tree.shape[0] == n else tree
    if isinstance(tree, tuple):
        items = [take(v, keep, n) for v in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, list):
        return [take(v, keep, n) for v in tree]
    if isinstance(tree, dict):
        return {k: take(v, keep, n) for k, v in tree.items()}
    return tree
