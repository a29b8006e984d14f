"""The loop's backend for one run: Python floats between NumPy calls, the path in lists.

Each step asks the optimizer and the step policy, evaluates f and the gradient at the new
point (the user's function directly, as :class:`~descend.objective.Objective` would, with
its handling of numeric failures), and screens the step with three comparisons of Python
floats: a finite f below the divergence bound, a finite gradient norm above ``gtol`` (with
a margin of 1e-9) and a step size above the zero cut let nothing stop the run. Any other
step (and every step when ``ftol`` or ``xtol`` is set) goes to
:func:`descend.stopping.step_code`, the rules every backend applies. So a run stops at its
first stopping step and the user's function is never called past it.

A *stochastic* problem (a model's mini-batches) is evaluated at the top of each step on
the step's batch (``problem.batch(j)``), and the step is taken from there: one evaluation
per step, and a carry that continues across epochs and ``partial_fit`` calls.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import linesearch
from ._carry import settle
from ._types import Array
from .errors import InvalidArgument
from .objective import Objective
from .optimizers import gd_update
from .result import FIRST_DIVERGENCE, Intermediate, Reason
from .stopping import Criteria, norms, projected, step_code

if TYPE_CHECKING:
    from ._carry import Carry
    from .optimizers import Optimizer

__all__ = ["Counter", "Tape", "advance"]

INF = math.inf
_F64 = np.dtype(np.float64)
_MAX = float(np.finfo(np.float64).max)
_SCHEDULE_END, _CALLBACK = int(Reason.SCHEDULE_END), int(Reason.CALLBACK)
_FTOL, _XTOL = int(Reason.FTOL), int(Reason.XTOL)
_TRUSTED = (linesearch.Fixed, linesearch.Backtracking, linesearch.BarzilaiBorwein,
            linesearch.Auto)


class Counter:
    """The evaluator a policy sees for one run; counts what it evaluates."""

    def __init__(self, problem: Any) -> None:
        self.problem, self.nf, self.ng = problem, 0, 0

    def value(self, x: Array, rows: Any = None) -> float:
        self.nf += 1
        return float(self.problem.value(x))

    def gradient(self, x: Array, rows: Any = None) -> Array:
        self.ng += 1
        return np.asarray(self.problem.gradient(x), dtype=np.float64)


class Tape:
    """The recorded path of one run: points, values, gradient norms and step sizes."""

    def __init__(self, x: Array, f: float, gn: float) -> None:
        self.xs: list[Array] = [x]
        self.fs: list[float] = [f]
        self.gns: list[float] = [gn]
        self.ts: list[Any] = []

    def run(self, i: int, x0: Any, f0: Any, g0: Any) -> tuple[Array, Array, Array, Array]:
        """``(path, values, grad_norms, step_sizes)``; the norms are those ``gtol`` tested
        (of the gradient projected onto the box of a bounded run)."""
        return (np.array(self.xs), np.array(self.fs, dtype=np.float64),
                np.array(self.gns, dtype=np.float64), np.array(self.ts, dtype=np.float64))


def _functions(problem: Any, dtype: Any) -> tuple[Any, Any]:
    """The fastest calls of f and its gradient on one point (for float32 runs the ones
    that compute in the point's dtype, as the batch evaluations do)."""
    if isinstance(problem, Objective):
        if dtype != _F64:
            return problem.fun, problem.grad
        return problem.fun1 or problem.fun, problem.grad1 or problem.grad
    return problem.value, problem.gradient


def _checked(t: Any, policy: Any, k: int) -> float:
    """A user-written policy's step: a finite number >= 0."""
    try:
        v = float(t)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v >= 0.0):
        raise InvalidArgument(
            f"lr: the step policy {getattr(policy, 'name', type(policy).__name__)!r} returned "
            f"the step {t!r} at k={k}; steps must be finite and >= 0", argument="lr")
    return v


def advance(
    problem: Any, carry: Carry, opt: Optimizer, policy: Any, crit: Criteria, steps: int, *,
    record: bool, callback: Any, log_every: int | None, stochastic: bool,
) -> Tape | None:
    """Advance the one run of ``carry`` by up to ``steps`` steps."""
    fd = int(getattr(problem, "fd_calls", 0))
    if stochastic:
        _stochastic(problem, carry, opt, policy, steps, fd)
        return None
    if not carry.fresh and carry.code[0] == 0:
        _reevaluate(problem, carry, crit, fd)
    x, f, g = carry.x[0].copy(), float(carry.f[0]), carry.g[0].copy()
    lo: Any = carry.lower
    hi: Any = carry.upper
    bounded = lo is not None and hi is not None
    tape = Tape(x, f, float(carry.gradient_norms(x, g))) if record else None
    if carry.code[0] != 0 or steps <= 0:
        return tape
    fun, grad = _functions(problem, x.dtype)
    update, pstep = opt.update, policy.step
    ostate, pstate = carry.opt_state, carry.policy_state
    fb = float(carry.fbound[0])
    fbs = min(fb, _MAX)  # the screen: an infinite bound must not let f = inf through
    gcut, fcut, xcut = crit.cuts
    zcut = 0.0 if getattr(policy, "ends_on_zero", False) else -1.0
    trusted = type(policy) in _TRUSTED
    quick = fcut < 0.0 and xcut < 0.0
    gscreen = gcut * (1.0 + 1e-9) if gcut > 0.0 else gcut
    small = x.shape[0] <= 64
    hypot, ndarray = math.hypot, np.ndarray
    dt = x.dtype
    f64 = dt == _F64  # float32 runs: every value rounded to float32, as the arrays are
    to_dt = dt.type
    ev = Counter(problem)
    k0, nit0 = carry.k, int(carry.nit[0])
    code = looked = 0
    detail, t_stop, refused = math.nan, math.nan, None
    t: Any = policy.value if type(policy) is linesearch.Fixed else None
    if t is None and type(policy) is linesearch.Fixed and isinstance(pstate, float):
        t = pstate  # one run of a sweep's per-run steps
    plain = update is gd_update and t is not None
    observed = log_every is not None or callback is not None
    if tape is not None:
        keep_x, keep_f, keep_g, keep_t = (tape.xs.append, tape.fs.append, tape.gns.append,
                                          tape.ts.append)
    j = -1
    for j in range(steps):
        if plain:  # gd with a fixed step: the same arithmetic without two calls
            xn, fn = x - t * g, None
        else:
            d, ostate = update(g, ostate, x)
            t, xn, fn, pstate = pstep(k0 + j, pstate, ev, x, f, g, d)
            if not trusted:
                t = _checked(t, policy, k0 + j)
            if xn.dtype is not dt:
                xn = xn.astype(dt)
        if bounded:  # a projected step; a value computed off the box does not count
            xp = np.minimum(np.maximum(xn, lo), hi).astype(dt)
            if fn is not None and not np.array_equal(xp, xn):
                fn = None
            xn = xp
        if fn is None:
            try:
                fn = float(fun(xn))
            except (ArithmeticError, ValueError):
                fn = problem.value(xn)  # nan for a numeric failure, the error otherwise
        else:
            fn = float(fn)
            looked -= 1
        if not f64:
            fn = float(to_dt(fn))
        try:
            gv = grad(xn)
        except (ArithmeticError, ValueError):
            gv = problem.gradient(xn)
        if type(gv) is not ndarray or gv.dtype is not dt:
            gv = np.asarray(gv, dtype=dt)
        gp = projected(gv, xn, lo, hi) if bounded else gv
        gn = hypot(*gp.tolist()) if small else math.sqrt(float(gp @ gp))
        if not (quick and gscreen < gn < INF and -INF < fn <= fbs and t > zcut):
            gn = float(norms(gp))
            dx = float(norms(xn - x)) if xcut >= 0.0 else math.nan
            c = int(step_code(f, fn, gn, dx, t, fb, gcut, fcut, xcut, zcut))
            if c >= FIRST_DIVERGENCE or c == _SCHEDULE_END:  # the step is refused
                code, detail, t_stop, refused = c, fn, t, (xn[None], gv[None])
                break
            if c:
                code, t_stop = c, t
                detail = abs(f - fn) if c == _FTOL else dx if c == _XTOL else math.nan
        if tape is not None:
            keep_x(xn)
            keep_f(fn)
            keep_g(gn)
            keep_t(t)
        x, f, g = xn, fn, gv
        if observed:
            if log_every is not None and (k0 + j) % log_every == 0:
                print(f"Epoch {k0 + j}: {[float(v) for v in xn]}")
            if callback is not None:
                try:
                    callback(Intermediate(xn, fn, nit0 + j + 1, float(norms(gp)), t))
                except StopIteration:
                    if not code:
                        code, t_stop = _CALLBACK, t
        if code:
            break
    evaluated = j + 1
    taken = evaluated - (refused is not None or code == _SCHEDULE_END)
    looked += evaluated
    carry.k = k0 + evaluated
    carry.opt_state, carry.policy_state = ostate, pstate
    carry.nfev[0] += ev.nf + ev.ng * fd
    carry.njev[0] += ev.ng
    _write(carry, code, taken, evaluated, x, f, g, detail, t_stop, refused, fd, looked)
    return tape


def _write(carry: Carry, code: int, taken: int, evaluated: int, x: Array, f: float, g: Array,
           detail: float, t: Any, refused: tuple[Array, Array] | None, fd: int,
           looked: int) -> None:
    idx = np.zeros(1, dtype=np.intp)
    if code:
        settle(carry, idx, np.array([code]), np.array([taken]), np.array([evaluated]),
               x[None], np.array([f]), g[None], np.array([detail]),
               np.array([t], dtype=np.float64), refused, fd=fd, looked=np.array([looked]))
        return
    carry.x[0], carry.f[0], carry.g[0] = x, f, g
    carry.nit[0] += taken
    carry.njev[0] += evaluated
    carry.nfev[0] += looked + evaluated * fd


def _reevaluate(problem: Any, carry: Carry, crit: Criteria, fd: int) -> None:
    """f and the gradient at the carry's point for the problem as it is now, and the rules
    there (gtol, divergence)."""
    x = carry.x[0]
    f = float(problem.value(x))
    g = np.asarray(problem.gradient(x), dtype=np.float64)
    carry.fresh = True
    gcut = crit.cuts[0]
    c = int(step_code(math.nan, f, float(norms(g)), math.nan, 1.0, float(carry.fbound[0]),
                      gcut, -1.0, -1.0, -1.0))
    carry.f[0], carry.g[0] = f, g
    carry.njev[0] += 1
    carry.nfev[0] += 1 + fd
    if c:
        carry.code[0] = c
        carry.detail[0] = f


def _stochastic(problem: Any, carry: Carry, opt: Optimizer, policy: Any, steps: int,
                fd: int) -> None:
    """Mini-batches: evaluate on step ``j``'s batch at the top of the step, then move.
    A batch whose f or gradient is not finite, or f past the divergence bound, ends the run
    at the point before the step that led there."""
    x = carry.x[0].copy()
    if carry.code[0] != 0 or steps <= 0:
        return
    update, pstep = opt.update, policy.step
    ostate, pstate = carry.opt_state, carry.policy_state
    fb = float(carry.fbound[0])
    trusted = type(policy) in _TRUSTED
    k0 = carry.k
    f, g = float(carry.f[0]), carry.g[0]
    prev: tuple[Array, float, Array] | None = None
    taken = evaluated = code = 0
    n_f = n_g = 0
    detail, t, refused = math.nan, math.nan, None
    for j in range(steps):
        pj = problem.batch(j)
        f = float(pj.value(x))
        g = np.asarray(pj.gradient(x), dtype=np.float64)
        evaluated += 1
        c = int(step_code(math.nan, f, float(norms(g)), math.nan, 1.0, fb, -1.0, -1.0, -1.0,
                          -1.0))
        if c:
            code, detail = c, f
            if prev is not None:  # refuse the step that led here
                refused = (x[None], g[None])
                x, f, g = prev
                taken -= 1
            break
        ev = Counter(pj)
        d, ostate = update(g, ostate, x)
        t, xn, _, pstate = pstep(k0 + j, pstate, ev, x, f, g, d)
        if not trusted:
            t = _checked(t, policy, k0 + j)
        n_f, n_g = n_f + ev.nf, n_g + ev.ng
        prev = (x, f, g)
        x = xn
        taken += 1
    carry.k = k0 + taken
    carry.opt_state, carry.policy_state = ostate, pstate
    carry.fresh = False
    carry.nfev[0] += n_f + n_g * fd
    carry.njev[0] += n_g
    _write(carry, code, taken, evaluated, x, f, g, detail, t, refused, fd, evaluated)
