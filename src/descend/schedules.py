r"""Step-size schedules: functions ``k -> t_k`` of the iteration number ``k = 0, 1, ...``.

Pass one as ``minimize(..., lr=schedule)``; any ``Callable[[int], float]`` works.

Examples
--------
>>> s = inverse_time(0.1, decay=1.0)
>>> [round(s(k), 4) for k in range(3)]
[0.1, 0.05, 0.0333]
"""

from __future__ import annotations

import math

from ._types import Schedule
from .errors import InvalidArgument

__all__ = ["constant", "cosine_decay", "exponential_decay", "inverse_time", "step_decay"]


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or (v == 0.0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise InvalidArgument(f"{name}: must be finite and {need}, got {value!r}", argument=name)
    return v


def constant(lr: float) -> Schedule:
    r""":math:`t_k = \text{lr}`: the same step every iteration.

    Parameters
    ----------
    lr : float
        The step size, finite and > 0.

    Returns
    -------
    callable
        The schedule ``k -> t_k``.
    """
    t = _positive("lr", lr)
    return lambda k: t


def inverse_time(lr: float, decay: float = 1.0) -> Schedule:
    r""":math:`t_k = \text{lr} / (1 + \text{decay}\cdot k)`.

    Parameters
    ----------
    lr : float
        The step size, finite and > 0.
    decay : float, default 1.0
        How fast the step shrinks, >= 0 (0: constant).

    Returns
    -------
    callable
        The schedule ``k -> t_k``.
    """
    t, d = _positive("lr", lr), _positive("decay", decay, allow_zero=True)
    return lambda k: t / (1.0 + d * k)


def exponential_decay(lr: float, rate: float = 0.99) -> Schedule:
    r""":math:`t_k = \text{lr}\cdot\text{rate}^k`.

    Parameters
    ----------
    lr : float
        The step size, finite and > 0.
    rate : float, default 0.99
        The factor per iteration, ``0 < rate <= 1``.

    Returns
    -------
    callable
        The schedule ``k -> t_k``.
    """
    t, r = _positive("lr", lr), _positive("rate", rate)
    if r > 1.0:
        raise InvalidArgument(f"rate: must be in (0, 1], got {rate!r}", argument="rate")
    return lambda k: t * r**k


def step_decay(lr: float, drop: float = 0.5, every: int = 100) -> Schedule:
    r""":math:`t_k = \text{lr}\cdot\text{drop}^{\lfloor k / \text{every} \rfloor}`.

    Parameters
    ----------
    lr : float
        The step size, finite and > 0.
    drop : float, default 0.5
        The factor applied every ``every`` iterations, > 0.
    every : int, default 100
        Iterations between drops, >= 1.

    Returns
    -------
    callable
        The schedule ``k -> t_k``.
    """
    t, d = _positive("lr", lr), _positive("drop", drop)
    if int(every) != every or every < 1:
        raise InvalidArgument(f"every: must be an integer >= 1, got {every!r}", argument="every")
    n = int(every)
    return lambda k: t * d ** (k // n)


def cosine_decay(lr: float, steps: int, final: float = 0.0) -> Schedule:
    r"""Cosine from ``lr`` to ``final`` over ``steps`` iterations, then ``final``.

    .. math:: t_k = \text{final} + \tfrac12(\text{lr}-\text{final})(1+\cos(\pi \min(k, S)/S))

    Parameters
    ----------
    lr : float
        The step size, finite and > 0.
    steps : int
        ``S``, the iterations the decay takes, >= 1.
    final : float, default 0.0
        The step after ``steps`` iterations, >= 0.

    Returns
    -------
    callable
        The schedule ``k -> t_k``.
    """
    t, f = _positive("lr", lr), _positive("final", final, allow_zero=True)
    if int(steps) != steps or steps < 1:
        raise InvalidArgument(f"steps: must be an integer >= 1, got {steps!r}", argument="steps")
    s = int(steps)
    return lambda k: f + 0.5 * (t - f) * (1.0 + math.cos(math.pi * min(k, s) / s))
