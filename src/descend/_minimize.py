r"""``minimize``: one run of the loop (:mod:`descend._loop`), from a function and a start.

Each iteration asks the optimizer for a direction ``d_k``, the step policy for a step
``t_k``, moves ``x_{k+1} = x_k - t_k d_k`` (all coordinates at once), then evaluates ``f``
and its gradient at the new point, records them and applies the stopping rules of
:mod:`descend.stopping`. :func:`run_batch` is the same for a batch of K runs ``(K, p)``
(multi-start, learning-rate sweeps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _loop, linesearch, optimizers
from ._types import Array, StepSize
from .errors import InvalidArgument, InvalidType
from .linesearch import StepPolicy
from .objective import Objective, as_objective
from .result import Intermediate, Result
from .stopping import Criteria

__all__ = ["check_x0", "minimize", "run_batch"]


def minimize(
    fun: Any,
    x0: Any,
    *,
    grad: Callable[[Array], Any] | None = None,
    method: str | optimizers.Optimizer = "gd",
    lr: StepSize | StepPolicy = 0.1,
    max_iter: int = 1000,
    ftol: float | None = None,
    gtol: float | None = 1e-6,
    xtol: float | None = None,
    callback: Callable[[Intermediate], Any] | None = None,
    log_every: int | None = None,
    variables: Any = None,
) -> Result:
    r"""Minimize ``fun`` by gradient descent (or a relative) from ``x0``.

    Parameters
    ----------
    fun : callable, str, Formula or TestFunction
        ``fun(x) -> float`` for ``x`` a float64 array ``(p,)``; or a formula such as
        ``"x**2 + y**2"`` (parsed safely, exact gradient); or a catalog entry from
        :func:`descend.functions.get`.
    x0 : array_like or float
        The start, ``(p,)`` (a scalar means ``p = 1``).
    grad : callable, optional
        ``grad(x) -> (p,)``. Without it a callable gets central finite differences
        (``h_i = cbrt(eps) * max(1, |x_i|)``) and the message says so.
    method : str or Optimizer
        ``"gd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
        ``"adam"``, an object from :mod:`descend.optimizers`, or any object with
        ``init(x)`` and ``update(grad, state, x) -> (direction, state)``.
    lr : float, schedule, str or StepPolicy
        A fixed step ``> 0``, a schedule ``k -> t_k`` (one that reaches 0 ends the run),
        a policy name: ``"backtracking"``, ``"bb"``, ``"auto"``, or an object that follows
        :class:`descend.linesearch.StepPolicy`.
    max_iter : int
        Most steps taken.
    ftol, gtol, xtol : float or None
        Stop when ``|f(x_k) - f(x_{k+1})| < ftol``, ``||grad f|| <= gtol`` (also
        checked at ``x0``), or ``||x_{k+1} - x_k|| <= xtol``; ``None`` disables.
    callback : callable, optional
        Called after each step with an :class:`~descend.result.Intermediate`
        (``x, fun, nit, grad_norm, step_size``); raising ``StopIteration`` ends the
        run with status ``"callback"``.
    log_every : int, optional
        Print ``Epoch k: [x1, x2, ...]`` after steps ``0, N, 2N, ...`` (as seed 001).
    variables : sequence of str or str, optional
        Variable order for a formula string (default: alphabetical).

    Returns
    -------
    Result
        ``x, fun, jac, nit, nfev, njev, success, status, message`` and the path:
        ``path`` ``(nit+1, p)``, ``values``, ``grad_norms``, ``step_sizes``.

    Examples
    --------
    Seed 001: 5000 steps of 0.001 on the paraboloid from (6, -3).

    >>> import numpy as np
    >>> res = minimize(lambda v: v @ v, [6, -3], grad=lambda v: 2 * v, lr=0.001, max_iter=5000)
    >>> res.status, res.nit
    (<Status.MAX_ITER: 'max_iter'>, 5000)
    >>> res.x.tolist()
    [0.00026968555624761565, -0.00013484277812380783]
    """
    objective = as_objective(fun, grad, variables=variables)
    x = check_x0(x0)
    objective = objective.with_dimension(x.shape[0])
    opt = optimizers.get(method)
    policy = linesearch.get(lr)
    criteria = Criteria.make(max_iter, gtol, ftol, xtol)
    if log_every is not None and (
        isinstance(log_every, bool) or not isinstance(log_every, (int, np.integer)) or log_every < 1
    ):
        raise InvalidArgument(
            f"log_every: must be an integer >= 1 or None, got {log_every!r}", argument="log_every"
        )
    if callback is not None and not callable(callback):
        raise InvalidType(
            f"callback: expected a callable or None, got {type(callback).__name__}",
            argument="callback",
        )
    f0, g0 = objective.check(x)
    carry = _loop.start(objective, x, opt, policy, criteria, f0=f0, g0=g0)
    _, out = _loop.run(objective, carry, opt, policy, criteria, record=True, callback=callback,
                       log_every=None if log_every is None else int(log_every))
    return out.result(0)


def run_batch(
    objective: Objective,
    x0: Array,
    *,
    method: str | optimizers.Optimizer = "gd",
    lr: StepSize | StepPolicy = 0.1,
    max_iter: int = 1000,
    ftol: float | None = None,
    gtol: float | None = 1e-6,
    xtol: float | None = None,
    record: bool = True,
    backend: str = "auto",
) -> _loop.Outcome:
    """Advance K independent runs ``x0 (K, p)`` together through the loop; the outcome's
    ``result(i)`` is run ``i`` (with its path when ``record``), ``carry`` the arrays."""
    opt = optimizers.get(method)
    policy = linesearch.get(lr)
    criteria = Criteria.make(max_iter, gtol, ftol, xtol)
    x = np.asarray(x0, dtype=np.float64)
    if x.ndim != 2:
        raise InvalidArgument(f"x0: expected a batch (K, p), got shape {x.shape}",
                              argument="x0")
    carry = _loop.start(objective, x, opt, policy, criteria)
    _, out = _loop.run(objective, carry, opt, policy, criteria, record=record, backend=backend)
    return out


def check_x0(x0: Any) -> Array:
    """``x0`` as a finite float64 vector ``(p,)``, or an error naming ``x0``."""
    try:
        x = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"x0: expected a number or a sequence of numbers, got {x0!r:.80}", argument="x0"
        ) from None
    if np.iscomplexobj(np.asarray(x0)):
        raise InvalidType("x0: must be real, got complex values", argument="x0")
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise InvalidArgument(
            f"x0: expected one point, a 1-D sequence, got shape {x.shape}", argument="x0"
        )
    if x.size == 0:
        raise InvalidArgument("x0: must not be empty; give one number per variable",
                              argument="x0")
    if not np.all(np.isfinite(x)):
        raise InvalidArgument(f"x0: must be finite, got {x.tolist()}", argument="x0")
    return x
