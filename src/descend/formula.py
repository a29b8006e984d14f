"""Parse formula text into a :class:`Formula` with exact derivatives.

This is the only place descend turns user text into mathematics, and the text may come
from strangers through the web app. It is never given to ``eval``, ``exec``, ``sympify``
or ``parse_expr``: the raw text is screened character by character, tokenized with a
small regular expression, parsed with :func:`ast.parse` into an allowlist of node types,
and the SymPy tree is built node by node from validated pieces. Every limit is checked
before any SymPy work, and every rejection is a :class:`~descend.errors.FormulaError`.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import sympy

from descend._types import Array, ArrayLike
from descend.errors import FormulaError, InvalidArgument, InvalidType

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_NODES", "MAX_VARIABLES", "Formula", "parse"]

MAX_LENGTH = 1000  #: characters
MAX_NODES = 200  #: expression nodes in the syntax tree
MAX_DEPTH = 100  #: nesting of parentheses and of the syntax tree
MAX_VARIABLES = 16
MAX_LITERAL = 1e15  #: largest magnitude of a number written in the text
MAX_DIGITS = 30  #: most digits in a number written in the text
MAX_EXPONENT = 100  #: largest magnitude of a constant exponent
MAX_CONSTANT = 1e300  #: largest magnitude of a constant sub-expression

_FUNCTIONS: dict[str, tuple[Callable[[Any], Any], Callable[[float], float]]] = {
    "sin": (sympy.sin, math.sin),
    "cos": (sympy.cos, math.cos),
    "tan": (sympy.tan, math.tan),
    "asin": (sympy.asin, math.asin),
    "acos": (sympy.acos, math.acos),
    "atan": (sympy.atan, math.atan),
    "sinh": (sympy.sinh, math.sinh),
    "cosh": (sympy.cosh, math.cosh),
    "tanh": (sympy.tanh, math.tanh),
    "exp": (sympy.exp, math.exp),
    "log": (sympy.log, math.log),
    "sqrt": (sympy.sqrt, math.sqrt),
    "abs": (sympy.Abs, abs),
}
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
        sqrt abs`` (one argument each) and the constants ``pi`` and ``e``. Multiplication
        must be written: ``2*x``, not ``2x``.
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
        nesting, variables, size of numbers and exponents, division by zero).

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
    """
    if not isinstance(text, str):
        raise FormulaError(f"expected a string, got {type(text).__name__}")
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
    return Formula(tree, order, text)


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

        expr, _ = self._build(tree.body)
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
        """Count, measure and allowlist every node without recursion."""
        if sum(isinstance(n, ast.expr) for n in ast.walk(tree)) > MAX_NODES:
            raise self.fail(f"too many terms: more than {MAX_NODES} syntax nodes", None)
        stack = [(tree.body, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.fail(f"nested deeper than {MAX_DEPTH} levels", self._at(node))
            if isinstance(node, ast.BinOp) and not isinstance(node.op, _BINOPS):
                op = _OP_TEXT.get(type(node.op), type(node.op).__name__)
                raise self.fail(f"operator '{op}' is not allowed", self._at(node.right) - 1)
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.UAdd | ast.USub):
                raise self.fail("only unary '+' and '-' are allowed", self._at(node))
            if isinstance(node, ast.Call) and (node.keywords or len(node.args) != 1):
                name = getattr(node.func, "id", "a function")
                raise self.fail(f"{name}() takes exactly one argument", self._at(node))
            if not isinstance(node, ast.BinOp | ast.UnaryOp | ast.Call | ast.Name | ast.Constant):
                what = _NODE_NAMES.get(type(node), type(node).__name__)
                raise self.fail(f"{what} is not allowed", self._at(node))
            children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
            stack.extend((c, depth + 1) for c in children)

    def _build(self, node: ast.expr) -> tuple[sympy.Expr, float | None]:
        """SymPy expression of ``node`` and, when it is constant, its float value."""
        pos = self._at(node)
        if isinstance(node, ast.Constant):
            return self._number(node, pos)
        if isinstance(node, ast.Name):
            name = node.id
            if name in _CONSTANTS:
                return _CONSTANTS[name]
            if name in _FUNCTIONS:
                raise self.fail(f"'{name}' is a function: write {name}(...)", pos)
            if name.startswith("_") or not _IDENTIFIER.fullmatch(name):
                raise self.fail(f"name '{name}' is not allowed (it starts with '_')", pos)
            if name not in self.names and len(self.names) == MAX_VARIABLES:
                raise self.fail(f"too many variables: at most {MAX_VARIABLES}", pos)
            self.names.setdefault(name, pos)
            return sympy.Symbol(name, real=True), None
        if isinstance(node, ast.Call):
            fname = getattr(node.func, "id", None)
            if not isinstance(node.func, ast.Name) or fname not in _FUNCTIONS:
                raise self.fail(f"unknown function (allowed: {_ALLOWED_FUNCTIONS})", pos)
            sym_fn, float_fn = _FUNCTIONS[fname]
            arg, v = self._build(node.args[0])
            value = None
            if v is not None:
                u = v
                value = self._fold(lambda: float_fn(u), fname, pos)
            return self._checked(sym_fn(arg), value, pos)
        if isinstance(node, ast.UnaryOp):
            arg, v = self._build(node.operand)
            neg = isinstance(node.op, ast.USub)
            return self._checked(
                -arg if neg else arg, None if v is None else (-v if neg else v), pos
            )
        assert isinstance(node, ast.BinOp)
        (a, va), (b, vb) = self._build(node.left), self._build(node.right)
        op_pos = self._operator_position(node)
        if isinstance(node.op, ast.Div) and vb == 0:
            raise self.fail("division by zero", op_pos)
        if isinstance(node.op, ast.Pow) and vb is not None:
            if abs(vb) > MAX_EXPONENT:
                raise self.fail(
                    f"exponent {vb:.6g} is too large (at most {MAX_EXPONENT} in magnitude)", op_pos
                )
            if va == 0 and vb < 0:
                raise self.fail("zero to a negative power", op_pos)
        sym_op, float_op = _OPS[type(node.op)]
        value = None
        if va is not None and vb is not None:
            x, y = va, vb
            value = self._fold(lambda: float_op(x, y), "this operation", op_pos)
        return self._checked(sym_op(a, b), value, op_pos)

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

    def _checked(self, expr: Any, value: float | None, pos: int) -> tuple[sympy.Expr, float | None]:
        if expr in _BAD_ATOMS:
            raise self.fail("the result is undefined (division by zero?)", pos)
        if value is None and not expr.free_symbols:  # SymPy cancelled the variables: x - x
            value = self._fold(lambda: float(expr), "this expression", pos)
        return expr, value


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

    @cached_property
    def partials(self) -> tuple[sympy.Expr, ...]:
        """The partial derivatives, in the order of :attr:`variables`."""
        return tuple(sympy.diff(self.expr, s) for s in self._symbols)

    @cached_property
    def latex(self) -> str:
        """LaTeX of the formula."""
        return str(sympy.latex(self.expr))

    @cached_property
    def partials_latex(self) -> dict[str, str]:
        """LaTeX of each partial derivative, by variable name."""
        return {v: str(sympy.latex(d)) for v, d in zip(self.variables, self.partials, strict=True)}

    def _compile(self, exprs: Any) -> Callable[..., Any]:
        fn: Callable[..., Any] = sympy.lambdify(
            self._symbols, exprs, modules="numpy", cse=True, dummify=True
        )
        return fn

    @cached_property
    def _value_fn(self) -> Callable[..., Any]:
        return self._compile(self.expr)

    @cached_property
    def _grad_fn(self) -> Callable[..., Any]:
        return self._compile(list(self.partials))

    @cached_property
    def _hess_fn(self) -> tuple[list[tuple[int, int]], Callable[..., Any]]:
        p = self.n_vars
        pairs = [(i, j) for i in range(p) for j in range(i, p)]
        second = [sympy.diff(self.partials[i], self._symbols[j]) for i, j in pairs]
        # |x|'' = 2 DiracDelta(x): zero wherever it is defined.
        second = [d.replace(sympy.DiracDelta, lambda *_: sympy.Integer(0)) for d in second]
        return pairs, self._compile(second)

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
        with np.errstate(all="ignore"):
            try:
                r = self._value_fn(*x.tolist())
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
        with np.errstate(all="ignore"):
            try:
                parts = self._grad_fn(*x.tolist())
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
        pairs, fn = self._hess_fn
        out = np.empty((*a.shape, self.n_vars), dtype=np.float64)
        with np.errstate(all="ignore"):
            parts = fn(*_columns(a))
            for (i, j), h in zip(pairs, parts, strict=True):
                out[..., i, j] = out[..., j, i] = _real(h)
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
    for text in ("x/(x-x)", "sin(x)^2 + log(y)/2 - 1.5e-3*sqrt(abs(x - x + 2)) + pi*e"):
        try:
            parse(text)
        except FormulaError:
            pass


_warm_up()
