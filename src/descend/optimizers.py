r"""Optimizers as pairs of pure functions, after optax.

An :class:`Optimizer` is ``init(x) -> state`` and ``update(grad, state, x) ->
(direction, state)``. The loop in :func:`descend.minimize` then moves
``x <- x - t * direction`` with the step size ``t`` chosen by the step policy
(a fixed ``lr``, a schedule, backtracking, ...). States are tuples of arrays and
never mutated. Every update works elementwise, so ``x`` may be one point ``(p,)``
or a batch of runs ``(K, p)``.

Ready optimizers are small compositions of building blocks:

============ ===========================================
``gd``       identity: the direction is the gradient
``momentum`` ``trace(beta)``
``nesterov`` ``trace(beta, nesterov=True)``
``adagrad``  ``scale_by_sum_of_squares(eps)``
``rmsprop``  ``scale_by_rms(decay, eps)``
``adam``     ``scale_by_adam(b1, b2, eps)``
============ ===========================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ._types import Array
from .errors import InvalidArgument, InvalidType

__all__ = [
    "Optimizer",
    "adagrad",
    "adam",
    "gd",
    "get",
    "momentum",
    "names",
    "nesterov",
    "rmsprop",
    "scale_by_adam",
    "scale_by_rms",
    "scale_by_sum_of_squares",
    "trace",
]

State = tuple[Any, ...]


class Optimizer(NamedTuple):
    """A pair of pure functions and a name.

    ``init(x)`` returns the initial state for start point(s) ``x``;
    ``update(grad, state, x)`` returns the descent direction ``d`` and the new
    state. The step is ``x_next = x - t * d``.

    Parameters
    ----------
    init : callable
        ``init(x) -> state`` for one point ``(p,)`` or a batch ``(K, p)``.
    update : callable
        ``update(grad, state, x) -> (direction, state)``; pure, never mutating ``state``.
    name : str, default "custom"
        Shown in results and legends.
    """

    init: Callable[[Array], State]
    update: Callable[[Array, State, Array], tuple[Array, State]]
    name: str = "custom"


def _check_unit(name: str, value: float, *, closed: bool = False) -> float:
    """``value`` in [0, 1) when ``closed``, else in (0, 1)."""
    v = _check_number(name, value)
    if not ((v >= 0.0 if closed else v > 0.0) and v < 1.0):
        interval = "[0, 1)" if closed else "(0, 1)"
        raise InvalidArgument(f"{name}: must be in {interval}, got {value!r}", argument=name)
    return v


def _check_positive(name: str, value: float) -> float:
    v = _check_number(name, value)
    if not v > 0.0:
        raise InvalidArgument(f"{name}: must be > 0, got {value!r}", argument=name)
    return v


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidType(
            f"{name}: expected a real number, got {type(value).__name__}", argument=name
        )
    v = float(value)
    if not np.isfinite(v):
        raise InvalidArgument(f"{name}: must be finite, got {value!r}", argument=name)
    return v


def gd() -> Optimizer:
    r"""Plain gradient descent: :math:`x_{k+1} = x_k - t\,\nabla f(x_k)`.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.

    Examples
    --------
    >>> import numpy as np
    >>> opt = gd()
    >>> d, _ = opt.update(np.array([2.0, -4.0]), opt.init(np.zeros(2)), np.zeros(2))
    >>> d
    array([ 2., -4.])
    """

    return Optimizer(_gd_init, gd_update, "gd")


def _gd_init(x: Array) -> State:
    return ()


def gd_update(grad: Array, state: State, x: Array) -> tuple[Array, State]:
    """Plain gradient descent's update: the direction is the gradient itself."""
    return grad, state


def trace(beta: float = 0.9, *, nesterov: bool = False) -> Optimizer:
    r"""Momentum building block: :math:`v_{k+1} = \beta v_k + g_k`.

    The direction is :math:`v_{k+1}`, or :math:`g_k + \beta v_{k+1}` with
    ``nesterov=True`` (the look-ahead form used by PyTorch and optax).

    Parameters
    ----------
    beta : float, default 0.9
        The memory of past gradients, in ``[0, 1)``.
    nesterov : bool, default False
        Use the look-ahead direction.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    b = _check_unit("beta", beta, closed=True)

    def init(x: Array) -> State:
        return (np.zeros_like(x),)

    def update(grad: Array, state: State, x: Array) -> tuple[Array, State]:
        v = b * state[0] + grad
        return (grad + b * v if nesterov else v), (v,)

    return Optimizer(init, update, "nesterov" if nesterov else "momentum")


def momentum(beta: float = 0.9) -> Optimizer:
    r"""Heavy-ball momentum.

    .. math:: v_{k+1} = \beta v_k + \nabla f(x_k), \qquad x_{k+1} = x_k - t\, v_{k+1}

    With a fixed step the effective step on a flat stretch is ``t / (1 - beta)``.

    Parameters
    ----------
    beta : float, default 0.9
        The memory of past gradients, in ``[0, 1)``.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    return trace(beta)._replace(name="momentum")


def nesterov(beta: float = 0.9) -> Optimizer:
    r"""Nesterov's accelerated gradient (look-ahead form).

    .. math:: v_{k+1} = \beta v_k + g_k, \qquad x_{k+1} = x_k - t\,(g_k + \beta v_{k+1})

    Parameters
    ----------
    beta : float, default 0.9
        The memory of past gradients, in ``[0, 1)``.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    return trace(beta, nesterov=True)._replace(name="nesterov")


def scale_by_sum_of_squares(eps: float = 1e-8) -> Optimizer:
    r"""AdaGrad's scaling.

    :math:`s_{k+1} = s_k + g_k^2`, direction :math:`g_k / (\sqrt{s_{k+1}} + \epsilon)`.

    Parameters
    ----------
    eps : float, default 1e-8
        Added to the denominator, so a zero gradient gives a zero step.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    e = _check_positive("eps", eps)

    def init(x: Array) -> State:
        return (np.zeros_like(x),)

    def update(grad: Array, state: State, x: Array) -> tuple[Array, State]:
        s = state[0] + grad * grad
        return grad / (np.sqrt(s) + e), (s,)

    return Optimizer(init, update, "adagrad")


def adagrad(eps: float = 1e-8) -> Optimizer:
    r"""AdaGrad: per-coordinate steps shrinking with the sum of past squared gradients.

    .. math:: s_{k+1} = s_k + g_k^2, \qquad x_{k+1} = x_k - t\, g_k / (\sqrt{s_{k+1}} + \epsilon)

    The first step is ``t * sign(g_0)`` (up to ``eps``).

    Parameters
    ----------
    eps : float, default 1e-8
        Added to the denominator, so a zero gradient gives a zero step.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    return scale_by_sum_of_squares(eps)


def scale_by_rms(decay: float = 0.9, eps: float = 1e-8) -> Optimizer:
    r"""RMSProp's scaling.

    :math:`s_{k+1} = \rho s_k + (1-\rho) g_k^2`, direction
    :math:`g_k / (\sqrt{s_{k+1}} + \epsilon)`.

    Parameters
    ----------
    decay : float, default 0.9
        :math:`\rho`, the memory of the running mean of squared gradients, in ``[0, 1)``.
    eps : float, default 1e-8
        Added to the denominator, so a zero gradient gives a zero step.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    rho = _check_unit("decay", decay)
    e = _check_positive("eps", eps)

    def init(x: Array) -> State:
        return (np.zeros_like(x),)

    def update(grad: Array, state: State, x: Array) -> tuple[Array, State]:
        s = rho * state[0] + (1.0 - rho) * (grad * grad)
        return grad / (np.sqrt(s) + e), (s,)

    return Optimizer(init, update, "rmsprop")


def rmsprop(decay: float = 0.9, eps: float = 1e-8) -> Optimizer:
    r"""RMSProp.

    .. math:: s_{k+1} = \rho s_k + (1-\rho) g_k^2, \qquad
              x_{k+1} = x_k - t\, g_k / (\sqrt{s_{k+1}} + \epsilon)

    The first step is ``t * sign(g_0) / sqrt(1 - decay)``.

    Parameters
    ----------
    decay : float, default 0.9
        :math:`\rho`, the memory of the running mean of squared gradients, in ``[0, 1)``.
    eps : float, default 1e-8
        Added to the denominator, so a zero gradient gives a zero step.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    return scale_by_rms(decay, eps)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    r"""Adam's scaling with bias correction (see :func:`adam`).

    Parameters
    ----------
    b1, b2 : float, default 0.9 and 0.999
        The memories of the first and second moment estimates, in ``[0, 1)``.
    eps : float, default 1e-8
        Added to the denominator, so a zero gradient gives a zero step.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    beta1 = _check_unit("b1", b1, closed=True)
    beta2 = _check_unit("b2", b2)
    e = _check_positive("eps", eps)

    def init(x: Array) -> State:
        z = np.zeros_like(x)
        return (z, z.copy(), 0)

    def update(grad: Array, state: State, x: Array) -> tuple[Array, State]:
        m_prev, v_prev, count = state
        count += 1
        m = beta1 * m_prev + (1.0 - beta1) * grad
        v = beta2 * v_prev + (1.0 - beta2) * (grad * grad)
        m_hat = m / (1.0 - beta1**count)
        v_hat = v / (1.0 - beta2**count)
        return m_hat / (np.sqrt(v_hat) + e), (m, v, count)

    return Optimizer(init, update, "adam")


def adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    r"""Adam.

    .. math::
        m_{k+1} = \beta_1 m_k + (1-\beta_1) g_k, \quad
        v_{k+1} = \beta_2 v_k + (1-\beta_2) g_k^2,

        x_{k+1} = x_k - t\, \hat m / (\sqrt{\hat v} + \epsilon), \quad
        \hat m = m_{k+1} / (1-\beta_1^{k+1}), \ \hat v = v_{k+1} / (1-\beta_2^{k+1})

    The first step is ``t * sign(g_0)`` (up to ``eps``).

    Parameters
    ----------
    b1, b2 : float, default 0.9 and 0.999
        :math:`\beta_1, \beta_2`, the memories of the moment estimates, in ``[0, 1)``.
    eps : float, default 1e-8
        Added to the denominator, so a zero gradient gives a zero step.

    Returns
    -------
    Optimizer
        ``init`` and ``update`` as pure functions.
    """
    return scale_by_adam(b1, b2, eps)


_REGISTRY: dict[str, Callable[[], Optimizer]] = {
    "gd": gd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
}


def names() -> list[str]:
    """Names accepted by ``minimize(method=...)``.

    Returns
    -------
    list of str
        ``gd, momentum, nesterov, adagrad, rmsprop, adam``.
    """
    return list(_REGISTRY)


def get(method: Any) -> Optimizer:
    """An optimizer from its name (with default settings), as given, or from an object.

    Any object with ``init(x)`` and ``update(grad, state, x)`` is wrapped (with its
    ``name`` if it has one).

    Parameters
    ----------
    method : str, Optimizer or object
        One of :func:`names`, an :class:`Optimizer` (returned as it is), or an object with
        ``init`` and ``update``.

    Returns
    -------
    Optimizer
        The optimizer.

    Raises
    ------
    InvalidArgument, InvalidType
        An unknown name (the message lists the known ones), or an object without
        ``init`` and ``update``.
    """
    if isinstance(method, Optimizer):
        return method
    if isinstance(method, str):
        key = method.strip().lower()
        if key in _REGISTRY:
            return _REGISTRY[key]()
        raise InvalidArgument(
            f"method: unknown optimizer {method!r}; expected one of {', '.join(_REGISTRY)} "
            "or an Optimizer from descend.optimizers",
            argument="method",
        )
    init, update = getattr(method, "init", None), getattr(method, "update", None)
    if callable(init) and callable(update) and not isinstance(method, type):
        name = getattr(method, "name", None)
        return Optimizer(init, update, name if isinstance(name, str) else type(method).__name__)
    raise InvalidType(
        f"method: expected a name ({', '.join(_REGISTRY)}), an Optimizer or an object with "
        f"init(x) and update(grad, state, x), got {type(method).__name__}",
        argument="method",
    )
