r"""The loop's NumPy backend for K runs: ``(K, p)`` arrays, the rules applied in bulk.

Steps go in blocks of ``m``. Within a block, each step costs the optimizer's and the
policy's arithmetic, f and the gradient at the new points and a few running reductions
per run (the largest and smallest f, the largest and smallest squared gradient norm, and
the smallest change in f, step length and step size when those tests are on): enough to
tell which runs *might* have met a rule in the block. Only for those, at the end of the
block, :func:`descend.stopping.step_code` (the rules of every backend) is applied to each
of their steps; a run that stopped is rolled back to its first stopping step (its point,
value and gradient there are kept for the block) and leaves the batch, so the outcome is
that of testing every step. Runs that stopped early in a block take a few extra steps that
nothing keeps; a function that is not vectorized (a Python callable, evaluated row by row)
goes one step per block, so it is never called past a run's end.
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
#: Steps per block: fixed steps are cheap to overshoot; line searches less so.
BLOCK_FIXED, BLOCK_OTHER = 16, 4
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

    def run(self, x: Array, f: Array, g: Array, ostate: Any, pstate: Any, k: int, m: int,
            ev: Any, keep: bool) -> tuple[Array, Array, Array, Any, Any, _Block, Any]:
        """``m`` steps from ``(x, f, g)``; returns the end, the states, the block (with
        every step when ``keep``) and the screen: the mask of runs a rule may have ended."""
        n, p = x.shape
        out = _Block()
        update, pstep, plain, t_fixed = self.update, self.pstep, self.plain, self.t_fixed
        gcut, fcut, xcut, zcut = self.gcut, self.fcut, self.xcut, self.zcut
        dt, lo, hi = self.dt, self.lo, self.hi
        values, gradients = self.values, self.gradients
        hi_f, lo_f, hi_s = np.full(n, -INF), np.full(n, INF), np.full(n, -INF)
        lo_s = np.full(n, INF) if gcut >= 0.0 else hi_s
        lo_df = np.full(n, INF) if fcut >= 0.0 else hi_s
        lo_dx = np.full(n, INF) if xcut >= 0.0 else hi_s
        sq, s = np.empty((n, p), dtype=dt), np.empty(n, dtype=dt)  # reused: the screen's only
        lo_t = INF
        own = out.own
        for j in range(m):
            if plain:  # gd with fixed steps: the same arithmetic without two calls
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
            _sumsq_into(gv if lo is None else projected(gv, xn, lo, hi), sq, s)
            np.maximum(hi_f, fn, out=hi_f)
            np.minimum(lo_f, fn, out=lo_f)
            np.maximum(hi_s, s, out=hi_s)
            if gcut >= 0.0:
                np.minimum(lo_s, s, out=lo_s)
            if zcut >= 0.0:
                lo_t = min(lo_t, float(np.min(t)))
            if fcut >= 0.0:
                np.minimum(lo_df, np.abs(f - fn), out=lo_df)
            if xcut >= 0.0:
                np.minimum(lo_dx, sumsq(xn - x), out=lo_dx)
            if keep:
                out.hx.append(xn)
                out.hf.append(fn)
                out.hg.append(gv)
                out.ht.append(t)
            x, f, g = xn, fn, gv
        flag = ~((lo_f > -INF) & (hi_f <= self._fb) & (hi_f < INF) & (hi_s < INF))
        if gcut >= 0.0:
            flag |= np.sqrt(lo_s) <= gcut * _MARGIN
        if fcut >= 0.0:
            flag |= lo_df < fcut
        if xcut >= 0.0:
            flag |= np.sqrt(lo_dx) <= xcut * _MARGIN
        if lo_t <= zcut:
            flag[:] = True
        return x, f, g, ostate, pstate, out, flag

    _fb: Array  # the divergence bounds of the runs being stepped


def _core(fn: Any) -> Any:
    return fn.core if isinstance(fn, _Batched) else fn


def _sumsq_into(g: Array, sq: Array, s: Array) -> None:
    """:func:`descend.stopping.sumsq` of ``g`` into ``s``, with ``sq`` as scratch (no
    allocation a step; the screen only needs the number)."""
    p = g.shape[1]
    if p > 8:
        s[...] = sumsq(g)
        return
    np.multiply(g, g, out=sq)
    if p == 1:
        s[...] = sq[:, 0]
        return
    np.add(sq[:, 0], sq[:, 1], out=s)
    for j in range(2, p):
        np.add(s, sq[:, j], out=s)


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
    x, f, g, fb = carry.x[act], carry.f[act], carry.g[act], carry.fbound[act]
    ostate, pstate = carry.opt_state, carry.policy_state
    ev = Counter(problem, carry, act)
    stepper = _Stepper(problem, opt, policy, crit, carry)
    vectorized = bool(getattr(problem, "vectorized", False))
    keep = record or not vectorized
    if not vectorized:
        block = 1
    else:
        block = BLOCK_FIXED if type(policy) is linesearch.Fixed else BLOCK_OTHER
    k0, done, looked = carry.k, 0, 0
    while done < steps and act.size:
        tick = time.perf_counter()
        m = min(block, steps - done)
        n = act.size
        begin = (x, f, g, ostate, pstate)
        stepper._fb = fb
        x, f, g, ostate, pstate, out, flag = stepper.run(x, f, g, ostate, pstate, k0 + done, m,
                                                          ev, keep)
        if tape is not None:
            tape.blocks.append((act, out.hx, out.hf, out.hg, out.ht))
        stop = None
        if flag.any():
            rows = np.flatnonzero(flag)
            if keep:
                hist = [[a[rows] for a in h] for h in (out.hx, out.hf, out.hg)]
                ts = [np.broadcast_to(np.asarray(t, dtype=np.float64), (n,))[rows]
                      for t in out.ht]
            else:  # step the flagged runs through the block again, keeping their points
                sel = np.zeros(n, dtype=bool)
                sel[rows] = True
                stepper._fb = fb[rows]
                again = stepper.run(begin[0][rows], begin[1][rows], begin[2][rows],
                                    take(begin[3], sel, n), take(begin[4], sel, n),
                                    k0 + done, m, _Silent(problem), True)[5]
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
            x, f, g, fb, act = x[keep_rows], f[keep_rows], g[keep_rows], fb[keep_rows], \
                act[keep_rows]
            ostate, pstate = take(ostate, keep_rows, n), take(pstate, keep_rows, n)
            ev.act = act
        if switch is not None and act.size and done < steps and switch.wants(
                time.perf_counter() - tick, m, act.size, steps - done):
            break
    # the runs still going took every step (the stopped ones were counted when they stopped)
    carry.x[act], carry.f[act], carry.g[act] = x, f, g
    carry.nit[act] += done
    carry.njev[act] += done
    carry.nfev[act] += looked + done * fd
    carry.opt_state, carry.policy_state = ostate, pstate
    carry.k = k0 + done
    return done, tape


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
