"""The catalog of test functions: value, exact gradient, formula, start and known minima.

Every entry is a :class:`TestFunction` with the textbook definition (Wikipedia, "Test functions for
optimization"), a hand-derived gradient, a start point ``x0``, plot ``bounds`` and its global
minima. ``fun`` and ``grad`` work on one point of shape ``(p,)`` or on a batch ``(..., p)``.

:func:`names` lists the entries in this fixed order: the seed tutorial's paraboloid first, then
the classic two-dimensional functions, then the three that take any dimension (``dim``, default 2)::

    paraboloid, rosenbrock, himmelblau, beale, booth, matyas, three_hump_camel,
    rastrigin, ackley, styblinski_tang
"""

from __future__ import annotations

import difflib
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from . import _catalog as c
from ._types import Array, ArrayLike
from .errors import InvalidArgument, InvalidType

if TYPE_CHECKING:
    from .formula import Formula

__all__ = ["TestFunction", "get", "names"]

Core = Callable[[Array], Array]


def _points(x: ArrayLike, dim: int, name: str) -> Array:
    """``x`` as a float64 array whose last axis has length ``dim``."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0 or a.shape[-1] != dim:
        raise InvalidArgument(
            f"x: {name} takes points with {dim} coordinate(s) (an array of shape ({dim},) or "
            f"(..., {dim})), got an array of shape {a.shape}",
            argument="x",
        )
    return a


@dataclass(frozen=True)
class _Batched:
    """A vectorized core made safe to call: validates the shape; a single point gives a float."""

    core: Core
    dim: int
    name: str
    scalar: bool

    def __call__(self, x: ArrayLike) -> Any:
        a = _points(x, self.dim, self.name)
        out = self.core(a)
        return float(out) if self.scalar and a.ndim == 1 else out


@dataclass(frozen=True, eq=False, repr=False)
class TestFunction:
    """One test function of the catalog.

    Parameters
    ----------
    name : str
        The catalog name, as accepted by :func:`get`.
    fun : callable
        ``fun(x)``: a float for ``x`` of shape ``(p,)``; an array of shape ``(...)`` for
        ``(..., p)``.
    grad : callable
        The exact gradient: shape ``(p,)`` or ``(..., p)``, float64.
    text : str
        The formula as text, in the grammar of :mod:`descend.formula`.
    variables : tuple of str
        The variable names used in ``text``, one per coordinate.
    x0 : ndarray of shape (p,)
        A start point (the standard one where there is a standard).
    bounds : tuple of (float, float)
        One ``(lo, hi)`` per coordinate: the plot domain.
    minima : tuple of ndarray
        The known global minima.
    fmin : float
        The value at the global minima.
    dim : int
        The number of coordinates ``p``.
    description : str
        One line about the function.

    Examples
    --------
    >>> from descend import functions
    >>> f = functions.get("rosenbrock")
    >>> f.text
    '(1 - x)**2 + 100*(y - x**2)**2'
    >>> f(f.x0)
    24.199999999999996
    >>> f.grad([[0.0, 0.0], [1.0, 2.0]])
    array([[  -2.,    0.],
           [-400.,  200.]])
    """

    __test__: ClassVar[bool] = False  # not a pytest test class despite the name

    name: str
    fun: Callable[[ArrayLike], Any]
    grad: Callable[[ArrayLike], Array]
    text: str
    variables: tuple[str, ...]
    x0: Array
    bounds: tuple[tuple[float, float], ...]
    minima: tuple[Array, ...]
    fmin: float
    dim: int
    description: str

    def __post_init__(self) -> None:
        x0 = _frozen(self.x0)
        minima = tuple(_frozen(m) for m in self.minima)
        lengths = [("x0", x0.size), ("bounds", len(self.bounds))]
        lengths += [("variables", len(self.variables))] + [("minima", m.size) for m in minima]
        for what, n in lengths:
            if n != self.dim:
                raise InvalidArgument(
                    f"{what}: expected {self.dim} entries (dim={self.dim}), got {n}",
                    argument=what,
                )
        object.__setattr__(self, "x0", x0)
        object.__setattr__(self, "minima", minima)

    def __call__(self, x: ArrayLike) -> Any:
        """Evaluate ``fun(x)``."""
        return self.fun(x)

    def __repr__(self) -> str:
        return f"TestFunction({self.name!r}, dim={self.dim})"

    @property
    def formula(self) -> Formula:
        """``text`` parsed by :func:`descend.formula.parse` with this function's variables."""
        from . import formula as _formula

        return _formula.parse(self.text, variables=self.variables)


def _frozen(values: ArrayLike) -> Array:
    a = np.array(values, dtype=np.float64).reshape(-1)
    a.flags.writeable = False
    return a


def _variables(dim: int) -> tuple[str, ...]:
    if dim == 1:
        return ("x",)
    if dim == 2:
        return ("x", "y")
    return tuple(f"x{i}" for i in range(1, dim + 1))


# --- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    fun: Core
    grad: Core
    text: Callable[[tuple[str, ...]], str]
    x0: Callable[[int], list[float]]
    bounds: tuple[float, float]  # the same interval for every coordinate, unless `box` is set
    minima: Callable[[int], list[list[float]]]
    fmin: Callable[[int], float]
    description: str
    dim: int | None = None  # None: any dimension
    box: tuple[tuple[float, float], ...] | None = None


def _fixed(text: str, x0: list[float], minima: list[list[float]]) -> dict[str, Any]:
    return {"text": lambda v: text, "x0": lambda d: x0, "minima": lambda d: minima,
            "fmin": lambda d: 0.0, "dim": 2}


def _alternating(a: float, b: float) -> Callable[[int], list[float]]:
    return lambda d: [a if i % 2 == 0 else b for i in range(d)]


_CATALOG: dict[str, _Entry] = {
    "paraboloid": _Entry(
        c.paraboloid, c.paraboloid_grad, bounds=(-10.0, 10.0),
        description="The bowl x^2 + y^2 of the seed tutorial; one minimum at the origin.",
        **_fixed("x**2 + y**2", [6.0, -3.0], [[0.0, 0.0]]),
    ),
    "rosenbrock": _Entry(
        c.rosenbrock, c.rosenbrock_grad, bounds=(-2.0, 2.0), box=((-2.0, 2.0), (-1.0, 3.0)),
        description="Rosenbrock's banana: a long curved valley, minimum at (1, 1).",
        **_fixed("(1 - x)**2 + 100*(y - x**2)**2", [-1.2, 1.0], [[1.0, 1.0]]),
    ),
    "himmelblau": _Entry(
        c.himmelblau, c.himmelblau_grad, bounds=(-5.0, 5.0),
        description="Himmelblau's function: four global minima of value 0.",
        **_fixed(
            "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
            [0.0, 0.0],
            [
                [3.0, 2.0],
                [-2.805118086952745, 3.131312518250573],
                [-3.779310253377747, -3.2831859912861696],
                [3.5844283403304917, -1.8481265269644036],
            ],
        ),
    ),
    "beale": _Entry(
        c.beale, c.beale_grad, bounds=(-4.5, 4.5),
        description="Beale's function: flat valleys and sharp walls, minimum at (3, 0.5).",
        **_fixed(
            "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
            [1.0, 1.0],
            [[3.0, 0.5]],
        ),
    ),
    "booth": _Entry(
        c.booth, c.booth_grad, bounds=(-10.0, 10.0),
        description="Booth's function: a tilted quadratic bowl, minimum at (1, 3).",
        **_fixed("(x + 2*y - 7)**2 + (2*x + y - 5)**2", [-5.0, -5.0], [[1.0, 3.0]]),
    ),
    "matyas": _Entry(
        c.matyas, c.matyas_grad, bounds=(-10.0, 10.0),
        description="Matyas' function: a nearly flat, ill-conditioned bowl, minimum at the origin.",
        **_fixed("0.26*(x**2 + y**2) - 0.48*x*y", [8.0, 3.0], [[0.0, 0.0]]),
    ),
    "three_hump_camel": _Entry(
        c.camel, c.camel_grad, bounds=(-5.0, 5.0),
        description="The three-hump camel: two local minima beside the global one at the origin.",
        **_fixed("2*x**2 - 1.05*x**4 + x**6/6 + x*y + y**2", [2.0, 1.0], [[0.0, 0.0]]),
    ),
    "rastrigin": _Entry(
        c.rastrigin, c.rastrigin_grad, c.rastrigin_text, _alternating(3.2, -2.3),
        bounds=(-5.12, 5.12), minima=lambda d: [[0.0] * d], fmin=lambda d: 0.0,
        description="Rastrigin's function (A = 10): a bowl covered in regular local minima.",
    ),
    "ackley": _Entry(
        c.ackley, c.ackley_grad, c.ackley_text, _alternating(2.6, -1.7),
        bounds=(-5.0, 5.0), minima=lambda d: [[0.0] * d], fmin=lambda d: 0.0,
        description="Ackley's function (a=20, b=0.2, c=2pi): a funnel in a rippled plateau.",
    ),
    "styblinski_tang": _Entry(
        c.styblinski_tang, c.styblinski_tang_grad, c.styblinski_tang_text, _alternating(4.0, -4.0),
        bounds=(-5.0, 5.0), minima=lambda d: [[c.ST_ARGMIN] * d], fmin=lambda d: c.ST_FMIN * d,
        description="The Styblinski-Tang function: 2^d minima, the global one at -2.9035 each.",
    ),
}

_DEFAULT_DIM = 2


def names() -> list[str]:
    """The catalog's names, in the fixed order given in the module docstring.

    Returns
    -------
    list of str
        The names :func:`get` accepts.

    Examples
    --------
    >>> from descend.functions import names
    >>> names()[:3]
    ['paraboloid', 'rosenbrock', 'himmelblau']
    """
    return list(_CATALOG)


def get(name: str, dim: int | None = None) -> TestFunction:
    """Look up a test function by name.

    Parameters
    ----------
    name : str
        One of :func:`names`; case, spaces and hyphens are forgiven (``"Three-hump camel"``).
    dim : int, optional
        The dimension of ``rastrigin``, ``ackley`` and ``styblinski_tang`` (default 2). The other
        functions are two-dimensional: giving them any other ``dim`` is an error.

    Returns
    -------
    TestFunction
        The entry, with ``dim`` variables for the functions of any dimension.

    Raises
    ------
    InvalidArgument
        For an unknown name (the message suggests the closest), ``dim < 1``, or a ``dim`` that a
        fixed-dimension function does not have.
    InvalidType
        If ``name`` is not a string or ``dim`` not an integer.

    Examples
    --------
    >>> from descend.functions import get
    >>> f = get("styblinski_tang", dim=3)
    >>> f.variables
    ('x1', 'x2', 'x3')
    >>> round(f(f.minima[0]), 6) == round(f.fmin, 6)
    True
    """
    if not isinstance(name, str):
        raise InvalidType(f"name: expected a string, got {name!r}", argument="name")
    if dim is not None:
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
            raise InvalidType(f"dim: expected an integer, got {dim!r}", argument="dim")
        dim = operator.index(dim)
    return _build(name.strip().lower().replace("-", "_").replace(" ", "_"), dim, name)


def _unknown(name: str) -> InvalidArgument:
    known = names()
    close = difflib.get_close_matches(name.strip().lower(), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return InvalidArgument(
        f"name: unknown test function {name!r}{hint}. Known names: {', '.join(known)}",
        argument="name",
    )


@functools.lru_cache(maxsize=128)
def _build(key: str, dim: int | None, given: str) -> TestFunction:
    entry = _CATALOG.get(key)
    if entry is None:
        raise _unknown(given)
    if dim is not None and dim < 1:
        raise InvalidArgument(f"dim: expected an integer >= 1, got {dim}", argument="dim")
    if entry.dim is not None and dim is not None and dim != entry.dim:
        raise InvalidArgument(
            f"dim: {key} is defined in {entry.dim} dimensions only, got dim={dim}; leave dim "
            f"out (only rastrigin, ackley and styblinski_tang take any dimension)",
            argument="dim",
        )
    p = entry.dim or dim or _DEFAULT_DIM
    variables = _variables(p)
    return TestFunction(
        name=key,
        fun=_Batched(entry.fun, p, key, scalar=True),
        grad=_Batched(entry.grad, p, key, scalar=False),
        text=entry.text(variables),
        variables=variables,
        x0=np.array(entry.x0(p), dtype=np.float64),
        bounds=entry.box or (entry.bounds,) * p,
        minima=tuple(np.array(m, dtype=np.float64) for m in entry.minima(p)),
        fmin=float(entry.fmin(p)),
        dim=p,
        description=entry.description,
    )
