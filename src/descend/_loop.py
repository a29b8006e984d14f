r"""The loop: K runs of an optimizer and a step policy, one resumable carry, one set of rules.

Every iteration in descend goes through :func:`run`: :func:`descend.minimize` (K = 1),
:func:`descend.sweep` and :func:`descend.multistart` (a ``(K, p)`` batch), the estimators
of :mod:`descend.linear_model` (each epoch and each ``partial_fit`` call continues the same
carry), and through those the command line and the explorer.

A step is ``d, s = optimizer.update(g, s, x)``, ``t, x' = policy.step(k, ...)`` (``x' = x -
t d``), then f and the gradient at ``x'`` and the rules of :mod:`descend.stopping`. The
:class:`Carry` holds everything needed to continue: each run's point, value, gradient,
status code and counters, the optimizer's and the policy's state for the runs still going,
and the step number ``k``. ``run(problem, carry, ...) -> (carry, outcome)`` advances it by
up to ``steps`` steps; ``outcome.result(i)`` is run ``i`` as a :class:`~descend.result.Result`.

Three backends advance a carry, all applying the same rule functions:

- :mod:`descend._single` for one run (Python floats between NumPy calls; the path kept in
  lists; an early exit on every step; mini-batches of a model's loss);
- :mod:`descend._batch` for K runs as ``(K, p)`` arrays, with the rules applied in bulk
  every few steps and each stopped run rolled back exactly to its first stopping step, so
  that the outcome is that of testing every step;
- :mod:`descend._compiled` (numba) for unrecorded batches of plain gradient descent with a
  fixed step on a formula, taken when the kernel is compiled already, or when the work left
  is worth compiling it (see :func:`descend._compiled.worth_compiling`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import _batch, _compiled, _single, linesearch
from ._carry import Carry, settle, take
from ._policies import estimate_lipschitz
from ._types import Array
from .errors import InvalidArgument
from .optimizers import Optimizer
from .result import (
    FIRST_DIVERGENCE,
    Reason,
    Result,
    above,
    classify,
    describe,
    divergence_advice,
    not_converged_hint,
)
from .stopping import (
    Criteria,
    divergence_bound,
    end_code,
    norms,
    point_code,
    projected,
    runaway_bound,
)

__all__ = ["Carry", "Outcome", "Problem", "run", "start"]


class Problem(Protocol):
    """What the loop evaluates (an :class:`~descend.objective.Objective` is one).

    ``value``/``gradient`` take one point ``(p,)``, ``values``/``gradients`` a batch
    ``(K, p)``; ``fd_calls`` is the number of calls of f behind one gradient (finite
    differences), 0 for an exact one. A *stochastic* problem (mini-batches) also has
    ``batch(j)``, the problem of step ``j`` of a call, and ``stochastic = True``.
    """

    vectorized: bool

    def value(self, x: Array) -> float: ...

    def gradient(self, x: Array) -> Array: ...

    def values(self, X: Array) -> Array: ...

    def gradients(self, X: Array) -> Array: ...


def dtype_of(x0: Any) -> np.dtype[Any]:
    """The dtype runs from ``x0`` keep: float32 for float32 starts, float64 otherwise."""
    return np.dtype(np.float32 if np.asarray(x0).dtype == np.float32 else np.float64)


def _as_runs(x0: Any) -> Array:
    x = np.array(x0, dtype=dtype_of(x0))
    return x.reshape(1, -1) if x.ndim <= 1 else x


def start(problem: Any, x0: Any, optimizer: Optimizer, policy: Any, criteria: Criteria, *,
          scale: float = 1.0, f0: Any = None, g0: Any = None,
          bounds: tuple[Array, Array] | None = None) -> Carry:
    """The carry of runs starting at ``x0`` (``(p,)`` or ``(K, p)``; float32 starts stay
    float32): f and the gradient there (or ``f0``, ``g0`` when the caller has them), the
    rules at ``x0`` (a start at a minimum is done already), and the optimizer's and the
    policy's initial states. ``scale``: the size of x that counts as ordinary (for the
    runaway bound); ``bounds``: ``(lower, upper)`` of shape ``(p,)``, x0 clipped into them."""
    x = _as_runs(x0)
    dt = x.dtype
    k_runs, single = x.shape[0], x.shape[0] == 1
    lower = upper = None
    if bounds is not None:
        lower, upper = (np.asarray(b, dtype=np.float64) for b in bounds)
        clipped = np.minimum(np.maximum(x, lower), upper).astype(dt)
        if not np.array_equal(clipped, x):
            x, f0, g0 = clipped, None, None
    with np.errstate(all="ignore"):
        # np.array copies: the carry's arrays are its own and writable (a JAX gradient is
        # a read-only view)
        if f0 is not None and g0 is not None:
            f = np.array(f0, dtype=dt).reshape(k_runs)
            g = np.array(g0, dtype=dt).reshape(x.shape)
        elif single:
            f = np.array([problem.value(x[0])], dtype=dt)
            g = np.array(problem.gradient(x[0]), dtype=dt).reshape(x.shape)
        else:
            f = np.array(problem.values(x), dtype=dt).reshape(k_runs)
            g = np.array(problem.gradients(x), dtype=dt).reshape(x.shape)
        gn = norms(g if lower is None else projected(g, x, lower, upper))
        code = np.asarray(point_code(f, gn, criteria.cuts[0]), dtype=np.int8).reshape(k_runs)
        fbound = np.asarray(divergence_bound(f.astype(np.float64)), dtype=np.float64)
        xbound = np.asarray(runaway_bound(norms(x.astype(np.float64)), scale),
                            dtype=np.float64)
    ones = np.ones(k_runs, dtype=np.int64)
    carry = Carry(
        x=x, f=f, g=g, code=code, nit=np.zeros(k_runs, dtype=np.int64),
        nfev=ones * (1 + _fd_calls(problem)), njev=ones.copy(), fbound=fbound, xbound=xbound,
        detail=np.where(code == 0, np.nan, f.astype(np.float64)),
        lr_max=np.full(k_runs, np.nan), t_last=np.full(k_runs, np.nan), lower=lower,
        upper=upper,
    )
    live = carry.running
    if live.size:
        with np.errstate(all="ignore"):
            if single:
                ev: Any = _single.Counter(problem)
                carry.opt_state = optimizer.init(x[0])
                carry.policy_state = policy.init(ev, x[0], float(f[0]), g[0])
                carry.nfev += ev.nf + ev.ng * _fd_calls(problem)
                carry.njev += ev.ng
            else:
                ev = _batch.Counter(problem, carry, np.arange(k_runs))
                ostate = optimizer.init(x)
                pstate = policy.init(ev, x, f, g)
                keep = code == 0
                carry.opt_state = take(ostate, keep, k_runs)
                carry.policy_state = take(pstate, keep, k_runs)
    return carry


def _fd_calls(problem: Any) -> int:
    return int(getattr(problem, "fd_calls", 0))


@dataclass
class Outcome:
    """What one call of :func:`run` did, and each run as a :class:`~descend.result.Result`."""

    carry: Carry
    problem: Any
    method: str
    criteria: Criteria
    lr: Any  # the fixed step(s), for the divergence advice; None for other policies
    x0: Array  # (K, p): where this call started
    f0: Array
    g0: Array
    tape: Any = None  # the recorded path (a _batch.Tape or _single.Tape)
    steps: int = 0
    seconds: float = 0.0
    backend: str = ""
    variables: tuple[str, ...] = field(default=())

    def curvature(self, x: Array) -> float | None:
        """The largest Hessian eigenvalue magnitude at ``x`` (power iteration on gradient
        differences, :func:`descend.linesearch.estimate_lipschitz`), for the advice; None
        when it cannot be had (a stochastic or gradient-less problem, a non-finite value).
        The gradients it takes are not counted in the run's ``njev``."""
        grad = getattr(self.problem, "gradient", None)
        if grad is None or getattr(self.problem, "stochastic", False):
            return None
        point = np.asarray(x, dtype=np.float64)
        try:
            with np.errstate(all="ignore"):
                lam, _ = estimate_lipschitz(lambda v: np.asarray(grad(v), dtype=np.float64),
                                            point)
        except (ArithmeticError, ValueError, TypeError):
            return None
        lam = float(lam)
        return lam if math.isfinite(lam) and lam > 0.0 else None

    def _lr(self, i: int) -> float | None:
        return self.lr if self.lr is None or np.ndim(self.lr) == 0 else float(self.lr[i])

    def advice(self, i: int, run: tuple[Array, Array, Array] | None = None
               ) -> tuple[dict[str, Any], float | None]:
        """The advice for run ``i`` (message keys ``advice`` or ``hint``) and its estimate
        of the largest stable fixed step ``2 / L``, from the curvature ``L`` at a point
        where the run was stable: for a divergence, the start of this call (known whether
        or not the path was recorded, so that every face gives the same advice); for a run
        that stopped unconverged, the lowest point of the recorded path ``run = (path,
        values, step_sizes)``, whose :func:`~descend.result.verdict` picks the hint."""
        c = self.carry
        reason = Reason(int(c.code[i]) or int(Reason.MAX_ITER))
        if reason not in (Reason.MAX_ITER, Reason.SCHEDULE_END) and not reason.diverged:
            return {}, None
        if run is not None:
            path, values, _ = run
            finite = np.where(np.isfinite(values), values, np.inf)
            point = path[int(np.argmin(finite))] if finite.size else self.x0[i]
        else:
            point = self.x0[i]
        lr = self._lr(i)
        if reason.diverged:  # at the start: the same advice recorded or not
            lip = self.curvature(self.x0[i])
            lr_max = 2.0 / lip if lip is not None else float(c.lr_max[i])
            lr_max_or_none = lr_max if math.isfinite(lr_max) else None
            return {"advice": divergence_advice(lr, lr_max_or_none)}, lr_max_or_none
        if run is not None:
            kind = classify(reason.status, run[1], run[0], run[2])
        else:
            kind = "oscillating" if above(float(c.f[i]), float(self.f0[i])) else ""
        lip = self.curvature(point) if kind else None
        if reason is Reason.SCHEDULE_END:
            return {}, None
        return {"hint": not_converged_hint(kind, lr, lip)}, None

    def message(self, i: int, best: tuple[float, int] | None = None,
                run: tuple[Array, Array, Array] | None = None,
                advice: dict[str, Any] | None = None) -> str:
        """Run ``i``'s message from the one table; ``best``: the lowest f visited and its
        iteration, known when the path was recorded (the message then says when a run
        that did not diverge ended above it); ``run``: the recorded path, values and
        steps, for the verdict behind the advice (see :meth:`advice`)."""
        c = self.carry
        reason = Reason(int(c.code[i]) or int(Reason.MAX_ITER))
        crit = self.criteria
        gnorm = float(c.gradient_norms(c.x[i], c.g[i]))
        info: dict[str, Any] = {
            "nit": int(c.nit[i]), "gnorm": gnorm, "gtol": crit.gtol or 0.0,
            "ftol": crit.ftol or 0.0, "xtol": crit.xtol or 0.0, "fun": float(c.f[i]),
            "df": float(c.detail[i]), "dx": float(c.detail[i]), "bad": float(c.detail[i]),
            "fbound": float(c.fbound[i]), "xnorm": float(c.detail[i]),
            "xbound": float(c.xbound[i]), "fd": bool(getattr(self.problem, "finite_differences",
                                                             False)),
            "grad_method": getattr(self.problem, "grad_method", None),
            "grad_note": getattr(self.problem, "grad_note", ""),
        }
        if c.bounded:
            info["gname"] = "projected gradient norm"
            info["on_bound"] = ", ".join(self.on_bound(i))
        if best is not None and not reason.diverged and above(float(c.f[i]), best[0]):
            info["fun_best"], info["nit_best"] = best
        info.update(self.advice(i, run)[0] if advice is None else advice)
        return describe(reason, **info)

    def names(self) -> tuple[str, ...]:
        p = int(self.carry.x.shape[1])
        return self.variables or tuple(f"x{j + 1}" for j in range(p))

    def on_bound(self, i: int) -> tuple[str, ...]:
        """Run ``i``'s coordinates that sit on a bound, as ``"x = 1 (upper)"``."""
        c = self.carry
        if c.lower is None or c.upper is None:
            return ()
        x = c.x[i].astype(np.float64)
        out = []
        for name, v, lo, hi in zip(self.names(), x, c.lower, c.upper, strict=True):
            side = "lower" if v <= lo else "upper" if v >= hi else ""
            if side:
                out.append(f"{name} = {v:.6g} ({side})")
        return tuple(out)

    def result(self, i: int) -> Result:
        """Run ``i`` with its path (when recorded; else its start and end)."""
        c = self.carry
        reason = Reason(int(c.code[i]) or int(Reason.MAX_ITER))
        status = reason.status
        n = int(c.nit[i])
        dt = c.x.dtype
        if self.tape is not None:
            path, values, gns, steps = self.tape.run(i, self.x0[i], self.f0[i], self.g0[i])
            path, values = path.astype(dt, copy=False), values.astype(dt, copy=False)
            gns, steps = gns.astype(dt, copy=False), steps.astype(dt, copy=False)
        else:
            path, values = c.x[i][None].copy(), c.f[i : i + 1].copy()
            gns, steps = c.gradient_norms(c.x[i][None], c.g[i][None]), np.empty(0, dtype=dt)
        k = int(np.argmin(np.where(np.isnan(values), np.inf, values))) if values.size else 0
        first = int(c.nit[i]) - (path.shape[0] - 1)  # the iteration of the path's first row
        best = (float(values[k]), first + k)
        run = (path, values, steps) if self.tape is not None else None
        advice, lr_max_est = self.advice(i, run)
        lr_max = float(c.lr_max[i]) if lr_max_est is None else lr_max_est
        return Result(
            x=c.x[i].copy(), fun=float(c.f[i]), jac=c.g[i].copy(), nit=n, nfev=int(c.nfev[i]),
            njev=int(c.njev[i]), success=status.success, status=status,
            message=self.message(i, best, run, advice), path=path, values=values, grad_norms=gns,
            step_sizes=steps, method=self.method,
            lr_max=lr_max if math.isfinite(lr_max) else None,
            variables=self.names(), grad_method=getattr(self.problem, "grad_method", "user"),
            objective=self.problem, reason=reason,
            x_best=path[k].copy(), fun_best=best[0], on_bound=self.on_bound(i),
        )


def _fixed_lr(policy: Any) -> Any:
    """The fixed step(s) of a policy, for the divergence advice, or None."""
    if isinstance(policy, linesearch.Fixed) and policy.schedule is None:
        return policy.value if policy.steps is None else policy.steps
    return None


def run(
    problem: Any, carry: Carry, optimizer: Optimizer, policy: Any, criteria: Criteria, *,
    steps: int | None = None, record: bool = False, callback: Any = None,
    log_every: int | None = None, fresh: bool | None = None, backend: str = "auto",
) -> tuple[Carry, Outcome]:
    """Advance the runs of ``carry`` by up to ``steps`` steps (``criteria.max_iter`` by
    default); see the module docstring.

    ``record`` keeps the path (``outcome.result(i).path``); ``callback`` and ``log_every``
    as for :func:`descend.minimize` (one run only). ``fresh=False`` evaluates the problem
    at the carry's points first (new data, or after mini-batches). ``backend``: ``"auto"``,
    or ``"numpy"`` to keep the compiled loop out. The carry is updated in place and
    returned.
    """
    n_steps = criteria.max_iter if steps is None else int(steps)
    if fresh is not None:
        carry.fresh = fresh
    stochastic = bool(getattr(problem, "stochastic", False))
    x0, f0, g0 = carry.x.copy(), carry.f.copy(), carry.g.copy()
    tick = time.perf_counter()
    used = "single"
    with np.errstate(all="ignore"):
        if carry.single:
            tape = _single.advance(
                problem, carry, optimizer, policy, criteria, n_steps, record=record,
                callback=callback, log_every=log_every, stochastic=stochastic)
        else:
            if callback is not None or log_every is not None or stochastic:
                raise InvalidArgument("callback: only a single run takes a callback, a "
                                      "log or mini-batches", argument="callback")
            tape, used = _advance_batch(problem, carry, optimizer, policy, criteria,
                                        n_steps, record, backend)
        _runaway(carry)
    out = Outcome(
        carry=carry, problem=problem, method=getattr(optimizer, "name", "custom"),
        criteria=criteria, lr=_fixed_lr(policy), x0=x0, f0=f0, g0=g0, tape=tape,
        steps=n_steps, seconds=time.perf_counter() - tick, backend=used,
        variables=tuple(getattr(problem, "variables", ()) or ()),
    )
    return carry, out


def _advance_batch(problem: Any, carry: Carry, optimizer: Optimizer, policy: Any,
                   criteria: Criteria, steps: int, record: bool, backend: str) -> tuple[Any, str]:
    """The batch backends: compiled when eligible and worth it, NumPy otherwise; a NumPy
    run hands the carry to the compiled loop after a block once it has measured that the
    work left is worth the compile."""
    plan = None
    if backend == "auto" and not record and carry.fresh:
        plan = _compiled.plan(problem, carry, optimizer, policy)
    if plan is not None and plan.ready:
        _advance_compiled(plan, carry, policy, criteria, steps)
        return None, "compiled"
    done, tape = _batch.advance(problem, carry, optimizer, policy, criteria, steps,
                                record=record, switch=plan)
    if done < steps and plan is not None and plan.ready:
        _advance_compiled(plan, carry, policy, criteria, steps - done)
        return tape, "numpy+compiled"
    if done < steps:  # the switch declined after all: go on in NumPy
        more, _ = _batch.advance(problem, carry, optimizer, policy, criteria, steps - done,
                                 record=False)
        done += more
    return tape, "numpy"


def _advance_compiled(plan: Any, carry: Carry, policy: Any, criteria: Criteria,
                      steps: int) -> None:
    """The running runs of ``carry`` through the compiled kernel, written back. When every
    run is going (the common case) the kernel works on the carry's own arrays in place."""
    act = carry.running
    n = act.size
    if n == 0 or steps <= 0:
        return
    every = n == carry.x.shape[0] and carry.x.flags.c_contiguous
    if every:
        x, f, g, fb = carry.x, carry.f, carry.g, carry.fbound
    else:
        x, f, g = (np.ascontiguousarray(a[act]) for a in (carry.x, carry.f, carry.g))
        fb = np.ascontiguousarray(carry.fbound[act])
    state = carry.policy_state
    t = (np.ascontiguousarray(state, dtype=np.float64) if isinstance(state, np.ndarray)
         else np.full(n, float(policy.value)))
    codes, nsteps, xd, gd, det = plan.run(x, f, g, t, fb, steps, criteria.cuts)
    stop = codes != 0
    ran = np.where(stop, 0, steps)  # the runs still going took every step
    if every:
        carry.nit += ran
        carry.njev += ran
        carry.nfev += ran
    else:
        carry.x[act], carry.f[act], carry.g[act] = x, f, g
        carry.nit[act] += ran
        carry.njev[act] += ran
        carry.nfev[act] += ran
    if stop.any():
        c = codes[stop]
        refused = (c >= FIRST_DIVERGENCE) | (c == int(Reason.SCHEDULE_END))
        ns = nsteps[stop]
        settle(carry, act[stop], c, ns - refused, ns, x[stop], f[stop], g[stop], det[stop],
               t[stop], (xd[stop], gd[stop]))
        keep = ~stop
        carry.opt_state = take(carry.opt_state, keep, n)
        carry.policy_state = take(carry.policy_state, keep, n)
    carry.k += steps


def _runaway(carry: Carry) -> None:
    """The rule on the last point of every run that did not diverge (see
    :mod:`descend.stopping`): x that ran far away while f kept falling."""
    xn = norms(carry.x)
    new = np.asarray(end_code(carry.code.astype(np.int64), xn, carry.xbound))
    moved = np.flatnonzero(new != carry.code)
    if moved.size == 0:
        return
    was_running = carry.code[moved] == 0
    if was_running.any():  # drop their optimizer and policy state
        live = carry.running
        keep = ~np.isin(live, moved[was_running])
        if not carry.single:
            carry.opt_state = take(carry.opt_state, keep, live.size)
            carry.policy_state = take(carry.policy_state, keep, live.size)
    carry.code[moved] = new[moved]
    carry.detail[moved] = xn[moved]
