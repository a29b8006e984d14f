r"""The code of :mod:`descend._compiled`'s kernels: a formula printed by SymPy, a loop template.

``build(formula)`` returns ``kernel(x, f, g, t, fb, lo, hi, steps, gtol, ftol, xtol, codes,
nsteps, xd, gd, det, first_div, sched_end)``, which advances runs ``lo:hi`` of a batch by
up to ``steps`` steps of plain gradient descent, ``x <- x - t g``: ``x``, ``f``, ``g`` hold
the runs' points, values and gradients on entry and on exit; ``t`` their steps, ``fb``
their divergence bounds; a disabled tolerance is -1. For each run that stops, ``codes``
gets its :class:`~descend.result.Reason`, ``nsteps`` the step it stopped at, ``det`` the
number behind the reason, and for a refused step ``xd``/``gd`` the point and gradient
refused; a run still going ends with code 0 and ``nsteps = steps``.

The rules are :func:`descend.stopping.step_code` itself, compiled in. Each step is one
branch-free pass over a block of runs (:func:`advance`, which LLVM vectorizes where the
formula allows) that applies the screen :func:`descend.stopping.quiet`, with norms as plain
square roots of sums of squares; only after a step where the screen flags some run,
:func:`review` applies ``step_code`` to every run of the block with the exact norms of
:func:`descend.stopping.norms` (a sum of squares can overflow or underflow) and
:func:`descend._compiled.steps.settle` writes out the runs that stopped.

The formula is printed from its SymPy tree with the same common subexpressions and operand
order as :meth:`Formula.grad <descend.formula.Formula.grad>` (``sympy.lambdify``,
``cse=True``), integer powers go to libm's ``pow`` as NumPy's do, and there is no
fast-math (NaN and inf propagate: ``log(-1)`` is nan, ``1/0`` inf, never an exception), so
the numbers agree with the NumPy loop's to an ulp or so per step (libm and NumPy's own SIMD
routines, ``tanh`` for one, may differ in the last bit).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..result import Reason
from ..stopping import quiet, step_code

if TYPE_CHECKING:
    from ..formula import Formula

__all__ = ["BLOCK", "build", "functions", "warm"]

BLOCK = 256  # runs advanced together, step by step (their state stays in L1/L2)
_TINY, _HUGE = "2.0**-500", "2.0**500"  # as descend.stopping.norms


def _printer() -> Any:
    """SymPy's math printer, arranged to compute as NumPy does on float64 arrays."""
    import sympy
    from sympy.printing.pycode import PythonCodePrinter

    from ..formula import _NumberPrinting

    class Printer(_NumberPrinting, PythonCodePrinter):  # type: ignore[misc]
        def _print_Pow(self, expr: Any, rational: bool = False) -> str:
            # NumPy raises float64 arrays to an integer power with libm's pow (x**2: x*x,
            # the same number); numba's integer power multiplies, which can differ by an
            # ulp, so integer exponents are written as floats: pow, or x*x for 2.0.
            if expr.exp.is_Integer:
                expr = sympy.Pow(expr.base, expr.exp.evalf(), evaluate=False)
            return str(super()._print_Pow(expr, rational=rational))

        def _print_sign(self, expr: Any) -> str:  # numpy.sign: nan stays nan
            a = self._print(expr.args[0])
            return f"(1.0 if {a} > 0 else (-1.0 if {a} < 0 else (0.0 if {a} == 0 else {a})))"

        def _print_Heaviside(self, expr: Any) -> str:
            h0 = float(expr.args[1]) if len(expr.args) > 1 else 0.5
            return f"_descend_heaviside({self._print(expr.args[0])}, {h0!r})"

        def _print_re(self, expr: Any) -> str:  # numpy.real of a real array: itself
            return f"({self._print(expr.args[0])})"

        def _print_im(self, expr: Any) -> str:  # numpy.imag of a real array: zeros
            return "0.0"

    # Numbers beyond 2**53 print as floats (_NumberPrinting); sigmoid, softplus, relu,
    # max and min print as calls of steps.FORMULA_HELPERS (their _pythoncode).
    return Printer({"fully_qualified_modules": False, "inline": True,
                    "allow_unknown_functions": False, "user_functions": {}})


def functions(formula: Formula) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``value(x1, ..., xp)`` and ``grad(x1, ..., xp) -> tuple``, Python functions of floats.

    ``sympy.lambdify`` on the formula's own symbols, with the same ``cse`` and dummies as
    :class:`~descend.formula.Formula`, so the operations come in the same order. Numbers
    become floats, so that every partial is one.
    """
    import sympy

    from .steps import FORMULA_HELPERS

    symbols = [sympy.Symbol(v, real=True) for v in formula.variables]
    expr = sympy.Float(float(formula.expr)) if formula.expr.is_number else formula.expr
    parts = tuple(sympy.Float(float(d)) if d.is_number else d for d in formula.partials)
    printer = _printer()
    modules = [FORMULA_HELPERS, "math"]
    value = sympy.lambdify(symbols, expr, modules=modules, printer=printer, cse=True,
                           dummify=True)
    grad = sympy.lambdify(symbols, parts, modules=modules, printer=printer, cse=True,
                          dummify=True)
    return value, grad


def build(formula: Formula) -> Callable[..., Any]:
    """The compiled kernel for ``formula`` (see the module docstring)."""
    from numba import njit

    from . import steps

    value_py, grad_py = functions(formula)
    space: dict[str, Any] = {
        "np": np, "math": math,
        "value": njit(inline="always", error_model="numpy")(value_py),
        "grad": njit(inline="always", error_model="numpy")(grad_py),
        "rule": njit(inline="always", error_model="numpy")(step_code),
        "quiet": njit(inline="always", error_model="numpy")(quiet),
    }
    exec(compile(kernel_text(formula.n_vars), "<descend._compiled kernel>", "exec"), space)
    # The step pass is a function of its own: given the two buffers as arguments, LLVM
    # vectorizes it; inside the kernel, whose buffers swap every step, it does not.
    for name in ("advance", "advance_g", "review"):
        space[name] = njit(nogil=True, error_model="numpy")(space[name])
    space.update(start=steps.start, settle=steps.settle, finish=steps.finish)
    kernel: Callable[..., Any] = njit(nogil=True, error_model="numpy")(space["kernel"])
    return kernel


def warm(kernel: Callable[..., Any], p: int) -> None:
    """Compile ``kernel`` for the argument types it is called with, by running one step."""
    x = np.zeros((1, p))
    kernel(x, np.zeros(1), np.ones((1, p)), np.ones(1), np.full(1, 1e10), 0, 1, 1, -1.0,
           -1.0, -1.0, np.zeros(1, dtype=np.int8), np.zeros(1, dtype=np.int64),
           np.empty((1, p)), np.empty((1, p)), np.empty(1), int(Reason.F0_NONFINITE),
           int(Reason.SCHEDULE_END))


def _robust(name: str, parts: list[str], ind: str) -> str:
    """Code setting ``name`` to the norm of ``parts`` as :func:`descend.stopping.norms`."""
    sq = " + ".join(f"{e} * {e}" for e in parts)
    scaled = " + ".join(f"({e} / big) * ({e} / big)" for e in parts)
    out = [f"s = {sq}", f"{name} = math.sqrt(s)", f"if not ({_TINY} < s < {_HUGE}):",
           f"    big = abs({parts[0]})"]
    out += [f"    big = max(big, abs({e}))" for e in parts[1:]]
    out += ["    if big > 0.0 and big < math.inf:", f"        {name} = big * math.sqrt({scaled})"]
    return "".join(ind + line + "\n" for line in out)


def kernel_text(p: int) -> str:
    """Source of the kernel for ``p`` variables: only this template and the integer ``p``
    go into it (the formula is in ``value`` and ``grad``, printed by SymPy from its tree)."""
    r = range(p)
    args = ", ".join(f"a{d}" for d in r)
    grads = "".join(f"h{d}, " for d in r)
    sq = " + ".join(f"h{d} * h{d}" for d in r)
    dx = " + ".join(f"e{d} * e{d}" for d in r)
    rows = 2 * p + 1

    def lines(template: str, indent: str = "        ") -> str:
        return "\n".join(indent + template.format(d=d, pd=p + d) for d in r)

    def advance(name: str, with_dx: bool) -> str:
        # Without ftol and xtol the screen gets the constant -1 for their cuts, so that
        # LLVM drops their tests (and the load of the previous f) from the loop.
        dxv = f"math.sqrt({dx})" if with_dx else "math.nan"
        extra = ("\n" + lines("e{d} = a{d} - cur[{d}, j]")) if with_dx else ""
        cuts = "fcut, xcut" if with_dx else "-1.0, -1.0"
        return f"""
def {name}(cur, new, fb, tt, na, gcut, fcut, xcut):
    hits = 0
    for j in range(na):
        tj = tt[j]
{lines("a{d} = cur[{d}, j] - tj * cur[{pd}, j]")}
        fn = value({args})
        {grads}= grad({args})
{lines("new[{d}, j] = a{d}")}
{lines("new[{pd}, j] = h{d}")}
        new[{2 * p}, j] = fn{extra}
        q = quiet(cur[{2 * p}, j], fn, math.sqrt({sq}), {dxv}, tj, fb[j], gcut, {cuts}, -1.0)
        hits += np.int64(1) - np.int64(q)
    return hits
"""

    review = f"""
def review(cur, new, cc, dd, fb, tt, na, gcut, fcut, xcut):
    hits = 0
    for j in range(na):
{lines("h{d} = new[{pd}, j]")}
{lines("e{d} = new[{d}, j] - cur[{d}, j]")}
{_robust("gn", [f"h{d}" for d in r], "        ")}        dxv = math.nan
        if xcut >= 0.0:
{_robust("dxv", [f"e{d}" for d in r], "            ")}        f0 = cur[{2 * p}, j]
        fn = new[{2 * p}, j]
        c = rule(f0, fn, gn, dxv, tt[j], fb[j], gcut, fcut, xcut, -1.0)
        cc[j] = c
        if c == {int(Reason.FTOL)}:
            dd[j] = abs(f0 - fn)
        elif c == {int(Reason.XTOL)}:
            dd[j] = dxv
        elif c >= {int(Reason.F0_NONFINITE)} or c == {int(Reason.SCHEDULE_END)}:
            dd[j] = fn
        else:
            dd[j] = math.nan
        hits += np.int64(c != 0)
    return hits
"""
    return advance("advance", True) + advance("advance_g", False) + review + f"""

def kernel(x, f, g, t, fb_in, lo, hi, steps, gcut, fcut, xcut, codes, nsteps, xd, gd, det,
           first_div, sched_end):
    only_g = fcut < 0 and xcut < 0
    cur = np.empty(({rows}, {BLOCK}))
    new = np.empty(({rows}, {BLOCK}))
    fb = np.empty({BLOCK})
    tt = np.empty({BLOCK})
    dd = np.empty({BLOCK})
    cc = np.zeros({BLOCK}, np.int64)
    idx = np.empty({BLOCK}, np.int64)
    for b0 in range(lo, hi, {BLOCK}):
        na = start(b0, min(hi, b0 + {BLOCK}), x, f, g, t, fb_in, cur, fb, tt, idx)
        k = 0
        while na > 0 and k < steps:
            k += 1
            if only_g:
                hits = advance_g(cur, new, fb, tt, na, gcut, fcut, xcut)
            else:
                hits = advance(cur, new, fb, tt, na, gcut, fcut, xcut)
            if hits > 0 and review(cur, new, cc, dd, fb, tt, na, gcut, fcut, xcut) > 0:
                na = settle(k, cur, new, cc, dd, fb, tt, idx, na, x, f, g, codes, nsteps, xd,
                            gd, det, first_div, sched_end)
            cur, new = new, cur
        finish(k, cur, idx, na, x, f, g, codes, nsteps)
"""
