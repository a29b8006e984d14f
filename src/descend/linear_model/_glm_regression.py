r"""GDRegressor's generalized linear fits: ``loss="poisson"`` and the L1 / elastic-net penalty.

:class:`Runner` fits one of them through :class:`~descend.linear_model._glm_fit.GLMFit`
(the loop, its carry and rules, with the loss object of
:mod:`descend.linear_model._glm_losses`) and writes the fitted attributes back on the
estimator. The objective keeps GDRegressor's scale, twice scikit-learn's:

* ``loss="mse"``: ``mean (y - X coef - b)^2 + 2 alpha (l1_ratio ||coef||_1 + (1 - l1_ratio)
  / 2 ||coef||^2)``; at ``l1_ratio = 0`` this is GDRegressor's ridge ``mse + alpha ||coef||^2``,
  and its minimizer is that of ``Lasso(alpha)`` / ``ElasticNet(alpha, l1_ratio)``;
* ``loss="poisson"`` (log link, ``predict`` returns the mean ``exp(X coef + b)``): the mean
  Poisson deviance plus the same penalty; with ``penalty="l2"`` the minimizer is that of
  ``PoissonRegressor(alpha)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._types import Array
from ._glm_fit import GLMFit, composite, penalty_weights, row_bound, with_rows
from ._glm_losses import PoissonLoss, SquaredLoss
from ._glm_prox import Penalty

__all__ = ["Runner", "check_penalty", "uses_glm"]


def uses_glm(est: Any) -> bool:
    """GDRegressor's settings that fit through this module."""
    return est.loss == "poisson" or getattr(est, "penalty", "l2") in ("l1", "elasticnet")


def check_penalty(est: Any) -> None:
    """GDRegressor's ``penalty`` and ``l1_ratio``, and the losses an L1 part goes with."""
    from ..errors import InvalidArgument

    pen = getattr(est, "penalty", "l2")
    if pen not in (None, "l2", "l1", "elasticnet"):
        raise InvalidArgument(f"penalty: expected None, 'l2', 'l1' or 'elasticnet', got "
                              f"{pen!r}", argument="penalty")
    r = est.l1_ratio
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1:
        raise InvalidArgument(f"l1_ratio: expected a number in [0, 1], got {r!r}",
                              argument="l1_ratio")
    if pen in ("l1", "elasticnet") and est.loss not in ("mse", "poisson"):
        raise InvalidArgument(f"penalty: {pen!r} goes with loss 'mse' or 'poisson', got loss "
                              f"{est.loss!r}", argument="penalty")


class Runner(GLMFit):
    """One GLM fit of a GDRegressor ``est`` (its parameters read, its attributes written)."""

    def __init__(self, est: Any) -> None:
        self.est = est
        for name in ("method", "lr", "max_iter", "tol", "batch_size", "shuffle", "callback"):
            setattr(self, name, getattr(est, name))

    def _loss_of(self, X: Array, y: Array, sw: Array | None) -> Any:
        est = self.est
        opts = {"fit_intercept": bool(est.fit_intercept), "standardize": bool(est.standardize)}
        if est.loss == "poisson":
            return PoissonLoss.local(X, y, sw, **opts)
        return SquaredLoss.local(X, y, sw, **opts)

    def _kernel(self) -> Any:
        from ._glm_kernels import poisson_pass

        return poisson_pass

    def _rows(self, X: Array, y: Array, sw: Array | None) -> Any:
        """``(theta, idx) -> (f, g)`` on the rows ``idx`` (a mini-batch)."""

        def evaluate(theta: Array, idx: Any) -> tuple[float, Array]:
            Xb, yb = np.ascontiguousarray(X[idx]), y[idx]
            swb = None if sw is None else sw[idx]
            if self.est.loss == "poisson":
                part = with_rows(self._loss, self._kernel(), Xb, yb, swb)
            else:
                part = _squared_rows(self._loss, Xb, yb, swb)
            out: tuple[float, Array] = composite(part, self._pen, self._t)(theta)
            return out

        return evaluate

    def setup(self, X: Array, y: Array, sw: Array | None) -> None:
        est = self.est
        loss = self._loss_of(X, y, sw)
        a, rho = penalty_weights(getattr(est, "penalty", "l2"), est.alpha, est.l1_ratio)
        self._glm_bind(loss, Penalty.make(a, rho, loss.scaling, 1))
        self._n = int(X.shape[0])
        self._row_lip = row_bound(loss, X) if self.batch_size is not None else 0.0
        self._rng = check_random_state(est.random_state)

    def fit(self, X: Array, y: Array, sw: Array | None) -> None:
        self.setup(X, y, sw)
        self._glm_begin(np.zeros(self._loss.n_theta))
        if self.batch_size is None:
            self._glm_run_full(self.max_iter, record=True)
        else:
            rows = self._rows(X, y, sw)
            for _ in range(self.max_iter):
                if self._glm_run_epoch(rows, check=True) or self._glm_epoch_callback():
                    break
        self.write(warn=True)

    def fit_loss(self, loss: Any, n: int) -> None:
        """A full-batch fit of a loss built elsewhere (Dask: passes over the row blocks)."""
        est = self.est
        a, rho = penalty_weights(getattr(est, "penalty", "l2"), est.alpha, est.l1_ratio)
        self._glm_bind(loss, Penalty.make(a, rho, loss.scaling, 1))
        self._n, self._row_lip = n, 0.0
        self._glm_begin(np.zeros(loss.n_theta))
        self._glm_run_full(self.max_iter, record=True)
        self.write(warn=True)

    def step(self, X: Array, y: Array, sw: Array | None, first: bool) -> None:
        """One ``partial_fit`` call (the runner is kept on the estimator between calls)."""
        if first:
            self.setup(X, y, sw)
            self._glm_begin(np.zeros(self._loss.n_theta))
        else:
            if self.est.loss == "poisson":
                loss = with_rows(self._loss, self._kernel(), X, y, sw,
                                 sample=self.batch_size is None)
            else:
                loss = _squared_rows(self._loss, X, y, sw)
            self._glm_bind(loss, self._pen)
            self._n = int(X.shape[0])
            self._glm_resume()
        if self.batch_size is None:
            self._glm_run_full(1, record=False)
        else:
            self._glm_run_epoch(self._rows(X, y, sw), check=False)
        self.write(warn=False)

    def write(self, *, warn: bool) -> None:
        """The fitted attributes on the estimator (objective values in GDRegressor's scale)."""
        est = self.est
        theta, path, msg = self._glm_finish("GDRegressor", warn)
        b, coef = self._loss.to_original(theta)
        est.coef_, est.intercept_ = np.asarray(coef, dtype=np.float64), float(b)
        pb, pc = self._loss.scaling.to_original(path)
        est.path_ = np.column_stack([pb, pc])
        est.loss_curve_ = 2.0 * self.loss_curve_
        est.n_iter_, est.converged_, est.result_ = self.n_iter_, self.converged_, self.result_
        self._warn(msg, warn)
        self._release_glm()


def _squared_rows(loss: SquaredLoss, X: Array, y: Array, sw: Array | None) -> SquaredLoss:
    """The squared loss of other rows with ``loss``'s scaling (a mini-batch, a chunk)."""
    from ._glm_losses import moments

    part = SquaredLoss.__new__(SquaredLoss)
    part.__dict__.update(loss.__dict__)
    mom = moments(X, y, sw)
    from . import _losses

    part.moments = mom
    part._mse = _losses.quadratic(mom.stats(), loss.scaling, "mse", 0.0)[0]
    return part
