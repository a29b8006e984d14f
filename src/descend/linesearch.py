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
    ``t = 1 / L`` with ``L`` the local Lipschitz constant of the gradient: power
    iteration on Hessian-vector products (gradient differences) at the start, raised by
    secant estimates along the way, halved steps if f ever increases; exactly ``1/L`` on
    quadratics. Given ``lipschitz`` (a bound a model's loss knows), ``t_k = 1 / (L (1 +
    decay k))`` with nothing estimated

The protocol (:class:`StepPolicy`), which user-written policies follow too:

``init(ev, x, f, g) -> state``
    before the first step; ``ev`` evaluates the function (see :class:`Evaluator`).
``step(k, state, ev, x, f, g, d) -> (t, x_next, f_next or None, state)``
    step ``k = 0, 1, ...``; ``f_next`` is ``None`` when the loop should evaluate it.

Every policy works on one point ``(p,)`` (``f`` a float, ``t`` a float) or a batch
``(K, p)`` of independent runs (``f`` and ``t`` of shape ``(K,)``). The state holds
numbers and arrays only (no functions, so a resumable run pickles); in a batch, an
array in the state whose first axis has length ``K`` belongs to the runs row by row,
and the loop keeps only the rows of the runs still going. A step ``t`` must be finite
and ``>= 0``; with ``ends_on_zero = True`` a step of exactly 0 ends the run (a schedule
at its end), otherwise it means "stay this step".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._policies import (
    Auto,
    Backtracking,
    BarzilaiBorwein,
    Evaluator,
    check_step,
    estimate_lipschitz,
    rowdot,
    scale,
)
from ._types import Array, StepSize
from .errors import InvalidArgument, InvalidType

__all__ = [
    "Auto",
    "Backtracking",
    "BarzilaiBorwein",
    "Evaluator",
    "Fixed",
    "StepPolicy",
    "estimate_lipschitz",
    "get",
    "names",
    "rowdot",
    "scale",
]

StepOut = tuple[Any, Array, Any, Any]


@runtime_checkable
class StepPolicy(Protocol):
    """What the loop needs from a step-size policy (see the module docstring)."""

    name: str

    def init(self, ev: Evaluator, x: Array, f: Any, g: Array) -> Any:
        """State before the first step.

        Parameters
        ----------
        ev : Evaluator
            Evaluates f and the gradient (counted).
        x : ndarray (p,) or (K, p)
            The start, or one per run.
        f : float or ndarray (K,)
            f there.
        g : ndarray
            The gradient there.

        Returns
        -------
        object
            The policy's state: numbers and arrays only.
        """

    def step(self, k: int, state: Any, ev: Evaluator, x: Array, f: Any, g: Array,
             d: Array) -> StepOut:
        """Choose ``t`` and move.

        Parameters
        ----------
        k : int
            The step number, from 0.
        state : object
            The state from :meth:`init` or the previous step.
        ev : Evaluator
            Evaluates f and the gradient (counted).
        x : ndarray (p,) or (K, p)
            The current point(s).
        f : float or ndarray (K,)
            f there.
        g : ndarray
            The gradient there.
        d : ndarray
            The optimizer's direction: the step is ``x - t d``.

        Returns
        -------
        tuple
            ``(t, x_next, f_next or None, state)``: ``f_next`` is None when the loop should
            evaluate it.
        """


class Fixed:
    """A fixed step, a schedule ``k -> t_k``, or one fixed step per run of a batch.

    Parameters
    ----------
    lr : float, callable or array_like of shape (K,)
        A step ``> 0``; a schedule (``t_0`` must be finite and ``> 0``; a schedule that
        reaches exactly 0 ends the run there, status ``max_iter``); or ``K`` steps ``> 0``,
        run ``i`` of a batch ``(K, p)`` moving by ``lr[i]`` (a learning-rate sweep in one
        loop).

    Examples
    --------
    >>> import numpy as np
    >>> p = Fixed([0.1, 0.5])
    >>> state = p.init(None, np.ones((2, 2)), None, None)
    >>> t, xn, _, _ = p.step(0, state, None, np.ones((2, 2)), None, None, np.ones((2, 2)))
    >>> t.tolist(), xn.tolist()
    ([0.1, 0.5], [[0.9, 0.9], [0.5, 0.5]])
    """

    name = "fixed"

    def __init__(self, lr: float | Callable[[int], float] | Any) -> None:
        self.lr = lr
        self.value: float | None = None  # the one fixed step, when there is one
        self.steps: Array | None = None  # one per run
        self.schedule: Callable[[int], Any] | None = None
        if callable(lr):
            self.schedule = lr
        elif np.ndim(lr) == 0:
            self.value = check_step(lr, "the step")
        else:
            try:
                steps = np.array(lr, dtype=np.float64)
            except (TypeError, ValueError):
                steps = np.array([np.nan])
            if steps.ndim != 1 or steps.size == 0 or not np.all(np.isfinite(steps)
                                                                 & (steps > 0)):
                raise InvalidArgument(
                    f"lr: per-run steps must be a non-empty 1-D array of finite numbers > 0, "
                    f"got {lr!r:.80}",
                    argument="lr",
                )
            steps.flags.writeable = False
            self.steps = steps

    @property
    def ends_on_zero(self) -> bool:
        """A schedule that reaches 0 ends the run (a fixed step is never 0)."""
        return self.schedule is not None

    def init(self, ev: Any, x: Array, f: Any, g: Any) -> Any:
        if self.steps is not None:
            runs = x.shape[0] if x.ndim == 2 else 1
            if runs != self.steps.shape[0]:
                raise InvalidArgument(
                    f"lr: {self.steps.shape[0]} per-run steps need a batch of as many runs, "
                    f"got x0 of shape {x.shape}",
                    argument="lr",
                )
            # The rows follow the runs still going; one run on its own gets a number.
            return self.steps.copy() if x.ndim == 2 else float(self.steps[0])
        if self.schedule is not None:
            check_step(_scheduled(self.schedule, 0), "the schedule's first step t_0")
        return None

    def step(self, k: int, state: Any, ev: Any, x: Array, f: Any, g: Any, d: Array) -> StepOut:
        if state is not None:
            return state, x - scale(state, d), None, state
        t: Any = self.value if self.schedule is None else _scheduled(self.schedule, k)
        return t, x - t * d, None, state


def _scheduled(schedule: Callable[[int], Any], k: int) -> float:
    """``schedule(k)`` as a float ``>= 0`` (0 ends the run); anything else is an error."""
    t = schedule(k)
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise InvalidType(
            f"lr: the schedule must return a number, got {type(t).__name__} at k={k}",
            argument="lr",
        ) from None
    if not (math.isfinite(value) and value >= 0.0):
        raise InvalidArgument(
            f"lr: the schedule must return a finite step >= 0, got {t!r} at k={k}",
            argument="lr",
        )
    return value


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


def is_policy(obj: Any) -> bool:
    """Whether ``obj`` follows the :class:`StepPolicy` protocol (``init`` and ``step``)."""
    return callable(getattr(obj, "init", None)) and callable(getattr(obj, "step", None))


def get(lr: StepSize | StepPolicy) -> StepPolicy:
    """The policy for what a user passed as ``lr``, validated.

    Parameters
    ----------
    lr : float, callable, str or StepPolicy
        A number ``> 0``, a schedule ``k -> step``, one of :func:`names`, or an object that
        follows :class:`StepPolicy` (returned as it is).

    Returns
    -------
    StepPolicy
        The policy.

    Raises
    ------
    InvalidArgument, InvalidType
        Anything else, with ``lr`` named.
    """
    if is_policy(lr) and not isinstance(lr, type):
        return lr  # type: ignore[return-value]
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
        return Fixed(check_step(lr, "the step"))
    if callable(lr) and not isinstance(lr, type):
        return Fixed(lr)
    raise InvalidType(
        f"lr: expected a number > 0, a schedule k -> step, one of {', '.join(_POLICIES)}, "
        f"or a step policy (init, step), got {type(lr).__name__}",
        argument="lr",
    )
