r"""How a linear model runs on the loop of :mod:`descend._loop`: one carry, continued.

:class:`LoopFit` is what :class:`~descend.linear_model.GDRegressor` (and the estimators to
come) fit through: the loss as a problem of the loop, the step policy (``lr="auto"`` is
:class:`descend.linesearch.Auto` given the loss's curvature bound), the carry started by
``fit`` and continued by every epoch and every ``partial_fit`` call, and the fitted
attributes from the path. A model supplies the data handling and the parameters it reads:
``loss``, ``method``, ``lr``, ``max_iter``, ``tol``, ``alpha``, ``fit_intercept``,
``standardize``, ``batch_size``, ``shuffle``, ``verbose``, ``epsilon``, ``callback``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import _loop, linesearch, optimizers
from .._data import check_finite
from .._text import count
from .._types import Array
from ..errors import ConvergenceWarning, DataError, UnderdeterminedWarning
from ..objective import Objective
from ..result import Intermediate, Reason, Result
from ..stopping import Criteria, norms, point_code
from . import _losses

__all__ = ["Batches", "LoopFit", "caller_level"]

_TOL_NONE = 1e-8  # the accuracy ``converged_`` certifies when ``tol=None``
_SAMPLE = 100_000
_EPS = float(np.finfo(np.float64).eps)
_DECAY_EPOCHS = 10.0  # lr="auto" on mini-batches: the step halves after 10 epochs
_POLISH = 1e4  # polish when kappa * eps * _POLISH exceeds the target accuracy
_ROUNDS = 6  # polishing rounds at most


_PACKAGE = str(Path(__file__).resolve().parents[1])


def caller_level() -> int:
    """The ``stacklevel`` of a warning raised here that names the first frame outside
    descend: the user's line that called ``fit`` (or ``partial_fit``, ``score``), however
    deep in descend the warning starts (scikit-learn's wrappers count as the caller's)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


class _Cached:
    """``fun`` and ``grad`` from one evaluation at the same point."""

    def __init__(self, evaluate: Any) -> None:
        self.evaluate = evaluate
        self.x: Any = None
        self.out: tuple[float, Array] = (0.0, np.zeros(0))

    def _at(self, x: Array) -> tuple[float, Array]:
        if self.x is not x:
            self.x, self.out = x, self.evaluate(x)
        return self.out

    def fun(self, x: Array) -> float:
        return self._at(x)[0]

    def grad(self, x: Array) -> Array:
        return self._at(x)[1]


def epoch_batches(n: int, batch_size: int | None, shuffle: bool | str, rng: Any, *,
                  blocked: bool = False) -> list[Any]:
    """One epoch's mini-batches of ``n`` rows: index arrays in a shuffled order (``shuffle``
    true), in order (false), or whole row blocks as slices in a shuffled order (``"blocks"``,
    or data that can only be read in blocks)."""
    size = int(batch_size or n)
    if blocked or shuffle == "blocks":
        starts = np.arange(0, n, size)
        if shuffle:
            starts = starts[rng.permutation(starts.size)]
        return [slice(int(i), min(int(i) + size, n)) for i in starts]
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[i : i + size] for i in range(0, n, size)]


def epoch_ended(callback: Any, path: list[Array], values: list[float]) -> bool:
    """Tell ``callback`` (if any) that an epoch ended at ``path[-1]``; True when it raises
    StopIteration to stop the fit."""
    if callback is None:
        return False
    info = Intermediate(path[-1], float(values[-1]), len(path) - 1, math.nan, math.nan)
    try:
        callback(info)
    except StopIteration:
        return True
    return False


def _problem(evaluate: Any, p: int, name: str) -> Objective:
    """A loss ``theta -> (f, g)`` as the loop's problem."""
    cache = _Cached(evaluate)
    return Objective(cache.fun, cache.grad, p, name=name)


class Batches:
    """One epoch of mini-batches as the loop's stochastic problem: step ``j`` evaluates the
    loss on the rows ``batches[j]``."""

    stochastic = True
    vectorized = False
    fd_calls = 0

    def __init__(self, rows: Any, batches: list[Any], p: int) -> None:
        self.rows, self.batches, self.p = rows, batches, p

    def batch(self, j: int) -> Objective:
        idx = self.batches[j]
        return _problem(lambda theta: self.rows(theta, idx), self.p, "mini-batch loss")


class LoopFit:
    """The loop-facing half of a linear model (see the module docstring)."""

    loss: str
    method: Any
    lr: Any
    max_iter: int
    tol: float | None
    alpha: float
    fit_intercept: bool
    standardize: bool
    batch_size: int | None
    shuffle: bool | str
    verbose: int
    epsilon: float
    callback: Any
    _full: Any
    _rows: Any
    _quad: Any
    _last: Any  # the loop's last outcome, during a fit only
    _rng: Any
    _sc: _losses.Scaling

    def _setup(self, data: Any, *, full: bool) -> None:
        """Scaling, Hessian (exact for full-batch squared losses, else a row sample)."""
        squared = self.loss != "huber"
        exact = full and squared
        n = data.n
        some = slice(None) if n <= _SAMPLE else np.linspace(0, n - 1, _SAMPLE).astype(np.intp)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
            stats = (data.stats() if exact or n <= _SAMPLE
                     else _losses.gram_stats(*data.take(some)))
        if not all(np.all(np.isfinite(v)) for v in (stats.H, stats.q, stats.mu, stats.yy)):
            if isinstance(data, _losses.LocalData):  # name the column and rows of a NaN/inf
                check_finite(data.X, "X", getattr(self, "_names", None))
            raise DataError("X: the values are too large: X^T X overflows float64; rescale "
                            "the columns", argument="X")
        self._sc = _losses.make_scaling(stats, self.standardize, self.fit_intercept)
        evaluate, hess = _losses.quadratic(stats, self._sc, "sse" if self.loss == "sse"
                                           else "mse", self.alpha)
        if not squared:
            hess = hess / 2.0  # Huber's Hessian is at most half the mse one
        self._hess_lip, self.condition_number_ = self._conditioning(hess)
        self._quad = evaluate if exact else None
        self._row2 = 0.0  # the largest squared row norm, for the mini-batch step only
        if not full:
            Z = (data.take(some)[0] - self._sc.shift) / self._sc.scale  # a sample, not all X
            self._row2 = float(self.fit_intercept) + float(np.max(np.einsum("ij,ij->i", Z, Z)))
        self._n = n
        self._refined: bool | None = None
        self._n_batches = -(-n // int(self.batch_size or n))
        self._yy = float(stats.ybar) ** 2 + float(stats.yy)
        if n < self._sc.n_theta:
            self._warn_underdetermined(n)
        self._bind(data)

    def _warn_underdetermined(self, n: int) -> None:
        k = self._sc.n_theta
        p = k - int(self.fit_intercept)
        what = f"{p} feature{'s' if p != 1 else ''}" + (" and an intercept"
                                                         if self.fit_intercept else "")
        warnings.warn(
            f"GDRegressor: {n} row{'s' if n != 1 else ''} for {k} coefficients ({what}): the "
            "problem is underdetermined; many coefficients fit the data equally well, and the "
            "fit returns the one gradient descent reaches from its start", UnderdeterminedWarning,
            stacklevel=caller_level())

    def _solver(self) -> str | None:
        """What ``method="auto"`` (with ``lr="auto"``, full batch) runs: ``"cg"``, conjugate
        gradients on the statistics (mse, sse; rmse without a penalty, whose minimizer is the
        mse one), ``"majorize"``, accelerated majorization steps (huber), or None (gd)."""
        if not (isinstance(self.method, str) and self.method == "auto"
                and isinstance(self.lr, str) and self.lr == "auto" and self.batch_size is None):
            return None
        if self.loss in ("mse", "sse") or (self.loss == "rmse" and self.alpha == 0):
            return "cg"
        return "majorize" if self.loss == "huber" else None

    def _bind(self, data: Any) -> None:
        sc, a = self._sc, float(self.alpha)
        solver = self._solver()
        if solver == "cg":  # the squared loss whose minimizer is the fit's, on the statistics
            self._full, self._matrix = _losses.quadratic(
                data.stats(), sc, "sse" if self.loss == "sse" else "mse", a)
            self._rows = data.on_rows(sc, self.loss, self.epsilon, a)
            self._g0 = float(np.linalg.norm(self._full(np.zeros(sc.n_theta))[1]))
            return
        if solver == "majorize":  # Huber's Hessian is at most S (+ the penalty)
            hess = _losses.quadratic(data.stats(), sc, "mse", 0.0)[1] / 2.0
            pen = np.concatenate([np.zeros(int(sc.fit_intercept)), 2.0 * a / sc.scale**2])
            self._matrix = hess + np.diag(pen)
        if self._quad is not None:
            self._full = self._quad
            if self.loss == "rmse":
                self._full = _losses.quadratic(data.stats(), sc, "rmse", a)[0]
        elif self.loss == "huber":
            self._full = data.huber(sc, self.epsilon, a)
        else:
            self._full = _losses.quadratic(data.stats(), sc, self.loss, a)[0]
        self._rows = data.on_rows(sc, self.loss, self.epsilon, a)
        self._g0 = float(np.linalg.norm(self._full(np.zeros(sc.n_theta))[1]))

    def _conditioning(self, hess: Array) -> tuple[float, float]:
        keep = np.ones(hess.shape[0], dtype=bool)
        keep[int(self.fit_intercept):] = ~(self._sc.constant & bool(self.standardize))
        lam = np.linalg.eigvalsh(hess[np.ix_(keep, keep)]) if keep.any() else np.ones(1)
        top = float(lam[-1]) if lam[-1] > 0 else 1.0
        low = float(lam[0])
        kappa = top / low if low > top * hess.shape[0] * _EPS else math.inf
        return top, kappa

    def _optimizer(self, batch: bool) -> optimizers.Optimizer:
        """``method``; ``"auto"``: see :meth:`_solver` (gd where it gives None)."""
        from ._glm_losses import psd_solver
        from ._solvers import accelerated, conjugate

        solver = None if batch else self._solver()
        if solver == "cg":
            return conjugate(self._matrix)
        if solver == "majorize":
            solve = psd_solver(self._matrix)
            return accelerated(lambda g, y: solve(g), 1.0, True)
        auto = isinstance(self.method, str) and self.method == "auto"
        return optimizers.get("gd" if auto else self.method)

    def _policy(self, batch: bool) -> Any:
        """The step policy: ``lr`` as given, or for ``"auto"`` the loop's Auto policy with
        the loss's curvature bound (estimated by the policy itself for rmse); the unit step
        for the solvers of ``method="auto"`` (their direction carries the step)."""
        if not batch and self._solver() is not None:
            return linesearch.Fixed(1.0)
        if not (isinstance(self.lr, str) and self.lr == "auto"):
            return linesearch.get(self.lr)
        if self.loss == "rmse" and not batch:
            return linesearch.Auto()
        if not batch:
            return linesearch.Auto(self._hess_lip)
        # A batch's Hessian exceeds the full one by about a row's, over the batch size.
        per_row = {"huber": 1.0, "sse": 2.0 * self._n}.get(self.loss, 2.0)
        lip = self._hess_lip + per_row * self._row2 / max(int(self.batch_size or 1), 1)
        return linesearch.Auto(lip, decay=1.0 / (_DECAY_EPOCHS * self._n_batches))

    def _gcut(self, target: float | None) -> float | None:
        """The ``gtol`` that certifies a relative accuracy ``target`` of the coefficients."""
        if target is None or not math.isfinite(self.condition_number_):
            return None
        return target * self._g0 / self.condition_number_

    def _bound(self, g: Array) -> float:
        return 0.0 if self._g0 == 0 else self.condition_number_ * float(norms(g)) / self._g0

    def _begin(self, theta: Array) -> None:
        """A new run from ``theta``: the loop's carry, evaluated on the full loss."""
        full = _problem(self._full, self._sc.n_theta, f"{self.loss} loss")
        criteria = Criteria.make(self.max_iter, self._gcut(self.tol), None, None)
        scale = max(1.0, float(np.sqrt(self._yy)))  # the size of ordinary coefficients
        policy = self._policy(self.batch_size is not None)
        self._carry = _loop.start(full, theta, self._optimizer(self.batch_size is not None),
                                  policy, criteria, scale=scale)
        self._path, self._values = [theta], [float(self._carry.f[0])]
        self._last = None

    def _resume(self) -> None:
        """Go on after a fit or a call that ended (converged or out of steps)."""
        c = self._carry
        if 0 < int(c.code[0]) < int(Reason.CALLBACK):
            c.code[0] = 0
        c.fresh = False

    def _callback(self) -> Any:
        every, user = int(self.verbose), self.callback
        if not every:
            return user

        def show(info: Any) -> None:
            if info.nit % every == 0:
                print(f"iteration {info.nit}: loss {info.fun:.10g}")
            if user is not None:
                user(info)

        return show

    def _epoch_callback(self) -> bool:
        """Tell the callback an epoch ended; True when it asks to stop."""
        return epoch_ended(self.callback, self._path, self._values)

    def _run_full(self, steps: int, *, record: bool, gtol: float | None = None) -> None:
        """``steps`` full-batch steps through the loop, continuing the carry."""
        full = _problem(self._full, self._sc.n_theta, f"{self.loss} loss")
        criteria = Criteria.make(steps, self._gcut(self.tol) if gtol is None else gtol, None,
                                 None)
        opt, policy = self._optimizer(False), self._policy(False)
        with _losses.one_blas_thread() if self.loss == "huber" else _Null():
            _, out = _loop.run(full, self._carry, opt, policy, criteria, record=record,
                               callback=self._callback(), fresh=record or len(self._path) == 1)
        self._last = out
        if record:
            res = out.result(0)
            self._path, self._values = list(res.path), list(res.values)
        elif out.carry.nit[0] + 1 > len(self._path):
            self._path.append(out.carry.x[0].copy())
            self._values.append(float(out.carry.f[0]))

    def _polishes(self, data: Any) -> bool:
        """Whether :meth:`fit_full` polishes: the statistics' rounding could reach the target."""
        target = self.tol if self.tol is not None else _TOL_NONE
        return (self._solver() == "cg" and hasattr(data, "exact")
                and not self.condition_number_ * _EPS * _POLISH <= target)

    def _cut(self, target: float) -> float:
        """The gradient ratio a conjugate-gradient solve on the statistics runs down to."""
        kappa = self.condition_number_
        if not math.isfinite(kappa):
            return 1e-3
        return max(target / kappa, min(1e-3, 10.0 * kappa * _EPS))

    def fit_full(self, data: Any) -> None:
        """A full-batch fit: ``max_iter`` steps through the loop, then for ``method="auto"`` on
        ill-conditioned squared losses the polishing rounds of iterative refinement."""
        if not self._polishes(data):
            self._run_full(self.max_iter, record=True)
            return
        target = self.tol if self.tol is not None else _TOL_NONE
        self._run_full(self.max_iter, record=True, gtol=self._g0 * self._cut(target))
        self._polish(data, target)

    def _polish(self, data: Any, target: float) -> None:
        """Iterative refinement: the gradient at ``theta`` from the exact residuals (one pass
        over the data), then conjugate gradients on ``delta -> g . delta + delta' H delta /
        2`` from 0 through the loop (on the correction: the statistics alone lose digits
        when ``X'X`` is ill-conditioned, the residuals recover them), ``theta += delta``;
        until the correction is below ``target`` relative to ``theta`` (``converged_``), stops
        shrinking, or the ``max_iter`` steps are spent."""
        main, H, n_theta = self._carry, self._matrix, self._sc.n_theta
        exact = data.exact(self._sc, "sse" if self.loss == "sse" else "mse", float(self.alpha))
        theta = np.array(main.x[0], dtype=np.float64)
        used, last = int(main.nit[0]), math.inf
        self._refined = False
        for _ in range(_ROUNDS):
            left = int(self.max_iter) - used
            if left <= 0:
                break
            f0, g = exact(theta)
            gn = float(norms(g))
            if gn == 0.0:
                self._refined = True
                break

            def model(d: Array, f0: float = f0, g: Array = g) -> tuple[float, Array]:
                Hd = H @ d
                return f0 + float(g @ d) + 0.5 * float(d @ Hd), g + Hd

            problem = _problem(model, n_theta, "correction")
            crit = Criteria.make(left, gn * self._cut(0.0), None, None)
            opt, policy = self._optimizer(False), self._policy(False)
            carry = _loop.start(problem, np.zeros(n_theta), opt, policy, crit)
            _, out = _loop.run(problem, carry, opt, policy, crit, record=True,
                               callback=self._callback())
            res = out.result(0)
            self._path.extend(theta + res.path[1:])
            self._values.extend(res.values[1:].tolist())
            used += int(carry.nit[0])
            delta = np.asarray(carry.x[0], dtype=np.float64)
            theta = theta + delta
            size = float(norms(delta)) / max(float(norms(theta)), _EPS)
            self._last = out
            if size <= target:
                self._refined = True
                break
            if size >= last or Reason(int(carry.code[0])).diverged:
                break
            last = size
        f, g = self._full(theta)  # the run's carry continues at the polished point
        main.x[0], main.f[0], main.g[0] = theta, f, g

    def _batches(self, data: Any) -> list[Any]:
        """The epoch's mini-batches: rows (or row blocks) in a shuffled order."""
        return epoch_batches(data.n, self.batch_size, self.shuffle, self._rng,
                             blocked=data.blocked)

    def _run_epoch(self, data: Any, *, check: bool) -> bool:
        """One epoch of mini-batches through the loop, then the full loss at the new point
        (and the ``gtol`` rule when ``check``). True when the fit should stop."""
        batches = self._batches(data)
        problem = Batches(self._rows, batches, self._sc.n_theta)
        opt, policy = self._optimizer(True), self._policy(True)
        _loop.run(problem, self._carry, opt, policy, Criteria.make(len(batches), None, None,
                                                                   None))
        full = _problem(self._full, self._sc.n_theta, f"{self.loss} loss")
        gtol = self._gcut(self.tol) if check else None
        _, self._last = _loop.run(full, self._carry, opt, policy,
                                  Criteria.make(0, gtol, None, None), fresh=False)
        self._path.append(self._carry.x[0].copy())
        self._values.append(float(self._carry.f[0]))
        return int(self._carry.code[0]) != 0

    def _finish(self, warn: bool = True) -> None:
        """The fitted attributes from the path and the carry; a warning when not converged."""
        path, values = np.array(self._path), np.array(self._values, dtype=np.float64)
        if self.loss == "rmse" and self._solver() == "cg":  # solved as mse: report the root
            values = np.sqrt(np.maximum(values, 0.0))
        b, coef = self._sc.to_original(path)
        self.path_ = np.column_stack([b, coef])
        self.intercept_ = float(b[-1]) if self.fit_intercept else 0.0
        self.coef_ = coef[-1].copy()
        self.loss_curve_ = values
        self.n_iter_ = path.shape[0] - 1
        carry = self._carry
        res = dataclasses.replace(self._last.result(0), objective=None)  # no closure
        diverged = Reason(int(carry.code[0])).diverged
        target = self.tol if self.tol is not None else _TOL_NONE
        if self._refined is not None:  # polished: the run is the whole path, in theta
            res = dataclasses.replace(res, x=path[-1].copy(), fun=float(values[-1]),
                                      jac=carry.g[0].copy(), nit=self.n_iter_, path=path,
                                      values=values, x_best=path[-1].copy(),
                                      fun_best=float(values[-1]))
            self.converged_ = bool(self._refined and not diverged)
        else:
            gcut = self._gcut(target)
            at = point_code(float(carry.f[0]), float(norms(carry.g[0])),
                            -1.0 if gcut is None else gcut)
            self.converged_ = bool(not diverged and at == int(Reason.GTOL))
        self.result_ = res
        if warn and not self.converged_:
            warnings.warn(self._advice(res, self._bound(carry.g[0]), target, diverged),
                          ConvergenceWarning, stacklevel=caller_level())

    def _advice(self, res: Result, bound: float, target: float, diverged: bool) -> str:
        if diverged:
            return f"GDRegressor: the fit diverged: {res.message}"
        kappa = self.condition_number_
        unit = "epochs" if self.batch_size is not None else "iterations"
        error = (f"may be up to {bound:.2g}" if math.isfinite(bound) else
                 "cannot be bounded (collinear or constant columns?)")
        msg = (f"GDRegressor: not converged after {count(self.n_iter_, unit[:-1])}: the "
               f"relative error of the coefficients {error} (tol {target:g}). The "
               f"{'standardized ' if self.standardize else ''}problem's condition number is "
               f"about {kappa:.3g}")
        if math.isfinite(kappa) and target > 0:
            need = kappa * math.log(1.0 / target)
            msg += (f"; gd with step 1/L needs about {need:.2g} iterations, "
                    f"nesterov about {need / 10:.2g}")
        if not math.isfinite(kappa) or kappa * _EPS * 10 > target:
            msg += ("; float64 rounding alone limits the accuracy to about "
                    f"{min(kappa * _EPS, 1.0):.1g}, so no number of iterations reaches tol: "
                    "drop collinear features, use orthogonal polynomials, or a direct solver "
                    "(numpy.linalg.lstsq)")
        else:
            msg += ("; increase max_iter, use method='nesterov', keep standardize=True, "
                    "or loosen tol")
        return msg + "."


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
