r"""How a generalized linear model runs on the loop of :mod:`descend._loop`.

:class:`GLMFit` is the loop-facing half of :class:`~descend.linear_model.GDClassifier` and
of :class:`~descend.linear_model.GDRegressor` with ``loss="poisson"`` or an L1 penalty. It
takes a loss object of :mod:`descend.linear_model._glm_losses` and a
:class:`~descend.linear_model._glm_prox.Penalty`, and hands the loop one problem:

* value: the loss plus the whole penalty (the objective the fit minimizes);
* gradient: the loss's gradient plus the L2 part; with an L1 part, the *gradient mapping*
  ``G_t(theta) = (theta - prox_t(theta - t g)) / t`` (``t = 1 / L``), which is zero exactly
  at the minimum, so the loop's ``gtol`` rule is the optimality test, and a step
  ``theta - t G_t`` is the proximal (soft-thresholding) step, with exact zeros.

The loop, its rules and its carry are the same as for every other run; only the loss
differs. ``method="auto"`` is the optimizer :func:`accelerated`:

* full batch, no L1 part, ``lr="auto"``, a loss with a Hessian sample (logistic, Poisson,
  softmax): Newton steps, gradient descent in the metric of the Hessian at the current
  point estimated on a fixed sample of the rows (all of them up to 32,768; the gradient
  and the value are always the whole data's, so the fit ends on the exact minimum; softmax
  solves the Newton system by conjugate gradients on Hessian-vector products,
  :func:`newton_cg`), with Armijo backtracking from the
  step 1 (:class:`descend.linesearch.Backtracking` with ``t_max=1, flat=True``): about one
  pass over the rows a step, and a few steps. The fit starts at the intercept-only model,
  known in closed form from the first pass;
* otherwise FISTA with adaptive restart, each step the majorization step ``P^+ g`` (``P``
  the loss's curvature matrix plus the L2 weights: Bohning's bound for the log losses, so a
  step never increases the loss) or, with L1, the scalar proximal step; a loss without a
  global bound (Poisson with L1) takes the same steps without momentum, with backtracking.

Any other ``method`` / ``lr`` of :func:`descend.minimize` runs on the same problem.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from typing import Any

import numpy as np

from .. import _loop, linesearch, optimizers
from .._types import Array
from ..errors import ConvergenceWarning
from ..result import Reason
from ..stopping import Criteria, norms
from ._fit import Batches, _problem, caller_level, epoch_batches, epoch_ended
from ._glm_losses import Moments, _local_pass, psd_solver
from ._glm_prox import Penalty
from ._losses import one_blas_thread
from ._solvers import accelerated, conjugate, newton_cg

__all__ = [
    "GLMFit", "accelerated", "composite", "conjugate", "penalized", "penalty_weights",
    "row_bound",
]

_DECAY_EPOCHS = 10.0


def composite(loss: Any, pen: Penalty, t: float) -> Any:
    """``theta -> (objective, gradient or gradient mapping)`` (see the module docstring)."""

    def evaluate(theta: Array) -> tuple[float, Array]:
        return penalized(pen, t, theta, *loss.value_grad(theta))

    return evaluate


def penalized(pen: Penalty, t: float, theta: Array, f: float, g: Array) -> tuple[float, Array]:
    """The objective and gradient (mapping) of :func:`composite` from the loss's ``f, g``."""
    fs, gs = pen.smooth(theta)
    f, g = f + fs, g + gs
    if pen.has_l1:
        f += float(pen.l1 @ np.abs(theta))
        g = (theta - pen.prox_l1(theta - t * g, t)) / t
    return float(f), np.asarray(g, dtype=np.float64)


def with_rows(loss: Any, kernel: Any, X: Array, y: Array, sw: Array | None, *,
              sample: bool = False) -> Any:
    """``loss`` (its scaling and layout kept) evaluated on other rows: a mini-batch or the
    next ``partial_fit`` chunk (``sample``: with the Hessian's sample of these rows, for
    full-batch Newton steps)."""
    out = copy.copy(loss)
    out._sums = _local_pass(kernel, X, y, sw)
    out.drop_sample()
    if sample:
        out.take_sample(X, sw)
    wsum = float(X.shape[0] if sw is None else sw.sum())
    out.moments = dataclasses.replace(loss.moments, n=int(X.shape[0]), wsum=wsum)
    out._exact = False  # the moments are the first data's, not these rows'
    if hasattr(out, "margin"):
        out.margin = None  # of other rows
    if hasattr(out, "_const"):
        out._const = 0.0  # the value's constant (Poisson) belongs to the full data
    return out


def strip(loss: Any) -> Any:
    """``loss`` without its pass over the data and its cached solves (both closures)."""
    if loss is None:
        return None
    out = copy.copy(loss)
    out._sums = None
    out._solves = {}
    out.drop_sample()
    if hasattr(out, "margin"):
        out.margin = None
    if hasattr(out, "_mse"):
        out._mse = None
    return out


class GLMFit:
    """The loop-facing half of a generalized linear model (see the module docstring).

    A model sets ``_loss`` (a loss object), ``_pen`` (a :class:`Penalty`) and reads
    ``method``, ``lr``, ``max_iter``, ``tol``, ``batch_size``, ``shuffle``, ``callback``.
    """

    method: Any
    lr: Any
    max_iter: int
    tol: float | None
    batch_size: int | None
    shuffle: bool | str
    callback: Any
    _loss: Any
    _pen: Penalty
    _rng: Any
    _last: Any
    _carry: Any
    _n: int
    _row_lip: float

    # ------------------------------------------------------------ set-up
    def _glm_bind(self, loss: Any, pen: Penalty) -> None:
        self._loss, self._pen = loss, pen
        top = loss.curvature_bound() if loss.global_bound else loss._factor() * loss._top
        self._lip = float(top) + pen.l2_max
        self._t = 1.0 / self._lip if self._lip > 0 else 1.0
        self._evaluate = composite(loss, pen, self._t)

    def _auto(self) -> bool:
        return isinstance(self.method, str) and self.method == "auto"

    def _optimizer(self, batch: bool) -> optimizers.Optimizer:
        if not self._auto():
            return optimizers.get(self.method)
        if batch:
            return optimizers.gd()
        loss, pen = self._loss, self._pen
        if pen.has_l1:
            t = self._t

            def pre(g: Array, y: Array) -> Array:
                return t * g
        else:
            l2 = pen.l2 if pen.l2.any() else None

            newton = self._newton()
            if newton is not None:
                return accelerated(newton, 1.0, False)

            def pre(g: Array, y: Array) -> Array:
                return np.asarray(loss.precondition(g, l2), dtype=np.float64)
        lr = self._fixed_lr()
        return accelerated(pre, 1.0 if lr is None else lr, bool(loss.global_bound))

    def _newton(self) -> Any:
        """``(g, theta) -> (H(theta) + diag(l2))^+ g``, ``H`` the loss's Hessian on its sample
        (:meth:`~descend.linear_model._glm_losses._Linear.hessian`), for a full-batch fit
        without an L1 part when the loss offers it; else None (the majorization steps)."""
        if not getattr(self, "_use_newton", False):
            return None
        loss, pen = self._loss, self._pen
        l2v = pen.l2 if pen.l2.any() else None
        l2 = np.diag(pen.l2) if l2v is not None else 0.0

        def pre(g: Array, theta: Array) -> Array:
            ready = loss.newton_ready()
            products = getattr(loss, "hessp_at", None)
            if ready and products is not None:  # softmax: conjugate gradients on H d = g
                hv = products(theta)
                if hv is not None:
                    return newton_cg(hv if l2v is None else (lambda v: hv(v) + l2v * v), g)
            H = loss.hessian(theta) if ready else None
            if H is None:  # a partial_fit chunk without a sample: the majorization step
                return np.asarray(loss.precondition(g, l2v), dtype=np.float64)
            return np.asarray(psd_solver(H + l2)(g), dtype=np.float64)

        return pre

    def _newton_fits(self) -> bool:
        """Newton steps for this fit: decided once, at its start (every ``partial_fit`` call
        then keeps the same step policy, whose state the carry holds)."""
        return (self._auto() and isinstance(self.lr, str) and self.lr == "auto"
                and self.batch_size is None and not self._pen.has_l1
                and bool(self._loss.newton_ready()))

    def _fixed_lr(self) -> float | None:
        if isinstance(self.lr, str) and self.lr == "auto":
            return 1.0
        if isinstance(self.lr, (int, float, np.floating)) and not isinstance(self.lr, bool):
            return float(self.lr)
        return None

    def _policy(self, batch: bool) -> Any:
        auto_lr = isinstance(self.lr, str) and self.lr == "auto"
        if not auto_lr:
            return linesearch.get(self.lr)
        if batch:  # a bound on every batch's curvature: the largest row's
            lip = self._row_lip + self._pen.l2_max
            n_b = max(1, -(-self._n // int(self.batch_size or 1)))
            return linesearch.Auto(lip, decay=1.0 / (_DECAY_EPOCHS * n_b))
        if self._auto():
            if getattr(self, "_use_newton", False):  # Newton's step is 1 near the minimum
                return linesearch.Backtracking(1.0, t_max=1.0,
                                               flat=self._loss.value_scale() or True)
            if self._loss.global_bound:
                return linesearch.Fixed(1.0)
            return linesearch.Backtracking(1.0)
        if not self._loss.global_bound:
            return linesearch.Backtracking(self._t)
        return linesearch.Fixed(self._t)

    def _gcut(self) -> float | None:
        if self.tol is None:
            return None
        return float(self.tol) * max(self._g0, np.finfo(np.float64).tiny)

    # ------------------------------------------------------------ running
    def _glm_begin(self, theta: Array) -> None:
        self._use_newton = self._newton_fits()
        full = _problem(self._evaluate, self._loss.n_theta, "loss")
        zero = np.zeros(self._loss.n_theta)
        known = self._loss.at_zero()  # the moments give it: no pass over the rows
        f0, g0 = (self._evaluate(zero) if known is None
                  else penalized(self._pen, self._t, zero, *known))
        self._g0 = float(norms(g0))  # tol's scale: the gradient at 0, wherever the fit starts
        criteria = Criteria.make(self.max_iter, self._gcut(), None, None)
        at_zero = not np.any(theta)
        null = self._loss.null_model() if at_zero and self.batch_size is None else None
        if null is not None:  # a full batch starts at the intercept-only model (closed form)
            theta = null[0]
            f0, g0 = penalized(self._pen, self._t, theta, null[1], null[2])
        self._carry = _loop.start(full, theta, self._optimizer(False), self._policy(False),
                                  criteria, scale=max(1.0, float(np.linalg.norm(theta))),
                                  f0=f0 if at_zero else None, g0=g0 if at_zero else None)
        self._path, self._values = [np.asarray(theta, dtype=np.float64)], [
            float(self._carry.f[0])]
        self._last = None

    def _glm_resume(self) -> None:
        c = self._carry
        if 0 < int(c.code[0]) < int(Reason.CALLBACK):
            c.code[0] = 0
        c.fresh = False

    def _glm_run_full(self, steps: int, *, record: bool) -> None:
        full = _problem(self._evaluate, self._loss.n_theta, "loss")
        criteria = Criteria.make(steps, self._gcut(), None, None)
        with one_blas_thread():
            _, out = _loop.run(full, self._carry, self._optimizer(False), self._policy(False),
                               criteria, record=record, callback=self.callback,
                               fresh=record or len(self._path) == 1)
        self._last = out
        if record:
            res = out.result(0)
            self._path, self._values = list(res.path), list(res.values)
        elif out.carry.nit[0] + 1 > len(self._path):
            self._path.append(out.carry.x[0].copy())
            self._values.append(float(out.carry.f[0]))

    def _glm_batches(self, n: int) -> list[Any]:
        return epoch_batches(n, self.batch_size, self.shuffle, self._rng)

    def _glm_run_epoch(self, rows: Any, *, check: bool) -> bool:
        batches = self._glm_batches(self._n)
        problem = Batches(rows, batches, self._loss.n_theta)
        opt, policy = self._optimizer(True), self._policy(True)
        with one_blas_thread():
            _loop.run(problem, self._carry, opt, policy,
                      Criteria.make(len(batches), None, None, None))
            full = _problem(self._evaluate, self._loss.n_theta, "loss")
            _, self._last = _loop.run(full, self._carry, opt, policy,
                                      Criteria.make(0, self._gcut() if check else None,
                                                    None, None), fresh=False)
        self._path.append(self._carry.x[0].copy())
        self._values.append(float(self._carry.f[0]))
        return int(self._carry.code[0]) != 0

    def _glm_epoch_callback(self) -> bool:
        return epoch_ended(self.callback, self._path, self._values)

    # ------------------------------------------------------------ results
    def _glm_point(self) -> Array:
        """The fitted working parameters: the carry's point, or with an L1 part its proximal
        point (exact zeros; the two agree to the tolerance)."""
        x = np.asarray(self._carry.x[0], dtype=np.float64)
        if not self._pen.has_l1:
            return x.copy()
        g = self._loss.value_grad(x)[1] + self._pen.smooth(x)[1]  # one more pass
        p = self._pen.prox_l1(x - self._t * g, self._t)
        return np.asarray(p + 0.0, dtype=np.float64)  # + 0.0: zeros print as 0, not -0

    def _glm_finish(self, name: str, warn: bool) -> tuple[Array, Array, str | None]:
        """``path_``, ``loss_curve_``, ``n_iter_``, ``result_``; returns the working point, the
        path and the warning text (None when converged)."""
        theta = self._glm_point()
        path = np.array(self._path, dtype=np.float64)
        self.loss_curve_ = np.array(self._values, dtype=np.float64)
        self.n_iter_ = int(path.shape[0] - 1)
        res = dataclasses.replace(self._last.result(0), objective=None)
        self.result_ = res
        code = int(self._carry.code[0])
        reason = Reason(code) if code else Reason.MAX_ITER
        if reason.diverged:
            msg: str | None = f"{name}: the fit diverged: {res.message}"
        elif self.tol is None or reason == Reason.GTOL:
            msg = None
        else:
            msg = (f"{name}: not converged after {self.n_iter_} "
                   f"{'epochs' if self.batch_size else 'iterations'} ({res.message}); increase "
                   "max_iter, keep method='auto', or loosen tol")
        self.converged_ = msg is None and not reason.diverged and self.tol is not None
        return theta, path, msg

    def _release_glm(self) -> None:
        """Drop what holds the data (closures): the fitted model pickles and stays small.
        ``partial_fit`` binds the next data to the kept loss (scaling and curvature)."""
        self._evaluate = None
        self._last = None
        self._loss = strip(self._loss)

    @staticmethod
    def _warn(msg: str | None, warn: bool) -> None:
        if warn and msg is not None:
            warnings.warn(msg, ConvergenceWarning, stacklevel=caller_level())


def moments_like(mom: Moments, X: Array, sw: Array | None) -> Moments:
    """``mom`` with the row count and weight of ``X`` (the scaling stays the first data's)."""
    return dataclasses.replace(mom, n=int(X.shape[0]),
                               wsum=float(X.shape[0] if sw is None else sw.sum()))


#: rows a curvature bound of mini-batches looks at, at most
_SAMPLE = 100_000


def penalty_weights(penalty: str | None, alpha: float, l1_ratio: float) -> tuple[float, float]:
    """``(alpha, l1_ratio)`` of the elastic net that ``penalty`` names."""
    if penalty is None or alpha == 0:
        return 0.0, 0.0
    return float(alpha), {"l2": 0.0, "l1": 1.0}.get(penalty, float(l1_ratio))


def row_bound(loss: Any, X: Array) -> float:
    """``max_i ||(1, z_i)||^2`` times the loss's curvature factor (on at most 100,000 rows):
    a bound on the curvature of any mini-batch's loss."""
    n = X.shape[0]
    some = slice(None) if n <= _SAMPLE else np.linspace(0, n - 1, _SAMPLE).astype(np.intp)
    sc = loss.scaling
    Z = (X[some] - sc.shift) / sc.scale
    top = float(sc.fit_intercept) + float(np.max(np.einsum("ij,ij->i", Z, Z), initial=0.0))
    factor = 0.5 if loss.n_outputs > 1 else float(loss._factor())
    return factor * top
