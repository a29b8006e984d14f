"""Parse formula text into a :class:`Formula` with exact derivatives.

This is the only place descend turns user text into mathematics, and the text may come
from strangers through the web app. It is never given to ``eval``, ``exec``, ``sympify``
or ``parse_expr``: the raw text is screened character by character, tokenized with a
small regular expression, parsed with :func:`ast.parse` into an allowlist of node types,
and the SymPy tree is built node by node from validated pieces. The limits on the text
are checked before any SymPy work, and every rejection is a
:class:`~descend.errors.FormulaError`.

No text can make the work unbounded. Constants stay exact (``x/3`` is ``x`` times the
rational 1/3) while their numerators and denominators fit in :data:`MAX_BITS` bits; an
operation that would build a larger exact number (``((2/3)**100)**100``) is done in
floating point instead, before SymPy sees it, and exact integers beyond 2**53 reach NumPy
as the nearest double. Functions, powers and divisors that hold a variable may be nested
at most :data:`MAX_NESTING` deep, and a formula whose gradient would take too much work
to build (estimated from its tree before any derivative is taken) is refused;
:meth:`Formula.hessian` refuses the same way when its own estimate is too large. Using a
formula raises nothing but :class:`~descend.errors.FormulaError` (and the argument errors
of a wrong point).

Functions and their derivatives
-------------------------------
``sin cos tan asin acos atan sinh cosh tanh exp log sqrt abs`` (one argument), and:

==========================  ===================================  ===============================
function                    value                                derivative
==========================  ===================================  ===============================
``ln(x)``                   natural logarithm, as ``log(x)``     ``1/x``
``log(x, b)``               ``log(x)/log(b)``                    ``1/(x log b)`` (and in ``b``)
``log2(x)``, ``log10(x)``   base-2 and base-10 logarithms        ``1/(x log 2)``, ``1/(x log 10)``
``exp2(x)``                 ``2**x``                             ``2**x log 2``
``erf(x)``                  the error function                   ``2 exp(-x**2)/sqrt(pi)``
``sigmoid(x)``              ``1/(1 + exp(-x))``                  ``sigmoid(x) sigmoid(-x)``
``softplus(x)``             ``log(1 + exp(x))``                  ``sigmoid(x)``
``relu(x)``                 ``max(x, 0)``                        1 for x > 0, else 0
``sign(x)``                 -1, 0 or 1                           0
``abs(x)``                  ``|x|``                              ``sign(x)``
``max(a, b, ...)``          the largest argument                 see below
``min(a, b, ...)``          the smallest argument                see below
==========================  ===================================  ===============================

At a kink the gradient is a subgradient, fixed as follows: ``relu'(0) = 0``,
``abs'(0) = sign(0) = 0``, ``sign' = 0`` everywhere (its jump is not differentiated), and
at a tie ``max(a, b)`` and ``min(a, b)`` give each argument half (the mean of the two
one-sided derivatives). More arguments pair up in a balanced tree,
``max(a, b, c, d) = max(max(a, b), max(c, d))`` and ``max(a, b, c) = max(max(a, b), c)``,
so a tie of four gives each 1/4, a tie of three 1/4, 1/4 and 1/2: the weights always sum
to 1, and 64 arguments nest only 6 deep. Second derivatives of the kinks (Dirac deltas)
are 0. ``sigmoid`` and ``softplus`` are evaluated through ``exp(-|x|)``, which never
overflows (``sigmoid(-700)`` is ``exp(-700)`` to the last digits, and
``softplus(800)`` is 800); their derivatives are built from ``sigmoid`` itself
(``sigmoid(x) sigmoid(-x)``, not ``sigmoid(x) (1 - sigmoid(x))``), which keeps full
relative accuracy in both tails. ``erf`` is evaluated with :func:`scipy.special.erf`.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy
from sympy.codegen import cfunctions

from descend._types import Array, ArrayLike
from descend.errors import FormulaError, InvalidArgument, InvalidType

__all__ = [
    "FUNCTIONS", "MAX_BITS", "MAX_DEPTH", "MAX_GRADIENT_COST", "MAX_HESSIAN_COST",
    "MAX_LENGTH", "MAX_NESTING", "MAX_NODES", "MAX_VARIABLES", "Formula", "parse",
]

MAX_LENGTH = 1000  #: characters
MAX_NODES = 600  #: expression nodes in the syntax tree
MAX_DEPTH = 100  #: nesting of parentheses and of the syntax tree
MAX_NESTING = 20  #: functions, powers and divisions nested inside one another
MAX_VARIABLES = 64
MAX_LITERAL = 1e15  #: largest magnitude of a number written in the text
MAX_DIGITS = 30  #: most digits in a number written in the text
MAX_EXPONENT = 100  #: largest magnitude of a constant exponent
MAX_CONSTANT = 1e300  #: largest magnitude of a constant sub-expression
MAX_BITS = 256  #: largest exact numerator or denominator; larger numbers are floats
#: Estimated work of building all first partial derivatives (see ``_derivative_costs``).
MAX_GRADIENT_COST = 25_000
#: Estimated work of building the Hessian's entries; above it ``hessian`` refuses.
MAX_HESSIAN_COST = 60_000

_FLOAT_EXACT = 2**53  # integers up to this are printed as integers, larger ones as floats


# --- descend's own SymPy functions ------------------------------------------------------


def _real_args(self: sympy.Function) -> bool | None:
    return True if all(a.is_extended_real for a in self.args) else None


def _evalf_via(self: sympy.Function, prec: int) -> Any:
    """Numerical value of ``self`` at number arguments, through its elementary form."""
    if not all(a.is_number for a in self.args):
        return None
    dps = max(15, int(prec * 0.30103) + 1)
    return self._elementary().evalf(dps)


class sigmoid(sympy.Function):  # type: ignore[misc]
    """The logistic function ``1/(1 + exp(-x))``."""

    nargs = 1

    @classmethod
    def eval(cls, a: Any) -> Any:
        if a.is_zero:
            return sympy.S.Half
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        a = self.args[0]
        return sigmoid(a) * sigmoid(-a)

    def _elementary(self) -> Any:
        return 1 / (1 + sympy.exp(-self.args[0]))

    _eval_is_extended_real = _real_args
    _eval_evalf = _evalf_via

    def _eval_is_positive(self) -> bool | None:
        return _real_args(self)

    def _numpycode(self, printer: Any) -> str:
        return f"_descend_sigmoid({printer._print(self.args[0])})"

    _pythoncode = _numpycode


class softplus(sympy.Function):  # type: ignore[misc]
    """``log(1 + exp(x))``."""

    nargs = 1

    @classmethod
    def eval(cls, a: Any) -> Any:
        if a.is_zero:
            return sympy.log(2)
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    def _elementary(self) -> Any:
        return sympy.log(1 + sympy.exp(self.args[0]))

    _eval_is_extended_real = _real_args
    _eval_evalf = _evalf_via

    def _eval_is_positive(self) -> bool | None:
        return _real_args(self)

    def _numpycode(self, printer: Any) -> str:
        return f"_descend_softplus({printer._print(self.args[0])})"

    _pythoncode = _numpycode


class relu(sympy.Function):  # type: ignore[misc]
    """``max(x, 0)``, with derivative 0 at 0."""

    nargs = 1

    @classmethod
    def eval(cls, a: Any) -> Any:
        if a.is_Number:
            return a if a > 0 else sympy.S.Zero
        if a.is_nonnegative:
            return a
        if a.is_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sympy.Heaviside(self.args[0], 0)

    _eval_is_extended_real = _real_args

    def _eval_is_nonnegative(self) -> bool | None:
        return _real_args(self)

    def _numpycode(self, printer: Any) -> str:
        return f"{printer._module_format('numpy.maximum')}({printer._print(self.args[0])}, 0.0)"

    def _pythoncode(self, printer: Any) -> str:
        return f"_descend_relu({printer._print(self.args[0])})"


class _Extremum(sympy.Function):  # type: ignore[misc]
    """``max(a, b)`` or ``min(a, b)``: each argument gets half the derivative at a tie."""

    nargs = 2
    _word = ""
    _sign = 1

    @classmethod
    def eval(cls, a: Any, b: Any) -> Any:
        if a == b:
            return a
        if a.is_Number and b.is_Number:
            return a if cls._sign * (a - b) >= 0 else b
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        a, b = self.args
        first = argindex == 1
        return sympy.Heaviside(self._sign * ((a - b) if first else (b - a)))

    _eval_is_extended_real = _real_args

    def _elementary(self) -> Any:
        a, b = self.args
        return (sympy.Max if self._sign > 0 else sympy.Min)(a, b)

    _eval_evalf = _evalf_via

    def _flat_args(self) -> list[Any]:
        """The arguments, with nested extrema of the same kind opened: max(a, b, c)."""
        out: list[Any] = []
        todo = list(self.args)
        while todo:
            a = todo.pop(0)
            if type(a) is type(self):
                todo[:0] = a.args
            else:
                out.append(a)
        return out

    def _sympystr(self, printer: Any) -> str:
        return f"{self._word}({', '.join(printer._print(a) for a in self._flat_args())})"

    def _latex(self, printer: Any) -> str:
        args = ", ".join(printer._print(a) for a in self._flat_args())
        return rf"\{self._word}\left({args}\right)"

    def _numpycode(self, printer: Any) -> str:
        fn = printer._module_format("numpy.maximum" if self._sign > 0 else "numpy.minimum")
        return f"{fn}({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _pythoncode(self, printer: Any) -> str:
        a, b = (printer._print(x) for x in self.args)
        return f"_descend_{'maximum' if self._sign > 0 else 'minimum'}({a}, {b})"


class maximum(_Extremum):
    _word = "max"
    _sign = 1


class minimum(_Extremum):
    _word = "min"
    _sign = -1


class exp2(cfunctions.exp2):  # type: ignore[misc]
    """``2**x``, evaluated with ``numpy.exp2``."""

    def _latex(self, printer: Any) -> str:
        return f"2^{{{printer._print(self.args[0])}}}"

    def _pythoncode(self, printer: Any) -> str:
        return f"{printer._module_format('math.exp2')}({printer._print(self.args[0])})"


class log2(cfunctions.log2):  # type: ignore[misc]
    def _latex(self, printer: Any) -> str:
        return rf"\log_{{2}}{{\left({printer._print(self.args[0])} \right)}}"

    def _pythoncode(self, printer: Any) -> str:
        return f"{printer._module_format('math.log2')}({printer._print(self.args[0])})"


class log10(cfunctions.log10):  # type: ignore[misc]
    def _latex(self, printer: Any) -> str:
        return rf"\log_{{10}}{{\left({printer._print(self.args[0])} \right)}}"

    def _pythoncode(self, printer: Any) -> str:
        return f"{printer._module_format('math.log10')}({printer._print(self.args[0])})"


#: Functions with a kink whose derivative is a step or a Dirac delta.
_KINKED = (sympy.Abs, sympy.sign, sympy.Heaviside, relu, maximum, minimum)


# --- the same functions on floats (constant folding) and on NumPy arrays ----------------


def _sigmoid_float(x: float) -> float:
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


def _softplus_float(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _np_sigmoid(x: Any) -> Any:
    """1/(1 + exp(-x)) without overflow: exp(-|x|) is at most 1."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))[()]


def _np_softplus(x: Any) -> Any:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), without overflow."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _np_erf(x: Any) -> Any:
    from scipy.special import erf  # scipy comes with scikit-learn; loaded on first use

    return erf(x)


_NUMPY_HELPERS: dict[str, Any] = {
    "_descend_sigmoid": _np_sigmoid,
    "_descend_softplus": _np_softplus,
    "_descend_erf": _np_erf,
}


def _log(x: Any, base: Any = None) -> Any:
    return sympy.log(x) if base is None else sympy.log(x, base)


def _log_float(x: float, base: float | None = None) -> float:
    return math.log(x) if base is None else math.log(x) / math.log(base)


def _fold_pairs(cls: type[_Extremum]) -> Callable[..., Any]:
    """``max(a, b, c, d)`` as ``max(max(a, b), max(c, d))``: a balanced tree of pairs, so
    that 64 arguments nest 6 deep, not 63."""

    def fold(*args: Any) -> Any:
        if len(args) == 1:
            return args[0]
        half = (len(args) + 1) // 2
        return cls(fold(*args[:half]), fold(*args[half:]))

    return fold


def _sign_float(x: float) -> float:
    return float((x > 0) - (x < 0))


@dataclass(frozen=True)
class _Fn:
    """One function of the grammar: how it is built, folded on floats, and called."""

    build: Callable[..., Any]
    fold: Callable[..., float]
    fewest: int = 1
    most: int | None = 1
    usage: str = ""


_FUNCTIONS: dict[str, _Fn] = {
    "sin": _Fn(sympy.sin, math.sin),
    "cos": _Fn(sympy.cos, math.cos),
    "tan": _Fn(sympy.tan, math.tan),
    "asin": _Fn(sympy.asin, math.asin),
    "acos": _Fn(sympy.acos, math.acos),
    "atan": _Fn(sympy.atan, math.atan),
    "sinh": _Fn(sympy.sinh, math.sinh),
    "cosh": _Fn(sympy.cosh, math.cosh),
    "tanh": _Fn(sympy.tanh, math.tanh),
    "exp": _Fn(sympy.exp, math.exp),
    "log": _Fn(_log, _log_float, 1, 2, "one or two arguments: log(x) or log(x, base)"),
    "sqrt": _Fn(sympy.sqrt, math.sqrt),
    "abs": _Fn(sympy.Abs, abs),
    "ln": _Fn(sympy.log, math.log),
    "exp2": _Fn(exp2, lambda v: math.pow(2.0, v)),
    "log2": _Fn(log2, math.log2),
    "log10": _Fn(log10, math.log10),
    "sign": _Fn(sympy.sign, _sign_float),
    "erf": _Fn(sympy.erf, math.erf),
    "sigmoid": _Fn(sigmoid, _sigmoid_float),
    "softplus": _Fn(softplus, _softplus_float),
    "relu": _Fn(relu, lambda v: max(v, 0.0)),
    "min": _Fn(_fold_pairs(minimum), min, 2, None, "two or more arguments: min(a, b, ...)"),
    "max": _Fn(_fold_pairs(maximum), max, 2, None, "two or more arguments: max(a, b, ...)"),
}
#: The functions a formula may call, in the order the documentation lists them.
FUNCTIONS: tuple[str, ...] = tuple(_FUNCTIONS)
_CONSTANTS: dict[str, tuple[sympy.Expr, float]] = {
    "pi": (sympy.pi, math.pi),
    "e": (sympy.E, math.e),
}
_ALLOWED_FUNCTIONS = ", ".join(_FUNCTIONS)
_BAD_ATOMS = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)

_BAD_CHAR = re.compile(r"[^A-Za-z0-9_ \t\r\n+\-*/^().,]")
_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\n]+)|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/^(),.])"
)
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CHAR_HINTS = {
    "!": "factorials are not supported",
    "=": "assignments and comparisons are not supported",
    "<": "comparisons are not supported",
    ">": "comparisons are not supported",
    "[": "indexing is not supported",
    "]": "indexing is not supported",
    "{": "braces are not supported",
    "}": "braces are not supported",
    "'": "strings are not supported",
    '"': "strings are not supported",
    ";": "only one expression is allowed",
    "%": "'%' is not an operator here",
    "|": "use abs(...) for absolute values",
    "&": "boolean operators are not supported",
    "~": "bitwise operators are not supported",
    "@": "matrix products are not supported",
    "#": "comments are not supported",
    ":": "slices, lambdas and ':=' are not supported",
}
_NODE_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "'if ... else'",
    ast.Tuple: "a comma outside a function call",
    ast.Starred: "a star argument",
    ast.NamedExpr: "':='",
    ast.JoinedStr: "f-strings",
}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_OPS: dict[type, tuple[Callable[[Any, Any], Any], Callable[[float, float], float]]] = {
    ast.Add: (lambda p, q: p + q, lambda p, q: p + q),
    ast.Sub: (lambda p, q: p - q, lambda p, q: p - q),
    ast.Mult: (lambda p, q: p * q, lambda p, q: p * q),
    ast.Div: (lambda p, q: p / q, lambda p, q: p / q),
    ast.Pow: (lambda p, q: p**q, math.pow),
}
_OP_TEXT = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "^"}


def parse(text: str, variables: Sequence[str] | str | None = None) -> Formula:
    """Parse ``text`` into a :class:`Formula`, rejecting anything outside the grammar.

    Parameters
    ----------
    text : str
        At most 1,000 printable ASCII characters (plus spaces, tabs and newlines) using
        numbers (``2``, ``0.5``, ``1e-3``), variable names, ``+ - * / **``, ``^`` (power),
        parentheses, the functions ``sin cos tan asin acos atan sinh cosh tanh exp log
        sqrt abs ln exp2 log2 log10 sign erf sigmoid softplus relu`` (one argument each;
        ``log(x, base)`` also takes a base), ``min`` and ``max`` (two or more arguments)
        and the constants ``pi`` and ``e``. Multiplication must be written: ``2*x``, not
        ``2x``. The module docstring lists each function's derivative.
    variables : sequence of str or str, optional
        The variables and their order, as names or a comma-separated string. It may name
        variables the text does not use but must include every one it does. By default
        the names in the text, sorted.

    Returns
    -------
    Formula
        The parsed formula, with its exact derivatives.

    Raises
    ------
    descend.errors.FormulaError
        When the text is not a formula of this grammar or breaks a limit (length, nodes,
        nesting, variables, size of numbers and exponents, division by zero, size of the
        derivatives), or is a single name close to a function's (``sinn``: did you mean
        sin?).

    Examples
    --------
    >>> f = parse("(1 - x)^2 + 100*(y - x^2)^2")
    >>> f.variables
    ('x', 'y')
    >>> f([1.0, 1.0])
    0.0
    >>> f.grad([0.0, 0.0]).tolist()
    [-2.0, 0.0]
    >>> parse("x + y", variables="y, x").variables
    ('y', 'x')
    >>> parse("relu(x) + max(x, y)").grad([0.0, 0.0]).tolist()
    [0.5, 0.5]
    """
    if not isinstance(text, str):
        raise FormulaError(f"expected a string, got {type(text).__name__}")
    if variables is None:
        _refuse_near_miss(text, FUNCTIONS, "a function")
    tree, names = _Parser(text).run()
    if variables is None:
        order = tuple(sorted(names))
    else:
        order = _check_variables(variables)
        for name, pos in names.items():
            if name not in order:
                raise FormulaError(
                    f"variable '{name}' is not among {order}", text=text, position=pos
                )
    formula = Formula(tree, order, text)
    size = _gradient_cost(tree)
    if size > MAX_GRADIENT_COST:
        raise FormulaError(
            f"the formula is too complex to differentiate exactly: its partial derivatives "
            f"would take about {size:,} steps (at most {MAX_GRADIENT_COST:,}); use fewer "
            f"factors or nested functions",
            text=text,
        )
    return formula


def _close(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name`` (case forgiven), or None when none is close."""
    found = difflib.get_close_matches(name.lower(), list(candidates), n=1, cutoff=0.75)
    return found[0] if found else None


def _refuse_near_miss(text: str, candidates: Iterable[str], what: str) -> None:
    """Refuse a formula that is one unknown name close to one of ``candidates``.

    A formula that is a single name is a linear function with no minimum; when that name
    is one letter or two away from a function's (``sinn``) or a catalog entry's
    (``rosenbrok``), it is a typo, and saying so beats minimizing it.
    """
    name = text.strip()
    if not _IDENTIFIER.fullmatch(name) or name in _CONSTANTS:
        return
    candidates = list(candidates)
    if name in candidates:
        return
    close = _close(name, candidates)
    if close is not None:
        raise FormulaError(
            f"'{name}' is not {what} (did you mean {close}?)",
            text=text, position=text.index(name),
        )


def _check_variables(variables: Sequence[str] | str) -> tuple[str, ...]:
    items = variables.split(",") if isinstance(variables, str) else list(variables)
    if isinstance(variables, str) and not variables.strip():
        items = []
    names = tuple(v.strip() if isinstance(v, str) else v for v in items)
    for v in names:
        ok = isinstance(v, str) and _IDENTIFIER.fullmatch(v) is not None
        if not ok or v in _FUNCTIONS or v in _CONSTANTS or keyword.iskeyword(v):
            raise InvalidArgument(
                f"variables: {v!r} is not a valid variable name", argument="variables"
            )
    if len(set(names)) != len(names) or len(names) > MAX_VARIABLES:
        raise InvalidArgument(
            f"variables: expected at most {MAX_VARIABLES} distinct names, got {names!r}",
            argument="variables",
        )
    return names


# --- bounding exact arithmetic ----------------------------------------------------------


def _nbits(r: Any) -> int:
    """Bits of the larger of the numerator and denominator of a SymPy rational."""
    return max(int(r.p).bit_length(), int(r.q).bit_length())


def _all_bits(expr: Any) -> int:
    """Bits of the largest exact number anywhere in ``expr``."""
    return max((_nbits(r) for r in expr.atoms(sympy.Rational)), default=0)


def _powered_bits(expr: Any) -> int:
    """Bits of the numbers that an integer power of ``expr`` raises to that power.

    SymPy distributes a power over the numeric factors of a product and multiplies the
    exponents of powers of numbers, so ``(2/3*x)**n`` holds ``(2/3)**n``; other numbers
    (in sums, function arguments, exponents of variables) are not raised.
    """
    if expr.is_Rational:
        return _nbits(expr)
    if expr.is_Mul:
        return sum(_powered_bits(a) for a in expr.args)
    if expr.is_Pow and expr.exp.is_Rational:
        times: int = math.ceil(abs(expr.exp))
        return times * _powered_bits(expr.base)
    return 0


def _to_float(r: Any) -> Any:
    """A rational as a SymPy float with enough digits to print its double exactly."""
    return sympy.Float(r, 17)


def _float_powered(expr: Any) -> Any:
    """``expr`` with the numbers :func:`_powered_bits` counts turned into floats."""
    if expr.is_Rational:
        return _to_float(expr)
    if expr.is_Mul:
        return sympy.Mul(*(_float_powered(a) for a in expr.args))
    if expr.is_Pow and expr.exp.is_Rational:
        return sympy.Pow(_float_powered(expr.base), expr.exp)
    return expr


def _float_big(expr: Any) -> Any:
    """``expr`` with every exact number of more than 53 bits turned into a float."""
    big = {r: _to_float(r) for r in expr.atoms(sympy.Rational) if _nbits(r) > 53}
    return expr.xreplace(big) if big else expr


# --- estimating the cost of derivatives -------------------------------------------------


def _derivative_costs(expr: Any) -> dict[Any, int]:
    """For each variable of ``expr``, an estimate of the work of its partial derivative.

    The sum of two counts, without building anything: the nodes of the derivative written
    out as a tree (product, chain and power rules), and SymPy's own steps, of which a
    product of ``m`` factors takes ``m**2`` (it differentiates every factor of every
    term). One pass over the expression's distinct sub-expressions, no recursion.
    """
    memo: dict[Any, tuple[int, dict[Any, int], dict[Any, int]]] = {}
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in memo:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in memo)
            continue
        memo[node] = _node_costs(node, [memo[a] for a in node.args])
    _, size, work = memo[expr]
    return {v: size[v] + work[v] for v in size}


def _node_costs(
    node: Any, kids: list[tuple[int, dict[Any, int], dict[Any, int]]]
) -> tuple[int, dict[Any, int], dict[Any, int]]:
    """(tree size, derivative size by variable, SymPy's steps by variable) of ``node``."""
    if node.is_Symbol:
        return 1, {node: 1}, {node: 1}
    if not kids:
        return 1, {}, {}
    total = sum(s for s, _, _ in kids)
    m = len(kids)
    d: dict[Any, int] = {}
    w: dict[Any, int] = {}
    step = m * m if node.is_Mul else m + 1
    for _, _, wk in kids:
        for v, n in wk.items():
            w[v] = w.get(v, step) + n
    if node.is_Add:
        for _, dk, _ in kids:
            for v, n in dk.items():
                d[v] = d.get(v, 1) + n
    elif node.is_Mul:  # product rule: each factor's derivative times all the others
        for s, dk, _ in kids:
            for v, n in dk.items():
                d[v] = d.get(v, 1) + n + total - s + 1
    elif node.is_Pow:
        (sb, db, _), (se, de, _) = kids
        for v in db.keys() | de.keys():
            if not de:  # b**n: n*b**(n-1)*b'
                d[v] = db[v] + sb + se + 4
            else:  # b**e * (e' log b + e b'/b)
                d[v] = total + 2 * sb + se + de.get(v, 0) + db.get(v, 0) + 7
    else:  # a function: f'(args) * arg', f' about twice the size of f
        for _, dk, _ in kids:
            for v, n in dk.items():
                d[v] = d.get(v, 0) + 2 * total + n + 3
    return total + 1, d, w


def _gradient_cost(expr: Any, variables: Iterable[Any] | None = None) -> int:
    """The estimated work of the partial derivatives of ``expr`` by ``variables`` (all of
    its symbols by default)."""
    costs = _derivative_costs(expr)
    if variables is None:
        return sum(costs.values())
    return sum(costs.get(v, 0) for v in variables)


class _Parser:
    """One parse: screens the text, then builds the SymPy tree from the syntax tree."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: dict[str, int] = {}  # variable -> first position in the text

    def fail(self, reason: str, position: int | None) -> FormulaError:
        return FormulaError(reason, text=self.text, position=position)

    def run(self) -> tuple[sympy.Expr, dict[str, int]]:
        text = self.text
        if len(text) > MAX_LENGTH:
            raise self.fail(f"too long: {len(text)} characters, at most {MAX_LENGTH}", None)
        bad = _BAD_CHAR.search(text)
        if bad is not None:
            c, pos = bad.group(), bad.start()
            if not (c.isascii() and c.isprintable()):
                raise self.fail(f"character U+{ord(c):04X} is not allowed (ASCII only)", pos)
            hint = _CHAR_HINTS.get(c, "it is not part of the formula grammar")
            raise self.fail(f"character {c!r} is not allowed: {hint}", pos)
        if not text.strip():
            raise self.fail("the formula is empty", None)
        self._scan_tokens()
        # '^' means power; '(...)' lets whitespace and newlines appear anywhere.
        self.source = source = "(" + text.replace("^", "**") + ")"
        self.origin = [0]  # source offset -> text offset
        for i, c in enumerate(text):
            self.origin.extend([i] * (2 if c == "^" else 1))
        self.origin.append(len(text))
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            pos = self._position(exc.lineno or 1, (exc.offset or 1) - 1)
            raise self.fail(f"syntax error: {exc.msg}", pos) from None
        except (RecursionError, MemoryError, ValueError):
            raise self.fail("the formula is too deeply nested", None) from None
        self._check_tree(tree)

        expr, _, _ = self._build(tree.body)
        if expr.has(*_BAD_ATOMS):
            raise self.fail(f"the formula is not real-valued: it simplifies to {expr}", None)
        return expr, self.names

    def _scan_tokens(self) -> None:
        """Bracket depth, keywords and missing operators, on the raw text."""
        opened: list[int] = []  # positions of the unclosed '('
        prev, prev_pos, prev_end = ("", ""), 0, 0
        for m in _TOKEN.finditer(self.text):
            kind, tok, pos = m.lastgroup or "", m.group(), m.start()
            if kind == "ws":
                continue
            if tok == "(":
                opened.append(pos)
                if len(opened) > MAX_DEPTH:
                    raise self.fail(f"parentheses nested deeper than {MAX_DEPTH}", pos)
            elif tok == ")":
                if not opened:
                    raise self.fail("unmatched ')'", pos)
                opened.pop()
            elif tok == ".":
                raise self.fail("'.' is only allowed inside numbers (no attribute access)", pos)
            elif kind == "name" and keyword.iskeyword(tok):
                raise self.fail(f"keyword '{tok}' is not allowed", pos)
            pkind, ptok = prev
            if pkind == "name" and ptok in _FUNCTIONS and tok != "(":
                raise self.fail(f"'{ptok}' is a function: write {ptok}(...)", pos)
            if pkind == "name" and ptok not in _FUNCTIONS and tok == "(":
                if ptok in _CONSTANTS:
                    raise self.fail(f"'{ptok}' is a constant, not a function", prev_pos)
                close = _close(ptok, _FUNCTIONS)
                if close is not None:
                    raise self.fail(f"unknown function '{ptok}' (did you mean {close}?)",
                                    prev_pos)
                raise self.fail(
                    f"unknown function '{ptok}' (allowed: {_ALLOWED_FUNCTIONS}; "
                    f"for a product write {ptok}*(...))",
                    prev_pos,
                )
            ends_operand = pkind == "num" or ptok == ")" or (pkind == "name" and tok != "(")
            if ends_operand and (kind in ("num", "name") or tok == "("):
                if pkind == "num" and tok in ("j", "J") and prev_end == pos:
                    raise self.fail("complex numbers are not allowed", pos)
                a, b = ("(...)" if t in "()" else t for t in (ptok, tok))
                raise self.fail(
                    f"missing operator between '{ptok}' and '{tok}' (implicit "
                    f"multiplication is not supported: write {a}*{b})",
                    pos,
                )
            prev, prev_pos, prev_end = (kind, tok), pos, m.end()
        if opened:
            raise self.fail("'(' was never closed", opened[-1])
        if prev[0] == "name" and prev[1] in _FUNCTIONS:
            raise self.fail(f"'{prev[1]}' is a function: write {prev[1]}(...)", prev_end)

    def _offset(self, lineno: int, col: int) -> int:
        """Offset in the parsed source of a (1-based line, 0-based column) pair."""
        return self.line_starts[max(1, min(lineno, len(self.line_starts))) - 1] + col

    def _position(self, lineno: int, col: int) -> int:
        """Offset in the user's text of a (line, column) pair of the parsed source."""
        return self.origin[max(0, min(self._offset(lineno, col), len(self.origin) - 1))]

    def _at(self, node: ast.AST) -> int:
        return self._position(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def _check_tree(self, tree: ast.Expression) -> None:
        """Count, measure and allowlist every node without recursion.

        Besides the depth of the tree, measures the nesting that makes exact derivatives
        grow faster than the formula (the chain, power and quotient rules): entering the
        arguments of a function, either side of a power, or a divisor, when they hold a
        variable.
        """
        order = list(ast.walk(tree))
        if sum(isinstance(n, ast.expr) for n in order) > MAX_NODES:
            raise self.fail(f"too many terms: more than {MAX_NODES} syntax nodes", None)
        varying: set[int] = set()  # ids of the nodes that contain a variable
        for n in reversed(order):  # children before parents
            if isinstance(n, ast.Name):
                if n.id not in _CONSTANTS and n.id not in _FUNCTIONS:
                    varying.add(id(n))
            elif any(id(c) in varying for c in ast.iter_child_nodes(n)):
                varying.add(id(n))
        stack = [(tree.body, 1, 0)]
        while stack:
            node, depth, nesting = stack.pop()
            if depth > MAX_DEPTH:
                raise self.fail(f"nested deeper than {MAX_DEPTH} levels", self._at(node))
            if nesting > MAX_NESTING:
                raise self.fail(
                    f"functions, powers and divisors nested more than {MAX_NESTING} deep "
                    f"(their exact derivatives would be too large)",
                    self._at(node),
                )
            if isinstance(node, ast.BinOp) and not isinstance(node.op, _BINOPS):
                op = _OP_TEXT.get(type(node.op), type(node.op).__name__)
                raise self.fail(f"operator '{op}' is not allowed", self._at(node.right) - 1)
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.UAdd | ast.USub):
                raise self.fail("only unary '+' and '-' are allowed", self._at(node))
            if isinstance(node, ast.Call):
                self._check_call(node)
            if not isinstance(node, ast.BinOp | ast.UnaryOp | ast.Call | ast.Name | ast.Constant):
                what = _NODE_NAMES.get(type(node), type(node).__name__)
                raise self.fail(f"{what} is not allowed", self._at(node))
            deeper: set[int] = set()
            if id(node) in varying:
                if isinstance(node, ast.Call):
                    deeper = {id(a) for a in node.args}
                elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                    deeper = {id(node.left), id(node.right)}
                elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                    deeper = {id(node.right)} & varying
            for c in ast.iter_child_nodes(node):
                if isinstance(c, ast.expr):
                    stack.append((c, depth + 1, nesting + (id(c) in deeper)))

    def _check_call(self, node: ast.Call) -> None:
        name = getattr(node.func, "id", "a function")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail("a star argument is not allowed", self._at(node))
        if node.keywords:
            raise self.fail(f"{name}() takes no keyword arguments", self._at(node))
        fn = _FUNCTIONS.get(name) if isinstance(node.func, ast.Name) else None
        if fn is None:
            return  # _build names the unknown function
        n = len(node.args)
        if n < fn.fewest or (fn.most is not None and n > fn.most):
            takes = fn.usage or "exactly one argument"
            raise self.fail(f"{name}() takes {takes}", self._at(node))

    def _build(self, node: ast.expr) -> tuple[Any, float | None, int]:
        """SymPy expression of ``node``, its float value when it is constant, and a bound
        on the bits of the exact numbers in it."""
        pos = self._at(node)
        if isinstance(node, ast.Constant):
            number, literal = self._number(node, pos)
            return number, literal, _nbits(number) if number.is_Rational else 0
        if isinstance(node, ast.Name):
            name = node.id
            if name in _CONSTANTS:
                return (*_CONSTANTS[name], 0)
            if name in _FUNCTIONS:
                raise self.fail(f"'{name}' is a function: write {name}(...)", pos)
            if name.startswith("_") or not _IDENTIFIER.fullmatch(name):
                raise self.fail(f"name '{name}' is not allowed (it starts with '_')", pos)
            if name not in self.names and len(self.names) == MAX_VARIABLES:
                raise self.fail(f"too many variables: at most {MAX_VARIABLES}", pos)
            self.names.setdefault(name, pos)
            return sympy.Symbol(name, real=True), None, 0
        if isinstance(node, ast.Call):
            return self._call(node, pos)
        if isinstance(node, ast.UnaryOp):
            arg, v, bits = self._build(node.operand)
            neg = isinstance(node.op, ast.USub)
            return self._checked(
                -arg if neg else arg, None if v is None else (-v if neg else v), bits, pos
            )
        assert isinstance(node, ast.BinOp)
        (a, va, ba), (b, vb, bb) = self._build(node.left), self._build(node.right)
        op_pos = self._operator_position(node)
        if isinstance(node.op, ast.Div) and vb == 0:
            raise self.fail("division by zero", op_pos)
        power = isinstance(node.op, ast.Pow)
        if power and vb is not None:
            if abs(vb) > MAX_EXPONENT:
                raise self.fail(
                    f"exponent {vb:.6g} is too large (at most {MAX_EXPONENT} in magnitude)", op_pos
                )
            if va == 0 and vb < 0:
                raise self.fail("zero to a negative power", op_pos)
        sym_op, float_op = _OPS[type(node.op)]
        value: float | None = None
        if va is not None and vb is not None:
            x, y = va, vb
            value = self._fold(lambda: float_op(x, y), "this operation", op_pos)
        bits = ba + bb + 1
        if power and vb is not None:
            bits = math.ceil(abs(vb)) * ba + bb + 1
            if bits > MAX_BITS:  # the cheap bound is too coarse: look at the base
                bits = max(math.ceil(abs(vb)) * _powered_bits(a), _all_bits(a)) + bb + 1
            if bits > MAX_BITS:
                if value is not None:
                    return _to_float(value), value, 0
                a = _float_powered(a)
                bits = _all_bits(a) + bb + 1
        return self._checked(sym_op(a, b), value, bits, op_pos)

    def _call(self, node: ast.Call, pos: int) -> tuple[Any, float | None, int]:
        fname = getattr(node.func, "id", None)
        if not isinstance(node.func, ast.Name) or fname not in _FUNCTIONS:
            raise self.fail(f"unknown function (allowed: {_ALLOWED_FUNCTIONS})", pos)
        fn = _FUNCTIONS[fname]
        built = [self._build(a) for a in node.args]
        args = [e for e, _, _ in built]
        values = [v for _, v, _ in built]
        bits = sum(b for _, _, b in built) + 1
        value = None
        if all(v is not None for v in values):
            floats = [float(v) for v in values if v is not None]
            value = self._fold(lambda: fn.fold(*floats), fname, pos)
        if fname == "log" and len(args) == 2 and values[1] is not None:
            base = values[1]
            if not (base > 0 and base != 1):
                raise self.fail(f"log base must be positive and not 1, got {base:.6g}",
                                self._at(node.args[1]))
        if fname == "exp2" and values[0] is not None:
            bits += math.ceil(abs(values[0]))  # exp2(n) is the integer 2**n
        if fname == "exp" and args[0].has(sympy.log):
            # SymPy turns exp(c*log(u)) into u**c: bound the power it would compute
            bits = max(bits, self._exp_log_bits(args[0]))
            if bits > MAX_BITS and value is None:
                args = [_float_powered(args[0])]
                bits = _all_bits(args[0]) + 1
        if bits > MAX_BITS and value is not None:
            return _to_float(value), value, 0
        return self._checked(fn.build(*args), value, bits, pos)

    @staticmethod
    def _exp_log_bits(arg: Any) -> int:
        bits = _all_bits(arg) + 1
        for term in sympy.Add.make_args(arg):
            coeff, rest = term.as_coeff_Mul()
            logs = [f for f in sympy.Mul.make_args(rest) if isinstance(f, sympy.log)]
            if logs and coeff.is_Number:
                c = math.ceil(abs(float(coeff)))
                bits = max(bits, c * max(_powered_bits(f.args[0]) for f in logs) + bits)
        return bits

    def _operator_position(self, node: ast.BinOp) -> int:
        """Position of the operator of ``node``: the first character between its operands
        that is not a bracket or whitespace."""
        left = self._offset(node.left.end_lineno or 1, node.left.end_col_offset or 0)
        right = self._offset(node.right.lineno, node.right.col_offset)
        between = self.source[left:right]
        skip = len(between) - len(between.lstrip(" \t\r\n()"))
        return self.origin[min(left + skip, len(self.origin) - 1)]

    def _number(self, node: ast.Constant, pos: int) -> tuple[sympy.Expr, float]:
        seg = ast.get_source_segment(self.source, node) or ""
        if type(node.value) not in (int, float) or not _NUMBER.fullmatch(seg):
            raise self.fail(f"literal {seg or node.value!r} is not allowed", pos)
        if sum(c.isdigit() for c in seg.split("e")[0].split("E")[0]) > MAX_DIGITS:
            raise self.fail(f"number has more than {MAX_DIGITS} digits", pos)
        value = float(seg)
        if not abs(value) <= MAX_LITERAL:
            raise self.fail(f"number {seg} is too large (at most {MAX_LITERAL:g})", pos)
        return (sympy.Integer(int(seg)) if seg.isdigit() else sympy.Float(seg)), value

    def _fold(self, compute: Callable[[], float], what: str, pos: int) -> float:
        try:
            value = compute()
        except (ValueError, ZeroDivisionError, TypeError):
            raise self.fail(f"{what} is undefined for this constant argument", pos) from None
        except OverflowError:
            raise self.fail(f"{what} gives a constant that is too large", pos) from None
        if not abs(value) <= MAX_CONSTANT:
            raise self.fail(f"{what} gives a constant that is too large", pos)
        return float(value)

    def _checked(
        self, expr: Any, value: float | None, bits: int, pos: int
    ) -> tuple[Any, float | None, int]:
        if expr in _BAD_ATOMS:
            raise self.fail("the result is undefined (division by zero?)", pos)
        if value is None and not expr.free_symbols:  # SymPy cancelled the variables: x - x
            value = self._fold(lambda: float(expr), "this expression", pos)
        if bits > MAX_BITS:  # sums and products at most double the bits: measure them
            bits = _all_bits(expr)
            if bits > MAX_BITS:
                if value is not None:
                    return _to_float(value), value, 0
                expr = _float_big(expr)
                bits = 53
        return expr, value, bits


def _as_points(x: ArrayLike, p: int, name: str) -> Array:
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise InvalidType(f"{name}: expected real numbers, got dtype {a.dtype}", argument=name)
    a = a.astype(np.float64, copy=False)
    if a.ndim == 0 and p == 1:
        a = a.reshape(1)
    if a.ndim == 0 or a.shape[-1] != p:
        raise InvalidArgument(
            f"{name}: expected a point of {p} coordinates or an array of shape "
            f"(..., {p}), got shape {a.shape}",
            argument=name,
        )
    return a


def _columns(a: Array) -> Any:
    """The coordinates: NumPy scalars for one point, column views for many."""
    return tuple(a) if a.ndim == 1 else tuple(a[..., i] for i in range(a.shape[-1]))


def _real(r: Any) -> Any:
    """Complex results (e.g. ``(-1)**(1/3)``) become nan unless their imaginary part is 0."""
    if isinstance(r, float | int) or (isinstance(r, np.ndarray) and r.dtype.kind != "c"):
        return r  # the fast path: np.float64 is a float
    r = np.asarray(r)
    return np.where(r.imag == 0, r.real, np.nan) if r.dtype.kind == "c" else r


def _float_literal(num: int, den: int = 1) -> str:
    """The double nearest ``num/den``, as Python source (``inf`` past the largest)."""
    try:
        return repr(num / den)  # int / int rounds correctly, for any size
    except OverflowError:
        return "float('inf')" if (num < 0) == (den < 0) else "float('-inf')"


class _NumberPrinting:
    """Printer methods shared by the NumPy printer here and the numba one in _compiled.

    Exact integers beyond 2**53 are written as the nearest double (NumPy would otherwise
    hold them as Python objects and its ufuncs refuse them); ``Heaviside(x, h)`` as a
    step that keeps NaN.
    """

    def _print_Integer(self, expr: Any) -> str:
        if abs(expr.p) <= _FLOAT_EXACT:
            return str(expr.p)
        return _float_literal(int(expr.p))

    def _print_Rational(self, expr: Any) -> str:
        if max(abs(expr.p), expr.q) <= _FLOAT_EXACT:
            return super()._print_Rational(expr)  # type: ignore[misc, no-any-return]
        return _float_literal(int(expr.p), int(expr.q))


def _numpy_printer() -> Any:
    from sympy.printing.numpy import NumPyPrinter

    class Printer(_NumberPrinting, NumPyPrinter):  # type: ignore[misc]
        def _print_Heaviside(self, expr: Any) -> str:
            h0 = float(expr.args[1]) if len(expr.args) > 1 else 0.5
            return f"{self._module_format('numpy.heaviside')}({self._print(expr.args[0])}, {h0!r})"

        def _print_erf(self, expr: Any) -> str:
            return f"_descend_erf({self._print(expr.args[0])})"

    # The settings sympy.lambdify gives its own NumPy printer.
    return Printer({"fully_qualified_modules": False, "inline": True,
                    "allow_unknown_functions": True, "user_functions": {}})


def _drop_deltas(expr: Any) -> Any:
    """A kink's second derivative, a Dirac delta, is 0 wherever it is defined."""
    if not expr.has(sympy.DiracDelta):
        return expr
    return expr.replace(sympy.DiracDelta, lambda *_: sympy.Integer(0))


class Formula:
    """A parsed formula of ``p`` variables with exact, compiled derivatives.

    Create one with :func:`parse`. Calling it evaluates the formula at one point (a
    sequence of ``p`` numbers, giving a float) or at many (an array of shape ``(..., p)``,
    giving an array of shape ``(...)``). Outside the domain the result is nan or inf; no
    exception and no warning. Two formulas are equal when their SymPy expressions and
    variables are equal.

    Attributes
    ----------
    text : str
        The text as given to :func:`parse`.
    variables : tuple of str
        The variables, in the order of the coordinates of a point.
    expr : sympy.Expr
        The formula; ``partials`` are its derivatives, one per variable.

    Examples
    --------
    >>> import numpy as np
    >>> f = parse("x^2 + y^2")
    >>> f(np.array([6.0, -3.0]))
    45.0
    >>> f.grad(np.zeros((10, 2))).shape
    (10, 2)
    >>> f.hessian([1.0, 2.0]).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    >>> f.partials_latex
    {'x': '2 x', 'y': '2 y'}
    >>> f == parse("x**2 + y**2")
    True
    """

    def __init__(self, expr: sympy.Expr, variables: Iterable[str], text: str) -> None:
        self.expr = expr
        self.variables = tuple(variables)
        self.text = text
        self._symbols = [sympy.Symbol(v, real=True) for v in self.variables]

    @property
    def n_vars(self) -> int:
        """The number of variables ``p``."""
        return len(self.variables)

    def _fail(self, what: str) -> FormulaError:
        return FormulaError(f"the formula is nested too deeply to {what}", text=self.text)

    @cached_property
    def _kinked(self) -> bool:
        return bool(self.expr.has(*_KINKED))

    @cached_property
    def partials(self) -> tuple[sympy.Expr, ...]:
        """The partial derivatives, in the order of :attr:`variables`."""
        try:
            parts = tuple(sympy.diff(self.expr, s) for s in self._symbols)
            if self._kinked:
                parts = tuple(_drop_deltas(d) for d in parts)
        except RecursionError:
            raise self._fail("differentiate") from None
        return parts

    @cached_property
    def latex(self) -> str:
        """LaTeX of the formula."""
        try:
            return str(sympy.latex(self.expr))
        except RecursionError:
            raise self._fail("print") from None

    @cached_property
    def partials_latex(self) -> dict[str, str]:
        """LaTeX of each partial derivative, by variable name."""
        parts = self.partials
        try:
            return {v: str(sympy.latex(d)) for v, d in zip(self.variables, parts, strict=True)}
        except RecursionError:
            raise self._fail("print") from None

    def _compile(self, exprs: Any) -> Callable[..., Any]:
        try:
            fn: Callable[..., Any] = sympy.lambdify(
                self._symbols, exprs, modules=[_NUMPY_HELPERS, "numpy"],
                printer=_numpy_printer(), cse=True, dummify=True,
            )
        except RecursionError:
            raise self._fail("compile") from None
        return fn

    @cached_property
    def _value_fn(self) -> Callable[..., Any]:
        return self._compile(self.expr)

    @cached_property
    def _grad_fn(self) -> Callable[..., Any]:
        return self._compile(list(self.partials))

    @cached_property
    def _hess_fn(self) -> tuple[list[tuple[int, int]], list[int], Callable[..., Any]]:
        """The upper triangle's pairs, the index of each in the compiled list, the function.

        Only the distinct second derivatives are compiled; a partial is differentiated only
        by the variables it contains. The steps of the kinks in the partials (``sign``,
        ``Heaviside``) are held fixed while differentiating: their derivatives are Dirac
        deltas, taken as 0, so there is no need to build them.
        """
        p = self.n_vars
        parts = self.partials
        frozen = list(parts)
        thaw: dict[Any, Any] = {}
        if self._kinked:
            steps = set().union(*(d.atoms(sympy.Heaviside, sympy.sign) for d in parts))
            fixed = {h: sympy.Dummy(real=True) for h in steps}
            thaw = {v: k for k, v in fixed.items()}
            frozen = [d.xreplace(fixed) for d in parts]
        size = sum(_gradient_cost(d, self._symbols) for d in set(frozen))  # equal: built once
        if size > MAX_HESSIAN_COST:
            raise FormulaError(
                f"the Hessian is too large to build exactly: about {size:,} steps (at most "
                f"{MAX_HESSIAN_COST:,})",
                text=self.text,
            )
        pairs = [(i, j) for i in range(p) for j in range(i, p)]
        distinct: dict[Any, int] = {}
        where: list[int] = []
        try:
            free = [d.free_symbols for d in frozen]
            for i, j in pairs:
                s = self._symbols[j]
                second = sympy.diff(frozen[i], s) if s in free[i] else sympy.Integer(0)
                if thaw:
                    second = _drop_deltas(second.xreplace(thaw))
                where.append(distinct.setdefault(second, len(distinct)))
        except RecursionError:
            raise self._fail("differentiate") from None
        return pairs, where, self._compile(list(distinct))

    def __call__(self, x: ArrayLike) -> Any:
        """Value at one point (a float) or at each point of an array ``(..., p)``."""
        a = _as_points(x, self.n_vars, "x")
        with np.errstate(all="ignore"):
            if a.ndim == 1:
                return float(_real(self._value_fn(*a)))
            r = _real(self._value_fn(*_columns(a)))
        if isinstance(r, np.ndarray) and r.shape == a.shape[:-1]:
            return r.astype(np.float64, copy=bool(self.expr.is_Symbol))
        return np.full(a.shape[:-1], r, dtype=np.float64)

    @cached_property
    def _arithmetic(self) -> bool:
        """Whether the formula is only + - * / and integer powers (so are its partials:
        the derivative of such an expression is one): compiled, it is Python float
        arithmetic alone, which never touches NumPy's error state (its errors raise
        ``ArithmeticError``), so the fast path needs no ``np.errstate`` (a few us a call)."""
        return not self.expr.atoms(sympy.Function) and all(
            p.exp.is_Integer for p in self.expr.atoms(sympy.Pow))

    def _at_point(self, fn: Callable[..., Any], x: Array) -> Any:
        """``fn`` on the coordinates of ``x`` as Python floats; under ``np.errstate``
        unless the formula is pure arithmetic (:attr:`_arithmetic`)."""
        if self._arithmetic:
            return fn(*x.tolist())
        with np.errstate(all="ignore"):
            return fn(*x.tolist())

    def value_at(self, x: Array) -> float:
        """The value at one checked point, a float64 array ``(p,)``: the loop's fast path.

        Evaluates on Python floats, so arithmetic errors (``1/0``) give nan.

        Parameters
        ----------
        x : ndarray (p,)
            A float64 point, already checked.

        Returns
        -------
        float
            f at ``x``.
        """
        try:
            r = self._at_point(self._value_fn, x)
        except ArithmeticError:
            return math.nan
        if isinstance(r, complex):
            return r.real if r.imag == 0 else math.nan
        return float(_real(r))

    def grad_at(self, x: Array) -> Array:
        """The gradient at one checked point ``(p,)``: the fast path of the loop.

        Parameters
        ----------
        x : ndarray (p,)
            A float64 point, already checked.

        Returns
        -------
        ndarray (p,)
            The gradient.
        """
        try:
            parts = self._at_point(self._grad_fn, x)
        except ArithmeticError:
            return np.full(x.shape, math.nan)
        out = np.array(parts)
        if out.dtype.kind == "c":
            out = np.where(out.imag == 0, out.real, np.nan)
        return out.astype(np.float64, copy=False).reshape(x.shape)

    def grad(self, x: ArrayLike) -> Array:
        """Gradient at one point ``(p,)`` or at each point of an array ``(..., p)``.

        Parameters
        ----------
        x : array_like (p,) or (..., p)
            The point or points.

        Returns
        -------
        ndarray (p,) or (..., p)
            The gradient.
        """
        a = _as_points(x, self.n_vars, "x")
        out = np.empty(a.shape, dtype=np.float64)
        with np.errstate(all="ignore"):
            parts = self._grad_fn(*_columns(a))
            for i, g in enumerate(parts):
                out[..., i] = _real(g)
        return out

    def hessian(self, x: ArrayLike) -> Array:
        """Hessian at one point ``(p, p)`` or at each point of an array ``(..., p, p)``.

        Raises :class:`~descend.errors.FormulaError` when the second derivatives would be
        too large to build (:data:`MAX_HESSIAN_COST`).

        Parameters
        ----------
        x : array_like (p,) or (..., p)
            The point or points.

        Returns
        -------
        ndarray (p, p) or (..., p, p)
            The matrix of second derivatives.
        """
        a = _as_points(x, self.n_vars, "x")
        pairs, where, fn = self._hess_fn
        out = np.empty((*a.shape, self.n_vars), dtype=np.float64)
        with np.errstate(all="ignore"):
            parts = fn(*_columns(a))
            for (i, j), k in zip(pairs, where, strict=True):
                out[..., i, j] = out[..., j, i] = _real(parts[k])
        return out

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Formula({self.text!r}, variables={self.variables!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Formula):
            return NotImplemented
        return self.variables == other.variables and bool(self.expr == other.expr)

    def __hash__(self) -> int:
        return hash((self.expr, self.variables))


def _warm_up() -> None:
    """Run SymPy's lazy imports and caches now, so that no rejection pays for them."""
    for text in ("x/(x-x)", "sin(x)^2 + log(y)/2 - 1.5e-3*sqrt(abs(x - x + 2)) + pi*e",
                 "max(x, 2)^100 + relu(x)*sigmoid(y) + exp(3*log(2/3*x))"):
        try:
            parse(text)
        except FormulaError:
            pass


_warm_up()
