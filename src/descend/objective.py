"""The function being minimized: value and gradient on one point or on a batch.

An :class:`Objective` gives one interface over the ways a user can hand descend a
function: a Python callable (with or without its gradient), a formula string, a
parsed :class:`~descend.formula.Formula`, or an entry of :mod:`descend.functions` (by
object or by name: ``"rosenbrock"``). The loop in :func:`descend.minimize` only ever
talks to an ``Objective``.

A string is a catalog name when it is one (case, spaces and hyphens forgiven, as
:func:`descend.functions.get` does), and a formula otherwise; a string that is one unknown
name close to a catalog name or to a function of the formula grammar (``"rosenbrok"``,
``"sinn"``) is refused with a :class:`~descend.errors.FormulaError` that says "did you
mean ...?", rather than minimized as the linear function of one variable it would be.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _autodiff
from ._types import Array
from .errors import InvalidArgument, InvalidType

if TYPE_CHECKING:
    from .functions import TestFunction

__all__ = ["Objective", "as_objective", "finite_difference_gradient", "resolve_name"]

_EPS = float(np.finfo(np.float64).eps)
_FD_SCALE = _EPS ** (1.0 / 3.0)


def finite_difference_gradient(fun: Callable[[Array], Any], x: Array) -> Array:
    """Central finite differences of ``fun`` at one point ``x`` (p,).

    The step for coordinate ``i`` is ``h_i = cbrt(eps) * max(1, |x_i|)`` (about
    ``6e-6`` near the origin), which balances truncation error ``O(h^2)`` against
    rounding error ``O(eps / h)``; ``2 p`` calls of ``fun``.
    """
    x = np.asarray(x, dtype=np.float64)
    h = _FD_SCALE * np.maximum(1.0, np.abs(x))
    g = np.empty_like(x)
    xp = x.copy()
    for i in range(x.shape[0]):
        xi = x[i]
        xp[i] = xi + h[i]
        fp = float(fun(xp))
        xp[i] = xi - h[i]
        fm = float(fun(xp))
        xp[i] = xi
        g[i] = (fp - fm) / (2.0 * h[i])
    return g


@dataclass(frozen=True)
class Objective:
    """Value and gradient of ``f: R^p -> R``.

    ``value(x)`` and ``gradient(x)`` take one point ``(p,)``; ``values(X)`` and
    ``gradients(X)`` take a batch ``(K, p)``. When ``vectorized`` is true the
    underlying functions accept batches directly; otherwise the batch methods
    loop over rows.

    Attributes
    ----------
    fun, grad : callable
        ``fun(x) -> float`` and ``grad(x) -> (p,)`` (batched too when ``vectorized``).
    p : int or None
        Number of variables, when known before a start point is seen.
    variables : tuple of str
        Coordinate names (empty when unknown).
    vectorized : bool
        ``fun`` and ``grad`` accept ``(K, p)`` arrays.
    finite_differences : bool
        ``grad`` is central finite differences; each call costs ``2 p`` calls of ``fun``.
    name : str
        A short label for messages and figures.
    source : object
        What the user passed (a Formula, a catalog entry, or the callable); for a catalog
        name, its entry.
    grad_method : str
        Where the gradient comes from: ``"formula"``, ``"user"``, ``"jax"``,
        ``"torch"`` or ``"finite-differences"`` (``Result.grad_method``).
    grad_note : str
        How or why, for the message: the backend's mode, or why a callable that
        looked like JAX or PyTorch code fell back to finite differences.
    autodiff : str or None
        ``"auto"``, ``"fd"``, ``"jax"`` or ``"torch"`` while the gradient of a callable is
        still to be chosen at a start point (:meth:`resolve_gradient`); None once
        it is known.
    """

    fun: Callable[[Array], Any]
    grad: Callable[[Array], Any]
    p: int | None = None
    variables: tuple[str, ...] = ()
    vectorized: bool = False
    finite_differences: bool = False
    name: str = "f"
    source: Any = None
    fun1: Callable[[Array], Any] | None = None
    grad1: Callable[[Array], Any] | None = None
    #: For a catalog name of any dimension (``"rastrigin"``): the objective in ``p``
    #: dimensions, so that the start point decides the dimension.
    resize: Callable[[int], Objective] | None = field(default=None, repr=False, compare=False)
    grad_method: str = "user"
    grad_note: str = ""
    autodiff: str | None = None

    def __post_init__(self) -> None:
        if self.finite_differences and self.grad_method == "user":
            object.__setattr__(self, "grad_method", "finite-differences")

    def value(self, x: Array) -> float:
        """f at one point (p,), as a Python float; nan where Python's math gives up."""
        try:
            return float((self.fun1 or self.fun)(x))
        except (ArithmeticError, ValueError) as exc:
            if _is_numeric_failure(exc):
                return math.nan
            raise

    def gradient(self, x: Array) -> Array:
        """The gradient at one point (p,); nan where Python's math gives up."""
        try:
            return np.asarray((self.grad1 or self.grad)(x), dtype=np.float64)
        except (ArithmeticError, ValueError) as exc:
            if _is_numeric_failure(exc):
                return np.full(x.shape, math.nan)
            raise

    def values(self, X: Array) -> Array:
        """f on a batch ``(K, p)`` -> ``(K,)``."""
        if self.vectorized:
            return np.asarray(self.fun(X), dtype=np.float64).reshape(X.shape[0])
        return np.array([self.value(x) for x in X], dtype=np.float64)

    def gradients(self, X: Array) -> Array:
        """The gradient on a batch ``(K, p)`` -> ``(K, p)``."""
        if self.vectorized:
            return np.asarray(self.grad(X), dtype=np.float64).reshape(X.shape)
        out = np.empty_like(X)
        for k, x in enumerate(X):
            out[k] = self.gradient(x)
        return out

    @property
    def fd_calls(self) -> int:
        """Calls of ``fun`` per gradient (0 for an exact gradient)."""
        return 2 * (self.p or 0) if self.finite_differences else 0

    def with_dimension(self, p: int) -> Objective:
        """This objective, with its dimension fixed (checked against a known one)."""
        if self.resize is not None and self.p != p and p >= 1:
            return self.resize(p)
        if self.p is not None and self.p != p:
            names = f" {', '.join(self.variables)}" if self.variables else ""
            raise InvalidArgument(
                f"x0: has {p} coordinates but the function takes {self.p} variables{names}",
                argument="x0",
            )
        if self.p == p:
            return self
        return replace(self, p=p)

    def resolve_gradient(self, x0: Array) -> Objective:
        """This objective with its gradient source chosen at the start ``x0``.

        A callable given without a gradient (``grad="auto"``, ``"jax"`` or
        ``"torch"``) is differentiated exactly when it is written with JAX or
        PyTorch, else by finite differences (see :mod:`descend._autodiff`);
        ``grad="fd"`` gives finite differences (of float64 values, for JAX code
        too). Every other objective is returned as it is.
        """
        if self.autodiff is None:
            return self
        found = _autodiff.differentiate(self.fun, np.asarray(x0), self.autodiff)
        if isinstance(found, _autodiff.Exact):
            return replace(
                self, fun=found.fun, grad=found.grad, fun1=found.fun1, grad1=found.grad1,
                vectorized=True, finite_differences=False, grad_method=found.method,
                grad_note=found.note, autodiff=None,
            )
        fun = found.fun

        def fd_grad(x: Array) -> Array:
            return finite_difference_gradient(fun, x)

        return replace(
            self, fun=fun, grad=fd_grad, finite_differences=True,
            grad_method="finite-differences", grad_note=found.why, autodiff=None,
        )

    def check(self, x0: Array) -> tuple[float, Array]:
        """Evaluate at ``x0`` once, checking the types and shapes the user's code returns
        (an overflow there is a value, inf or nan, that the loop reports, not a warning)."""
        with np.errstate(all="ignore"):
            raw = self.fun(x0)
            f0 = _as_scalar(raw, "fun", x0)
            g0 = np.asarray(self.grad(x0))
        if g0.shape != x0.shape:
            raise InvalidArgument(
                f"grad: must return an array of shape {x0.shape} (one partial derivative per "
                f"coordinate of x), got shape {g0.shape}",
                argument="grad",
            )
        if not np.issubdtype(g0.dtype, np.number) or np.iscomplexobj(g0):
            raise InvalidType(
                f"grad: must return real numbers, got dtype {g0.dtype}", argument="grad"
            )
        return f0, g0.astype(np.float64, copy=False)


def _is_numeric_failure(exc: BaseException) -> bool:
    """Overflow, division by zero, or ``math domain error``: a value, not a bug."""
    return isinstance(exc, ArithmeticError) or "math domain error" in str(exc)


def _as_scalar(raw: Any, argument: str, x: Array) -> float:
    arr = np.asarray(raw)
    if arr.ndim != 0:
        raise InvalidArgument(
            f"{argument}: must return a scalar for x of shape {x.shape}, got an array of "
            f"shape {arr.shape}; return a float (for example float(...) or .sum())",
            argument=argument,
        )
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InvalidType(
            f"{argument}: must return a real number, got {type(raw).__name__} {raw!r:.60}",
            argument=argument,
        )
    return float(arr)


def as_objective(
    fun: Any,
    grad: Callable[[Array], Any] | str | None = None,
    *,
    variables: Any = None,
) -> Objective:
    """Turn what a user passes as ``fun`` into an :class:`Objective`.

    Parameters
    ----------
    fun : callable, str, Formula, TestFunction or Objective
        A callable ``fun(x) -> float``; a catalog name such as ``"rosenbrock"`` (see
        :func:`descend.functions.names`; ``rastrigin``, ``ackley`` and
        ``styblinski_tang`` take the dimension of the start point); a formula string
        such as ``"x**2 + y**2"`` (parsed safely, with its exact gradient); a parsed
        ``Formula``; or an entry of :mod:`descend.functions` (by object).
    grad : callable or str, optional
        ``grad(x) -> (p,)``; or how to get it: ``"auto"`` (the same as None),
        ``"fd"``, ``"jax"``, ``"torch"``. Without a callable, a callable ``fun`` is
        differentiated exactly when written with JAX or PyTorch, else by central
        finite differences, once a start point is known
        (:meth:`Objective.resolve_gradient`); formulas and catalog entries use their
        exact gradient (``"fd"``: finite differences of their value).
    variables : sequence of str or str, optional
        Order of the variables of a formula string. A catalog name has fixed variables:
        giving others is an error.

    Raises
    ------
    descend.errors.FormulaError
        For a formula string the parser refuses, including a single unknown name close
        to a catalog name or a function (``"rosenbrok"``: did you mean rosenbrock?).
    """
    if isinstance(fun, Objective):
        return fun
    mode = _autodiff.mode_of(grad)  # None for a callable grad
    if isinstance(grad, str):
        grad = None
    if isinstance(fun, str):
        entry = resolve_name(fun) if variables is None else _catalog_entry(fun)
        if entry is not None:
            return _named(entry, mode if mode in ("fd", "jax", "torch") else grad, variables)
        from .formula import parse

        fun = parse(fun, variables=variables)
    if mode in ("jax", "torch") and (_is_formula(fun) or _is_catalog_entry(fun)):
        raise InvalidArgument(
            f"grad: {mode!r} differentiates a Python callable; a formula or catalog "
            f"function has its exact gradient already (leave grad out)",
            argument="grad",
        )
    if mode == "fd" and (_is_formula(fun) or _is_catalog_entry(fun)):
        return _finite_differences_of(fun)
    if _is_formula(fun):
        exact = grad is None
        return Objective(
            fun, grad if grad is not None else fun.grad, fun.n_vars, tuple(fun.variables),
            vectorized=exact, name=str(fun), source=fun,
            fun1=fun.value_at, grad1=fun.grad_at if exact else None,
            grad_method="formula" if exact else "user",
        )
    if _is_catalog_entry(fun):
        return Objective(
            fun.fun, grad if grad is not None else fun.grad, fun.dim, tuple(fun.variables),
            vectorized=grad is None, name=fun.name, source=fun,
            grad_method="formula" if grad is None else "user",
        )
    if not callable(fun):
        raise InvalidType(
            f"fun: expected a callable f(x) -> float, a formula string or a Formula, "
            f"got {type(fun).__name__}",
            argument="fun",
        )
    name = getattr(fun, "__name__", "f")
    if grad is None:
        user_fun = fun

        def fd_grad(x: Array) -> Array:
            return finite_difference_gradient(user_fun, x)

        return Objective(
            fun, fd_grad, finite_differences=True, name=name, source=fun,
            autodiff=mode,
        )
    return Objective(fun, grad, name=name, source=fun)


def _finite_differences_of(fun: Any) -> Objective:
    """A formula or catalog entry with its gradient by finite differences
    (``grad="fd"``)."""
    if _is_formula(fun):
        value, p, variables, name = fun.value_at, fun.n_vars, tuple(fun.variables), str(fun)
    else:
        value, p, variables, name = fun.fun, fun.dim, tuple(fun.variables), fun.name

    def fd_grad(x: Array) -> Array:
        return finite_difference_gradient(value, x)

    return Objective(value, fd_grad, p, variables, finite_differences=True, name=name,
                     source=fun)


def resolve_name(text: str, dim: int | None = None) -> TestFunction | None:
    """The catalog entry that ``text`` names, or None when ``text`` is a formula.

    Case, spaces and hyphens are forgiven (``"Three-hump camel"``). A text that is one
    unknown name close to a catalog name or to a function of the formula grammar is
    refused: a typo, not the linear function of one variable it would parse as.

    Parameters
    ----------
    text : str
        A catalog name or a formula.
    dim : int, optional
        The dimension, for the entries that take any (default 2).

    Raises
    ------
    descend.errors.FormulaError
        For a near miss (``"rosenbrok"``: did you mean rosenbrock?; ``"sinn"``: did you
        mean sin?).

    Examples
    --------
    >>> resolve_name("Rosenbrock").name
    'rosenbrock'
    >>> resolve_name("x**2 + y**2") is None
    True
    """
    entry = _catalog_entry(text, dim)
    if entry is not None:
        return entry
    from . import functions
    from .formula import FUNCTIONS, _refuse_near_miss

    _refuse_near_miss(text, functions.names(), "a catalog function")
    _refuse_near_miss(text, FUNCTIONS, "a function")
    return None


def _catalog_entry(text: str, dim: int | None = None) -> TestFunction | None:
    from . import functions

    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    return functions.get(key, dim=dim) if key in functions.names() else None


def _named(entry: TestFunction, grad: Callable[[Array], Any] | str | None, variables: Any
           ) -> Objective:
    """The objective of a catalog entry given by name; any-dimension entries resize."""
    from . import functions

    if variables is not None:
        given = [v.strip() for v in variables.split(",")] if isinstance(variables, str) else [
            str(v) for v in variables]
        if tuple(given) != entry.variables:
            raise InvalidArgument(
                f"variables: {entry.name} has the fixed variables "
                f"{', '.join(entry.variables)}, got {variables!r}",
                argument="variables",
            )
    objective = as_objective(entry, grad)
    try:
        functions.get(entry.name, dim=entry.dim + 1)
    except InvalidArgument:  # a two-dimensional function only
        return objective
    name = entry.name

    def resize(p: int) -> Objective:
        return _named(functions.get(name, dim=p), grad, None)

    return replace(objective, resize=resize)


def _is_formula(obj: Any) -> bool:
    # A Formula exists only once descend.formula (and SymPy) is loaded: do not load it here.
    formula = sys.modules.get("descend.formula")
    return formula is not None and isinstance(obj, formula.Formula)


def _is_catalog_entry(obj: Any) -> bool:
    from .functions import TestFunction

    return isinstance(obj, TestFunction)
