r"""The loop's NumPy backend for K runs: ``(K, p)`` arrays, the rules applied in bulk.

Steps go in blocks of ``m``. Within a block, each step costs the optimizer's and the
policy's arithmetic, f and the gradient at the new points and a few running reductions
per run: the largest and smallest f; with gtol, each gradient component's smallest square
(their sum bounds every step's squared norm from below); the smallest change in f, step
length and step size when those tests are on; and, for steps other than plain gd, a
running sum of the gradients (plain gd needs none: a gradient that is not finite leaves
the next point not finite for good, so the block's last point and gradient tell). That
is enough to tell which runs *might* have met a rule in the block. Only for those, at the
end of the block, :func:`descend.stopping.step_code` (the rules of every backend) is
applied to each of their steps; a run that stopped is rolled back to its first stopping
step (its point, value and gradient there are kept for the block) and leaves the batch, so
the outcome is that of testing every step. Runs that stopped early in a block take a few
extra steps that nothing keeps; a function that is not vectorized (a Python callable,
evaluated row by row) goes one step per block, so it is never called past a run's end.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from . import linesearch
from ._carry import settle, take
from ._policies import scale
from ._types import AnyArray, Array
from .errors import InvalidArgument
from .functions import _Batched
from .objective import Objective
from .optimizers import gd_update
from .result import FIRST_DIVERGENCE, Reason
from .stopping import Criteria, norms, projected, step_code, sumsq

if TYPE_CHECKING:
    from ._carry import Carry
    from .optimizers import Optimizer

__all__ = ["Counter", "Tape", "advance"]

INF = math.inf
_SCHEDULE_END, _FTOL, _XTOL = int(Reason.SCHEDULE_END), int(Reason.FTOL), int(Reason.XTOL)
_TRUSTED = (linesearch.Fixed, linesearch.Backtracking, linesearch.BarzilaiBorwein,
            linesearch.Auto)
#: Steps per block: fixed steps are cheap to overshoot; line searches less so. Blocks of
#: fixed steps double after a block in which no run may have stopped, up to BLOCK_MAX (the
#: screen's arrays are reset and tested once a block), and are BLOCK_FIXED again after one
#: in which some may have (a run that stopped is stepped on to the block's end).
BLOCK_FIXED, BLOCK_OTHER, BLOCK_MAX = 32, 4, 128
_MARGIN = 1.0 + 1e-9  # screens on squared norms, against the exact norms of the rules


class Counter:
    """The evaluator a policy sees for a batch: counts each run's evaluations."""

    def __init__(self, problem: Any, carry: Carry, act: AnyArray) -> None:
        self.problem, self.carry, self.act = problem, carry, act
        self.fd = int(getattr(problem, "fd_calls", 0))

    def value(self, x: Array, rows: Any = None) -> Array:
        idx = self.act if rows is None else self.act[rows]
        self.carry.nfev[idx] += 1
        return np.asarray(self.problem.values(x), dtype=np.float64).reshape(x.shape[0])

    def gradient(self, x: Array, rows: Any = None) -> Array:
        idx = self.act if rows is None else self.act[rows]
        self.carry.njev[idx] += 1
        self.carry.nfev[idx] += self.fd
        return np.asarray(self.problem.gradients(x), dtype=np.float64).reshape(x.shape)


class Tape:
    """The recorded steps of a batch: per block, the runs in it and their points."""

    def __init__(self, carry: Carry) -> None:
        self.carry = carry
        self.nit0 = carry.nit.copy()
        self.blocks: list[tuple[AnyArray, list[Array], list[Array], list[Array], list[Any]]] = []

    def run(self, i: int, x0: Array, f0: Any, g0: Array) -> tuple[Array, Array, Array, Array]:
        """Run ``i``'s ``(path, values, grad_norms, step_sizes)`` in this call."""
        n = int(self.carry.nit[i] - self.nit0[i])
        xs, fs, gs, ts = [x0[None]], [np.array([f0])], [g0[None]], [np.empty(0)]
        have = 0
        for act, hx, hf, hg, ht in self.blocks:
            pos = int(np.searchsorted(act, i))
            if have >= n or pos >= act.size or act[pos] != i:
                continue
            m = min(len(hx), n - have)
            xs.append(np.array([hx[j][pos] for j in range(m)]))
            fs.append(np.array([hf[j][pos] for j in range(m)]))
            gs.append(np.array([hg[j][pos] for j in range(m)]))
            ts.append(np.array([t if np.ndim(t) == 0 else t[pos] for t in ht[:m]],
                               dtype=np.float64))
            have += m
        c = self.carry
        return (np.concatenate(xs), np.concatenate(fs).astype(np.float64),
                c.gradient_norms(np.concatenate(xs), np.concatenate(gs)),
                np.concatenate(ts).astype(np.float64))


def _checked(t: Any, policy: Any, k: int) -> Any:
    """A user-written policy's steps: finite and >= 0."""
    arr = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(arr) & (arr >= 0.0)):
        raise InvalidArgument(
            f"lr: the step policy {getattr(policy, 'name', type(policy).__name__)!r} returned "
            f"a step that is not finite and >= 0 at k={k}", argument="lr")
    return t


def _reevaluate(problem: Any, carry: Carry, crit: Criteria) -> None:
    """f and the gradient at the running runs' points for the problem as it is now."""
    act = carry.running
    carry.fresh = True
    if act.size == 0:
        return
    x = carry.x[act]
    f = np.asarray(problem.values(x), dtype=np.float64).reshape(act.size)
    g = np.asarray(problem.gradients(x), dtype=np.float64).reshape(x.shape)
    fd = int(getattr(problem, "fd_calls", 0))
    carry.f[act], carry.g[act] = f, g
    carry.njev[act] += 1
    carry.nfev[act] += 1 + fd
    c = np.asarray(step_code(np.nan, f, norms(g), np.nan, 1.0, carry.fbound[act],
                             crit.cuts[0], -1.0, -1.0, -1.0), dtype=np.int8)
    stop = c != 0
    if stop.any():
        carry.code[act[stop]] = c[stop]
        carry.detail[act[stop]] = f[stop]
        keep = ~stop
        carry.opt_state = take(carry.opt_state, keep, act.size)
        carry.policy_state = take(carry.policy_state, keep, act.size)


class _Block:
    """What one block of steps leaves: the last point of each run, the states, the running
    reductions the screen needs, and (when kept) every step's points."""

    def __init__(self) -> None:
        self.hx: list[Array] = []
        self.hf: list[Array] = []
        self.hg: list[Array] = []
        self.ht: list[Any] = []
        self.own: list[bool] = []  # the loop evaluated f itself (a line search did not)


class _Stepper:
    """The arithmetic of a step for a batch: the optimizer, the policy, f and the gradient."""

    def __init__(self, problem: Any, opt: Optimizer, policy: Any, crit: Criteria,
                 carry: Carry) -> None:
        self.values, self.gradients = problem.values, problem.gradients
        if isinstance(problem, Objective) and problem.vectorized:  # one call less a step
            self.values, self.gradients = problem.fun, problem.grad
        # the catalog's functions keep nothing of the points they are given: a plain step
        # may write its points into two arrays that take turns
        self.ours = isinstance(self.values, _Batched) and isinstance(self.gradients, _Batched)
        self.dt = carry.x.dtype
        if self.dt == np.float64:  # a catalog entry's core: its check of (n, p) float64
            # points would only take them as they are (the same numbers, a call less)
            self.values, self.gradients = _core(self.values), _core(self.gradients)
        self.lo: Any = carry.lower
        self.hi: Any = carry.upper
        self.update, self.pstep, self.policy = opt.update, policy.step, policy
        self.trusted = type(policy) in _TRUSTED
        self.plain = (opt.update is gd_update and type(policy) is linesearch.Fixed
                      and policy.schedule is None)
        self.t_fixed: Any = policy.value if self.plain else None
        self.gcut, self.fcut, self.xcut = crit.cuts
        self.zcut = 0.0 if getattr(policy, "ends_on_zero", False) else -1.0
        self._arrays: dict[str, Array] = {}

    def run(self, cur: list[Array], ostate: Any, pstate: Any, k: int, m: int, ev: Any,
            keep: bool) -> tuple[list[Array], Any, Any, _Block, Any]:
        """``m`` steps from ``cur = [x, f, g]`` (emptied: the arrays are let go as the
        steps replace them); returns the end ``[x, f, g]``, the states, the block (with
        every step when ``keep``) and the screen: the mask of runs a rule may have ended."""
        x, f, g = cur
        cur.clear()
        n, p = x.shape
        out = _Block()
        update, pstep, plain, t_fixed = self.update, self.pstep, self.plain, self.t_fixed
        gcut, fcut, xcut, zcut = self.gcut, self.fcut, self.xcut, self.zcut
        dt, lo, hi = self.dt, self.lo, self.hi
        values, gradients = self.values, self.gradients
        # A gradient that is not finite makes the next point of a plain gd step not finite
        # for good (x - t * g with t finite and >= 0: inf and nan stay): the block's last
        # point and gradient tell whether any gradient of the block was not finite. Other
        # steps keep a running sum of the gradients (not finite once one is not, or on an
        # overflow, which only flags the run for the exact rules).
        sticky = plain and lo is None
        new = self._scratch if not keep else _fresh
        hi_f, lo_f = new("hi_f", (n,), np.float64, -INF), new("lo_f", (n,), np.float64, INF)
        lo_sq = new("lo_sq", (n, p), dt, INF) if gcut >= 0.0 else None
        acc = None if sticky else new("acc", (n, p), dt, 0.0)
        lo_df = new("lo_df", (n,), np.float64, INF) if fcut >= 0.0 else None
        lo_dx = new("lo_dx", (n,), np.float64, INF) if xcut >= 0.0 else None
        lo_t = INF
        own = out.own
        sq: Any = None  # the screen's squares of the gradient, when it tests gtol
        # fixed steps in float64 on the catalog's functions: the points in two arrays that
        # take turns, t * g in a third (the same arithmetic, no memory taken and given back
        # a step; the block's start was copied by the caller, the turns may overwrite it)
        turns = plain and pstate is None and not keep and self.ours and dt == np.float64
        if turns:
            ring = (new("xa", (n, p), dt, None), new("xb", (n, p), dt, None))
            tg = new("tg", (n, p), dt, None)
            sq = tg  # free once the step is taken: the screen's squares go there
        elif lo_sq is not None:
            sq = new("sq", (n, p), dt, None)
        for j in range(m):
            if turns:
                xn, fn = ring[0] if x is not ring[0] else ring[1], None
                np.multiply(t_fixed, g, out=tg)
                np.subtract(x, tg, out=xn)
                t = t_fixed
            elif plain:  # gd with fixed steps: the same arithmetic without two calls
                t = t_fixed if pstate is None else pstate
                xn, fn = x - (t * g if pstate is None else scale(t, g)), None
            else:
                d, ostate = update(g, ostate, x)
                t, xn, fn, pstate = pstep(k + j, pstate, ev, x, f, g, d)
                if not self.trusted:
                    t = _checked(t, self.policy, k + j)
                if xn.dtype is not dt:
                    xn = xn.astype(dt)
            if lo is not None:  # a projected step; values computed off the box do not count
                xp = np.minimum(np.maximum(xn, lo), hi).astype(dt, copy=False)
                if fn is not None and not np.array_equal(xp, xn):
                    fn = None
                xn = xp
            own.append(fn is None)
            fn = values(xn) if fn is None else fn
            if type(fn) is not np.ndarray or fn.dtype is not dt or fn.shape != (n,):
                fn = np.asarray(fn, dtype=dt).reshape(n)
            gv = gradients(xn)
            if type(gv) is not np.ndarray or gv.dtype is not dt or gv.shape != (n, p):
                gv = np.asarray(gv, dtype=dt).reshape(n, p)
            np.maximum(hi_f, fn, out=hi_f)
            np.minimum(lo_f, fn, out=lo_f)
            if lo_sq is not None:  # each component's smallest square over the block
                pg = gv if lo is None else projected(gv, xn, lo, hi)
                np.multiply(pg, pg, out=sq)
                np.minimum(lo_sq, sq, out=lo_sq)
            if acc is not None:
                np.add(acc, gv, out=acc)
            if zcut >= 0.0:
                lo_t = min(lo_t, float(np.min(t)))
            if lo_df is not None:
                np.minimum(lo_df, np.abs(f - fn), out=lo_df)
            if lo_dx is not None:
                np.minimum(lo_dx, sumsq(xn - x), out=lo_dx)
            if keep:
                out.hx.append(xn)
                out.hf.append(fn)
                out.hg.append(gv)
                out.ht.append(t)
            x, f, g = xn, fn, gv
        flag = ~((lo_f > -INF) & (hi_f <= self._fb) & (hi_f < INF))
        if sticky:
            flag |= ~(_finite_rows(x) & _finite_rows(g))
        elif acc is not None:
            flag |= ~_finite_rows(acc)
        if lo_sq is not None:
            # no step's squared norm is below the sum of each component's smallest square
            # (added in the rules' order, and rounding is monotone): the runs above gtol
            # there met no gtol in the block (nan: flagged)
            bound = np.sqrt(np.asarray(_rowsum(lo_sq), dtype=np.float64))
            flag |= ~(bound > gcut * (_MARGIN if p <= 8 else 1.0 + 4 * p * _eps(dt)))
            if gcut >= math.sqrt(float(np.finfo(dt).max)):  # a square overflowed: the
                flag |= ~(bound < INF)  # norm may still be below so large a gtol
        if lo_df is not None:
            flag |= lo_df < fcut
        if lo_dx is not None:
            flag |= np.sqrt(lo_dx) <= xcut * _MARGIN
        if lo_t <= zcut:
            flag[:] = True
        return [x, f, g], ostate, pstate, out, flag

    _fb: Array  # the divergence bounds of the runs being stepped

    def _scratch(self, name: str, shape: tuple[int, ...], dt: Any, fill: float | None) -> Array:
        """The screen's array ``name``, filled with ``fill``: the same memory block after
        block while the batch keeps its size (new arrays each block make the allocator
        return memory to the system and fault it back in)."""
        a = self._arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dt:
            a = self._arrays[name] = np.empty(shape, dtype=dt)
        if fill is not None:
            a.fill(fill)
        return a


def _into(out: Array, a: Array) -> Array:
    np.copyto(out, a)
    return out


def _fresh(name: str, shape: tuple[int, ...], dt: Any, fill: float | None) -> Array:
    return np.empty(shape, dtype=dt) if fill is None else np.full(shape, fill, dtype=dt)


def _core(fn: Any) -> Any:
    return fn.core if isinstance(fn, _Batched) else fn


def _rowsum(a: Array) -> Array:
    """The sum of each row of ``a`` (n, p), columns added in order (a reduction along a
    short last axis costs ~40 ns a row in NumPy)."""
    p = a.shape[1]
    if p > 8:
        return np.add.reduce(a, axis=1)  # type: ignore[no-any-return]
    s = a[:, 0].copy()
    for j in range(1, p):
        s += a[:, j]
    return s


def _eps(dt: Any) -> float:
    return float(np.finfo(dt).eps)


def _finite_rows(a: Array) -> AnyArray:
    """True for the rows of ``a`` whose sum is finite: False for every row holding inf or
    nan (and for a finite row whose sum overflows)."""
    return np.isfinite(_rowsum(a))


class _Silent:
    """An evaluator for replays: evaluates, counts nothing (the steps were counted)."""

    def __init__(self, problem: Any) -> None:
        self.problem = problem

    def value(self, x: Array, rows: Any = None) -> Array:
        return np.asarray(self.problem.values(x), dtype=np.float64).reshape(x.shape[0])

    def gradient(self, x: Array, rows: Any = None) -> Array:
        return np.asarray(self.problem.gradients(x), dtype=np.float64).reshape(x.shape)


def advance(
    problem: Any, carry: Carry, opt: Optimizer, policy: Any, crit: Criteria, steps: int, *,
    record: bool, switch: Any = None,
) -> tuple[int, Tape | None]:
    """Advance the running runs of ``carry`` by up to ``steps`` steps; returns the steps
    taken (fewer when ``switch`` hands the rest to the compiled loop) and the tape.

    The points of every step are kept when recording (the tape) or for a function that is
    not vectorized (each block is one step); otherwise nothing is kept, and the few runs
    the screen flags are stepped through the block again from its start, with their points
    kept, to find where they stopped (the same elementwise arithmetic, so the same numbers;
    keeping ``(K, p)`` arrays of every step costs more than that: memory is not reused).
    """
    if not carry.fresh:
        _reevaluate(problem, carry, crit)
    tape = Tape(carry) if record else None
    act = carry.running
    if act.size == 0 or steps <= 0:
        return 0, tape
    fd = int(getattr(problem, "fd_calls", 0))
    every = _every(act, carry)
    cur, fb = [carry.x[every], carry.f[every], carry.g[every]], carry.fbound[every]
    ostate, pstate = carry.opt_state, carry.policy_state
    ev = Counter(problem, carry, act)
    stepper = _Stepper(problem, opt, policy, crit, carry)
    vectorized = bool(getattr(problem, "vectorized", False))
    keep = record or not vectorized
    grow = vectorized and type(policy) is linesearch.Fixed
    if not vectorized:
        block = 1
    else:
        block = BLOCK_FIXED if grow else BLOCK_OTHER
    k0, done, looked = carry.k, 0, 0
    while done < steps and act.size:
        tick = time.perf_counter()
        m = min(block, steps - done)
        n = act.size
        if keep:
            begin = (cur[0], cur[1], cur[2], ostate, pstate)
        else:
            # the block's start is copied for the replay into arrays reused block after
            # block, and the loop lets go of its own as the first step replaces them:
            # holding them through the block, then letting them go before the next block
            # allocates, makes the allocator return memory to the system at each block and
            # fault it back in (a third of the time of a step on 10,000 runs)
            begin = (_into(stepper._scratch("x0", cur[0].shape, cur[0].dtype, None), cur[0]),
                     _into(stepper._scratch("f0", cur[1].shape, cur[1].dtype, None), cur[1]),
                     _into(stepper._scratch("g0", cur[2].shape, cur[2].dtype, None), cur[2]),
                     ostate, pstate)
        stepper._fb = fb
        cur, ostate, pstate, out, flag = stepper.run(cur, ostate, pstate, k0 + done, m, ev, keep)
        if tape is not None:
            tape.blocks.append((act, out.hx, out.hf, out.hg, out.ht))
        stop = None
        flagged = bool(flag.any())
        if grow:
            block = BLOCK_FIXED if flagged else min(2 * block, BLOCK_MAX)
        if flagged:
            rows = np.flatnonzero(flag)
            if keep:
                hist = [[a[rows] for a in h] for h in (out.hx, out.hf, out.hg)]
                ts = [np.broadcast_to(np.asarray(t, dtype=np.float64), (n,))[rows]
                      for t in out.ht]
            else:  # step the flagged runs through the block again, keeping their points
                sel = np.zeros(n, dtype=bool)
                sel[rows] = True
                stepper._fb = fb[rows]
                again = stepper.run([begin[0][rows], begin[1][rows], begin[2][rows]],
                                    take(begin[3], sel, n), take(begin[4], sel, n),
                                    k0 + done, m, _Silent(problem), True)[3]
                hist = [again.hx, again.hf, again.hg]
                ts = [np.broadcast_to(np.asarray(t, dtype=np.float64), (rows.size,))
                      for t in again.ht]
            stop = _settle_block(carry, act, rows, (begin[0][rows], begin[1][rows],
                                                    begin[2][rows]), hist[0], hist[1],
                                 hist[2], ts, fb[rows], crit, stepper.zcut, fd,
                                 np.array(out.own, dtype=np.int64), (done, looked))
        done += m
        looked += sum(out.own)
        if stop is not None:
            keep_rows = ~stop
            cur = [a[keep_rows] for a in cur]
            fb, act = fb[keep_rows], act[keep_rows]
            every = act
            ostate, pstate = take(ostate, keep_rows, n), take(pstate, keep_rows, n)
            ev.act = act
        if switch is not None and act.size and done < steps and switch.wants(
                time.perf_counter() - tick, m, act.size, steps - done):
            break
    # the runs still going took every step (the stopped ones were counted when they stopped)
    carry.x[every], carry.f[every], carry.g[every] = cur
    carry.nit[every] += done
    carry.njev[every] += done
    carry.nfev[every] += looked + done * fd
    carry.opt_state, carry.policy_state = ostate, pstate
    carry.k = k0 + done
    return done, tape


def _every(act: AnyArray, carry: Carry) -> Any:
    """``act``, or a slice when it holds every run (views, not copies: the loop never
    writes into the arrays it is given)."""
    return slice(None) if act.size == carry.x.shape[0] else act


def _settle_block(
    carry: Carry, act: AnyArray, rows: AnyArray, begin: tuple[Array, Array, Array],
    hx: list[Array], hf: list[Array], hg: list[Array], ts: list[Array], fb: Array,
    crit: Criteria, zcut: float, fd: int, own: AnyArray, before: tuple[int, int],
) -> AnyArray | None:
    """The rules on every step of the runs ``rows`` (their points ``hx``, ``hf``, ``hg``
    and steps ``ts``, the block starting at ``begin``); the runs that stopped written out,
    counting the steps and evaluations of the call ``before`` the block. Returns the mask
    of the runs that left the batch, or None."""
    n = act.size
    x_start, f_start, g_start = begin
    fn = np.stack(hf)
    fp = np.concatenate([f_start[None], fn[:-1]])
    gs = np.stack(hg)
    if carry.lower is not None:
        gs = projected(gs, np.stack(hx), carry.lower, carry.upper)
    gn = norms(gs)
    gcut, fcut, xcut = crit.cuts
    if xcut >= 0.0:
        dx = norms(np.diff(np.stack([x_start, *hx]), axis=0))
    else:
        dx = np.full(fn.shape, np.nan)
    tt = np.stack(ts)
    codes = np.asarray(step_code(fp, fn, gn, dx, tt, fb, gcut, fcut, xcut, zcut))
    hit = codes != 0
    has = hit.any(axis=0)
    if not has.any():
        return None
    cols = np.flatnonzero(has)
    first = hit.argmax(axis=0)[cols]
    code = codes[first, cols]
    refused = (code >= FIRST_DIVERGENCE) | (code == _SCHEDULE_END)
    fin = np.where(refused, first - 1, first)  # the step whose point the run keeps (-1: start)
    p = x_start.shape[1]
    X, G = np.empty((cols.size, p), dtype=x_start.dtype), np.empty((cols.size, p),
                                                                    dtype=x_start.dtype)
    F = np.empty(cols.size, dtype=f_start.dtype)
    XR, GR = np.full((cols.size, p), np.nan), np.full((cols.size, p), np.nan)
    for s in np.unique(fin).tolist():
        sel = fin == s
        src = cols[sel]
        X[sel] = x_start[src] if s < 0 else hx[s][src]
        F[sel] = f_start[src] if s < 0 else hf[s][src]
        G[sel] = g_start[src] if s < 0 else hg[s][src]
    for s in np.unique(first[refused]).tolist():
        sel = refused & (first == s)
        XR[sel], GR[sel] = hx[s][cols[sel]], hg[s][cols[sel]]
    detail = np.where(code == _FTOL, np.abs(fp[first, cols] - fn[first, cols]),
                      np.where(code == _XTOL, dx[first, cols], fn[first, cols]))
    detail = np.where(refused | (code == _FTOL) | (code == _XTOL), detail, np.nan)
    who = rows[cols]
    steps, looked = before
    settle(carry, act[who], code.astype(np.int8), steps + first + 1 - refused,
           steps + first + 1, X, F, G, detail, tt[first, cols], (XR, GR), fd=fd,
           looked=looked + np.cumsum(own)[first])
    out = np.zeros(n, dtype=bool)
    out[who] = True
    return out
