r"""``minimize``: the one loop that iterates an optimizer.

Each iteration asks the optimizer for a direction ``d_k``, the step policy for a
step ``t_k``, moves ``x_{k+1} = x_k - t_k d_k`` (all coordinates at once), then
evaluates ``f`` and its gradient at the new point, records them and applies the
stopping rules of :mod:`descend.stopping`. The same loop runs one point ``(p,)``
or a batch of independent runs ``(K, p)`` (multi-start, learning-rate sweeps);
only the bookkeeping differs, in :class:`_Single` and :class:`_Batch`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _compiled, linesearch, optimizers
from ._types import Array, StepSize
from .errors import InvalidArgument, InvalidType
from .linesearch import StepPolicy, rowdot
from .objective import Objective, as_objective
from .result import Intermediate, Result, Status, describe, divergence_advice
from .stopping import CODES, Criteria, batch_codes, divergence_bound, single_status

__all__ = ["Run", "minimize", "run_batch"]


def minimize(
    fun: Any,
    x0: Any,
    *,
    grad: Callable[[Array], Any] | str | None = None,
    method: str | optimizers.Optimizer = "gd",
    lr: StepSize | StepPolicy = 0.1,
    max_iter: int = 1000,
    ftol: float | None = None,
    gtol: float | None = 1e-6,
    xtol: float | None = None,
    callback: Callable[[Intermediate], Any] | None = None,
    log_every: int | None = None,
    variables: Any = None,
) -> Result:
    r"""Minimize ``fun`` by gradient descent (or a relative) from ``x0``.

    Parameters
    ----------
    fun : callable, str, Formula or TestFunction
        ``fun(x) -> float`` for ``x`` a float64 array ``(p,)``; or a formula such as
        ``"x**2 + y**2"`` (parsed safely, exact gradient); or a catalog entry from
        :func:`descend.functions.get`.
    x0 : array_like or float
        The start, ``(p,)`` (a scalar means ``p = 1``).
    grad : callable or str, optional
        ``grad(x) -> (p,)``, or how to get the gradient of a callable ``fun``:
        ``"auto"`` (the default, as None) differentiates ``fun`` exactly when it is
        written with ``jax.numpy`` (jit-compiled ``value_and_grad``) or ``torch``
        (autograd), else by central finite differences
        (``h_i = cbrt(eps) * max(1, |x_i|)``); ``"fd"`` forces finite differences;
        ``"jax"`` or ``"torch"`` force that library (an error when it cannot trace
        ``fun``). ``Result.grad_method`` and the message say which was used.
    method : str or Optimizer
        ``"gd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
        ``"adam"``, or an object from :mod:`descend.optimizers`.
    lr : float, schedule or str
        A fixed step ``> 0``, a schedule ``k -> t_k``, or a policy:
        ``"backtracking"``, ``"bb"``, ``"auto"`` (see :mod:`descend.linesearch`).
    max_iter : int
        Most steps taken.
    ftol, gtol, xtol : float or None
        Stop when ``|f(x_k) - f(x_{k+1})| < ftol``, ``||grad f|| <= gtol`` (also
        checked at ``x0``), or ``||x_{k+1} - x_k|| <= xtol``; ``None`` disables.
    callback : callable, optional
        Called after each step with an :class:`~descend.result.Intermediate`
        (``x, fun, nit, grad_norm, step_size``); raising ``StopIteration`` ends the
        run with status ``"callback"``.
    log_every : int, optional
        Print ``Epoch k: [x1, x2, ...]`` after steps ``0, N, 2N, ...`` (as seed 001).
    variables : sequence of str or str, optional
        Variable order for a formula string (default: alphabetical).

    Returns
    -------
    Result
        ``x, fun, jac, nit, nfev, njev, success, status, message`` and the path:
        ``path`` ``(nit+1, p)``, ``values``, ``grad_norms``, ``step_sizes``.

    Examples
    --------
    Seed 001: 5000 steps of 0.001 on the paraboloid from (6, -3).

    >>> import numpy as np
    >>> res = minimize(lambda v: v @ v, [6, -3], grad=lambda v: 2 * v, lr=0.001, max_iter=5000)
    >>> res.status, res.nit
    (<Status.MAX_ITER: 'max_iter'>, 5000)
    >>> res.x.tolist()
    [0.00026968555624761565, -0.00013484277812380783]
    """
    objective = as_objective(fun, grad, variables=variables)
    x = _check_x0(x0)
    objective = objective.with_dimension(x.shape[0]).resolve_gradient(x)
    opt = optimizers.get(method)
    policy = linesearch.get(lr)
    criteria = Criteria.make(max_iter, gtol, ftol, xtol)
    if log_every is not None and (
        isinstance(log_every, bool) or not isinstance(log_every, (int, np.integer)) or log_every < 1
    ):
        raise InvalidArgument(
            f"log_every: must be an integer >= 1 or None, got {log_every!r}", argument="log_every"
        )
    if callback is not None and not callable(callback):
        raise InvalidType(
            f"callback: expected a callable or None, got {type(callback).__name__}",
            argument="callback",
        )
    f0, g0 = objective.check(x)
    run = _iterate(objective, x, opt, policy, criteria, callback, log_every, f0, g0)
    return run.result(0)


def run_batch(
    objective: Objective,
    x0: Array,
    *,
    method: str | optimizers.Optimizer = "gd",
    lr: StepSize | StepPolicy = 0.1,
    max_iter: int = 1000,
    ftol: float | None = None,
    gtol: float | None = 1e-6,
    xtol: float | None = None,
    record: bool = True,
) -> Run:
    """Advance K independent runs ``x0 (K, p)`` together through the same loop.

    Unrecorded gd runs with a fixed step on a formula may take the compiled loop of
    :mod:`descend._compiled` instead: the same outcome, faster.
    """
    opt = optimizers.get(method)
    policy = linesearch.get(lr)
    criteria = Criteria.make(max_iter, gtol, ftol, xtol)
    if not record:
        run = _compiled.try_run(objective, x0, opt, policy, criteria)
        if run is not None:
            return run
    return _iterate(objective, x0, opt, policy, criteria, None, None, None, None, record)


def _check_x0(x0: Any) -> Array:
    try:
        x = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"x0: expected a number or a sequence of numbers, got {x0!r:.80}", argument="x0"
        ) from None
    if np.iscomplexobj(np.asarray(x0)):
        raise InvalidType("x0: must be real, got complex values", argument="x0")
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise InvalidArgument(
            f"x0: expected one point, a 1-D sequence, got shape {x.shape}", argument="x0"
        )
    if x.size == 0:
        raise InvalidArgument("x0: must not be empty; give one number per variable",
                              argument="x0")
    if not np.all(np.isfinite(x)):
        raise InvalidArgument(f"x0: must be finite, got {x.tolist()}", argument="x0")
    return x


class Run:
    """The raw outcome of the loop for K runs (K = 1 for :func:`minimize`)."""

    def __init__(self, objective: Objective, method: str, **fields: Any) -> None:
        self.objective = objective
        self.method = method
        self.x: Array = fields["x"]  # (K, p)
        self.fun: Array = fields["fun"]  # (K,)
        self.jac: Array = fields["jac"]  # (K, p)
        self.nit: Array = fields["nit"]  # (K,) int
        self.codes: Array = fields["codes"]  # (K,) int8 into CODES
        self.lr_max: Array = fields["lr_max"]  # (K,) nan where unknown
        self.nfev: int = fields["nfev"]
        self.njev: int = fields["njev"]
        self.path: Array | None = fields.get("path")  # (n+1, K, p)
        self.values: Array | None = fields.get("values")  # (n+1, K)
        self.grad_norms: Array | None = fields.get("grad_norms")
        self.step_sizes: Array | None = fields.get("step_sizes")  # (n, K)
        self.criteria: Criteria = fields["criteria"]
        self.lr: Any = fields.get("lr")
        self.why: list[str] = fields["why"]

    @property
    def status(self) -> list[Status]:
        return [s for s in (CODES[c] for c in self.codes) if s is not None]

    def message(self, k: int) -> str:
        status = CODES[int(self.codes[k])]
        assert status is not None
        nit = int(self.nit[k])
        c = self.criteria
        gnorm = float(np.sqrt(self.jac[k] @ self.jac[k]))
        info: dict[str, Any] = {"nit": nit, "gnorm": gnorm, "gtol": c.gtol or 0.0,
                                "ftol": c.ftol or 0.0, "xtol": c.xtol or 0.0,
                                "grad_method": self.objective.grad_method,
                                "grad_note": self.objective.grad_note}
        if status is Status.FTOL and self.values is not None and nit >= 1:
            info["df"] = abs(float(self.values[nit - 1, k] - self.values[nit, k]))
        else:
            info["df"] = 0.0
        if status is Status.XTOL and self.path is not None and nit >= 1:
            info["dx"] = float(np.linalg.norm(self.path[nit, k] - self.path[nit - 1, k]))
        else:
            info["dx"] = 0.0
        if status is Status.DIVERGED:
            lr_max = float(self.lr_max[k])
            lr = self.lr if isinstance(self.lr, float) else None
            if isinstance(self.lr, np.ndarray):  # one fixed step per run (a sweep)
                lr = float(self.lr[k])
            info["why"] = self.why[k] or "f or the gradient is not finite"
            info["advice"] = divergence_advice(lr, lr_max if math.isfinite(lr_max) else None)
        return describe(status, **info)

    def result(self, k: int) -> Result:
        """Run ``k`` as a :class:`Result` (its path when recorded, else start and end)."""
        n = int(self.nit[k])
        if self.path is not None:
            assert self.values is not None and self.grad_norms is not None
            assert self.step_sizes is not None
            path = self.path[: n + 1, k].copy()
            values = self.values[: n + 1, k].copy()
            gns = self.grad_norms[: n + 1, k].copy()
            steps = self.step_sizes[:n, k].copy()
        else:
            path = self.x[k][None].copy()
            values = self.fun[k : k + 1].copy()
            gns = np.sqrt(self.jac[k] @ self.jac[k]).reshape(1)
            steps = np.empty(0)
        status = CODES[int(self.codes[k])]
        assert status is not None
        lr_max = float(self.lr_max[k])
        return Result(
            x=self.x[k].copy(), fun=float(self.fun[k]), jac=self.jac[k].copy(), nit=n,
            nfev=self.nfev, njev=self.njev, success=status.success, status=status,
            message=self.message(k), path=path, values=values, grad_norms=gns,
            step_sizes=steps, method=self.method,
            lr_max=lr_max if math.isfinite(lr_max) else None,
            variables=self.objective.variables or tuple(f"x{i + 1}" for i in range(path.shape[1])),
            grad_method=self.objective.grad_method, objective=self.objective,
        )


_INF = math.inf


def _norm(v: Array) -> float:
    """Euclidean norm of one vector; ``math.hypot`` on a list is fastest for small p."""
    if v.shape[0] <= 64:
        return math.hypot(*v.tolist())
    return math.sqrt(float(v.dot(v)))


def _rownorms(g: Array) -> Array:
    """Euclidean norm of each row of ``(K, p)``; columnwise for small p (einsum and
    ``sum(axis=1)`` are slow over a short last axis: 0.2 ms versus 0.03 ms for 10,000 x 2)."""
    p = g.shape[1]
    if p > 8:
        out: Array = np.sqrt(np.einsum("ij,ij->i", g, g))
        return out
    s = g[:, 0] * g[:, 0]
    for j in range(1, p):
        c = g[:, j]
        s += c * c
    return np.sqrt(s, out=s)


def _curvature(x0: Array, g0: Array, x1: Array, g1: Array) -> Any:
    """Curvature along the step from ``x0`` to ``x1``: ``<g1 - g0, s> / <s, s>``."""
    s = x1 - x0
    ss = rowdot(s, s)
    return rowdot(g1 - g0, s) / np.where(ss > 0, ss, np.inf)


def _iterate(
    obj: Objective,
    x: Array,
    opt: optimizers.Optimizer,
    policy: StepPolicy,
    crit: Criteria,
    callback: Callable[[Intermediate], Any] | None,
    log_every: int | None,
    f: Any,
    g: Array | None,
    record: bool = True,
) -> Run:
    """The loop. ``x`` is ``(p,)`` for one run or ``(K, p)`` for a batch."""
    batch = x.ndim == 2
    evalf = obj.values if batch else obj.value
    evalg = obj.gradients if batch else obj.gradient
    fd_calls = obj.fd_calls
    k_runs = x.shape[0] if batch else 1
    with np.errstate(all="ignore"):
        if f is None or g is None:
            f, g = evalf(x), evalg(x)
        nfev, njev = k_runs * (1 + fd_calls), k_runs
        book: _Single | _Batch = (_Batch if batch else _Single)(
            crit, x, f, g, record, callback, log_every
        )
        update = opt.update
        ostate = opt.init(x)
        pstate, n_g = policy.init(evalf, evalg, x, f, g) if book.running else (None, 0)
        njev += n_g
        nfev += n_g * fd_calls
        step, observe, max_iter = policy.step, book.observe, crit.max_iter
        freeze = book.freeze if isinstance(book, _Batch) else None
        k = looked = extra_f = extra_g = 0  # evaluations beyond one f and one grad a step
        if (
            isinstance(book, _Single) and book.running and book.plain
            and update is optimizers.gd_update and type(policy) is linesearch.Fixed
            and isinstance(policy._const, float)
        ):
            k = looked = _gd_fixed(obj, book, x, f, g, policy._const, max_iter)
        while k < max_iter and book.running:
            d, ostate = update(g, ostate, x)
            t, xn, fn, n_f, n_g, pstate = step(k, pstate, x, f, g, d)
            if freeze is not None:
                xn, fn, t = freeze(x, xn, fn, t)
            if fn is None:
                fn = evalf(xn)
                looked += 1
            gvec = evalg(xn)
            extra_f += n_f
            extra_g += n_g
            k += 1
            x, f, g = observe(k, x, f, g, xn, fn, gvec, t)
    njev += extra_g + k * k_runs
    nfev += extra_f + looked * k_runs + (extra_g + k * k_runs) * fd_calls
    return book.finish(obj, opt.name, policy, nfev, njev, k)


_F64 = np.dtype(np.float64)


def _gd_fixed(
    obj: Objective, book: _Single, x: Array, f: float, g: Array, t: float, max_iter: int
) -> int:
    """The loop of :func:`_iterate` inlined for its commonest case: one run of plain
    gradient descent with a fixed float step, no callback, no log, only ``gtol`` (or
    nothing) to test. Ordinary steps are recorded here; any step that may end the run
    goes through :meth:`_Single.observe`, so results are those of the general loop.
    Returns the number of steps taken."""
    fun, grad = obj.fun1 or obj.fun, obj.grad1 or obj.grad
    xs, fs, gns, ts = book.xs, book.fs, book.gns, book.ts
    fbound, gtol, small = book.fbound, book._gtol, book._small
    hypot, ndarray, inf = math.hypot, np.ndarray, _INF
    px, pg = book.prev
    k = 0
    while k < max_iter:
        xn = x - t * g
        try:
            fn = float(fun(xn))
        except (ArithmeticError, ValueError):
            fn = obj.value(xn)  # nan for a numeric failure, the error otherwise
        try:
            gvec = grad(xn)
        except (ArithmeticError, ValueError):
            gvec = obj.gradient(xn)
        if type(gvec) is not ndarray or gvec.dtype is not _F64:
            gvec = np.asarray(gvec, dtype=np.float64)
        k += 1
        gn = hypot(*gvec.tolist()) if small else _norm(gvec)
        if -inf < fn <= fbound and gtol < gn < inf:
            xs.append(xn)
            fs.append(fn)
            gns.append(gn)
            ts.append(t)
            px, pg = x, g
            x, f, g = xn, fn, gvec
            continue
        book.prev, book.last, book.nit = (px, pg), (x, f, g), k - 1
        x, f, g = book.observe(k, x, f, g, xn, fn, gvec, t)
        if not book.running:
            return k
        px, pg = book.prev
    book.prev, book.last, book.nit = (px, pg), (x, f, g), k
    return k


class _Single:
    """Bookkeeping for one run: Python floats, lists, early exits."""

    def __init__(
        self, crit: Criteria, x: Array, f: float, g: Array, record: bool,
        callback: Callable[[Intermediate], Any] | None, log_every: int | None,
    ) -> None:
        self.crit, self.callback, self.log_every = crit, callback, log_every
        gn = _norm(g)
        self.xs: list[Array] = [x]
        self.fs: list[float] = [f]
        self.gns: list[float] = [gn]
        self.ts: list[Any] = []
        self.fbound = float(divergence_bound(f))
        self.status: Status | None = None
        self.why = ""
        self.lr_max = math.nan
        self.nit = 0
        self.last = (x, f, g)
        self.prev = (x, g)
        if not math.isfinite(f):
            self.status, self.why = Status.DIVERGED, "f(x0) is not finite (x0 outside the domain?)"
        elif not math.isfinite(gn):
            self.status, self.why = Status.DIVERGED, "the gradient at x0 is not finite"
        elif crit.gtol is not None and gn <= crit.gtol:
            self.status = Status.GTOL
        self.running = self.status is None
        # Fast path: with only gtol set, a finite step below the bound needs no call.
        self._only_gtol = crit.ftol is None and crit.xtol is None
        self.plain = self._only_gtol and callback is None and log_every is None
        self._gtol = -1.0 if crit.gtol is None else crit.gtol
        self._small = x.shape[0] <= 64

    def observe(
        self, k: int, x: Array, f: float, g: Array, xn: Array, fn: float, gvec: Array, t: Any
    ) -> tuple[Array, float, Array]:
        gn = math.hypot(*gvec.tolist()) if self._small else _norm(gvec)
        if self._only_gtol and -_INF < fn <= self.fbound and self._gtol < gn < _INF:
            status = None
        else:
            status = single_status(self.crit, f, fn, gn, x, xn, self.fbound)
        if status is Status.DIVERGED:
            self._diverged(k, x, g, xn, fn, gvec, gn, t)
            return self.last[0], self.last[1], self.last[2]
        self.xs.append(xn)
        self.fs.append(fn)
        self.gns.append(gn)
        self.ts.append(t)
        self.nit = k
        self.prev = (x, g)
        self.last = (xn, fn, gvec)
        if self.log_every is not None and (k - 1) % self.log_every == 0:
            print(f"Epoch {k - 1}: {[float(v) for v in xn]}")
        if self.callback is not None:
            try:
                self.callback(Intermediate(xn, fn, k, gn, t))
            except StopIteration:
                status = Status.CALLBACK
        if status is not None:
            self.status, self.running = status, False
        return xn, fn, gvec

    def _diverged(
        self, k: int, x: Array, g: Array, xn: Array, fn: float, gvec: Array, gn: float, t: Any
    ) -> None:
        pairs = [(self.prev[0], self.prev[1], x, g)]
        if np.all(np.isfinite(xn)) and math.isfinite(gn):
            pairs.append((x, g, xn, gvec))
        curv = [float(_curvature(*pair)) for pair in pairs if pair[0] is not pair[2]]
        curv = [c for c in curv if math.isfinite(c) and c > 0]
        self.lr_max = 2.0 / max(curv) if curv else math.nan
        if math.isfinite(fn) and math.isfinite(gn) and np.all(np.isfinite(xn)):
            self.why = f"f = {fn:.3g} grew past {self.fbound:.3g}"
            self.xs.append(xn)
            self.fs.append(fn)
            self.gns.append(gn)
            self.ts.append(t)
            self.nit = k
            self.last = (xn, fn, gvec)
        else:
            what = "f" if not math.isfinite(fn) else "the gradient"
            self.why = f"{what} became non-finite"
            self.nit = k - 1
        self.status, self.running = Status.DIVERGED, False

    def finish(
        self, obj: Objective, method: str, policy: StepPolicy, nfev: int, njev: int, k: int
    ) -> Run:
        if self.status is None:
            self.status = Status.MAX_ITER
        x, f, g = self.last
        path = np.array(self.xs)
        bad = ~np.all(np.isfinite(path), axis=1)
        if bad.any():  # x left the floats while f and the gradient stayed finite
            n = int(np.argmax(bad)) - 1
            self.status, self.why, self.nit = Status.DIVERGED, "x became non-finite", n
            path = path[: n + 1]
            del self.fs[n + 1 :], self.gns[n + 1 :], self.ts[n:]
            x, f = path[-1], self.fs[-1]
            g = obj.gradient(x)
        return Run(
            obj, method, x=x[None], fun=np.array([f]), jac=np.asarray(g)[None],
            nit=np.array([self.nit]), codes=np.array([CODES.index(self.status)], dtype=np.int8),
            lr_max=np.array([self.lr_max]), nfev=nfev, njev=njev, path=path[:, None, :],
            values=np.array(self.fs)[:, None], grad_norms=np.array(self.gns)[:, None],
            step_sizes=np.array(self.ts, dtype=np.float64).reshape(-1, 1),
            criteria=self.crit, lr=getattr(policy, "_const", None), why=[self.why],
        )


class _Batch:
    """Bookkeeping for K runs: per-run masks; finished runs stay where they stopped."""

    def __init__(
        self, crit: Criteria, x: Array, f: Array, g: Array, record: bool,
        callback: Any, log_every: Any,
    ) -> None:
        self.crit, self.record = crit, record
        k_runs = x.shape[0]
        gn = _rownorms(g)
        self.fbound = divergence_bound(f)
        self.codes = np.zeros(k_runs, dtype=np.int8)
        self.codes[~np.isfinite(f) | ~np.isfinite(gn)] = 1
        if crit.gtol is not None:
            self.codes[(self.codes == 0) & (gn <= crit.gtol)] = 2
        self.nit = np.zeros(k_runs, dtype=np.int64)
        self.lr_max = np.full(k_runs, np.nan)
        self.why = ["" if c != 1 else "f or the gradient at x0 is not finite" for c in self.codes]
        self.xs: list[Array] = [x] if record else []
        self.fs: list[Array] = [f] if record else []
        self.gns: list[Array] = [gn] if record else []
        self.ts: list[Array] = []
        self.done = self.codes != 0
        self.running = not self.done.all()
        self.last = (x, f, g)

    def freeze(self, x: Array, xn: Array, fn: Any, t: Any) -> tuple[Array, Any, Any]:
        """Keep finished runs where they are."""
        if not self.done.any():
            return xn, fn, t
        keep = self.done
        xn = np.where(keep[:, None], x, xn)
        if fn is not None:
            fn = np.where(keep, self.last[1], fn)
        t = np.where(keep, 0.0, t)
        return xn, fn, t

    def observe(
        self, k: int, x: Array, f: Array, g: Array, xn: Array, fn: Array, gvec: Array, t: Any
    ) -> tuple[Array, Array, Array]:
        gn = _rownorms(gvec)
        codes = batch_codes(self.crit, f, fn, gn, x, xn, self.fbound)
        codes[self.done] = 0
        div = codes == 1
        if div.any():  # stay at the last finite point and estimate the stable step
            curv = _curvature(x[div], g[div], xn[div], gvec[div])
            self.lr_max[div] = np.where(curv > 0, 2.0 / np.where(curv > 0, curv, 1.0), np.nan)
            for i in np.flatnonzero(div):
                self.why[i] = "f or the gradient became non-finite or f grew without bound"
            xn = np.where(div[:, None], x, xn)
            fn = np.where(div, f, fn)
            gvec = np.where(div[:, None], g, gvec)
            gn = np.where(div, np.sqrt(np.einsum("ij,ij->i", g, g)), gn)
            self.nit[div] = k - 1
        new = (codes != 0) & ~div
        self.nit[new] = k
        self.nit[~self.done & (codes == 0)] = k
        self.codes = np.where(codes != 0, codes, self.codes).astype(np.int8)
        self.done = self.codes != 0
        self.running = not self.done.all()
        if self.record:
            self.xs.append(xn)
            self.fs.append(fn)
            self.gns.append(gn)
            self.ts.append(np.broadcast_to(np.asarray(t, dtype=np.float64), fn.shape))
        self.last = (xn, fn, gvec)
        return xn, fn, gvec

    def finish(
        self, obj: Objective, method: str, policy: StepPolicy, nfev: int, njev: int, k: int
    ) -> Run:
        codes = np.where(self.codes == 0, CODES.index(Status.MAX_ITER), self.codes).astype(
            np.int8
        )
        x, f, g = self.last
        fields: dict[str, Any] = {}
        if self.record:
            fields = {
                "path": np.stack(self.xs), "values": np.stack(self.fs),
                "grad_norms": np.stack(self.gns),
                "step_sizes": np.stack(self.ts) if self.ts else np.empty((0, x.shape[0])),
            }
        return Run(
            obj, method, x=x, fun=np.asarray(f, dtype=np.float64), jac=g, nit=self.nit,
            codes=codes, lr_max=self.lr_max, nfev=nfev, njev=njev, criteria=self.crit,
            lr=getattr(policy, "_const", None), why=self.why, **fields,
        )
