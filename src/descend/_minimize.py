r"""``minimize``: one run of the loop (:mod:`descend._loop`), from a function and a start.

Each iteration asks the optimizer for a direction ``d_k``, the step policy for a step
``t_k``, moves ``x_{k+1} = x_k - t_k d_k`` (all coordinates at once), then evaluates ``f``
and its gradient at the new point, records them and applies the stopping rules of
:mod:`descend.stopping`. :func:`run_batch` is the same for a batch of K runs ``(K, p)``
(multi-start, learning-rate sweeps).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _loop, linesearch, optimizers
from ._types import Array, StepSize
from .errors import InvalidArgument, InvalidType
from .linesearch import StepPolicy
from .objective import Objective, as_objective
from .result import Intermediate, Result
from .stopping import Criteria, check_tol, default_gtol

__all__ = ["DEFAULT_LR", "check_bounds", "check_x0", "minimize", "problem_of", "resolve_gtol",
           "run_batch"]

#: The default step policy of :func:`minimize`, :func:`run_batch` (so of ``multistart``)
#: and the command line: Barzilai-Borwein steps with a non-monotone Armijo safeguard
#: (:class:`descend.linesearch.BarzilaiBorwein`). It needs no tuning and reaches a
#: stationary point from every catalog function's standard start within the default
#: budget (``benchmarks/bench_defaults.py``), where a fixed step such as 0.1 diverges on
#: Rosenbrock, Himmelblau and Beale.
DEFAULT_LR = "bb"


def minimize(
    fun: Any,
    x0: Any,
    args: Any = (),
    *,
    grad: Any = None,
    jac: Any = None,
    method: str | optimizers.Optimizer = "gd",
    lr: StepSize | StepPolicy = DEFAULT_LR,
    max_iter: int = 1000,
    ftol: float | None = None,
    gtol: float | str | None = "auto",
    xtol: float | None = None,
    tol: float | None = None,
    bounds: Any = None,
    callback: Callable[[Intermediate], Any] | None = None,
    log_every: int | None = None,
    variables: Any = None,
) -> Result:
    r"""Minimize ``fun`` by gradient descent (or a relative) from ``x0``.

    Parameters
    ----------
    fun : callable, str, Formula or TestFunction
        ``fun(x, *args) -> float`` for ``x`` an array ``(p,)``; or a formula such as
        ``"x**2 + y**2"`` (parsed safely, exact gradient); or a catalog entry from
        :func:`descend.functions.get`.
    x0 : array_like or float
        The start, ``(p,)`` (a scalar means ``p = 1``). A float32 start keeps the run in
        float32 (every point, value, gradient and the result); anything else runs in
        float64.
    args : tuple, optional
        Extra arguments for ``fun`` and ``grad`` (a callable's), as in scipy.
    grad : callable or str, optional
        ``grad(x, *args) -> (p,)``, or how to get the gradient of a callable ``fun``:
        ``"auto"`` (the default, as None) differentiates ``fun`` exactly when it is
        written with ``jax.numpy`` (jit-compiled ``value_and_grad``) or ``torch``
        (autograd), else by central finite differences
        (``h_i = cbrt(eps) * max(1, |x_i|)``); ``"fd"`` forces finite differences;
        ``"jax"`` or ``"torch"`` force that library (an error when it cannot trace
        ``fun``). ``Result.grad_method`` and the message say which was used.
    jac : callable, bool or str, optional
        scipy's name for ``grad`` (give one of them): a callable or a string is ``grad``;
        ``True`` means ``fun`` returns ``(f, grad)``; ``False``, ``"2-point"``,
        ``"3-point"``: finite differences (``grad="fd"``).
    method : str or Optimizer
        ``"gd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
        ``"adam"``, an object from :mod:`descend.optimizers`, or any object with
        ``init(x)`` and ``update(grad, state, x) -> (direction, state)``.
    lr : float, schedule, str or StepPolicy
        A fixed step ``> 0``, a schedule ``k -> t_k`` (one that reaches 0 ends the run),
        a policy name: ``"backtracking"``, ``"bb"``, ``"auto"``, or an object that follows
        :class:`descend.linesearch.StepPolicy`. Default ``"bb"`` (:data:`DEFAULT_LR`):
        Barzilai-Borwein steps, safeguarded, which need no tuning; give a number for
        plain fixed-step gradient descent.
    max_iter : int
        Most steps taken.
    ftol, gtol, xtol : float or None
        Stop when ``|f(x_k) - f(x_{k+1})| < ftol``, ``||grad f|| <= gtol`` (also
        checked at ``x0``), or ``||x_{k+1} - x_k|| <= xtol``; ``None`` disables.
        ``gtol="auto"``: 1e-6 in float64, scaled to the dtype's epsilon in float32
        (:func:`descend.stopping.default_gtol`).
    tol : float, optional
        scipy's tolerance: sets ``gtol`` (give one of them).
    bounds : sequence of (low, high) or scipy.optimize.Bounds, optional
        One pair per coordinate, ``None`` for no bound on that side. Each step is
        projected onto the box (projected gradient descent; ``x0`` is clipped into it),
        ``gtol`` tests the projected gradient, and the message names the coordinates
        that end on a bound.
    callback : callable, optional
        Called after each step with an :class:`~descend.result.Intermediate`
        (``x, fun, nit, grad_norm, step_size``); raising ``StopIteration`` ends the
        run with status ``"callback"``.
    log_every : int, optional
        Print ``Epoch k: [x1, x2, ...]`` after steps ``0, N, 2N, ...`` (as the paraboloid tutorial).
    variables : sequence of str or str, optional
        Variable order for a formula string (default: alphabetical).

    Returns
    -------
    Result
        ``x, fun, jac, nit, nfev, njev, success, status, message`` and the path:
        ``path`` ``(nit+1, p)``, ``values``, ``grad_norms``, ``step_sizes``; the best
        point ``x_best``, ``fun_best``; it reads as a mapping too (``res["x"]``).

    Examples
    --------
    Seed 001: 5000 steps of 0.001 on the paraboloid from (6, -3).

    >>> import numpy as np
    >>> res = minimize(lambda v: v @ v, [6, -3], grad=lambda v: 2 * v, lr=0.001, max_iter=5000)
    >>> res.status, res.nit
    (<Status.MAX_ITER: 'max_iter'>, 5000)
    >>> res.x.tolist()
    [0.00026968555624761565, -0.00013484277812380783]

    scipy's conventions: ``args``, ``jac=True``, ``bounds``.

    >>> res = minimize(lambda v, c: ((v - c) ** 2).sum(), [0.5], args=(3.0,),
    ...                jac=lambda v, c: 2 * (v - c), bounds=[(0, 1)])
    >>> res.x.tolist(), res.success, res.on_bound
    ([1.0], True, ('x1 = 1 (upper)',))
    """
    objective = problem_of(fun, args, grad, jac, variables)
    x = check_x0(x0)
    objective = objective.with_dimension(x.shape[0])
    opt = optimizers.get(method)
    policy = linesearch.get(lr)
    criteria = Criteria.make(max_iter, resolve_gtol(gtol, tol, x.dtype), ftol, xtol)
    box = check_bounds(bounds, x.shape[0])
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
    if box is not None:
        x = np.minimum(np.maximum(x, box[0]), box[1]).astype(x.dtype)
    objective = objective.resolve_gradient(x)
    f0, g0 = objective.check(x)
    carry = _loop.start(objective, x, opt, policy, criteria, f0=f0, g0=g0, bounds=box)
    _, out = _loop.run(objective, carry, opt, policy, criteria, record=True, callback=callback,
                       log_every=None if log_every is None else int(log_every))
    return out.result(0)


def run_batch(
    objective: Objective,
    x0: Array,
    *,
    method: str | optimizers.Optimizer = "gd",
    lr: StepSize | StepPolicy = DEFAULT_LR,
    max_iter: int = 1000,
    ftol: float | None = None,
    gtol: float | str | None = "auto",
    xtol: float | None = None,
    record: bool = True,
    backend: str = "auto",
) -> _loop.Outcome:
    """Advance K independent runs ``x0 (K, p)`` together through the loop; the outcome's
    ``result(i)`` is run ``i`` (with its path when ``record``), ``carry`` the arrays."""
    opt = optimizers.get(method)
    policy = linesearch.get(lr)
    x = np.asarray(x0, dtype=_loop.dtype_of(x0))
    criteria = Criteria.make(max_iter, resolve_gtol(gtol, None, x.dtype), ftol, xtol)
    if x.ndim != 2:
        raise InvalidArgument(f"x0: expected a batch (K, p), got shape {x.shape}",
                              argument="x0")
    carry = _loop.start(objective, x, opt, policy, criteria)
    _, out = _loop.run(objective, carry, opt, policy, criteria, record=record, backend=backend)
    return out


def check_x0(x0: Any) -> Array:
    """``x0`` as a finite vector ``(p,)`` (float32 for a float32 start, else float64), or
    an error naming ``x0``."""
    try:
        x = np.array(x0, dtype=_loop.dtype_of(x0))
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


def resolve_gtol(gtol: Any, tol: Any, dtype: Any) -> Any:
    """``gtol`` from ``gtol`` and scipy's ``tol`` (one of them), ``"auto"`` scaled to
    ``dtype``."""
    if tol is not None:
        if not (isinstance(gtol, str) and gtol == "auto"):
            raise InvalidArgument("tol: give tol (scipy's name) or gtol, not both",
                                  argument="tol")
        return check_tol("tol", tol)
    if isinstance(gtol, str):
        if gtol != "auto":
            raise InvalidArgument(f"gtol: expected a number >= 0, None or 'auto', got "
                                  f"{gtol!r}", argument="gtol")
        return default_gtol(dtype)
    return gtol


def check_bounds(bounds: Any, p: int) -> tuple[Array, Array] | None:
    """``bounds`` (one ``(low, high)`` per coordinate, None for a free side, or an object
    with ``lb`` and ``ub`` such as :class:`scipy.optimize.Bounds`) as ``(lower, upper)``
    arrays ``(p,)``; None when there are none."""
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        pairs: Any = [(lo, hi) for lo, hi in zip(np.broadcast_to(bounds.lb, (p,)),
                                                   np.broadcast_to(bounds.ub, (p,)),
                                                   strict=True)]
    else:
        pairs = bounds
    if isinstance(pairs, (str, bytes)):
        raise InvalidType(f"bounds: expected (low, high) pairs, got {type(bounds).__name__}",
                          argument="bounds")
    try:
        rows = [tuple(pair) for pair in pairs]
    except TypeError:
        raise InvalidType(f"bounds: expected a sequence of (low, high) pairs or "
                          f"scipy.optimize.Bounds, got {bounds!r:.80}",
                          argument="bounds") from None
    if len(rows) != p or any(len(r) != 2 for r in rows):
        raise InvalidArgument(f"bounds: expected {p} (low, high) pair{'s' if p != 1 else ''}, "
                              f"one per coordinate of x0, got {bounds!r:.80}",
                              argument="bounds")
    try:
        lower = np.array([-np.inf if lo is None else float(lo) for lo, _ in rows])
        upper = np.array([np.inf if hi is None else float(hi) for _, hi in rows])
    except (TypeError, ValueError):
        raise InvalidType(f"bounds: expected numbers or None, got {bounds!r:.80}",
                          argument="bounds") from None
    if np.isnan(lower).any() or np.isnan(upper).any() or not np.all(lower <= upper):
        raise InvalidArgument(f"bounds: each pair needs low <= high (None for no bound), got "
                              f"{rows!r:.80}", argument="bounds")
    if np.isinf(lower).all() and np.isinf(upper).all():
        return None
    return lower, upper


class _Pair:
    """``fun`` that returns ``(f, grad)`` (scipy's ``jac=True``) as two functions; the second
    call at the same point reuses the first's."""

    def __init__(self, fun: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fun, self.args = fun, args
        self.x: Any = None
        self.out: tuple[Any, Any] = (None, None)

    def _at(self, x: Array) -> tuple[Any, Any]:
        if self.x is not x and (self.x is None or not np.array_equal(self.x, x)):
            out = self.fun(x, *self.args)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise InvalidArgument(
                    f"fun: with jac=True it must return (f, grad), got "
                    f"{type(out).__name__}", argument="fun")
            self.x, self.out = x, (out[0], out[1])
        return self.out

    def value(self, x: Array) -> Any:
        return self._at(x)[0]

    def gradient(self, x: Array) -> Any:
        return self._at(x)[1]


def _bind(fn: Callable[..., Any], args: tuple[Any, ...],
          name: Any = None) -> Callable[[Array], Any]:
    """``x -> fn(x, *args)``, named as ``name`` (default ``fn``) for messages and figures."""

    def bound(x: Array) -> Any:
        return fn(x, *args)

    bound.__name__ = getattr(name or fn, "__name__", "f")
    bound.__doc__ = getattr(name or fn, "__doc__", None)
    return bound


def _plain(fun: Any) -> bool:
    """A user's callable (not a formula, a catalog entry or an Objective)."""
    from .functions import TestFunction

    if isinstance(fun, (str, Objective, TestFunction)) or not callable(fun):
        return False
    formula = sys.modules.get("descend.formula")
    return not (formula is not None and isinstance(fun, formula.Formula))


def problem_of(fun: Any, args: Any, grad: Any, jac: Any, variables: Any) -> Objective:
    """The objective from scipy's conventions: ``args`` for a callable's ``fun`` and
    ``grad``, ``jac`` as another name of ``grad`` (``True``: ``fun`` returns both)."""
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)  # as scipy does
    plain = _plain(fun)
    if args and not plain:
        raise InvalidArgument("args: extra arguments go to a callable fun; a formula or a "
                              "catalog function takes none", argument="args")
    if jac is not None:
        if grad is not None:
            raise InvalidArgument("jac: give grad or jac (scipy's name for it), not both",
                                  argument="jac")
        if jac is True:
            if not plain:
                raise InvalidArgument("jac: True means fun returns (f, grad); a formula or "
                                      "a catalog function has its own gradient",
                                      argument="jac")
            pair = _Pair(fun, args)
            return as_objective(_bind(pair.value, (), name=fun), pair.gradient,
                                variables=variables)
        if jac is False or (isinstance(jac, str) and jac in ("2-point", "3-point")):
            jac = "fd"
        elif not callable(jac) and not isinstance(jac, str):
            raise InvalidType(f"jac: expected a callable, True or False, got "
                              f"{type(jac).__name__}", argument="jac")
        grad = jac
    if args:
        fun = _bind(fun, args)
        if callable(grad):
            grad = _bind(grad, args)
    return as_objective(fun, grad, variables=variables)
