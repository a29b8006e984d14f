r"""A compiled, fused loop (numba) for many runs of plain gradient descent with a fixed step.

:func:`descend._minimize.run_batch` hands a batch here when nothing is recorded
(``record=False``, as :func:`descend.multistart` runs), the method is ``"gd"``, the step
is a fixed number (or one per run, :class:`descend.linesearch.Fixed`) and the function is
a :class:`~descend.formula.Formula` or a catalog entry (through its formula text; not
``ackley``, whose hand-written gradient is 0 at the origin where the formula's is 0/0).
Each run then takes its steps ``x <- x - t g``, evaluates ``f`` and ``g`` at the new
point and applies the stopping rules of :mod:`descend.stopping` in registers and cache,
instead of some fifteen NumPy operations on ``(K, p)`` arrays per step.

The outcome is the NumPy loop's (:class:`descend._minimize._Batch`): the same ``x``,
``fun``, ``jac``, ``nit``, status codes, ``why``, ``lr_max`` of diverged runs, ``nfev``
and ``njev``. For a formula it is the same bit for bit on the machines tried: the code is
printed from the formula's SymPy tree with the same common subexpressions and operand
order as :meth:`Formula.grad <descend.formula.Formula.grad>` (``sympy.lambdify``,
``cse=True``), integer powers go to libm's ``pow`` as NumPy's do, and there is no
fast-math (NaN and inf propagate: ``log(-1)`` is nan, ``1/0`` inf, never an exception).
Known differences: ``tanh``, where NumPy has its own SIMD routine (1 ulp); and the norms
compared with ``gtol`` (more than 8 variables) and ``xtol`` (more than 2) are summed in
order where NumPy's ``einsum`` pairs terms, so a run within an ulp of the tolerance may
stop one step apart. A catalog entry is evaluated through its formula rather than its
hand-written NumPy code (the start through the latter): equal in exact arithmetic, so
the results agree to rounding, about 1e-15 relative per step; a run that oscillates at
the edge of stability amplifies that, as it would any rounding.

Compiling costs 1.5-2 s per expression (the first in a process more, numba starting
up), so the compiled path is taken when the kernel for the expression is already
compiled in this process, or when the work ``K * max_iter`` reaches :data:`THRESHOLD`
point-steps; :func:`prepare` compiles ahead of time. The formula-free parts of the
loop are in :mod:`descend._compiled.steps`, compiled once and cached on disk. Kernels are
kept per expression and variables (the last :data:`CACHE_SIZE`). Runs are split over
threads (numba ``nogil``), at most ``NUMBA_NUM_THREADS``.

Set the environment variable ``DESCEND_NO_COMPILE=1`` to switch the compiled path off
(everything then goes through the NumPy loop).
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from ..result import Status
from ..stopping import CODES, Criteria

if TYPE_CHECKING:
    from .._minimize import Run
    from ..formula import Formula
    from ..objective import Objective
    from ..optimizers import Optimizer

__all__ = [
    "CACHE_SIZE", "CATALOG", "ENV", "THRESHOLD", "disabled", "formula_of", "prepare", "try_run",
]

#: The environment variable that switches the compiled path off when set (not "" or "0").
ENV = "DESCEND_NO_COMPILE"

#: Work ``K * max_iter`` (point-steps) from which an expression not yet compiled in this
#: process is compiled. Measured on 2 shared cores: compiling takes 1.4-2 s (2.3-3.6 s for
#: the first in a process, numba starting up); the NumPy loop costs 25-45 ns per
#: point-step at K = 10,000 (more for fewer runs), the compiled one 2-3 ns. 1e8
#: point-steps (10,000 starts x 10,000 steps) take 2.5-4.5 s in the NumPy loop, so the
#: compile plus the compiled run is not slower even when numba starts up first.
THRESHOLD = 100_000_000

#: Compiled kernels kept, one per expression and variable order.
CACHE_SIZE = 32

#: Catalog entries whose formula text is the same function as their NumPy code everywhere.
CATALOG = frozenset({
    "paraboloid", "rosenbrock", "himmelblau", "beale", "booth", "matyas",
    "three_hump_camel", "rastrigin", "styblinski_tang",
})

_BLOCK = 256  # runs advanced together, step by step (their state stays in L1/L2)
_MIN_PER_THREAD = 2048  # fewer runs than this per thread: one thread
_NAN = math.nan
_WHY_X0 = "f or the gradient at x0 is not finite"  # as _Batch says
_WHY_STEP = "f or the gradient became non-finite or f grew without bound"

_kernels: OrderedDict[tuple[Any, ...], Callable[..., Any] | None] = OrderedDict()
_formulas: OrderedDict[tuple[Any, ...], Formula] = OrderedDict()
_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None


def disabled() -> bool:
    """True when ``DESCEND_NO_COMPILE`` is set (to anything but "" or "0")."""
    return os.environ.get(ENV, "") not in ("", "0")


def formula_of(objective: Objective) -> Formula | None:
    """The formula whose exact gradient ``objective`` evaluates, or None."""
    from ..errors import FormulaError, InvalidArgument
    from ..formula import Formula
    from ..functions import TestFunction

    src = objective.source
    if objective.finite_differences or not objective.vectorized:
        return None
    if isinstance(src, Formula):
        return src if objective.fun is src and objective.grad == src.grad else None
    if isinstance(src, TestFunction):
        same = objective.fun is src.fun and objective.grad is src.grad
        if src.name not in CATALOG or not same:
            return None
        key = (src.name, src.text, src.variables)
        with _lock:
            found = _formulas.get(key)
        if found is None:
            try:
                found = src.formula
            except (FormulaError, InvalidArgument):  # too long for the grammar (large dim)
                return None
            with _lock:
                _formulas[key] = found
                while len(_formulas) > CACHE_SIZE:
                    _formulas.popitem(last=False)
        return found
    return None


def _key(formula: Formula) -> tuple[Any, ...]:
    return (formula.expr, formula.variables)


def _cached(formula: Formula) -> tuple[bool, Callable[..., Any] | None]:
    """(known, kernel): whether a compile was tried for this expression, and its kernel."""
    key = _key(formula)
    with _lock:
        if key in _kernels:
            _kernels.move_to_end(key)
            return True, _kernels[key]
    return False, None


def prepare(fun: Any, dim: int | None = None) -> float | None:
    """Compile the kernel for a formula, formula text or catalog entry now.

    Returns the seconds it took (0.0 when it was already compiled), or None when the
    function cannot take the compiled path (``DESCEND_NO_COMPILE`` is ignored here).
    """
    from ..objective import as_objective

    objective = as_objective(fun)
    if dim is not None:
        objective = objective.with_dimension(dim)
    formula = formula_of(objective)
    if formula is None:
        return None
    known, kernel = _cached(formula)
    if known:
        return 0.0 if kernel is not None else None
    t0 = time.perf_counter()
    if _compile(formula) is None:
        return None
    return time.perf_counter() - t0


def _compile(formula: Formula) -> Callable[..., Any] | None:
    """The kernel for ``formula``, compiled now (None when it cannot be), and cached."""
    key = _key(formula)
    with _lock:  # one compile at a time; a second caller waits and finds it cached
        if key in _kernels:
            return _kernels[key]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kernel = _build(formula)
                _warm(kernel, formula.n_vars)
        except Exception:  # any failure to print or to compile: the NumPy loop
            kernel = None
        _kernels[key] = kernel
        while len(_kernels) > CACHE_SIZE:
            _kernels.popitem(last=False)
        return kernel


def try_run(
    objective: Objective, x0: Any, opt: Optimizer, policy: Any, criteria: Criteria,
    *, force: bool = False,
) -> Run | None:
    """The compiled run of ``run_batch(..., record=False)``, or None for the NumPy loop."""
    from ..linesearch import Fixed

    if disabled() or type(policy) is not Fixed:
        return None
    if opt.name != "gd" or getattr(opt.update, "__code__", None) is not _GD_CODE:
        return None
    t = policy._const
    if t is None or not isinstance(x0, np.ndarray) or x0.ndim != 2 or x0.shape[0] == 0:
        return None
    k_runs = x0.shape[0]
    if isinstance(t, np.ndarray) and t.shape != (k_runs,):
        return None  # the NumPy loop raises the error
    formula = formula_of(objective)
    if formula is None or x0.shape[1] != formula.n_vars or formula.n_vars == 0:
        return None
    known, kernel = _cached(formula)
    if not known:
        if not force and k_runs * criteria.max_iter < THRESHOLD:
            return None
        kernel = _compile(formula)
    if kernel is None:
        return None
    return _run(kernel, objective, x0, t, criteria, opt.name)


def _gd_code() -> Any:
    from ..optimizers import gd

    return gd().update.__code__


_GD_CODE = _gd_code()


def _run(
    kernel: Callable[..., Any], objective: Objective, x0: Any, t: Any, crit: Criteria,
    method: str,
) -> Run:
    from .._minimize import Run, _curvature

    k_runs, p = x0.shape
    x = np.array(x0, dtype=np.float64, order="C", copy=True)
    with np.errstate(all="ignore"):  # the start as the NumPy loop evaluates it
        f = np.array(objective.values(x), dtype=np.float64, order="C").reshape(k_runs)
        g = np.array(objective.gradients(x), dtype=np.float64, order="C").reshape(k_runs, p)
    steps_t = np.full(k_runs, t, dtype=np.float64) if np.ndim(t) == 0 else np.array(
        t, dtype=np.float64)
    nit = np.zeros(k_runs, dtype=np.int64)
    codes = np.zeros(k_runs, dtype=np.int8)
    steps = np.zeros(k_runs, dtype=np.int64)
    xd = np.empty((k_runs, p))
    gd = np.empty((k_runs, p))
    tols = tuple(_NAN if v is None else float(v) for v in (crit.gtol, crit.ftol, crit.xtol))

    def part(lo: int, hi: int) -> None:
        kernel(x, f, g, steps_t, lo, hi, crit.max_iter, *tols, nit, codes, steps, xd, gd)

    threads = _threads(k_runs)
    if threads == 1:
        part(0, k_runs)
    else:
        edges = np.linspace(0, k_runs, 4 * threads + 1).astype(int)
        pool = _executor(threads)
        list(pool.map(part, edges[:-1].tolist(), edges[1:].tolist()))
    lr_max = np.full(k_runs, np.nan)
    div = np.flatnonzero((codes == 1) & (steps > 0))
    if div.size:  # as _Batch.observe: 2 / curvature along the refused step
        with np.errstate(all="ignore"):
            curv = _curvature(x[div], g[div], xd[div], gd[div])
            lr_max[div] = np.where(curv > 0, 2.0 / np.where(curv > 0, curv, 1.0), np.nan)
    k = int(steps.max())
    n = k_runs + k * k_runs
    why = [""] * k_runs
    for i in np.flatnonzero(codes == 1).tolist():
        why[i] = _WHY_X0 if steps[i] == 0 else _WHY_STEP
    codes = np.where(codes == 0, np.int8(CODES.index(Status.MAX_ITER)), codes).astype(np.int8)
    return Run(
        objective, method, x=x, fun=f, jac=g, nit=nit, codes=codes, lr_max=lr_max,
        nfev=n, njev=n, criteria=crit, lr=t, why=why,
    )


def _threads(k_runs: int) -> int:
    """Threads for ``k_runs`` runs: numba's thread count, at least ``_MIN_PER_THREAD`` each."""
    from numba import config

    most = int(getattr(config, "NUMBA_NUM_THREADS", 1))
    return max(1, min(most, k_runs // _MIN_PER_THREAD))


def _executor(threads: int) -> ThreadPoolExecutor:
    """One pool per process (a forked worker makes its own), as large as asked."""
    global _pool
    pid = os.getpid()
    with _lock:
        if _pool is None or _pool[0] != pid or _pool[1] < threads:
            pool = ThreadPoolExecutor(threads, thread_name_prefix="descend-compiled")
            _pool = (pid, threads, pool)
        return _pool[2]


# --- code generation ------------------------------------------------------------------


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


def _functions(formula: Formula) -> tuple[Callable[..., Any], Callable[..., Any]]:
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


def _build(formula: Formula) -> Callable[..., Any]:
    from numba import njit

    from . import steps

    value_py, grad_py = _functions(formula)
    space: dict[str, Any] = {
        "np": np, "math": math,
        "value": njit(inline="always", error_model="numpy")(value_py),
        "grad": njit(inline="always", error_model="numpy")(grad_py),
    }
    exec(compile(_kernel_text(formula.n_vars), "<descend._compiled kernel>", "exec"), space)
    # The step pass is a function of its own: given the two buffers as arguments, LLVM
    # vectorizes it; inside the kernel, whose buffers swap every step, it does not.
    for name in ("advance", "advance_g"):
        space[name] = njit(nogil=True, error_model="numpy")(space[name])
    space.update(start=steps.start, settle=steps.settle, finish=steps.finish)
    kernel: Callable[..., Any] = njit(nogil=True, error_model="numpy")(space["kernel"])
    return kernel


def _warm(kernel: Callable[..., Any], p: int) -> None:
    """Compile ``kernel`` for the argument types of :func:`_run` by running one step."""
    x = np.zeros((1, p))
    kernel(x, np.zeros(1), np.ones((1, p)), np.ones(1), 0, 1, 1, _NAN, _NAN, _NAN,
           np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int8), np.zeros(1, dtype=np.int64),
           np.empty((1, p)), np.empty((1, p)))


def _kernel_text(p: int) -> str:
    """Source of the loop of ``_iterate`` with ``_Batch`` for gd, a fixed step, nothing
    recorded, for ``p`` variables: only this template and the integer ``p`` go into it
    (the formula is in ``value`` and ``grad``, printed by SymPy from its tree).

    ``kernel(x, f, g, t, lo, hi, max_iter, gtol, ftol, xtol, nit, codes, steps, xd, gd)``
    advances runs ``lo:hi``: ``x``, ``f``, ``g`` hold the starts, their values and
    gradients on entry and the final points, values and gradients on exit; ``t`` the
    step of each run; a disabled tolerance is nan; ``steps`` receives the step at which
    each run stopped (``max_iter`` for those that did not), for ``nfev``; ``xd``, ``gd``
    the point and gradient that made a run diverge. Runs go in
    blocks of ``_BLOCK``, the state of those still going in the columns of ``cur`` (see
    :mod:`descend._compiled.steps`). A step is ``advance``, one pass over them that
    writes ``new`` (no branch: it vectorizes where the formula allows) and counts the
    runs that stop or diverge; only when some do, ``settle`` deals with those.
    ``advance_g`` is the same pass without the ``ftol`` and ``xtol`` tests (twice as
    fast on the paraboloid), taken when both are off.
    """
    r = range(p)
    args = ", ".join(f"a{d}" for d in r)
    grads = "".join(f"h{d}, " for d in r)
    sq = " + ".join(f"h{d} * h{d}" for d in r)
    dx = " + ".join(f"e{d} * e{d}" for d in r)
    rows = 2 * p + 1

    def lines(template: str) -> str:
        return "\n".join("        " + template.format(d=d, pd=p + d) for d in r)

    def advance(name: str, stop: str, extra: str) -> str:
        return f"""
def {name}(cur, new, fb, tt, na, gcut, fcut, xcut):
    inf = math.inf
    hits = 0
    for j in range(na):
        tj = tt[j]
{lines("a{d} = cur[{d}, j] - tj * cur[{pd}, j]")}
        fn = value({args})
        {grads}= grad({args})
        s = {sq}
{lines("new[{d}, j] = a{d}")}
{lines("new[{pd}, j] = h{d}")}
        new[{2 * p}, j] = fn{extra}
        ok = (fn > -inf) & (fn < inf) & (fn <= fb[j]) & (s < inf)
        stop = {stop}
        hits += np.int64(stop | (not ok))
    return hits
"""

    full = advance(
        "advance", f"((math.sqrt(s) <= gcut) | (abs(cur[{2 * p}, j] - fn) < fcut)\n"
        f"                | (math.sqrt({dx}) <= xcut))", "\n" + lines("e{d} = a{d} - cur[{d}, j]"))
    return full + advance("advance_g", "math.sqrt(s) <= gcut", "") + f"""

def kernel(x, f, g, t, lo, hi, max_iter, gtol, ftol, xtol, nit, codes, steps, xd, gd):
    gcut = gtol if gtol == gtol else -1.0
    fcut = ftol if ftol == ftol else -1.0
    xcut = xtol if xtol == xtol else -1.0
    only_g = fcut < 0 and xcut < 0
    cur = np.empty(({rows}, {_BLOCK}))
    new = np.empty(({rows}, {_BLOCK}))
    fb = np.empty({_BLOCK})
    tt = np.empty({_BLOCK})
    idx = np.empty({_BLOCK}, np.int64)
    for b0 in range(lo, hi, {_BLOCK}):
        na = start(b0, min(hi, b0 + {_BLOCK}), x, f, g, t, gcut, cur, fb, tt, idx, nit, codes,
                   steps)
        k = 0
        while na > 0 and k < max_iter:
            k += 1
            if only_g:
                hits = advance_g(cur, new, fb, tt, na, gcut, fcut, xcut)
            else:
                hits = advance(cur, new, fb, tt, na, gcut, fcut, xcut)
            if hits > 0:
                na = settle(k, cur, new, fb, tt, idx, na, gcut, fcut, xcut, x, f, g, nit,
                            codes, steps, xd, gd)
            cur, new = new, cur
        finish(k, cur, idx, na, x, f, g, nit, codes, steps)
"""
