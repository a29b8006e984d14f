r"""The loop's compiled backend (numba): many runs of plain gradient descent with a fixed step.

:func:`descend._loop.run` hands a batch here when nothing is recorded (as
:func:`descend.multistart` runs), the method is ``"gd"``, the step is a fixed number (or one
per run) and the function is a :class:`~descend.formula.Formula` or a catalog entry
(through its formula text; not ``ackley``, whose hand-written gradient is 0 at the origin
where the formula's is 0/0). Each run then takes its steps ``x <- x - t g``, evaluates f
and g at the new point and applies the rules of :mod:`descend.stopping` (the same function,
compiled in: see :mod:`descend._compiled.kernel`) in registers and cache, instead of some
fifteen NumPy operations on ``(K, p)`` arrays per step. The outcome agrees with the NumPy
backend's to rounding (an ulp or so per step: libm against NumPy's own routines); a run
within an ulp of a tolerance may stop one step apart.

When to compile (see :func:`worth_compiling`): a kernel already compiled in this process is
always used. Otherwise the NumPy backend starts, measures its own speed on its first blocks
of steps, and hands the carry over once the time it expects to need for the steps left
exceeds :data:`MARGIN` times the expected cost of compiling, ``COMPILE_SECONDS`` (plus
``STARTUP_SECONDS`` when numba is not loaded yet and ``PARSE_SECONDS`` when SymPy is not,
all scaled by the load per core of a busy machine). The margin is what makes the choice
safe when the estimate is wrong: with the compiled loop ``SPEEDUP`` times faster, neither
choice costs more than 1.5x the faster one, even when compiling takes up to 2.5 times its
estimate (a busy machine slows compiling more than it slows the NumPy loop). The measured
crossover: benchmarks/README.md, ``bench_core.py --crossover``.
:func:`prepare` compiles ahead of time. Kernels are kept per expression and variables (the
last :data:`CACHE_SIZE`; ``descend.clear_caches()`` empties them). Runs are split over
threads (numba ``nogil``), at most ``NUMBA_NUM_THREADS``.

Set the environment variable ``DESCEND_NO_COMPILE=1`` to switch the compiled path off.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _cache
from ..result import Reason

if TYPE_CHECKING:
    from ..formula import Formula

__all__ = [
    "CACHE_SIZE", "CATALOG", "COMPILE_SECONDS", "ENV", "MARGIN", "PARSE_SECONDS", "SPEEDUP",
    "STARTUP_SECONDS", "Plan",
    "disabled", "formula_of", "plan", "prepare", "worth_compiling",
]

#: The environment variable that switches the compiled path off when set (not "" or "0").
ENV = "DESCEND_NO_COMPILE"

#: Compiling one expression (build and first call), numba starting up before the first one
#: in a process, and SymPy loading and parsing a catalog entry's formula when no formula was
#: parsed yet: the low end of what was measured on 2 shared cores (4-6 s in all; see
#: benchmarks/README.md, "crossover"). Low on purpose: with the margin below, an estimate
#: up to 2.5x short still keeps either choice within 1.5x of the faster one, while one that
#: is too high keeps a long batch on the NumPy loop past the point where compiling pays.
COMPILE_SECONDS = 2.4
STARTUP_SECONDS = 0.6
PARSE_SECONDS = 1.0

#: Compile when the NumPy loop's expected time for the steps left is this many times the
#: expected compile time: at the threshold t = M C the NumPy loop takes t and the compiled
#: one C + t / SPEEDUP, so picking NumPy just below it costs M / (1 + M / SPEEDUP) = 1.5x
#: at most, and picking the compiled loop costs (r + M / SPEEDUP) / M <= 1.5x as long as
#: compiling takes r <= 2.5 times its estimate.
MARGIN = 1.84

#: How many times faster the compiled loop runs a point-step than the NumPy one (at least;
#: 8-20x measured on the paraboloid and Rosenbrock with 10,000 runs).
SPEEDUP = 8.0

#: Compiled kernels kept, one per expression and variable order.
CACHE_SIZE = 32

#: Catalog entries whose formula text is the same function as their NumPy code everywhere.
CATALOG = frozenset({
    "paraboloid", "rosenbrock", "himmelblau", "beale", "booth", "matyas",
    "three_hump_camel", "rastrigin", "styblinski_tang",
})

_MIN_PER_THREAD = 2048  # fewer runs than this per thread: one thread

_kernels: OrderedDict[tuple[Any, ...], Callable[..., Any] | None] = OrderedDict()
_formulas: OrderedDict[tuple[Any, ...], Formula] = OrderedDict()
_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None


def _clear() -> None:
    with _lock:
        _kernels.clear()
        _formulas.clear()


_cache.register("compiled kernels", _clear)


def disabled() -> bool:
    """True when ``DESCEND_NO_COMPILE`` is set (to anything but "" or "0")."""
    return os.environ.get(ENV, "") not in ("", "0")


def formula_of(objective: Any, *, parse: bool = True) -> Formula | None:
    """The formula whose exact gradient ``objective`` evaluates, or None. For a catalog
    entry whose formula was not parsed yet, ``parse=False`` gives None (parsing loads
    SymPy)."""
    from ..errors import FormulaError, InvalidArgument
    from ..functions import TestFunction

    src = getattr(objective, "source", None)
    if getattr(objective, "finite_differences", True) or not getattr(objective, "vectorized",
                                                                     False):
        return None
    formula_mod = sys.modules.get("descend.formula")
    if formula_mod is not None and isinstance(src, formula_mod.Formula):
        return src if objective.fun is src and objective.grad == src.grad else None
    if isinstance(src, TestFunction):
        same = objective.fun is src.fun and objective.grad is src.grad
        if src.name not in CATALOG or not same:
            return None
        key = (src.name, src.text, src.variables)
        with _lock:
            found = _formulas.get(key)
        if found is None and parse:
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


def _eligible(objective: Any, p: int) -> bool:
    """Whether the compiled loop could evaluate ``objective`` (without parsing anything)."""
    from ..functions import TestFunction

    src = getattr(objective, "source", None)
    if getattr(objective, "finite_differences", True) or not getattr(objective, "vectorized",
                                                                     False):
        return False
    if isinstance(src, TestFunction):
        return (src.name in CATALOG and objective.fun is src.fun and objective.grad is src.grad
                and src.dim == p)
    formula = formula_of(objective, parse=False)
    return formula is not None and formula.n_vars == p


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


def compile_seconds() -> float:
    """The expected cost of compiling a kernel now: :data:`COMPILE_SECONDS` (and
    :data:`STARTUP_SECONDS` before numba is loaded, :data:`PARSE_SECONDS` before SymPy is),
    times the machine's load per core when it is over 1 (the NumPy speed it is weighed
    against is measured under the same load)."""
    base = (COMPILE_SECONDS + (0.0 if "numba" in sys.modules else STARTUP_SECONDS)
            + (0.0 if "sympy" in sys.modules else PARSE_SECONDS))
    try:
        busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):  # pragma: no cover - no load average here
        busy = 1.0
    return base * max(1.0, busy)


def worth_compiling(numpy_seconds_left: float) -> bool:
    """Whether the NumPy loop's expected time for the steps left is over :data:`MARGIN`
    times the expected compile time, ``t > M C``, and compiling then pays,
    ``t > C + t / SPEEDUP`` (with ``M >= 1 / (1 - 1 / SPEEDUP)`` the first implies it)."""
    c = compile_seconds()
    return numpy_seconds_left > MARGIN * c and numpy_seconds_left * (1.0 - 1.0 / SPEEDUP) > c


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
    from . import kernel as codegen

    key = _key(formula)
    with _lock:  # one compile at a time; a second caller waits and finds it cached
        if key in _kernels:
            return _kernels[key]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kernel = codegen.build(formula)
                codegen.warm(kernel, formula.n_vars)
        except Exception:  # any failure to print or to compile: the NumPy loop
            kernel = None
        _kernels[key] = kernel
        while len(_kernels) > CACHE_SIZE:
            _kernels.popitem(last=False)
        return kernel


def _is_gd(optimizer: Any) -> bool:
    from ..optimizers import gd_update

    return getattr(optimizer, "update", None) is gd_update


def plan(problem: Any, carry: Any, optimizer: Any, policy: Any) -> Plan | None:
    """How the compiled backend could take this batch, or None when it cannot."""
    from ..linesearch import Fixed

    if disabled() or type(policy) is not Fixed or policy.schedule is not None:
        return None
    if not _is_gd(optimizer) or carry.x.ndim != 2 or carry.x.shape[0] == 0:
        return None
    if carry.x.dtype != np.float64 or carry.lower is not None:
        return None  # the kernel is float64 and knows no bounds
    p = int(carry.x.shape[1])
    if p == 0 or not _eligible(problem, p):
        return None
    formula = formula_of(problem, parse=False)
    kernel = None
    if formula is not None:
        known, kernel = _cached(formula)
        if known and kernel is None:
            return None  # a compile failed before
    return Plan(problem, kernel)


class Plan:
    """The compiled backend for one batch: ready when its kernel is compiled."""

    def __init__(self, problem: Any, kernel: Callable[..., Any] | None) -> None:
        self.problem, self.kernel = problem, kernel
        self.tried = kernel is not None
        self.seen: list[float] = []  # seconds per step of the NumPy blocks so far

    @property
    def ready(self) -> bool:
        return self.kernel is not None

    def wants(self, block_seconds: float, block_steps: int, active: int, left: int) -> bool:
        """Called by the NumPy backend after each block: compile now (and take over) when
        the steps left are worth it at the speed measured. The speed is the best of the
        blocks so far, from the second on (a block slowed by a busy machine, or by a
        first call, does not decide alone)."""
        if self.ready:
            return True
        self.seen.append(block_seconds / block_steps)
        if self.tried or len(self.seen) < 2 or not worth_compiling(min(self.seen) * left):
            return False
        self.tried = True
        formula = formula_of(self.problem)
        if formula is not None:
            known, kernel = _cached(formula)
            self.kernel = kernel if known else _compile(formula)
        return self.ready

    def run(self, x: Any, f: Any, g: Any, t: Any, fb: Any, steps: int,
            cuts: tuple[float, float, float]) -> tuple[Any, Any, Any, Any, Any]:
        """Advance the runs ``x (n, p)``, ``f``, ``g`` (updated in place) with steps ``t``
        and divergence bounds ``fb`` by up to ``steps`` steps. Returns ``(codes, nsteps,
        x_refused, g_refused, detail)`` (see :mod:`descend._compiled.kernel`)."""
        kernel = self.kernel
        assert kernel is not None
        n, p = x.shape
        codes = np.zeros(n, dtype=np.int8)
        nsteps = np.zeros(n, dtype=np.int64)
        # written by the kernel for the runs that stop, the only ones read
        xd, gd, det = np.empty((n, p)), np.empty((n, p)), np.empty(n)
        gcut, fcut, xcut = cuts
        first_div, sched = int(Reason.F0_NONFINITE), int(Reason.SCHEDULE_END)

        def part(lo: int, hi: int) -> None:
            kernel(x, f, g, t, fb, lo, hi, steps, gcut, fcut, xcut, codes, nsteps, xd, gd,
                   det, first_div, sched)

        threads = _threads(n)
        if threads == 1:
            part(0, n)
        else:
            edges = np.linspace(0, n, 4 * threads + 1).astype(int)
            list(_executor(threads).map(part, edges[:-1].tolist(), edges[1:].tolist()))
        return codes, nsteps, xd, gd, det


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

